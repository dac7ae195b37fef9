//! The integer key of an indexed path in one scope (a tenant and a resource type), which
//! the SQL backends store in `attr_index.path_key` instead of the tenant, the type and the
//! path as text.
//!
//! Every entry of the `attr_index` indexes begins with it: a B-tree descent compares one
//! integer before the value instead of three strings (an enterprise extension's paths,
//! `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:...`, are 67 to 78 bytes),
//! and a row is shorter by the path. The tenant and the type stay in the rows (at the end
//! of the index entries, where a descent never reaches them: the key decides first), so
//! the statements still name the scope and remain readable.
//!
//! The key is derived, not assigned: the first 8 bytes of the SHA-256 of the scope and the
//! path. Every process writing the same database (several servers on one PostgreSQL, or on
//! one SQLite file) computes the same key without asking the database, and a reader
//! computes it for its statement's parameters without a lookup. Two triples sharing a key
//! is improbable (with 100,000 distinct paths across all tenants, about 3 × 10⁻¹⁰) but not
//! impossible, so the writers record each key's triple in `path_keys` the first time a
//! process writes under it ([`KeyGuard`]) and refuse a write whose key already names
//! another triple, instead of mixing two paths' rows.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};

use super::index::IndexRow;
use crate::storage::StorageError;

/// The key of the path `id` in the rows a sort by `id` reads from `resources` (see
/// `Dialect::id_rows`): never a stored row's key ([`PathKeys::of`] never returns it).
pub(crate) const ID_KEY: i64 = 0;

/// The keys of one scope's paths: `PathKeys::new("acme", "User").of("username")` is the
/// same number in every process and every version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PathKeys<'a> {
    tenant: &'a str,
    rtype: &'a str,
}

impl<'a> PathKeys<'a> {
    /// The keys of the tenant's resource type `rtype`.
    pub const fn new(tenant: &'a str, rtype: &'a str) -> Self {
        PathKeys { tenant, rtype }
    }

    /// The key of `path` (an `attr_index` path key, e.g. `emails.value`). The parts are
    /// hashed with their lengths, so no two triples hash the same bytes.
    pub fn of(&self, path: &str) -> i64 {
        if path == "id" {
            return ID_KEY;
        }
        let mut h = Sha256::new();
        for part in [self.tenant, self.rtype, path] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        let digest = h.finalize();
        let mut first = [0_u8; 8];
        first.copy_from_slice(&digest[..8]);
        match i64::from_be_bytes(first) {
            ID_KEY => 1,
            key => key,
        }
    }

    /// The tenant.
    pub fn tenant(&self) -> &'a str {
        self.tenant
    }

    /// The resource type.
    pub fn rtype(&self) -> &'a str {
        self.rtype
    }
}

/// The keys a storage handle has seen recorded in `path_keys` for their own triple, so each
/// is checked once per process (see the module's introduction).
#[derive(Debug, Default)]
pub(crate) struct KeyGuard {
    checked: Mutex<HashSet<i64>>,
}

impl KeyGuard {
    /// The `(key, path)` pairs among `keyed` whose keys this handle has not checked yet,
    /// each once.
    pub fn unchecked<'p>(
        &self,
        keyed: impl IntoIterator<Item = (i64, &'p str)>,
    ) -> Vec<(i64, &'p str)> {
        let checked = self.checked.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<(i64, &'p str)> = Vec::new();
        for (key, path) in keyed {
            if !checked.contains(&key) && !out.iter().any(|(k, _)| *k == key) {
                out.push((key, path));
            }
        }
        out
    }

    /// Records that `key` names its own triple in `path_keys`. A triple recorded by a write
    /// that then rolls back is missing from the table again, which only means a later
    /// triple with the same key would go unnoticed: the table is a guard, never read to
    /// answer a query.
    pub fn checked(&self, key: i64) {
        self.checked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key);
    }
}

/// The key of each of `rows`, in order (rows of one path follow each other, so each path
/// is hashed once).
pub(crate) fn row_keys<'r>(
    keys: PathKeys<'_>,
    rows: impl IntoIterator<Item = &'r IndexRow>,
) -> Vec<i64> {
    let mut last: Option<(&str, i64)> = None;
    rows.into_iter()
        .map(|row| match last {
            Some((path, key)) if path == row.key => key,
            _ => {
                let key = keys.of(&row.key);
                last = Some((&row.key, key));
                key
            }
        })
        .collect()
}

/// Each of `rows` as its key (`keys`, [`row_keys`]' answer for them) and its path: what
/// [`KeyGuard::unchecked`] takes.
pub(crate) fn keyed<'r>(
    rows: impl IntoIterator<Item = &'r IndexRow>,
    keys: &'r [i64],
) -> impl Iterator<Item = (i64, &'r str)> {
    keys.iter()
        .copied()
        .zip(rows.into_iter().map(|r| r.key.as_str()))
}

/// Checks that `owner`, the triple `path_keys` records for `key` (tenant, type, path), is
/// `path` of the scope `keys`; else the write cannot go on.
pub(crate) fn check_owner(
    keys: PathKeys<'_>,
    path: &str,
    key: i64,
    owner: (&str, &str, &str),
) -> Result<(), StorageError> {
    if owner == (keys.tenant(), keys.rtype(), path) {
        return Ok(());
    }
    Err(StorageError::backend(format!(
        "the index key {key} of the path '{path}' of the tenant '{}' and type '{}' is \
         already the key of '{}' of '{}' and '{}': the two cannot share the index",
        keys.tenant(),
        keys.rtype(),
        owner.2,
        owner.0,
        owner.1
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_distinct_and_never_the_id_key() {
        let acme = PathKeys::new("acme", "User");
        // The same triple, the same key (in every process: no random state).
        assert_eq!(
            acme.of("userName"),
            PathKeys::new("acme", "User").of("userName")
        );
        assert_eq!(acme.of("id"), ID_KEY);
        let others = [
            acme.of("username"),
            acme.of("emails.value"),
            PathKeys::new("acme", "Group").of("userName"),
            PathKeys::new("other", "User").of("userName"),
            // The lengths keep the parts apart: "ab" + "c" is not "a" + "bc".
            PathKeys::new("acmeU", "ser").of("userName"),
        ];
        for (i, k) in others.iter().enumerate() {
            assert_ne!(*k, ID_KEY);
            assert_ne!(*k, acme.of("userName"), "{i}");
        }
        // The keys are stored, so they must never change between versions: this one was
        // computed independently (Python's hashlib: SHA-256 of the length-prefixed parts,
        // the first 8 bytes as a big-endian signed integer).
        assert_eq!(
            PathKeys::new("default", "User").of("username"),
            4_919_498_784_998_741_722
        );
    }

    #[test]
    fn each_row_gets_the_key_of_its_path() {
        let keys = PathKeys::new("acme", "User");
        let row = |key: &str, elem: i64| IndexRow {
            key: key.to_string(),
            elem,
            norm: None,
            num: None,
            skey: None,
        };
        let rows = [
            row("emails.type", 0),
            row("emails.value", 0),
            row("emails.value", 1),
            row("username", 0),
        ];
        assert_eq!(
            row_keys(keys, &rows),
            ["emails.type", "emails.value", "emails.value", "username"].map(|p| keys.of(p))
        );
    }

    #[test]
    fn the_guard_reports_each_key_until_it_is_checked() {
        let guard = KeyGuard::default();
        let keys = PathKeys::new("acme", "User");
        let paths = ["userName", "emails.value", "userName"].map(|p| (keys.of(p), p));
        let first = guard.unchecked(paths);
        assert_eq!(
            first,
            vec![
                (keys.of("userName"), "userName"),
                (keys.of("emails.value"), "emails.value")
            ]
        );
        guard.checked(keys.of("userName"));
        assert_eq!(
            guard.unchecked(paths),
            vec![(keys.of("emails.value"), "emails.value")]
        );
    }
}
