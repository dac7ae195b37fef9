//! Passwords at rest: only a salted argon2id hash, never the plain text.
//!
//! RFC 7643 §4.1.1, password: "The cleartext value or the hashed value of a password SHALL
//! NOT be returnable by a service provider. If a service provider holds the value locally,
//! the value SHOULD be hashed." The server hashes the `password` of every POST, PUT, PATCH and
//! Bulk operation before it reaches the provisioning hooks or the store, and never renders it
//! (`returned: never`, RFC 7643 §7).
//!
//! The hash is a PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`): argon2id with
//! the `argon2` crate's default parameters (19 MiB of memory, 2 passes, 1 lane, as OWASP's
//! Password Storage Cheat Sheet recommends) and a random 16-byte salt per hash. Each hash costs
//! tens of milliseconds of CPU and 19 MiB of memory, so it runs on Tokio's blocking pool, not
//! on the request's worker thread.
//!
//! An embedder that authenticates users checks a candidate with [`verify_password`]:
//!
//! ```
//! use scim_server::server::password::{hash_password, verify_password};
//!
//! let stored = hash_password("t1meMa$heen").unwrap();
//! assert!(stored.starts_with("$argon2id$"));
//! assert!(verify_password(&stored, "t1meMa$heen"));
//! assert!(!verify_password(&stored, "guess"));
//! ```

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use scim_core::resource::{get_ci, get_ci_key};
use scim_core::schema::{ResourceSchema, Returned};
use scim_core::{Resource, ScimError};
use serde_json::Value;

/// Hashes a password: argon2id, default parameters, random salt; the PHC string form.
///
/// # Errors
/// Only if the operating system's random source fails (a 500 to the client).
pub fn hash_password(plain: &str) -> Result<String, ScimError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(plain.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ScimError::internal(format!("hashing the password failed: {e}")))
}

/// Does `candidate` match a hash made by [`hash_password`]? `false` for anything that is not
/// such a hash.
pub fn verify_password(stored_hash: &str, candidate: &str) -> bool {
    PasswordHash::new(stored_hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(candidate.as_bytes(), &h)
            .is_ok()
    })
}

/// The name of the core `password` attribute (RFC 7643 §4.1.1) when the schema has one that
/// is never returned.
fn password_attribute(schema: &ResourceSchema) -> Option<&str> {
    schema
        .core
        .attribute("password")
        .filter(|a| a.returned == Returned::Never)
        .map(|a| a.name.as_str())
}

/// Replaces a new plain-text `password` in `resource` by its hash. `previous` is the stored
/// resource on PUT and PATCH: a value equal to the stored one is the stored hash carried over
/// (PUT keeps an omitted password) and is left alone.
pub(crate) async fn hash_new_password(
    schema: &ResourceSchema,
    resource: &mut Resource,
    previous: Option<&Resource>,
) -> Result<(), ScimError> {
    let Some(name) = password_attribute(schema) else {
        return Ok(());
    };
    let map = resource.as_map_mut();
    let Some(key) = get_ci_key(map, name).map(str::to_owned) else {
        return Ok(());
    };
    let Some(Value::String(plain)) = map.get(&key) else {
        return Ok(());
    };
    let unchanged = previous
        .and_then(|p| get_ci(p.as_map(), name))
        .is_some_and(|old| old.as_str() == Some(plain.as_str()));
    if unchanged {
        return Ok(());
    }
    let plain = plain.clone();
    let hash = tokio::task::spawn_blocking(move || hash_password(&plain))
        .await
        .map_err(|e| ScimError::internal(format!("hashing the password failed: {e}")))??;
    map.insert(key, Value::String(hash));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_argon2id() {
        let a = hash_password("secret").unwrap();
        let b = hash_password("secret").unwrap();
        assert_ne!(a, b, "a random salt per hash");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert!(verify_password(&a, "secret") && verify_password(&b, "secret"));
        assert!(!verify_password(&a, "Secret"));
        assert!(
            !verify_password("secret", "secret"),
            "plain text is not a hash"
        );
    }
}
