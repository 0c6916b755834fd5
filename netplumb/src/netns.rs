//! Running netlink work inside a named network namespace.
//!
//! `setns` changes the namespace of the calling thread only, and tokio moves tasks
//! between threads, so the work runs on a dedicated OS thread that enters the namespace,
//! opens its netlink socket there (a socket stays bound to the namespace it was opened
//! in) and drives a current-thread runtime. The caller's threads never change namespace.

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
    if let Some(name) = netns {
        let fd = File::open(format!("{NETNS_DIR}/{name}")).map_err(io_err)?;
        setns(fd, CloneFlags::CLONE_NEWNET).map_err(|e| io_err(std::io::Error::from(e)))?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io_err)?;
    runtime.block_on(async {
        let (connection, handle, _) = rtnetlink::new_connection().map_err(io_err)?;
        let driver = tokio::spawn(connection);
        let result = work(handle).await;
        driver.abort();
        result
    })
}
