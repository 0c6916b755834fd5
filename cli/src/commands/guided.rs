//! The guided mode of `octa install`: one dialoguer prompt per answer, each with a default
//! discovered from the cloud and the host (a free management CIDR, this host's OVSDB
//! socket) and validated on the spot. The result is the same `Answers` a playbook gives.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use dialoguer::{Confirm, Input, Select};
use ipnet::{IpNet, Ipv4Net};
use octa_bootstrap::answers::{self, Answers, CloudAnswers, MgmtNetwork, defaults};
use octa_bootstrap::cloud::Neutron;

use super::session::{self, Common, Sourced};

/// Whether prompts can be shown (stdin and stderr are terminals).
pub fn is_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

pub fn confirm(question: &str) -> anyhow::Result<bool> {
    Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()
        .context("reading the answer")
}

fn text(prompt: &str, default: String) -> anyhow::Result<String> {
    Input::<String>::new()
        .with_prompt(prompt)
        .default(default)
        .interact_text()
        .context("reading the answer")
}

fn path(prompt: &str, default: &std::path::Path) -> anyhow::Result<PathBuf> {
    let s = Input::<String>::new()
        .with_prompt(prompt)
        .default(default.display().to_string())
        .validate_with(|s: &String| {
            if s.starts_with('/') {
                Ok(())
            } else {
                Err("an absolute path, starting with /")
            }
        })
        .interact_text()
        .context("reading the answer")?;
    Ok(PathBuf::from(s))
}

/// The first 172.31.N.0/24 overlapping no subnet of the cloud and no route of this host.
fn free_cidr(taken: &[IpNet]) -> IpNet {
    (0..=255u8)
        .map(|n| IpNet::V4(Ipv4Net::new([172, 31, n, 0].into(), 24).unwrap_or_default()))
        .find(|c| {
            !taken
                .iter()
                .any(|t| t.contains(&c.network()) || c.contains(&t.network()))
        })
        .unwrap_or_else(|| IpNet::V4(Ipv4Net::new([172, 31, 0, 0].into(), 24).unwrap_or_default()))
}

/// The OVSDB socket of this host: the first one that exists.
fn ovsdb_default() -> String {
    let candidates = [
        std::env::var("OCTA_OVSDB").ok(),
        Some("/var/run/openvswitch/db.sock".to_owned()),
        Some("/run/openvswitch/db.sock".to_owned()),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(|c| c.trim_start_matches("unix:").to_owned())
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| format!("unix:{p}"))
        .unwrap_or_else(defaults::ovsdb)
}

fn cidr_prompt(default: IpNet, taken: Vec<IpNet>) -> anyhow::Result<IpNet> {
    let s = Input::<String>::new()
        .with_prompt("Management network CIDR")
        .default(default.to_string())
        .validate_with(move |s: &String| -> Result<(), String> {
            let net: IpNet = s
                .parse()
                .map_err(|_| format!("{s} is not a CIDR such as 172.31.0.0/24"))?;
            if net.trunc() != net {
                return Err(format!("{s} has host bits set; use {}", net.trunc()));
            }
            if net.prefix_len() > 29 && matches!(net, IpNet::V4(_)) {
                return Err("too small: use /29 or larger".into());
            }
            match taken
                .iter()
                .find(|t| t.contains(&net.network()) || net.contains(&t.network()))
            {
                Some(t) => Err(format!(
                    "{s} overlaps {t}, already used in the cloud or on this host"
                )),
                None => Ok(()),
            }
        })
        .interact_text()
        .context("reading the answer")?;
    s.parse().context("parsing the CIDR")
}

/// Asks every question and returns the answers.
pub async fn ask(common: &Common) -> anyhow::Result<Sourced> {
    eprintln!("octa install: guided mode. Press Enter to accept a default.");
    let cloud = text(
        "clouds.yaml entry (cloud name)",
        common
            .os_cloud
            .clone()
            .unwrap_or_else(|| "openstack".into()),
    )?;
    let probe = Answers {
        cloud: Some(CloudAnswers {
            name: cloud.clone(),
            region: None,
            interface: None,
            cacert: None,
        }),
        ..provisional()
    };
    let os = session::connect(common, &probe).await?;
    let mut taken: Vec<IpNet> = os
        .all_subnets()
        .await
        .context("listing the cloud's subnets")?
        .into_iter()
        .map(|s| s.cidr)
        .collect();
    taken.extend(local_prefixes().await);
    let name = text("Management network name", defaults::network_name())?;
    let types = ["vxlan", "geneve", "vlan", "flat"];
    let t = Select::new()
        .with_prompt("Network type")
        .items(types)
        .default(0)
        .interact()
        .context("reading the answer")?;
    let cidr = cidr_prompt(free_cidr(&taken), taken)?;
    let physical_network = if t >= 2 {
        Some(text("Physical network", "physnet1".into())?)
    } else {
        None
    };
    // Octavia's documented names for the documented network name; otherwise names derived
    // from the network's, so a second deployment does not collide with the first.
    let base = name.trim_end_matches("-net").to_owned();
    let custom = name != defaults::network_name();
    let pick = |standard: String, suffix: &str| {
        if custom {
            format!("{base}-{suffix}")
        } else {
            standard
        }
    };
    let subnet_name = text(
        "Management subnet name",
        pick(defaults::subnet_name(), "sub"),
    )?;
    let amp_sg = text("Amphora security group", pick(defaults::amp_sg(), "amp-sg"))?;
    let hm_sg = text(
        "Health-manager security group",
        pick(defaults::hm_sg(), "hm-sg"),
    )?;
    let host = session::host_name()?;
    let port_name = text(
        "Health-manager port name",
        pick(
            format!("octavia-health-manager-{host}-listen-port"),
            "hm-port",
        ),
    )?;
    let iface = text("Health-manager interface name", defaults::iface_name())?;
    let bridge = text("Integration bridge", defaults::bridge())?;
    let ovsdb = text("OVSDB remote", ovsdb_default())?;
    let state_dir = path("State directory", &defaults::state_dir())?;
    let pki_dir = path("PKI directory", &defaults::pki_dir())?;
    let port: u16 = Input::<u16>::new()
        .with_prompt("Heartbeat UDP port")
        .default(defaults::hm_port())
        .interact_text()
        .context("reading the answer")?;
    let firewall = Confirm::new()
        .with_prompt("Guard the interface with the nftables table inet octa_hm?")
        .default(true)
        .interact()
        .context("reading the answer")?;
    let mut a = provisional();
    a.cloud = probe.cloud;
    a.state_dir = state_dir;
    a.mgmt_network = MgmtNetwork {
        name,
        subnet_name,
        network_type: types[t].into(),
        cidr,
        physical_network,
        ..provisional().mgmt_network
    };
    a.interface.name = iface;
    a.interface.bridge = bridge;
    a.interface.ovsdb = ovsdb;
    a.pki.dir = pki_dir;
    a.health_manager.port = port;
    a.health_manager.firewall = firewall;
    a.health_manager.port_name = Some(port_name);
    a.security_groups.amphora = amp_sg;
    a.security_groups.health_manager = hm_sg;
    let problems = answers::validate(&a);
    if !problems.is_empty() {
        let lines: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect();
        anyhow::bail!("the answers are not valid: {}", lines.join("; "));
    }
    Ok(Sourced {
        answers: a,
        whereis: Box::new(|key| format!("answer {key}")),
    })
}

/// Answers with every default (the CIDR is replaced by the prompt).
fn provisional() -> Answers {
    Answers {
        version: answers::PLAYBOOK_VERSION,
        deployment: None,
        cloud: None,
        state_dir: defaults::state_dir(),
        host: None,
        mgmt_network: MgmtNetwork {
            name: defaults::network_name(),
            subnet_name: defaults::subnet_name(),
            network_type: defaults::network_type(),
            segmentation_id: None,
            physical_network: None,
            cidr: IpNet::V4(Ipv4Net::new([172, 31, 0, 0].into(), 24).unwrap_or_default()),
            allocation_pool: None,
            mtu: None,
        },
        interface: Default::default(),
        security_groups: Default::default(),
        pki: Default::default(),
        health_manager: Default::default(),
        amphora: None,
    }
}

/// Prefixes this host routes (so the default CIDR does not collide with them).
async fn local_prefixes() -> Vec<IpNet> {
    use octa_bootstrap::netplumb::{netns::with_netlink, routes};
    with_netlink(None, |h| async move { routes::unicast_routes(&h).await })
        .await
        .map(|r| r.into_iter().map(|r| r.prefix).collect())
        .unwrap_or_default()
}
