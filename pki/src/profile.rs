//! Certificate profiles: what goes into each of the four kinds of certificate.
//!
//! - server and client CA: basicConstraints critical CA:TRUE pathlen 0, keyUsage critical
//!   keyCertSign, cRLSign, digitalSignature, SKI and AKI (Octavia's `v3_ca`);
//! - controller client certificate: CA:FALSE, keyUsage critical digitalSignature,
//!   nonRepudiation, keyEncipherment, EKU clientAuth, SKI and AKI (Octavia's `usr_cert`);
//! - amphora server certificate, as Octavia's `local_cert_generator` makes it: subject
//!   only `CN=<amphora id>`, SAN DNS `<amphora id>`, CA:FALSE critical, keyUsage critical
//!   digitalSignature, keyEncipherment, dataEncipherment, keyAgreement, EKU critical
//!   serverAuth + clientAuth, plus SKI/AKI (Octavia master; Python 3.13 needs them).
//!
//! Every certificate gets a random 127-bit serial and explicit validity: rcgen would
//! otherwise derive the serial from the key and make it valid from 1975 to 4096.

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use crate::error::{PkiError, Result};

/// Default validity of the two CAs, in days (10 years).
pub const DEFAULT_CA_DAYS: u32 = 3650;
/// Default validity of the controller client certificate, in days (2 years).
pub const DEFAULT_CLIENT_DAYS: u32 = 730;
/// Default validity of an amphora server certificate, in days: Octavia's
/// `[certificates] cert_validity_time` of 2592000 s.
pub const DEFAULT_AMPHORA_DAYS: u32 = 30;

/// Common name of the controller's client certificate.
pub const CLIENT_CN: &str = "octa-controller";

/// DER of the ExtendedKeyUsage value `SEQUENCE { serverAuth, clientAuth }`
/// (OIDs 1.3.6.1.5.5.7.3.1 and .2). Written by hand because rcgen marks EKU
/// non-critical and Octavia's amphora certificates carry it critical.
const EKU_SERVER_AND_CLIENT_AUTH: [u8; 22] = [
    0x30, 0x14, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01, 0x06, 0x08, 0x2b, 0x06,
    0x01, 0x05, 0x05, 0x07, 0x03, 0x02,
];
const OID_EXTENDED_KEY_USAGE: &[u64] = &[2, 5, 29, 37];

/// Which of the two CAs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaRole {
    /// Signs amphora server certificates.
    Server,
    /// Signs the controller's client certificate.
    Client,
}

impl CaRole {
    fn common_name(self) -> &'static str {
        match self {
            CaRole::Server => "octa server CA",
            CaRole::Client => "octa client CA",
        }
    }
}

/// Parameters of a CA certificate.
pub fn ca(role: CaRole, now: OffsetDateTime, days: u32) -> Result<CertificateParams> {
    let mut p = base(now, days, "CA")?;
    // A random suffix tells two installs' CAs apart, for operators reading a
    // certificate and for verifiers (an unknown issuer, not a bad signature).
    let mut tag = [0u8; 4];
    aws_lc_rs::rand::fill(&mut tag).map_err(|_| PkiError::Crypto {
        what: "random CA name",
    })?;
    let name = format!("{} {}", role.common_name(), hex::encode(tag));
    p.distinguished_name = dn(&name, true);
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(p)
}

/// Parameters of the controller's client certificate.
pub fn client(now: OffsetDateTime, days: u32) -> Result<CertificateParams> {
    let mut p = base(now, days, "client certificate")?;
    p.distinguished_name = dn(CLIENT_CN, true);
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
        KeyUsagePurpose::KeyEncipherment,
    ];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    Ok(p)
}

/// Parameters of an amphora server certificate for `amphora_id`.
pub fn amphora(amphora_id: &str, now: OffsetDateTime, days: u32) -> Result<CertificateParams> {
    validate_amphora_id(amphora_id)?;
    let mut p = base(now, days, "amphora certificate")?;
    p.distinguished_name = dn(amphora_id, false);
    let name = amphora_id
        .to_owned()
        .try_into()
        .map_err(|_| PkiError::InvalidAmphoraId {
            id: amphora_id.to_owned(),
        })?;
    p.subject_alt_names = vec![SanType::DnsName(name)];
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::DataEncipherment,
        KeyUsagePurpose::KeyAgreement,
    ];
    let mut eku = CustomExtension::from_oid_content(
        OID_EXTENDED_KEY_USAGE,
        EKU_SERVER_AND_CLIENT_AUTH.to_vec(),
    );
    eku.set_criticality(true);
    p.custom_extensions = vec![eku];
    Ok(p)
}

/// Octavia names amphorae by UUID and checks that name as a DNS name: accept one DNS
/// label, which every UUID is.
pub fn validate_amphora_id(id: &str) -> Result<()> {
    let ok = (1..=63).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !id.starts_with('-')
        && !id.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(PkiError::InvalidAmphoraId { id: id.to_owned() })
    }
}

fn base(now: OffsetDateTime, days: u32, what: &'static str) -> Result<CertificateParams> {
    if !(1..=36_500).contains(&days) {
        return Err(PkiError::InvalidValidity { what, days });
    }
    let mut p = CertificateParams::default();
    p.not_before = now;
    p.not_after = now + Duration::days(i64::from(days));
    p.serial_number = Some(random_serial()?);
    p.use_authority_key_identifier_extension = true;
    Ok(p)
}

fn dn(common_name: &str, with_org: bool) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    if with_org {
        dn.push(DnType::OrganizationName, "octa");
    }
    dn.push(DnType::CommonName, common_name);
    dn
}

/// 16 random bytes with the top bit cleared, so the DER INTEGER stays positive and
/// within RFC 5280's 20 octets.
fn random_serial() -> Result<SerialNumber> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PkiError::Crypto {
        what: "random serial",
    })?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01; // never a leading zero octet
    Ok(SerialNumber::from_slice(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amphora_ids_are_dns_labels() {
        assert!(validate_amphora_id("5f9a7c3e-1b2d-4e8f-9a0b-1c2d3e4f5a6b").is_ok());
        for bad in ["", "../etc", "a.b", "-x", "x-", &"a".repeat(64), "a b"] {
            assert!(validate_amphora_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn validity_must_be_positive_and_bounded() {
        let now = OffsetDateTime::now_utc();
        assert!(matches!(
            client(now, 0),
            Err(PkiError::InvalidValidity { days: 0, .. })
        ));
        assert!(client(now, 36_501).is_err());
        let p = client(now, 2).unwrap();
        assert_eq!(p.not_after - p.not_before, Duration::days(2));
    }

    #[test]
    fn serials_are_random_and_positive() {
        let a = random_serial().unwrap();
        let b = random_serial().unwrap();
        assert_ne!(a, b);
        assert!(a.as_ref()[0] < 0x80 && a.as_ref()[0] > 0);
    }

    #[test]
    fn handwritten_eku_is_the_der_of_server_and_client_auth() {
        use x509_parser::der_parser::der::parse_der_sequence;
        let (_, seq) = parse_der_sequence(&EKU_SERVER_AND_CLIENT_AUTH).unwrap();
        let oids: Vec<String> = seq
            .as_sequence()
            .unwrap()
            .iter()
            .map(|o| o.as_oid().unwrap().to_id_string())
            .collect();
        assert_eq!(oids, ["1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2"]);
    }
}
