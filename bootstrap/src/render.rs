//! Rendering of the configuration files an install produces: octa-control's own
//! (`<state_dir>/octa-control.yaml`) and, on request, the stock `octavia.conf` options an
//! Octavia deployment needs (installer-anchors.md B.1). Both start with a header naming the
//! deployment, which is how uninstall knows the file is ours.

use std::net::IpAddr;
use std::path::Path;

use octa_pki::{PkiDir, PkiFile};

use crate::answers::Answers;

/// The ids the cloud assigned, resolved by the config step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CloudIds {
    pub network: String,
    pub subnet: String,
    pub amp_secgroup: String,
    pub hm_secgroup: String,
    pub hm_port: String,
    pub flavor: Option<String>,
}

/// First line of every file octa renders.
pub fn header(deployment: &str) -> String {
    format!(
        "# Written by octa install for deployment {deployment}; re-running octa install rewrites it.\n"
    )
}

/// Whether `text` is a file octa rendered for `deployment`.
pub fn is_ours(text: &str, deployment: &str) -> bool {
    text.starts_with(&header(deployment))
}

fn endpoint(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    }
}

fn controllers(a: &Answers) -> String {
    a.controller_addresses()
        .into_iter()
        .map(|ip| endpoint(ip, a.health_manager.port))
        .collect::<Vec<_>>()
        .join(", ")
}

fn pki_path(a: &Answers, f: PkiFile) -> String {
    PkiDir::new(a.pki.dir.clone()).path(f).display().to_string()
}

/// octa-control's configuration. Secrets are referenced by file, never inlined.
pub fn control_yaml(
    a: &Answers,
    deployment: &str,
    ids: &CloudIds,
    heartbeat_key_file: &Path,
) -> String {
    let hm = &a.health_manager;
    format!(
        "{header}\
deployment: {deployment}\n\
amphora:\n\
\x20 boot_network: {net}\n\
\x20 subnet: {subnet}\n\
\x20 security_groups: [{amp_sg}]\n\
\x20 flavor: {flavor}\n\
\x20 image_tag: {tag}\n\
\x20 keypair: {key}\n\
\x20 agent_port: 9443\n\
health_manager:\n\
\x20 bind: {bind}\n\
\x20 controllers: [{controllers}]\n\
\x20 heartbeat_key_file: {hbk}\n\
\x20 port_id: {port}\n\
\x20 security_group: {hm_sg}\n\
certificates:\n\
\x20 server_ca: {server_ca}\n\
\x20 server_ca_key: {server_ca_key}\n\
\x20 server_ca_passphrase_file: {pass}\n\
\x20 client_ca: {client_ca}\n\
\x20 client_cert: {client}\n",
        header = header(deployment),
        net = ids.network,
        subnet = ids.subnet,
        amp_sg = ids.amp_secgroup,
        flavor = ids.flavor.as_deref().unwrap_or("null"),
        tag = a
            .amphora
            .as_ref()
            .and_then(|x| x.image_tag.as_deref())
            .unwrap_or("null"),
        key = a
            .amphora
            .as_ref()
            .and_then(|x| x.keypair.as_deref())
            .unwrap_or("null"),
        bind = endpoint(a.hm_address(), hm.port),
        controllers = controllers(a),
        hbk = heartbeat_key_file.display(),
        port = ids.hm_port,
        hm_sg = ids.hm_secgroup,
        server_ca = pki_path(a, PkiFile::ServerCaCert),
        server_ca_key = pki_path(a, PkiFile::ServerCaKey),
        pass = pki_path(a, PkiFile::Passphrase),
        client_ca = pki_path(a, PkiFile::ClientCaCert),
        client = pki_path(a, PkiFile::ClientCertAndKey),
    )
}

/// The stock `octavia.conf` options (an oslo.config file that can sit in a `--config-dir`).
/// It holds the heartbeat key and the CA passphrase, so it is written 0600.
pub fn octavia_conf(
    a: &Answers,
    deployment: &str,
    ids: &CloudIds,
    heartbeat_key: &str,
    ca_passphrase: &str,
) -> String {
    let amp = a.amphora.clone().unwrap_or_default();
    let mut worker = format!(
        "[controller_worker]\n\
amp_boot_network_list = {}\n\
amp_secgroup_list = {}\n\
client_ca = {}\n",
        ids.network,
        ids.amp_secgroup,
        pki_path(a, PkiFile::ClientCaCert)
    );
    if let Some(f) = &ids.flavor {
        worker.push_str(&format!("amp_flavor_id = {f}\n"));
    }
    if let Some(t) = &amp.image_tag {
        worker.push_str(&format!("amp_image_tag = {t}\n"));
    }
    if let Some(k) = &amp.keypair {
        worker.push_str(&format!("amp_ssh_key_name = {k}\n"));
    }
    format!(
        "{header}\n{worker}\n\
[health_manager]\n\
bind_ip = {bind_ip}\n\
bind_port = {port}\n\
controller_ip_port_list = {controllers}\n\
heartbeat_key = {heartbeat_key}\n\n\
[certificates]\n\
cert_generator = local_cert_generator\n\
ca_certificate = {server_ca}\n\
ca_private_key = {server_ca_key}\n\
ca_private_key_passphrase = {ca_passphrase}\n\n\
[haproxy_amphora]\n\
client_cert = {client}\n\
server_ca = {server_ca}\n",
        header = header(deployment),
        bind_ip = a.hm_address(),
        port = a.health_manager.port,
        controllers = controllers(a),
        server_ca = pki_path(a, PkiFile::ServerCaCert),
        server_ca_key = pki_path(a, PkiFile::ServerCaKey),
        client = pki_path(a, PkiFile::ClientCertAndKey),
    )
}
