//! Bearer tokens stored as SHA-256 hashes, each bound to one tenant.

use std::fmt;
use std::sync::RwLock;

use async_trait::async_trait;
use http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use super::{AuthContext, AuthError, Authenticator, bearer_token};
use crate::tenancy::TenantId;

/// The shortest token [`BearerTokens`] accepts, in bytes. Tokens are meant to be generated
/// (e.g. 32 random bytes, base64url-encoded: 43 characters), not chosen by people.
pub const MIN_TOKEN_LEN: usize = 16;

/// The SHA-256 hash of a bearer token: what [`BearerTokens`] keeps instead of the token.
///
/// ```
/// use scim_server::auth::TokenHash;
///
/// let h = TokenHash::of("0123456789abcdef-secret");
/// assert_eq!(TokenHash::from_hex(&h.to_hex()), Some(h));
/// assert_eq!(h.to_hex().len(), 64);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    /// Hashes a token.
    pub fn of(token: &str) -> Self {
        TokenHash(Sha256::digest(token.as_bytes()).into())
    }

    /// The raw hash.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// From 64 hex digits (e.g. a configuration file); `None` when malformed.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let hex = hex.trim().as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            out[i] = u8::try_from(hi * 16 + lo).ok()?;
        }
        Some(TokenHash(out))
    }

    /// 64 lower-case hex digits.
    pub fn to_hex(&self) -> String {
        use std::fmt::Write;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A hash is not a secret, but there is no reason to print it whole either.
        write!(f, "TokenHash({}…)", &self.to_hex()[..8])
    }
}

/// A token [`BearerTokens`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The token is shorter than [`MIN_TOKEN_LEN`] bytes.
    #[error(
        "a bearer token must be at least {MIN_TOKEN_LEN} bytes long (generate one, e.g. 32 random bytes in base64url)"
    )]
    TooShort,
    /// The token contains characters outside RFC 6750 §2.1 `b64token`.
    #[error("a bearer token may only contain A-Z a-z 0-9 - . _ ~ + / and trailing =")]
    BadCharacters,
}

struct Entry {
    hash: TokenHash,
    tenant: TenantId,
}

/// Bearer-token authentication (RFC 6750) with tokens bound to tenants.
///
/// Only SHA-256 hashes of the tokens are kept, and a presented token's hash is compared with
/// every stored hash in constant time ([`subtle`]), so neither memory dumps nor response
/// timing reveal a token. A token authenticates only for its own tenant: the
/// [`AuthContext`] it yields names that tenant, and the server answers a request for another
/// tenant's URL with 401. Tokens are never logged.
///
/// Why SHA-256 and not a password hash such as argon2: these tokens are generated with at
/// least 128 bits of entropy, so guessing one from its hash is infeasible however fast the
/// hash is; a deliberately slow password hash only protects low-entropy secrets chosen by
/// people, and would cost every SCIM request (Entra sends 25 per second per tenant) tens of
/// milliseconds of CPU for no gain. [`MIN_TOKEN_LEN`] refuses tokens too short to be random.
///
/// ```
/// use scim_server::auth::BearerTokens;
/// use scim_server::TenantId;
///
/// let tokens = BearerTokens::new();
/// tokens.add(TenantId::new("contoso").unwrap(), "s3cr3t-generated-token-0001").unwrap();
/// assert!(tokens.add(TenantId::default_tenant(), "short").is_err());
/// assert_eq!(tokens.len(), 1);
/// ```
#[derive(Default)]
pub struct BearerTokens {
    entries: RwLock<Vec<Entry>>,
}

impl fmt::Debug for BearerTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerTokens")
            .field("tokens", &self.len())
            .finish()
    }
}

impl BearerTokens {
    /// No tokens (every request is refused).
    pub fn new() -> Self {
        BearerTokens::default()
    }

    /// One token for the default tenant of a single-tenant server.
    pub fn single(token: &str) -> Result<Self, TokenError> {
        let t = BearerTokens::new();
        t.add(TenantId::default_tenant(), token)?;
        Ok(t)
    }

    /// Adds a token for `tenant`; only its hash is kept.
    pub fn add(&self, tenant: TenantId, token: &str) -> Result<TokenHash, TokenError> {
        check_token(token)?;
        let hash = TokenHash::of(token);
        self.add_hash(tenant, hash);
        Ok(hash)
    }

    /// Adds a token by its hash (e.g. loaded from a configuration store).
    pub fn add_hash(&self, tenant: TenantId, hash: TokenHash) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        entries.push(Entry { hash, tenant });
    }

    /// Revokes a token by its hash; returns whether it was known.
    pub fn revoke(&self, hash: &TokenHash) -> bool {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        let before = entries.len();
        entries.retain(|e| e.hash != *hash);
        entries.len() != before
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Are there no tokens?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tenant of `token`, comparing its hash with every stored hash in constant time.
    pub fn tenant_of(&self, token: &str) -> Option<TenantId> {
        let presented = TokenHash::of(token);
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        // Look at every entry, without an early exit, and pick the match branch-free.
        let mut found = u64::MAX;
        for (i, e) in entries.iter().enumerate() {
            let eq = e.hash.0.ct_eq(&presented.0);
            found.conditional_assign(&(i as u64), eq);
        }
        usize::try_from(found)
            .ok()
            .and_then(|i| entries.get(i))
            .map(|e| e.tenant.clone())
    }
}

fn check_token(token: &str) -> Result<(), TokenError> {
    if token.len() < MIN_TOKEN_LEN {
        return Err(TokenError::TooShort);
    }
    // RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    let ok = !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    if ok {
        Ok(())
    } else {
        Err(TokenError::BadCharacters)
    }
}

#[async_trait]
impl Authenticator for BearerTokens {
    async fn authenticate(&self, parts: &Parts) -> Result<AuthContext, AuthError> {
        let token = bearer_token(parts).ok_or_else(|| {
            AuthError::new("a bearer token is required (Authorization: Bearer <token>)")
        })?;
        self.tenant_of(token)
            .map(AuthContext::for_tenant)
            .ok_or_else(|| AuthError::new("the bearer token is not valid"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "tenant-a-token-0123456789";
    const B: &str = "tenant-b-token-0123456789";

    #[test]
    fn tokens_map_to_their_tenant() {
        let t = BearerTokens::new();
        let ta = TenantId::new("a").unwrap();
        let tb = TenantId::new("b").unwrap();
        let ha = t.add(ta.clone(), A).unwrap();
        t.add(tb.clone(), B).unwrap();
        assert_eq!(t.tenant_of(A), Some(ta));
        assert_eq!(t.tenant_of(B), Some(tb));
        assert_eq!(t.tenant_of("tenant-c-token-0123456789"), None);
        assert!(t.revoke(&ha));
        assert_eq!(t.tenant_of(A), None);
        assert!(!t.revoke(&ha));
    }

    #[test]
    fn weak_tokens_are_refused() {
        let t = BearerTokens::new();
        assert_eq!(
            t.add(TenantId::default_tenant(), "short"),
            Err(TokenError::TooShort)
        );
        assert_eq!(
            t.add(TenantId::default_tenant(), "has spaces in it, long enough"),
            Err(TokenError::BadCharacters)
        );
        assert!(t.is_empty());
    }

    #[test]
    fn hex_round_trip_and_sha256_vector() {
        // FIPS 180-2 test vector: SHA-256("abc").
        assert_eq!(
            TokenHash::of("abc").to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(TokenHash::from_hex("zz"), None);
        assert!(!format!("{:?}", TokenHash::of(A)).contains(A));
    }
}
