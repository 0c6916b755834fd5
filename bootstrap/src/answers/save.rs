//! Writing answers back out: a playbook `load` reads to equal `Answers`
//! (`octa install --save-playbook FILE`), and a digest that tells whether the answers of
//! an install changed between runs (kept in the state file as `answers_digest`).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Answers;

const HEADER: &str = "# octa playbook, written by `octa install --save-playbook`.\n\
# Every key is documented in playbooks/README.md; run it with `octa install --playbook FILE`.\n";

/// Prefix of the digested bytes; a new canonical form means a new prefix.
const DIGEST_DOMAIN: &[u8] = b"octa-answers-v1\n";

impl Answers {
    /// A playbook holding exactly these answers (every key written, defaults included).
    ///
    /// Paths that are not UTF-8 are written lossily (such a playbook then fails to
    /// load to equal answers rather than silently differing). Should serialization
    /// still fail, the text is a YAML comment naming the reason, which `load` refuses.
    pub fn to_yaml(&self) -> String {
        match serde_saphyr::to_string(&self.printable()) {
            Ok(body) => format!("{HEADER}{body}"),
            Err(e) => format!("# octa could not write these answers: {e}\n"),
        }
    }

    /// Hex SHA-256 of the answers' canonical form (JSON in field order, every default
    /// filled in): two playbooks that mean the same install have the same digest.
    pub fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(DIGEST_DOMAIN);
        match serde_json::to_vec(&self.printable()) {
            Ok(bytes) => hasher.update(&bytes),
            // Unreachable for these types once paths are UTF-8; still a stable digest.
            Err(_) => hasher.update(format!("{self:?}").as_bytes()),
        }
        hex::encode(hasher.finalize())
    }

    /// A copy whose paths are all valid UTF-8, so serializers cannot fail on them.
    fn printable(&self) -> Answers {
        let mut a = self.clone();
        lossy(&mut a.state_dir);
        lossy(&mut a.pki.dir);
        if let Some(c) = a.cloud.as_mut()
            && let Some(p) = c.cacert.as_mut()
        {
            lossy(p);
        }
        if let Some(p) = a.health_manager.heartbeat_key_file.as_mut() {
            lossy(p);
        }
        a
    }
}

fn lossy(p: &mut PathBuf) {
    if p.to_str().is_none() {
        *p = PathBuf::from(Path::new(p).to_string_lossy().into_owned());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::answers::parse;

    const TEXT: &str = "version: 1\nmgmt_network:\n  cidr: 172.31.0.0/24\n";

    #[test]
    fn round_trips() {
        let a = parse(TEXT, Path::new("t.yaml")).unwrap().answers;
        let back = parse(&a.to_yaml(), Path::new("saved.yaml"))
            .unwrap()
            .answers;
        assert_eq!(a, back);
    }

    #[test]
    fn round_trips_values_yaml_would_misread() {
        let text = r"version: 1
deployment: '123'
host: 'null'
state_dir: '/var/lib/octa dir: x'
mgmt_network:
  cidr: 'fd00:31::/64'
  name: 'yes'
  subnet_name: '~'
  mtu: 1500
  allocation_pool: {start: 'fd00:31::100', end: 'fd00:31::1ff'}
health_manager:
  address: '::ffff:0:0'
  peers: ['fd00:31::3']
  port_name: '- x'
security_groups: {amphora: '#sg', health_manager: 'a: b'}
cloud: {name: '@lab', cacert: '/etc/ssl/c.pem'}
amphora: {flavor: '1.5'}
";
        let pb = parse(text, Path::new("t.yaml"));
        // ::ffff:0:0 is outside the CIDR: take the valid form to round-trip.
        let text = text.replace("'::ffff:0:0'", "'fd00:31::2'");
        let a = parse(&text, Path::new("t.yaml")).unwrap().answers;
        assert!(pb.is_err());
        let saved = a.to_yaml();
        let back = parse(&saved, Path::new("saved.yaml")).unwrap().answers;
        assert_eq!(a, back, "{saved}");
    }

    #[test]
    fn digest_ignores_spelling_and_sees_changes() {
        let a = parse(TEXT, Path::new("t.yaml")).unwrap().answers;
        let explicit = parse(
            &format!("{TEXT}interface: {{name: o-hm0}}\n"),
            Path::new("t.yaml"),
        )
        .unwrap()
        .answers;
        assert_eq!(a.digest(), explicit.digest());
        assert_eq!(a.digest().len(), 64);
        let mut b = a.clone();
        b.health_manager.port = 5556;
        assert_ne!(a.digest(), b.digest());
    }
}
