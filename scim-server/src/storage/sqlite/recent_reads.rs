//! Recent point reads, remembered with the tenant's change head they were read at, and
//! answered again without reading the resource while that head has not moved.
//!
//! When the server holds a rendering of a resource it asks only for its version and its
//! groups ([`Load::VERSION`](crate::storage::Load::VERSION)): a `GET /Users/{id}`, or the
//! lookup `userName eq "…"` that Microsoft Entra ID and Okta send before they create or
//! match a user. Each of those is one statement over the tenant's largest tables (the
//! `resources` row by id, the `attr_index` row by value, the `members` of every group):
//! index descents whose pages miss the readers' page caches once the tenant holds more
//! users than they do, and are then read from the file.
//!
//! Every write of a tenant's resources or memberships, by any process on the file, moves
//! the tenant's change head (`change_heads.last_seq`) in its own transaction (see
//! `changes.rs`): the same head means the same committed writes. So a read remembered with
//! the head it saw is still the answer while a later read sees that head, and a read first
//! reads the head (one row of a table of one row per tenant, whose page stays cached; once
//! per reader snapshot, see `SnapshotValues` in `readers.rs`):
//!
//! - the head is the remembered one: the remembered answer, no other statement;
//! - else the statement runs as before, in the same snapshot as the head (one reader, one
//!   read transaction: see `readers.rs`; on the in-memory database the writer's connection,
//!   locked for the whole read), and its answer is remembered with that head.
//!
//! The head is read before the answer, so an answer is never older than the head it is
//! remembered with, whichever snapshot each was read in. A lookup also depends on the
//! `attr_index` rows, which a process with another index layout rewrites without a change:
//! it is remembered and answered only while the recorded layout is the query's.
//!
//! A tenant that writes steadily moves its head on every write: each read then costs the
//! head's row more than before, and nothing is remembered for long. Only answers without
//! the resources' attributes and members are kept; not-found answers are not kept.

use std::sync::Arc;

use quick_cache::Weighter;
use quick_cache::sync::Cache;
use rusqlite::Connection;

use super::changes::{head_in, last_in};
use super::readers::SnapshotValues;
use crate::storage::sql::Ctx;
use crate::storage::{GroupRef, StorageError};

/// Bytes each of the two caches holds at most (keys, answers and bookkeeping): some
/// 40,000 resources or lookups of about 200 bytes.
const CAPACITY_BYTES: u64 = 8 * 1024 * 1024;

/// Bytes of bookkeeping counted for each entry beside its key and answer.
const ENTRY_OVERHEAD: u64 = 64;

/// Joins the parts of a key: a tenant id cannot hold it and a resource type's name or an
/// `attr_index` path key does not, so only the last part (an id, a value) may, and each
/// key splits back into its parts one way only.
const SEPARATOR: char = '\u{1f}';

/// The version and the groups of one resource.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct VersionAndGroups {
    pub(super) version: u64,
    pub(super) groups: Vec<GroupRef>,
}

/// One resource a lookup found: its `seq` (creation order), id, version and groups.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Found {
    pub(super) seq: i64,
    pub(super) id: String,
    pub(super) version: u64,
    pub(super) groups: Vec<GroupRef>,
}

/// An answer and the head (and, for lookups, the layout) it was read at.
struct Remembered<T> {
    head: i64,
    layout: Option<Arc<str>>,
    answer: T,
}

/// The recent answers of one [`SqliteStorage`](super::SqliteStorage) (its handles share
/// them).
pub(super) struct RecentReads {
    resources: Cache<String, Arc<Remembered<VersionAndGroups>>, ByBytes>,
    lookups: Cache<String, Arc<Remembered<Vec<Found>>>, ByBytes>,
    /// Answers given from memory (for tests).
    #[cfg(test)]
    answered: std::sync::atomic::AtomicUsize,
}

impl Default for RecentReads {
    fn default() -> Self {
        // quick_cache sizes its tables from the expected number of entries.
        let items = usize::try_from(CAPACITY_BYTES / 200).unwrap_or(usize::MAX);
        RecentReads {
            resources: Cache::with_weighter(items, CAPACITY_BYTES, ByBytes),
            lookups: Cache::with_weighter(items, CAPACITY_BYTES, ByBytes),
            #[cfg(test)]
            answered: std::sync::atomic::AtomicUsize::new(0),
        }
    }
}

/// The size of an answer, for the caches' bound.
trait Bytes {
    fn bytes(&self) -> usize;
}

fn group_bytes(groups: &[GroupRef]) -> usize {
    groups
        .iter()
        .map(|g| {
            g.id.len() + g.resource_type.len() + g.display.as_ref().map_or(0, String::len) + 72
        })
        .sum()
}

impl Bytes for VersionAndGroups {
    fn bytes(&self) -> usize {
        8 + group_bytes(&self.groups)
    }
}

impl Bytes for Vec<Found> {
    fn bytes(&self) -> usize {
        self.iter()
            .map(|f| 40 + f.id.len() + group_bytes(&f.groups))
            .sum()
    }
}

#[derive(Clone)]
struct ByBytes;

impl<T: Bytes> Weighter<String, Arc<Remembered<T>>> for ByBytes {
    fn weight(&self, key: &String, value: &Arc<Remembered<T>>) -> u64 {
        (key.len() + value.answer.bytes()) as u64 + ENTRY_OVERHEAD
    }
}

fn key(parts: &[&str]) -> String {
    let mut key = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            key.push(SEPARATOR);
        }
        key.push_str(part);
    }
    key
}

impl RecentReads {
    /// The version and groups of resource `id` of `rtype` in `tenant`, remembered or read
    /// by `read` on `conn` (the same snapshot as the head this reads first).
    pub(super) fn resource(
        &self,
        conn: &Connection,
        values: &mut SnapshotValues,
        (tenant, rtype, id): (&str, &str, &str),
        read: impl FnOnce(&Connection) -> Result<VersionAndGroups, StorageError>,
    ) -> Result<VersionAndGroups, StorageError> {
        let head = last_in(conn, values, tenant)?;
        let key = key(&[tenant, rtype, id]);
        self.answer(&self.resources, key, (head, None), || read(conn))
    }

    /// Every resource of `ctx`'s scope whose `attr_index` row of `path` holds `value`,
    /// remembered or read by `read` on `conn` (the same snapshot as the head this reads
    /// first).
    pub(super) fn lookup(
        &self,
        conn: &Connection,
        values: &mut SnapshotValues,
        ctx: &Ctx,
        (path, value): (&str, &str),
        read: impl FnOnce(&Connection) -> Result<Vec<Found>, StorageError>,
    ) -> Result<Vec<Found>, StorageError> {
        let head = head_in(conn, values, ctx)?;
        if !head.layout_current {
            return read(conn);
        }
        let key = key(&[&ctx.tenant, &ctx.rtype, path, value]);
        let read_at = (head.last, Some(&ctx.layout));
        self.answer(&self.lookups, key, read_at, || read(conn))
    }

    /// The answer `cache` keeps under `key` when it was read at `read_at` (the head, and the
    /// layout for a lookup), else `read()`, kept.
    fn answer<T: Clone + Bytes>(
        &self,
        cache: &Cache<String, Arc<Remembered<T>>, ByBytes>,
        key: String,
        (head, layout): (i64, Option<&Arc<str>>),
        read: impl FnOnce() -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        if let Some(kept) = cache.get(&key)
            && kept.head == head
            && kept.layout.as_deref() == layout.map(|l| &**l)
        {
            self.count_answered();
            return Ok(kept.answer.clone());
        }
        let answer = read()?;
        let remembered = Remembered {
            head,
            layout: layout.cloned(),
            answer: answer.clone(),
        };
        cache.insert(key, Arc::new(remembered));
        Ok(answer)
    }

    fn count_answered(&self) {
        #[cfg(test)]
        self.answered
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// How many answers came from memory (for tests).
    #[cfg(test)]
    pub(super) fn answered(&self) -> usize {
        self.answered.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_their_parts_apart() {
        assert_eq!(key(&["t", "User", "a"]), "t\u{1f}User\u{1f}a");
        assert_ne!(key(&["t", "User", "ab"]), key(&["t", "Use", "rab"]));
    }

    #[test]
    fn answers_weigh_their_groups() {
        let bare = VersionAndGroups {
            version: 1,
            groups: vec![],
        };
        let grouped = VersionAndGroups {
            version: 1,
            groups: vec![GroupRef {
                id: "g".repeat(36),
                resource_type: "Group".into(),
                display: Some("Sales".into()),
            }],
        };
        assert!(grouped.bytes() > bare.bytes() + 36);
    }
}
