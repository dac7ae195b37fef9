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
//! Signatures are RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2), through `ring`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use ring::signature::{self, KeyPair as _, RsaKeyPair};

/// A key that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

fn bad(what: &str) -> KeyError {
    KeyError(what.to_string())
}

/// The first PEM block of `text`: its label and its decoded body.
fn pem(text: &str) -> Option<(String, Vec<u8>)> {
    let start = text.find("-----BEGIN ")? + "-----BEGIN ".len();
    let rest = &text[start..];
    let label_end = rest.find("-----")?;
    let label = rest[..label_end].to_string();
    let body = &rest[label_end + 5..];
    let end = body.find(&format!("-----END {label}-----"))?;
    let b64: String = body[..end].chars().filter(|c| !c.is_whitespace()).collect();
    Some((label, B64.decode(b64).ok()?))
}

/// One DER element: (tag, contents, the rest after it).
fn der(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0_usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

fn der_encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// A DER INTEGER of an unsigned big-endian number.
fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend(trimmed);
    der_encode(0x02, &content)
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
        PublicKey(self.0.public_key().as_ref().to_vec())
    }
}

/// An RSA public key (PKCS#1 `RSAPublicKey` DER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(Vec<u8>);

impl PublicKey {
    /// Reads a PEM certificate, SubjectPublicKeyInfo or PKCS#1 public key.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let unusable = || bad("the certificate or public key is not an RSA key in PEM form");
        let (label, der_bytes) = pem(text).ok_or_else(unusable)?;
        let spki_to_pkcs1 = |spki: &[u8]| -> Option<Vec<u8>> {
            let (_, content, _) = der(spki)?;
            let (_, _algorithm, rest) = der(content)?;
            let (tag, bits, _) = der(rest)?;
            (tag == 0x03 && bits.first() == Some(&0)).then(|| bits[1..].to_vec())
        };
        let key = match label.as_str() {
            "RSA PUBLIC KEY" => Some(der_bytes),
            "PUBLIC KEY" => spki_to_pkcs1(&der_bytes),
            "CERTIFICATE" => (|| {
                let (_, cert, _) = der(&der_bytes)?;
                let (_, mut tbs, _) = der(cert)?;
                if tbs.first() == Some(&0xa0) {
                    tbs = der(tbs)?.2; // the explicit version
                }
                // serial, signature algorithm, issuer, validity, subject
                for _ in 0..5 {
                    tbs = der(tbs)?.2;
                }
                let rest_len = der(tbs)?.2.len();
                spki_to_pkcs1(&tbs[..tbs.len() - rest_len])
            })(),
            _ => None,
        }
        .ok_or_else(unusable)?;
        Ok(PublicKey(key))
    }

    /// The key of its modulus and public exponent (unsigned big-endian, as in a JSON Web
    /// Key's `n` and `e`, RFC 7518 §6.3.1).
    pub fn from_components(n: &[u8], e: &[u8]) -> Self {
        let mut seq = der_uint(n);
        seq.extend(der_uint(e));
        PublicKey(der_encode(0x30, &seq))
    }

    /// Its modulus and public exponent (unsigned big-endian, without leading zeros).
    pub fn components(&self) -> Option<(Vec<u8>, Vec<u8>)> {
        let (_, seq, _) = der(&self.0)?;
        let (_, n, rest) = der(seq)?;
        let (_, e, _) = der(rest)?;
        let strip = |b: &[u8]| {
            b.iter()
                .copied()
                .skip_while(|x| *x == 0)
                .collect::<Vec<u8>>()
        };
        Some((strip(n), strip(e)))
    }

    /// Does `sig` sign `msg` (RSASSA-PKCS1-v1_5, SHA-256, 2048 bits or more)?
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.0)
            .verify(msg, sig)
            .is_ok()
    }
}

/// The claims of a JWT (RFC 7519), its signature checked with `key` when given (then only
/// `RS256` is accepted).
pub fn jwt_claims(
    jwt: &str,
    key: Option<&PublicKey>,
) -> Result<serde_json::Map<String, serde_json::Value>, KeyError> {
    let parts: Vec<&str> = jwt.trim().split('.').collect();
    let [header, payload, sig] = parts[..] else {
        return Err(bad("the answer's token is not a JWT"));
    };
    let decode = |p: &str| {
        B64URL
            .decode(p.trim_end_matches('='))
            .map_err(|_| bad("the JWT is not base64url"))
    };
    if let Some(key) = key {
        let header: serde_json::Value = serde_json::from_slice(&decode(header)?)
            .map_err(|_| bad("the JWT header is not JSON"))?;
        if header.get("alg").and_then(|a| a.as_str()) != Some("RS256") {
            return Err(bad("the JWT is not signed with RS256"));
        }
        let signed = format!("{}.{payload}", parts[0]);
        if !key.verify(signed.as_bytes(), &decode(sig)?) {
            return Err(bad(
                "the JWT's signature does not verify with the configured SuperOffice certificate",
            ));
        }
    }
    serde_json::from_slice(&decode(payload)?).map_err(|_| bad("the JWT claims are not JSON"))
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
