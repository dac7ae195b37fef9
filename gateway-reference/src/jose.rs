//! RS256-signed JSON Web Tokens (RFC 7515, RFC 7519; RS256 is RSASSA-PKCS1-v1_5 with SHA-256,
//! RFC 7518 §3.3) and the RSA public keys they are verified with.
//!
//! A public key is read from PEM (a certificate, a SubjectPublicKeyInfo or a PKCS#1
//! `RSAPublicKey`, RFC 5280 §4.1 and RFC 8017 §A.1.1) or from a JSON Web Key's modulus and
//! exponent (RFC 7518 §6.3.1). Signatures are checked through `ring`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use ring::signature;
use serde_json::{Map, Value};

/// A key that could not be read or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

/// Why a JWT was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three dot-separated parts.
    #[error("the token is not a JWT")]
    NotJwt,
    /// A part is not base64url.
    #[error("the JWT is not base64url")]
    NotBase64,
    /// The header is not a JSON object.
    #[error("the JWT header is not JSON")]
    Header,
    /// The header's `alg` is not `RS256`.
    #[error("the JWT is not signed with RS256")]
    NotRs256,
    /// The signature does not verify with the key.
    #[error("the JWT's signature does not verify with the expected key")]
    Signature,
    /// The claims are not a JSON object.
    #[error("the JWT claims are not JSON")]
    Claims,
}

/// The first PEM block of `text`: its label and its decoded body.
pub(crate) fn pem(text: &str) -> Option<(String, Vec<u8>)> {
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

/// The DER element of `tag` around `content`.
pub(crate) fn der_encode(tag: u8, content: &[u8]) -> Vec<u8> {
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

/// `bytes` without its leading zero bytes.
fn without_leading_zeros(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().copied().skip_while(|b| *b == 0).collect()
}

/// A DER INTEGER of an unsigned big-endian number.
pub(crate) fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let trimmed = without_leading_zeros(bytes);
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend(trimmed);
    der_encode(0x02, &content)
}

/// An RSA public key (PKCS#1 `RSAPublicKey` DER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(Vec<u8>);

impl PublicKey {
    /// The key of a PKCS#1 `RSAPublicKey` DER document (not checked until used).
    pub fn from_pkcs1_der(der: Vec<u8>) -> Self {
        PublicKey(der)
    }

    /// Reads a PEM certificate, SubjectPublicKeyInfo or PKCS#1 public key.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let unusable =
            || KeyError("the certificate or public key is not an RSA key in PEM form".to_string());
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
        Some((without_leading_zeros(n), without_leading_zeros(e)))
    }

    /// Does `sig` sign `msg` (RSASSA-PKCS1-v1_5, SHA-256, 2048 bits or more)?
    pub fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        signature::UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &self.0)
            .verify(msg, sig)
            .is_ok()
    }
}

/// A compact-serialized JWT (RFC 7519 §3), split but not yet trusted.
#[derive(Debug, Clone, Copy)]
pub struct Jwt<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
}

/// The bytes of a base64url part (trailing `=` padding tolerated).
fn decode(part: &str) -> Result<Vec<u8>, JwtError> {
    B64URL
        .decode(part.trim_end_matches('='))
        .map_err(|_| JwtError::NotBase64)
}

impl<'a> Jwt<'a> {
    /// Splits `text` (surrounding whitespace ignored) into header, payload and signature.
    pub fn parse(text: &'a str) -> Result<Self, JwtError> {
        let parts: Vec<&str> = text.trim().split('.').collect();
        let [header, payload, signature] = parts[..] else {
            return Err(JwtError::NotJwt);
        };
        Ok(Jwt {
            header,
            payload,
            signature,
        })
    }

    /// Its header (JOSE header, RFC 7515 §4), once shown to name `RS256` as its `alg`.
    pub fn rs256_header(&self) -> Result<Map<String, Value>, JwtError> {
        let header: Map<String, Value> =
            serde_json::from_slice(&decode(self.header)?).map_err(|_| JwtError::Header)?;
        if header.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(JwtError::NotRs256);
        }
        Ok(header)
    }

    /// Checks that it is signed RS256 by `key`'s private key (RFC 7515 §5.2).
    pub fn verify_rs256(&self, key: &PublicKey) -> Result<(), JwtError> {
        self.rs256_header()?;
        let signed = format!("{}.{}", self.header, self.payload);
        if key.verify(signed.as_bytes(), &decode(self.signature)?) {
            Ok(())
        } else {
            Err(JwtError::Signature)
        }
    }

    /// Its claims (not checked: call [`Jwt::verify_rs256`] first to trust them).
    pub fn claims(&self) -> Result<Map<String, Value>, JwtError> {
        serde_json::from_slice(&decode(self.payload)?).map_err(|_| JwtError::Claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leading_zeros_are_one_rule() {
        assert_eq!(der_uint(&[0, 0, 0x7f]), vec![0x02, 1, 0x7f]);
        assert_eq!(der_uint(&[0, 0x80]), vec![0x02, 2, 0, 0x80]);
        assert_eq!(der_uint(&[]), vec![0x02, 1, 0]);
        let key = PublicKey::from_components(&[0, 0xc1, 2], &[1, 0, 1]);
        assert_eq!(
            key.components(),
            Some((vec![0xc1, 2], vec![1, 0, 1])),
            "the sign byte DER adds is not part of the modulus"
        );
    }

    #[test]
    fn a_jwt_has_three_parts_and_a_json_header() {
        assert_eq!(Jwt::parse("a.b").err(), Some(JwtError::NotJwt));
        assert_eq!(Jwt::parse("a.b.c.d").err(), Some(JwtError::NotJwt));
        let none = format!(
            "{}.{}.",
            B64URL.encode(br#"{"alg":"none"}"#),
            B64URL.encode(br#"{"sub":"x"}"#)
        );
        let jwt = Jwt::parse(&none).unwrap();
        assert_eq!(jwt.rs256_header().err(), Some(JwtError::NotRs256));
        assert_eq!(jwt.claims().unwrap()["sub"], "x");
        let key = PublicKey::from_components(&[0xc1; 256], &[1, 0, 1]);
        assert_eq!(jwt.verify_rs256(&key).err(), Some(JwtError::NotRs256));
        let bad = Jwt::parse("!!.e30.").unwrap();
        assert_eq!(bad.rs256_header().err(), Some(JwtError::NotBase64));
    }
}
