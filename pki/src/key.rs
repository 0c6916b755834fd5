//! Private keys: generation, passphrase encryption, loading.
//!
//! CA keys are stored as encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, PBES2 with
//! PBKDF2-HMAC-SHA256 and AES-256-CBC), the form `openssl genpkey -aes-256-cbc` writes and
//! the form stock Octavia's `local_cert_generator` opens with `ca_private_key_passphrase`.
//! The cryptography is aws-lc-rs (the project's one provider); the `pkcs8` crate only
//! encodes and decodes the ASN.1 structures.

use std::fmt;
use std::num::NonZeroU32;
use std::path::Path;
use std::str::FromStr;

use aws_lc_rs::{cipher, pbkdf2, rand};
use pkcs8::der::asn1::OctetString;
use pkcs8::der::{Decode, Encode};
use pkcs8::pkcs5::EncryptionScheme;
use pkcs8::pkcs5::pbes2::{self, Pbkdf2Prf};
use pkcs8::{EncryptedPrivateKeyInfoOwned, EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};
use rcgen::KeyPair;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer};

use crate::error::{PkiError, Result};
use crate::pem_io;

/// PBKDF2 rounds for keys octa encrypts. OpenSSL's `genpkey` uses 2048; 100 000 costs
/// tens of milliseconds with aws-lc-rs and is paid once per CA load.
const PBKDF2_ITERATIONS: u32 = 100_000;

/// The kinds of key octa generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// RSA, 2048 bits: Octavia's amphora and client keys.
    Rsa2048,
    /// RSA, 4096 bits: the default for the two CAs, as in Octavia's certificate guide.
    Rsa4096,
    /// ECDSA on NIST P-384.
    EcP384,
}

impl KeyType {
    /// A new random key of this type.
    pub fn generate(self) -> Result<KeyPair> {
        let generated = match self {
            KeyType::Rsa2048 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
            }
            KeyType::Rsa4096 => {
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_4096)
            }
            KeyType::EcP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384),
        };
        generated.map_err(|source| PkiError::Generate {
            what: "private key",
            source,
        })
    }

    /// The key type for a leaf (client) certificate under a CA of this type: RSA-2048
    /// under RSA CAs (Octavia's guide), the same curve under EC CAs.
    pub fn leaf(self) -> KeyType {
        match self {
            KeyType::Rsa2048 | KeyType::Rsa4096 => KeyType::Rsa2048,
            KeyType::EcP384 => KeyType::EcP384,
        }
    }
}

impl FromStr for KeyType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rsa-2048" => Ok(KeyType::Rsa2048),
            "rsa-4096" => Ok(KeyType::Rsa4096),
            "ec-p384" => Ok(KeyType::EcP384),
            other => Err(format!(
                "unknown key type {other:?}: expected rsa-4096, rsa-2048 or ec-p384"
            )),
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa4096 => "rsa-4096",
            KeyType::EcP384 => "ec-p384",
        })
    }
}

/// The passphrase of the CA keys. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Passphrase(String);

impl Passphrase {
    /// Wraps a passphrase given by the operator. Surrounding whitespace (a trailing
    /// newline in a file) is not part of it.
    pub fn new(text: &str) -> Self {
        Passphrase(text.trim().to_owned())
    }

    /// A random 32-character alphanumeric passphrase (about 190 bits).
    pub fn generate() -> Result<Self> {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let mut out = String::with_capacity(32);
        while out.len() < 32 {
            let mut byte = [0u8; 1];
            rand::fill(&mut byte).map_err(|_| PkiError::Crypto {
                what: "random passphrase",
            })?;
            // Rejection sampling keeps every character equally likely (248 = 4 * 62).
            if byte[0] < 248 {
                out.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
            }
        }
        Ok(Passphrase(out))
    }

    /// The secret itself, for writing it to its 0600 file or handing it to a KDF.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when there is no passphrase at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// A private key read from a file.
#[derive(Debug)]
pub struct LoadedKey {
    /// The key, ready to sign.
    pub key: KeyPair,
    /// Whether the file held it encrypted.
    pub encrypted: bool,
}

/// Encrypts a key as PEM `ENCRYPTED PRIVATE KEY` (PKCS#8, PBES2).
pub fn encrypt_pkcs8_pem(key: &KeyPair, passphrase: &Passphrase) -> Result<String> {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand::fill(&mut salt).map_err(|_| PkiError::Crypto {
        what: "random salt",
    })?;
    rand::fill(&mut iv).map_err(|_| PkiError::Crypto { what: "random IV" })?;
    let mut derived = [0u8; 32];
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::new(PBKDF2_ITERATIONS).expect("invariant: the constant is non-zero"),
        &salt,
        passphrase.expose().as_bytes(),
        &mut derived,
    );
    let crypto_err = |_| PkiError::Crypto {
        what: "AES-256-CBC encryption",
    };
    let unbound = cipher::UnboundCipherKey::new(&cipher::AES_256, &derived).map_err(crypto_err)?;
    let encrypting = cipher::PaddedBlockEncryptingKey::cbc_pkcs7(unbound).map_err(crypto_err)?;
    let mut data = key.serialize_der();
    encrypting
        .less_safe_encrypt(&mut data, cipher::EncryptionContext::Iv128(iv.into()))
        .map_err(crypto_err)?;

    let asn1_err = |_| PkiError::Crypto {
        what: "PKCS#8 encoding",
    };
    let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, iv)
        .map_err(asn1_err)?;
    let info = EncryptedPrivateKeyInfoOwned {
        encryption_algorithm: EncryptionScheme::Pbes2(params),
        encrypted_data: OctetString::new(data).map_err(|_| PkiError::Crypto {
            what: "PKCS#8 encoding",
        })?,
    };
    let der = info.to_der().map_err(|_| PkiError::Crypto {
        what: "PKCS#8 encoding",
    })?;
    Ok(pem_io::encode("ENCRYPTED PRIVATE KEY", &der))
}

/// The key in PEM `PRIVATE KEY` (unencrypted PKCS#8) form.
pub fn plain_pkcs8_pem(key: &KeyPair) -> String {
    pem_io::encode("PRIVATE KEY", &key.serialize_der())
}

/// An RSA key in PEM `RSA PRIVATE KEY` (PKCS#1) form, as Octavia's generator writes the
/// amphora key; other keys stay PKCS#8.
pub fn leaf_key_pem(key: &KeyPair) -> Result<String> {
    if !key.is_compatible(&rcgen::PKCS_RSA_SHA256) {
        return Ok(plain_pkcs8_pem(key));
    }
    let pkcs8 = key.serialize_der();
    let info = PrivateKeyInfoRef::from_der(&pkcs8).map_err(|_| PkiError::Crypto {
        what: "PKCS#8 decoding",
    })?;
    Ok(pem_io::encode(
        "RSA PRIVATE KEY",
        info.private_key.as_bytes(),
    ))
}

/// Loads the first private key of a PEM file, decrypting it when it is encrypted.
pub fn load_key(path: &Path, bytes: &[u8], passphrase: Option<&Passphrase>) -> Result<LoadedKey> {
    let bad = |reason: &str| PkiError::BadKey {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    for block in pem_io::blocks(path, bytes)? {
        let (der, encrypted): (PrivateKeyDer<'static>, bool) = match block.tag() {
            "ENCRYPTED PRIVATE KEY" => {
                let pass = passphrase.filter(|p| !p.is_empty()).ok_or_else(|| {
                    PkiError::PassphraseRequired {
                        path: path.to_owned(),
                    }
                })?;
                let plain = decrypt_pkcs8(path, block.contents(), pass)?;
                (PrivatePkcs8KeyDer::from(plain).into(), true)
            }
            "RSA PRIVATE KEY" | "EC PRIVATE KEY" if block.headers().get("Proc-Type").is_some() => {
                return Err(bad(
                    "legacy OpenSSL encryption (Proc-Type) is not supported; convert it with \
                     'openssl pkcs8 -topk8 -v2 aes-256-cbc'",
                ));
            }
            "PRIVATE KEY" => (
                PrivatePkcs8KeyDer::from(block.contents().to_vec()).into(),
                false,
            ),
            "RSA PRIVATE KEY" => (
                PrivatePkcs1KeyDer::from(block.contents().to_vec()).into(),
                false,
            ),
            "EC PRIVATE KEY" => (
                PrivateSec1KeyDer::from(block.contents().to_vec()).into(),
                false,
            ),
            _ => continue,
        };
        let key = KeyPair::try_from(&der)
            .map_err(|_| bad("expected an RSA or ECDSA (P-256, P-384) key"))?;
        return Ok(LoadedKey { key, encrypted });
    }
    Err(PkiError::NoPem {
        path: path.to_owned(),
        what: "PRIVATE KEY",
    })
}

/// Decrypts PKCS#8 PBES2 (PBKDF2 with HMAC-SHA1/256/384/512, AES-CBC), the forms OpenSSL
/// and Python's cryptography write.
fn decrypt_pkcs8(path: &Path, der: &[u8], passphrase: &Passphrase) -> Result<Vec<u8>> {
    let unsupported = |what: &str| PkiError::BadKey {
        path: path.to_owned(),
        reason: format!(
            "{what} is not supported; expected PBES2 with PBKDF2 and AES-CBC \
             ('openssl pkcs8 -topk8 -v2 aes-256-cbc')"
        ),
    };
    let info = EncryptedPrivateKeyInfoRef::from_der(der).map_err(|_| PkiError::BadKey {
        path: path.to_owned(),
        reason: "malformed ENCRYPTED PRIVATE KEY".to_owned(),
    })?;
    let EncryptionScheme::Pbes2(params) = &info.encryption_algorithm else {
        return Err(unsupported("PBES1 encryption"));
    };
    let kdf = params
        .kdf
        .pbkdf2()
        .ok_or_else(|| unsupported("a key derivation other than PBKDF2 (scrypt)"))?;
    let prf = match kdf.prf {
        Pbkdf2Prf::HmacWithSha1 => pbkdf2::PBKDF2_HMAC_SHA1,
        Pbkdf2Prf::HmacWithSha256 => pbkdf2::PBKDF2_HMAC_SHA256,
        Pbkdf2Prf::HmacWithSha384 => pbkdf2::PBKDF2_HMAC_SHA384,
        Pbkdf2Prf::HmacWithSha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        _ => return Err(unsupported("PBKDF2 with HMAC-SHA224")),
    };
    let (algorithm, key_len, iv) = match params.encryption {
        pbes2::EncryptionScheme::Aes128Cbc { iv } => (&cipher::AES_128, 16, iv),
        pbes2::EncryptionScheme::Aes192Cbc { iv } => (&cipher::AES_192, 24, iv),
        pbes2::EncryptionScheme::Aes256Cbc { iv } => (&cipher::AES_256, 32, iv),
        _ => return Err(unsupported("this cipher")),
    };
    let iterations = NonZeroU32::new(kdf.iteration_count)
        .ok_or_else(|| unsupported("an iteration count of 0"))?;
    let mut derived = vec![0u8; key_len];
    pbkdf2::derive(
        prf,
        iterations,
        kdf.salt.as_bytes(),
        passphrase.expose().as_bytes(),
        &mut derived,
    );
    let wrong = || PkiError::WrongPassphrase {
        path: path.to_owned(),
    };
    let unbound = cipher::UnboundCipherKey::new(algorithm, &derived).map_err(|_| wrong())?;
    let decrypting = cipher::PaddedBlockDecryptingKey::cbc_pkcs7(unbound).map_err(|_| wrong())?;
    let mut data = info.encrypted_data.as_bytes().to_vec();
    let plain = decrypting
        .decrypt(&mut data, cipher::DecryptionContext::Iv128(iv.into()))
        .map_err(|_| wrong())?
        .to_vec();
    // A wrong passphrase passes the padding check about once in 256 tries; the
    // PKCS#8 structure then fails to parse.
    PrivateKeyInfoRef::from_der(&plain).map_err(|_| wrong())?;
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::PublicKeyData;

    #[test]
    fn encrypted_key_round_trips_and_refuses_a_wrong_passphrase() {
        let key = KeyType::EcP384.generate().unwrap();
        let pass = Passphrase::new("correct horse");
        let pem = encrypt_pkcs8_pem(&key, &pass).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        let path = Path::new("k.pem");
        let loaded = load_key(path, pem.as_bytes(), Some(&pass)).unwrap();
        assert!(loaded.encrypted);
        assert_eq!(
            loaded.key.subject_public_key_info(),
            key.subject_public_key_info()
        );
        let wrong = load_key(path, pem.as_bytes(), Some(&Passphrase::new("nope")));
        assert!(
            matches!(wrong, Err(PkiError::WrongPassphrase { .. })),
            "{wrong:?}"
        );
        let none = load_key(path, pem.as_bytes(), None);
        assert!(
            matches!(none, Err(PkiError::PassphraseRequired { .. })),
            "{none:?}"
        );
    }

    #[test]
    fn rsa_leaf_keys_are_pkcs1_and_load_back() {
        let key = KeyType::Rsa2048.generate().unwrap();
        let pem = leaf_key_pem(&key).unwrap();
        assert!(pem.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"));
        let loaded = load_key(Path::new("k.pem"), pem.as_bytes(), None).unwrap();
        assert!(!loaded.encrypted);
        assert_eq!(
            loaded.key.subject_public_key_info(),
            key.subject_public_key_info()
        );
    }

    #[test]
    fn generated_passphrases_are_long_random_and_hidden_from_debug() {
        let a = Passphrase::generate().unwrap();
        let b = Passphrase::generate().unwrap();
        assert_eq!(a.expose().len(), 32);
        assert!(a.expose().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn unknown_key_type_names_what_is_accepted() {
        let err = "rsa-1024".parse::<KeyType>().unwrap_err();
        assert!(err.contains("rsa-4096"), "{err}");
    }
}
