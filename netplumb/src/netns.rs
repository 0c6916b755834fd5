//! Running netlink work inside a named network namespace.
//!
//! `setns` changes the namespace of the calling thread only, and tokio moves tasks
//! between threads, so the work runs on a dedicated OS thread: a [`NetnsGuard`] enters
//! the namespace just long enough to open the netlink socket (a socket stays bound to
//! the namespace it was opened in) and returns the thread on drop; then the thread
//! drives a current-thread runtime. The caller's threads never change namespace, and
//! no `.await` ever runs inside a guard.

use std::fs::File;
use std::future::Future;

use nix::sched::{CloneFlags, setns};
use rtnetlink::Handle;

use crate::error::{NetError, Result};

/// Where named namespaces live (`ip netns add`).
pub const NETNS_DIR: &str = "/run/netns";

/// Runs `work` with a netlink handle inside namespace `netns` (`None`: the caller's own
/// namespace), on a dedicated thread; awaits its result.
pub async fn with_netlink<T, F, Fut>(netns: Option<&str>, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(Handle) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T>>,
{
    let name = netns.map(str::to_owned);
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("octa-netns".to_owned())
        .spawn(move || {
            let _ = tx.send(run_on_this_thread(name.as_deref(), work));
        })
        .map_err(|source| NetError::Netns {
            name: netns.unwrap_or("(own)").to_owned(),
            source,
        })?;
    rx.await.unwrap_or_else(|_| {
        Err(NetError::Netns {
            name: netns.unwrap_or("(own)").to_owned(),
            source: std::io::Error::other("the netlink thread panicked"),
        })
    })
}

/// The calling thread's stay in another network namespace: entered by
/// [`NetnsGuard::enter`], left again (back to the thread's original namespace) on drop.
/// Never hold one across an `.await` on a multi-threaded runtime: the task could resume
/// on a thread that is in another namespace.
pub struct NetnsGuard {
    name: String,
    original: File,
}

impl NetnsGuard {
    /// Moves the calling thread into the named namespace (`/run/netns/NAME`).
    pub fn enter(name: &str) -> Result<Self> {
        let io_err = |source| NetError::Netns {
            name: name.to_owned(),
            source,
        };
        // /proc/thread-self: setns changed this thread only, not the process.
        let original = File::open("/proc/thread-self/ns/net").map_err(io_err)?;
        let target = File::open(format!("{NETNS_DIR}/{name}")).map_err(io_err)?;
        setns(target, CloneFlags::CLONE_NEWNET).map_err(|e| io_err(std::io::Error::from(e)))?;
        Ok(NetnsGuard {
            name: name.to_owned(),
            original,
        })
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        if let Err(e) = setns(&self.original, CloneFlags::CLONE_NEWNET) {
            // Only a revoked capability can cause this; the thread is ours and ends soon.
            tracing::error!("cannot leave network namespace {}: {e}", self.name);
        }
    }
}

fn run_on_this_thread<T, F, Fut>(netns: Option<&str>, work: F) -> Result<T>
where
    F: FnOnce(Handle) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let label = netns.unwrap_or("(own)").to_owned();
    let io_err = |source| NetError::Netns {
        name: label.clone(),
        source,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io_err)?;
    // The socket is opened inside the namespace and stays bound to it; the guard is
    // dropped before any await, so the runtime never runs inside a foreign namespace
    // longer than it takes to open the socket.
    let (connection, handle, _) = {
        let _runtime = runtime.enter(); // the socket registers with this runtime's reactor
        let _guard = netns.map(NetnsGuard::enter).transpose()?;
        rtnetlink::new_connection().map_err(io_err)?
    };
    runtime.block_on(async {
        let driver = tokio::spawn(connection);
        let result = work(handle).await;
        driver.abort();
        result
    })
}
