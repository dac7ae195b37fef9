//! The RSA keys of SuperOffice's system user flow: the partner application's private key,
//! which signs the system user token, and SuperOffice's public key (or certificate), which
//! verifies the JWT the sign-in service answers with.
//!
//! SuperOffice hands a registered application its private key in .NET's XML form
//! (`<RSAKeyValue>` with `Modulus`, `Exponent`, `P`, `Q`, `DP`, `DQ`, `InverseQ`, `D`);
//! PEM works as well, PKCS#1 (`BEGIN RSA PRIVATE KEY`) or PKCS#8 (`BEGIN PRIVATE KEY`)
//! (<https://docs.superoffice.com/en/authentication/online/auth-application/sign-system-user-token.html>).
//! The public key may be a certificate (`BEGIN CERTIFICATE`), a SubjectPublicKeyInfo
//! (`BEGIN PUBLIC KEY`) or PKCS#1 (`BEGIN RSA PUBLIC KEY`).
//!
//! Signatures are RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2), through `ring`; the
//! public key and the JWT check are the generic ones of [`crate::jose`].

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};

use ring::signature::{self, KeyPair as _, RsaKeyPair};

use crate::jose::{Jwt, JwtError, der_encode, der_uint, pem};
pub use crate::jose::{KeyError, PublicKey};

fn bad(what: &str) -> KeyError {
    KeyError(what.to_string())
}

/// The PKCS#1 `RSAPrivateKey` of a .NET `<RSAKeyValue>` document.
fn xml_to_pkcs1(xml: &str) -> Result<Vec<u8>, KeyError> {
    let field = |name: &str| -> Result<Vec<u8>, KeyError> {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let start = xml
            .find(&open)
            .ok_or_else(|| KeyError(format!("the XML key lacks <{name}>")))?
            + open.len();
        let end = xml[start..]
            .find(&close)
            .ok_or_else(|| KeyError(format!("the XML key's <{name}> is not closed")))?;
        let text: String = xml[start..start + end]
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        B64.decode(text)
            .map_err(|_| KeyError(format!("the XML key's <{name}> is not base64")))
    };
    let mut seq = der_uint(&[0]);
    for name in ["Modulus", "Exponent", "D", "P", "Q", "DP", "DQ", "InverseQ"] {
        seq.extend(der_uint(&field(name)?));
    }
    Ok(der_encode(0x30, &seq))
}

/// The partner application's RSA private key.
pub struct PartnerKey(RsaKeyPair);

impl std::fmt::Debug for PartnerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PartnerKey(<redacted>)")
    }
}

impl PartnerKey {
    /// Reads a key in .NET XML (`<RSAKeyValue>`), PKCS#1 PEM or PKCS#8 PEM form.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let reject = |e: ring::error::KeyRejected| {
            KeyError(format!("the private key is not a usable RSA key ({e})"))
        };
        let text = text.trim();
        let pair = if text.contains("<RSAKeyValue>") {
            RsaKeyPair::from_der(&xml_to_pkcs1(text)?).map_err(reject)?
        } else {
            match pem(text) {
                Some((label, der)) if label == "RSA PRIVATE KEY" => {
                    RsaKeyPair::from_der(&der).map_err(reject)?
                }
                Some((label, der)) if label == "PRIVATE KEY" => {
                    RsaKeyPair::from_pkcs8(&der).map_err(reject)?
                }
                _ => {
                    return Err(bad(
                        "the private key must be an RSA key: .NET XML (<RSAKeyValue>), \
                         PEM 'BEGIN RSA PRIVATE KEY' or PEM 'BEGIN PRIVATE KEY'",
                    ));
                }
            }
        };
        Ok(PartnerKey(pair))
    }

    /// The RSASSA-PKCS1-v1_5 SHA-256 signature of `msg`.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut sig = vec![0; self.0.public().modulus_len()];
        self.0
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &ring::rand::SystemRandom::new(),
                msg,
                &mut sig,
            )
            .map_err(|_| bad("signing failed"))?;
        Ok(sig)
    }

    /// Its public key (PKCS#1 `RSAPublicKey`).
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_pkcs1_der(self.0.public_key().as_ref().to_vec())
    }
}

/// The claims of a JWT (RFC 7519), its signature checked with `key` when given (then only
/// `RS256` is accepted).
pub fn jwt_claims(
    jwt: &str,
    key: Option<&PublicKey>,
) -> Result<serde_json::Map<String, serde_json::Value>, JwtError> {
    let jwt = Jwt::parse(jwt)?;
    if let Some(key) = key {
        jwt.verify_rs256(key)?;
    }
    jwt.claims()
}

/// A JWT of `claims` signed RS256 with `key` (for tests and the fake SuperOffice).
pub fn sign_jwt(claims: &serde_json::Value, key: &PartnerKey) -> Result<String, KeyError> {
    let data = format!(
        "{}.{}",
        B64URL.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
        B64URL.encode(claims.to_string())
    );
    let sig = key.sign(data.as_bytes())?;
    Ok(format!("{data}.{}", B64URL.encode(sig)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/superoffice/");

    fn fixture(name: &str) -> String {
        std::fs::read_to_string(format!("{DIR}{name}")).unwrap()
    }

    #[test]
    fn the_three_private_key_forms_are_one_key() {
        let pub_pem = PublicKey::parse(&fixture("test-only-partner-key.pub.pem")).unwrap();
        for name in [
            "test-only-partner-key.pkcs8.pem",
            "test-only-partner-key.pkcs1.pem",
            "test-only-partner-key.xml",
        ] {
            let key = PartnerKey::parse(&fixture(name)).unwrap();
            assert_eq!(key.public_key(), pub_pem, "{name}");
            let sig = key.sign(b"token.202612041030").unwrap();
            assert!(pub_pem.verify(b"token.202612041030", &sig), "{name}");
            assert!(!pub_pem.verify(b"token.202612041031", &sig), "{name}");
            assert!(!format!("{key:?}").contains("BEGIN"));
        }
        assert!(PartnerKey::parse("not a key").is_err());
        assert!(PartnerKey::parse("<RSAKeyValue><Modulus>AQAB</Modulus></RSAKeyValue>").is_err());
    }

    #[test]
    fn a_certificate_yields_its_key_and_verifies_a_jwt() {
        let signer = PartnerKey::parse(&fixture("test-only-superoffice-signing-key.pem")).unwrap();
        let cert = PublicKey::parse(&fixture("test-only-superoffice-signing-cert.pem")).unwrap();
        assert_eq!(cert, signer.public_key());
        let jwt = sign_jwt(&serde_json::json!({"a": "b"}), &signer).unwrap();
        assert_eq!(jwt_claims(&jwt, Some(&cert)).unwrap()["a"], "b");
        let other = PartnerKey::parse(&fixture("test-only-partner-key.pkcs8.pem")).unwrap();
        let forged = sign_jwt(&serde_json::json!({"a": "b"}), &other).unwrap();
        assert!(jwt_claims(&forged, Some(&cert)).is_err());
        assert!(jwt_claims(&forged, None).is_ok());
        assert!(jwt_claims("a.b", None).is_err());
        let (n, e) = cert.components().unwrap();
        assert_eq!(PublicKey::from_components(&n, &e), cert);
    }
}
