//! Substring (4-gram) indexes for `co` and `ew`: the candidates of a substring filter
//! without reading every `attr_index` row of its path.
//!
//! A B-tree orders values, so `eq`, `sw` and ranges are range scans, but a substring can
//! sit anywhere in a value: on its own, `emails[value co "x"]` reads every email row of
//! the tenant (see `sql::filter`). An index here maps each run of four bytes (a 4-gram)
//! of the `value_norm`s of one path (in one tenant and resource type) to the values that
//! contain it. A value containing an operand of four bytes or more contains each of its
//! 4-grams, so intersecting their lists gives every candidate. An operand of three bytes
//! sits, in a value of four bytes or more, inside a 4-gram that starts or ends with it, so
//! the union of those 4-grams' lists (the index keeps which 4-grams start or end with each
//! three bytes) and the values of exactly three bytes give every candidate. Four bytes
//! rather than three keep the lists short where values share much: among 1,000,000
//! addresses `u0@example.com` ... the trigram `u50` is in 11,111 values, `u500` in 1,111.
//! The SQL keeps the leaf's own condition and tests it on the candidates' rows only
//! (`sql::filter::translate_probing`): the index may hold more candidates than match,
//! never fewer.
//!
//! # Kept in step with the database, across processes
//! The index lives in the process's memory, built on the first `co` / `ew` query of its
//! path and brought up to date at the start of every such query, inside the query's read
//! transaction, from the change feed (`changes`, `change_heads`): every write, by any
//! connection of any process, appends its changes in its own transaction, and a tenant's
//! change `seq`s are handed out in commit order (see `changes.rs`). So the index of a
//! snapshot whose head is `h` reads the changes up to `h` and the current rows of the
//! resources they name, in that snapshot: exactly what it shows.
//!
//! The index only adds (an updated value adds its new 4-grams, a deleted resource leaves
//! its entries, found and dropped by the SQL check). So an index brought up to `h` serves
//! every snapshot from the one it was built in to `h`: a value present in such a snapshot
//! was there at the build or written by a change it has read. It is rebuilt, from the
//! snapshot of the query that finds it so, when the entries added since the build outnumber
//! the build's, when it is further behind than the build had values (reading the changes
//! would cost more), when changes it has not read were pruned, and when the process's
//! layout of the resource type changed (a schema change). While the layout recorded in
//! the database is not the query's (another process rewrote the rows, which records no
//! change, see `ensure_layout`), a query whose snapshot is older than the build, a
//! substring of fewer than three bytes, and candidates that are not few (a quarter of the
//! path's values or more, where one pass over the rows costs less than a probe per
//! candidate) use the SQL scan.
//!
//! A query whose indexes are current (within a few changes) and whose candidates are few
//! is cheap enough for a point read, and runs on the calling task like a lookup by a unique
//! value ([`Effort::Light`], `SqliteStorage::inline_point_reads`); any other goes to the
//! blocking pool.
//!
//! # Cost
//! Per value: four bytes per distinct 4-gram (an email of 20 bytes has at most 17), its
//! own bytes and twelve more for its resource and its end. A query: one statement reading
//! `change_heads` and `index_layouts`, the changes since the last query and the rows of
//! the resources they name, an intersection (or for three bytes a union) of lists, then
//! the SQL: a search of each candidate's rows by the key of `attr_index`.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, TryLockError};

use rusqlite::{Connection, params};
use scim_core::filter::CompareOp;

use super::backend_err;
use super::changes::Head;
use super::readers::SnapshotValues;
use crate::storage::StorageError;
use crate::storage::sql::Ctx;
use crate::storage::sql::filter::Probe;

/// How much a query may do to get its candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effort {
    /// Whatever it takes: build or rebuild an index, read any number of changes.
    Full,
    /// Only from indexes that are built, current within [`LIGHT_CHANGES`] changes, and give
    /// at most [`LIGHT_CANDIDATES`] candidates per probe: a query the caller may run as a
    /// point read, on its own task.
    Light,
}

/// The changes a [`Effort::Light`] query may read to bring an index up to date.
const LIGHT_CHANGES: i64 = 64;

/// The candidates per probe of a [`Effort::Light`] query.
const LIGHT_CANDIDATES: usize = 64;

/// The shortest operand an index answers: three bytes, which a 4-gram starts or ends with
/// (or a value is).
const SHORTEST_OPERAND: usize = 3;

/// A path's index key: the tenant, the resource type and the `attr_index.path` key.
type PathKey = (String, String, String);

/// The substring indexes of a database, one per tenant, resource type and path key, built
/// on first use.
#[derive(Default)]
pub(super) struct SubstringIndexes {
    paths: Mutex<HashMap<PathKey, Arc<Mutex<PathIndex>>>>,
    /// The probes answered from an index (for tests).
    #[cfg(test)]
    served: std::sync::atomic::AtomicUsize,
}

impl SubstringIndexes {
    /// The candidates of each probe, the `seq`s bound at its parameter (as an array, see
    /// `filter_sql::Param`), read inside the caller's read transaction; `None` when one
    /// probe cannot be served (the query then runs the plain SQL).
    pub(super) fn candidates(
        &self,
        tx: &Connection,
        values: &mut SnapshotValues,
        ctx: &Ctx,
        probes: &[Probe],
        effort: Effort,
    ) -> Result<Option<Vec<Vec<i64>>>, StorageError> {
        if probes.iter().any(|p| p.operand.len() < SHORTEST_OPERAND) {
            return Ok(None);
        }
        let head = Head::read(tx, values, ctx)?;
        let mut out = Vec::with_capacity(probes.len());
        for probe in probes {
            let index = self.path(ctx, &probe.key);
            let poisoned = || StorageError::backend("a substring index lock was poisoned");
            let mut index = match effort {
                Effort::Full => index.lock().map_err(|_| poisoned())?,
                // Never wait on the calling task: another query may be building the index.
                Effort::Light => match index.try_lock() {
                    Ok(index) => index,
                    Err(TryLockError::WouldBlock) => return Ok(None),
                    Err(TryLockError::Poisoned(_)) => return Err(poisoned()),
                },
            };
            if !index.catch_up(tx, ctx, &probe.key, &head, effort)? {
                return Ok(None);
            }
            match index.candidates(probe) {
                Some(seqs) if effort == Effort::Full || seqs.len() <= LIGHT_CANDIDATES => {
                    out.push(seqs);
                }
                _ => return Ok(None),
            }
            #[cfg(test)]
            self.served
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(Some(out))
    }

    /// The number of probes answered from an index so far.
    #[cfg(test)]
    pub(super) fn served(&self) -> usize {
        self.served.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn path(&self, ctx: &Ctx, key: &str) -> Arc<Mutex<PathIndex>> {
        let mut paths = self.paths.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            paths
                .entry((ctx.tenant.clone(), ctx.rtype.clone(), key.to_string()))
                .or_default(),
        )
    }
}

/// The index of one path, or nothing before its first query.
#[derive(Default)]
struct PathIndex {
    built: Option<Grams>,
}

/// A run of four bytes of a value.
type Gram = [u8; 4];

/// The 4-gram lists of one path's values.
struct Grams {
    /// The layout the rows were read with.
    layout: Arc<str>,
    /// The change `seq` of the snapshot it was built in.
    from: i64,
    /// The change `seq` it has read up to.
    at: i64,
    /// The resource (`seq`) of each value added, in order; a value's position is its slot.
    slots: Vec<i64>,
    /// The bytes of every value added, one after the other.
    bytes: Vec<u8>,
    /// The end of each slot's value in `bytes` (it starts where the previous one ends).
    ends: Vec<u32>,
    /// The slots (ascending) of the values containing each 4-gram.
    lists: HashMap<Gram, Vec<u32>>,
    /// The 4-grams of `lists` that start or end with each three bytes.
    around: HashMap<[u8; 3], Vec<Gram>>,
    /// The slots (ascending) of the values of exactly three bytes, which hold no 4-gram.
    three_bytes: Vec<u32>,
    /// The number of values of the build.
    built_values: usize,
    /// A value did not fit (more than `u32::MAX` values or bytes): the index is incomplete
    /// and answers nothing.
    overflow: bool,
}

impl PathIndex {
    /// Brings the index up to the snapshot `head`; false when it cannot serve it: a
    /// snapshot older than the index's build, rows of another layout, or, with
    /// [`Effort::Light`], an index to build or more than [`LIGHT_CHANGES`] changes to read.
    fn catch_up(
        &mut self,
        tx: &Connection,
        ctx: &Ctx,
        key: &str,
        head: &Head,
        effort: Effort,
    ) -> Result<bool, StorageError> {
        if !head.layout_current {
            // The rows follow another layout (another process's schema): the plain SQL.
            return Ok(false);
        }
        match &mut self.built {
            Some(t) if !t.stale(ctx, head) => {
                if head.last < t.from
                    || (effort == Effort::Light && head.last - t.at > LIGHT_CHANGES)
                {
                    return Ok(false);
                }
                if head.last > t.at {
                    t.read_changes(tx, ctx, key, head)?;
                }
                Ok(true)
            }
            _ if effort == Effort::Light => Ok(false),
            _ => {
                self.built = Some(Grams::build(tx, ctx, key, head)?);
                Ok(true)
            }
        }
    }

    fn candidates(&self, probe: &Probe) -> Option<Vec<i64>> {
        self.built.as_ref()?.candidates(probe)
    }
}

impl Grams {
    /// Whether the index must be rebuilt to serve `head`: the layout changed, changes it
    /// has not read were pruned, the entries added since the build outnumber the build's,
    /// or it is further behind than the build's rows (reading the changes would cost more
    /// than a rebuild).
    fn stale(&self, ctx: &Ctx, head: &Head) -> bool {
        let behind = usize::try_from(head.last - self.at).unwrap_or(0);
        *self.layout != *ctx.layout
            || self.at < head.pruned
            || self.slots.len() > 2 * self.built_values.max(1024)
            || behind > self.built_values.max(1024)
    }

    /// Adds the values of the resources the changes after `at` up to `head` name, as the
    /// snapshot shows them.
    fn read_changes(
        &mut self,
        tx: &Connection,
        ctx: &Ctx,
        key: &str,
        head: &Head,
    ) -> Result<(), StorageError> {
        let ids: HashSet<String> = tx
            .prepare_cached(
                "SELECT id FROM changes WHERE tenant = ?1 AND seq > ?2 AND seq <= ?3 \
                 AND rtype = ?4",
            )
            .and_then(|mut s| {
                s.query_map(params![ctx.tenant, self.at, head.last, ctx.rtype], |r| {
                    r.get(0)
                })?
                .collect()
            })
            .map_err(backend_err)?;
        let mut rows = tx
            .prepare_cached(
                "SELECT a.seq, a.value_norm FROM resources r JOIN attr_index a \
                 ON a.seq = r.seq AND a.path = ?4 \
                 WHERE r.tenant = ?1 AND r.rtype = ?2 AND r.id = ?3",
            )
            .map_err(backend_err)?;
        for id in &ids {
            let values = rows
                .query_map(params![ctx.tenant, ctx.rtype, id, key], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
                })
                .and_then(|v| v.collect::<Result<Vec<_>, _>>())
                .map_err(backend_err)?;
            for (seq, value) in values {
                if let Some(v) = value {
                    self.add(seq, v.as_bytes());
                }
            }
        }
        self.at = head.last;
        Ok(())
    }

    /// Every value of the path in the snapshot.
    fn build(tx: &Connection, ctx: &Ctx, key: &str, head: &Head) -> Result<Grams, StorageError> {
        let mut t = Grams::new(Arc::clone(&ctx.layout), head.last);
        let mut stmt = tx
            .prepare_cached(
                "SELECT seq, value_norm FROM attr_index \
                 WHERE tenant = ?1 AND rtype = ?2 AND path = ?3 AND value_norm IS NOT NULL",
            )
            .map_err(backend_err)?;
        let mut rows = stmt
            .query(params![ctx.tenant, ctx.rtype, key])
            .map_err(backend_err)?;
        while let Some(row) = rows.next().map_err(backend_err)? {
            let seq: i64 = row.get(0).map_err(backend_err)?;
            let value = row.get_ref(1).map_err(backend_err)?;
            if let Ok(bytes) = value.as_bytes() {
                t.add(seq, bytes);
            }
        }
        t.built_values = t.slots.len();
        for list in t.lists.values_mut() {
            list.shrink_to_fit();
        }
        for grams in t.around.values_mut() {
            grams.shrink_to_fit();
        }
        t.bytes.shrink_to_fit();
        Ok(t)
    }

    fn new(layout: Arc<str>, at: i64) -> Grams {
        Grams {
            layout,
            from: at,
            at,
            slots: Vec::new(),
            bytes: Vec::new(),
            ends: Vec::new(),
            lists: HashMap::new(),
            around: HashMap::new(),
            three_bytes: Vec::new(),
            built_values: 0,
            overflow: false,
        }
    }

    /// Adds a value of resource `seq`.
    fn add(&mut self, seq: i64, value: &[u8]) {
        let (Ok(slot), Ok(end)) = (
            u32::try_from(self.slots.len()),
            u32::try_from(self.bytes.len() + value.len()),
        ) else {
            self.overflow = true;
            return;
        };
        self.slots.push(seq);
        self.bytes.extend_from_slice(value);
        self.ends.push(end);
        if value.len() == 3 {
            self.three_bytes.push(slot);
        }
        for w in value.windows(4) {
            let gram = [w[0], w[1], w[2], w[3]];
            let list = match self.lists.entry(gram) {
                Entry::Occupied(list) => list.into_mut(),
                Entry::Vacant(new) => {
                    let (head, tail) = ([w[0], w[1], w[2]], [w[1], w[2], w[3]]);
                    self.around.entry(head).or_default().push(gram);
                    if tail != head {
                        self.around.entry(tail).or_default().push(gram);
                    }
                    new.insert(Vec::new())
                }
            };
            if list.last() != Some(&slot) {
                list.push(slot);
            }
        }
    }

    /// The bytes of the value in `slot`.
    fn value(&self, slot: u32) -> Option<&[u8]> {
        let i = usize::try_from(slot).ok()?;
        let start = match i.checked_sub(1) {
            Some(prev) => usize::try_from(*self.ends.get(prev)?).ok()?,
            None => 0,
        };
        let end = usize::try_from(*self.ends.get(i)?).ok()?;
        self.bytes.get(start..end)
    }

    /// The resources (sorted, distinct) with a value the index holds that satisfies the
    /// probe (`co` / `ew` on its operand of three bytes or more): the values holding every
    /// 4-gram of the operand, or for three bytes those in the lists of the 4-grams around
    /// it and those of exactly its bytes, tested byte by byte. `None` when the operand is
    /// shorter, the index is incomplete, or they are not few enough to beat one pass over
    /// the rows.
    fn candidates(&self, probe: &Probe) -> Option<Vec<i64>> {
        if self.overflow {
            return None;
        }
        let operand = probe.operand.as_bytes();
        let slots = match operand {
            [a, b, c] => self.around_three([*a, *b, *c], probe.op)?,
            _ if operand.len() < SHORTEST_OPERAND => return None,
            _ => self.holding_all(operand),
        };
        let holds = |v: &[u8]| match probe.op {
            CompareOp::Ew => v.ends_with(operand),
            _ => v.windows(operand.len()).any(|w| w == operand),
        };
        let holding: Vec<u32> = slots
            .into_iter()
            .filter(|&s| self.value(s).is_some_and(holds))
            .collect();
        if self.not_few(holding.len()) {
            return None;
        }
        let mut seqs: Vec<i64> = holding
            .into_iter()
            .filter_map(|s| {
                usize::try_from(s)
                    .ok()
                    .and_then(|s| self.slots.get(s).copied())
            })
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        Some(seqs)
    }

    /// Whether `n` values are a quarter of the path's or more, where one pass over the rows
    /// costs less than a search per candidate.
    fn not_few(&self, n: usize) -> bool {
        n.saturating_mul(4) > self.slots.len()
    }

    /// The slots (ascending) of the values holding every 4-gram of `operand` (four bytes or
    /// more): the shortest list intersected with the others.
    fn holding_all(&self, operand: &[u8]) -> Vec<u32> {
        let mut lists: Vec<&[u32]> = Vec::new();
        for w in operand.windows(4) {
            match self.lists.get(&[w[0], w[1], w[2], w[3]]) {
                Some(list) => lists.push(list),
                None => return Vec::new(),
            }
        }
        // Shortest first; a 4-gram the operand holds twice once.
        lists.sort_by_key(|l| (l.len(), l.as_ptr()));
        lists.dedup_by(|a, b| std::ptr::eq(*a, *b));
        let Some((first, rest)) = lists.split_first() else {
            return Vec::new();
        };
        let mut slots: Vec<u32> = first.to_vec();
        for list in rest {
            slots = intersect(&slots, list);
            if slots.is_empty() {
                break;
            }
        }
        slots
    }

    /// The slots (ascending, distinct) of the values that may hold the three bytes
    /// `three`: those of the 4-grams that start or end with them, and the values of
    /// exactly three bytes. `None` for `co`, before their union, when one 4-gram alone is
    /// in values that are [`not_few`](Self::not_few): every value of its list holds them.
    fn around_three(&self, three: [u8; 3], op: CompareOp) -> Option<Vec<u32>> {
        let lists: Vec<&[u32]> = self
            .around
            .get(&three)
            .into_iter()
            .flatten()
            .filter_map(|gram| self.lists.get(gram).map(Vec::as_slice))
            .collect();
        if op == CompareOp::Co && lists.iter().any(|l| self.not_few(l.len())) {
            return None;
        }
        let mut slots: Vec<u32> = self.three_bytes.clone();
        for list in lists {
            slots.extend_from_slice(list);
        }
        slots.sort_unstable();
        slots.dedup();
        Some(slots)
    }
}

/// The slots in both ascending lists: a merge, or one binary search per slot of `a` when
/// `b` is much longer.
fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    if b.len() / 16 > a.len() {
        return a
            .iter()
            .copied()
            .filter(|s| b.binary_search(s).is_ok())
            .collect();
    }
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    let (mut i, mut j) = (0, 0);
    while let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
        match x.cmp(&y) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(x);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn index(values: &[(i64, &str)]) -> Grams {
        let mut t = Grams::new(Arc::from(""), 0);
        for (seq, v) in values {
            t.add(*seq, v.as_bytes());
        }
        t
    }

    fn probe(op: CompareOp, operand: &str) -> Probe {
        Probe {
            key: "emails.value".into(),
            op,
            operand: operand.into(),
            param: 0,
        }
    }

    fn find(t: &Grams, operand: &str) -> Option<Vec<i64>> {
        t.candidates(&probe(CompareOp::Co, operand))
    }

    #[test]
    fn candidates_hold_every_value_containing_the_operand() {
        let mut values = vec![(1, "u50@example.com"), (2, "u500@example.com")];
        values.extend((3..40).map(|i| (i, "someone@else.org")));
        let t = index(&values);
        assert_eq!(find(&t, "u50@"), Some(vec![1]));
        assert_eq!(find(&t, "u50"), Some(vec![1, 2]));
        assert_eq!(find(&t, "nobody"), Some(vec![]));
        // Most values contain it: a pass over the rows is cheaper.
        assert_eq!(find(&t, "else.org"), None);
        // Fewer than three bytes: no 4-gram holds it or starts or ends with it.
        assert_eq!(find(&t, "u5"), None);
    }

    #[test]
    fn grams_are_bytes_so_any_utf8_operand_is_found() {
        let mut values = vec![(7, "jürgen@example.com"), (8, "日本語のメール")];
        values.extend((10..40).map(|i| (i, "x@y.org")));
        let t = index(&values);
        assert_eq!(find(&t, "ürg"), Some(vec![7]));
        assert_eq!(find(&t, "本語"), Some(vec![8]));
    }

    #[test]
    fn the_values_are_tested_byte_by_byte() {
        let mut values = vec![(1, "xaaaax"), (2, "aaaaa@x.org"), (3, "zaaaaa")];
        values.extend((10..40).map(|i| (i, "zzzz")));
        let t = index(&values);
        // Value 1 holds the one 4-gram of "aaaaa" but not "aaaaa".
        assert_eq!(find(&t, "aaaaa"), Some(vec![2, 3]));
        let ew = probe(CompareOp::Ew, "aaaaa");
        assert_eq!(t.candidates(&ew), Some(vec![3]));
        assert_eq!(intersect(&[1, 3, 5, 7], &[2, 3, 4, 7, 9]), [3, 7]);
        let long: Vec<u32> = (0..1000).collect();
        assert_eq!(intersect(&[5, 999, 1000], &long), [5, 999]);
    }

    /// Three bytes sit inside a 4-gram that starts or ends with them, or are a whole value.
    #[test]
    fn an_operand_of_three_bytes_is_found_at_every_place() {
        let mut values = vec![
            (1, "abc"),
            (2, "abcz"),
            (3, "zabc"),
            (4, "zzabczz"),
            (5, "abxc"),
            (6, "ab"),
        ];
        values.extend((10..40).map(|i| (i, "zzzz")));
        let t = index(&values);
        assert_eq!(find(&t, "abc"), Some(vec![1, 2, 3, 4]));
        assert_eq!(t.candidates(&probe(CompareOp::Ew, "abc")), Some(vec![1, 3]));
        assert_eq!(find(&t, "bxc"), Some(vec![5]));
        assert_eq!(find(&t, "xyz"), Some(vec![]));
        // "zzz" ends and starts the same 4-gram "zzzz": its values once.
        assert_eq!(find(&t, "zzz"), None);
        assert_eq!(find(&t, "zab"), Some(vec![3, 4]));
    }

    #[test]
    fn a_value_added_again_keeps_its_resource_once() {
        let mut values = vec![(1, "aaaa"), (1, "aaab")];
        values.extend((10..40).map(|i| (i, "zzzz")));
        let t = index(&values);
        assert_eq!(find(&t, "aaa"), Some(vec![1]));
    }

    proptest! {
        /// The candidates are exactly the resources with a value that holds (or for `ew`
        /// ends with) the operand, over a small alphabet where 4-grams repeat and overlap;
        /// none when those values are a quarter of all or more.
        #[test]
        fn candidates_are_exactly_the_values_holding_the_operand(
            values in proptest::collection::vec((0i64..12, "[ab@.]{0,9}"), 1..40),
            operand in "[ab@.]{3,6}",
            ends_with in any::<bool>(),
        ) {
            let t = index(&values.iter().map(|(s, v)| (*s, v.as_str())).collect::<Vec<_>>());
            let op = if ends_with { CompareOp::Ew } else { CompareOp::Co };
            let holding: Vec<i64> = values
                .iter()
                .filter(|(_, v)| if ends_with { v.ends_with(&operand) } else { v.contains(&operand) })
                .map(|(s, _)| *s)
                .collect();
            let few = holding.len() * 4 <= values.len();
            let mut want = holding;
            want.sort_unstable();
            want.dedup();
            let want = few.then_some(want);
            prop_assert_eq!(t.candidates(&probe(op, &operand)), want);
        }
    }
}
