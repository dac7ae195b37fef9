//! `sortBy` a single-valued path read from its value rows (RFC 7644 §3.4.2.3), shared by
//! the SQL backends.
//!
//! A single-valued path's value row already holds what its sort key orders by: the
//! folded string, the boolean, the UTC instant at a fixed width (`value_norm`, whose byte
//! order is the key's order) or the number (`value_num`). So the covering index of the
//! values (`attr_index_lookup`, `attr_index_num`) delivers a page in sort order, and a
//! resource whose rows imply its sort key stores no key of its own: one index entry fewer
//! per single-valued attribute on every write.
//!
//! A resource whose rows do not imply its key (a value of another JSON type than the
//! attribute's, a string that is no dateTime, several values at a single-valued path, a
//! negative zero, a key from a value that gives no row) keeps its key in `skey` on its
//! first value row ([`irregular_key`]; [`NO_KEY`] when it has no key but a value row in the
//! range). A query over a path without such rows reads the values' index ([`KeySource`]);
//! over one with them, it orders the matches in memory from the path's rows
//! ([`order_in_memory`]), as scim-core orders them.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use scim_core::sort::SortKey;

use scim_core::resource::datetime_from_str;

use super::index::{IndexRow, Kind, datetime_norm};
use super::sort::{Position, Segment, decode_key, encode_key};
use crate::storage::StoragePage;

/// The `skey` of a resource that has no sort key although a value row of the path is in
/// the range a query reads ([`ValueOrder::in_range`]). No encoded key starts with `0xff`.
pub(crate) const NO_KEY: &[u8] = &[0xff];

/// How a single-valued path of this kind orders by its value rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ValueOrder {
    /// The path's kind.
    pub kind: Kind,
}

/// A value of the column a [`ValueOrder`] reads.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ColumnValue {
    /// `value_norm`.
    Text(String),
    /// `value_num`.
    Num(f64),
}

impl ValueOrder {
    /// The column holds numbers (`value_num`), not text (`value_norm`).
    pub fn numeric(self) -> bool {
        self.kind == Kind::Num
    }

    /// The column holding the order: `value_norm` or `value_num`.
    pub fn column(self) -> &'static str {
        if self.numeric() {
            "value_num"
        } else {
            "value_norm"
        }
    }

    /// The SQL condition of the rows that hold a key (`alias` is `""` or `"a."`): a string
    /// (the empty string too), a boolean or a dateTime (not the empty string, which is
    /// neither), a number.
    pub fn range(self, alias: &str) -> String {
        match self.kind {
            Kind::Str { .. } => format!("{alias}value_norm IS NOT NULL"),
            Kind::Bool | Kind::DateTime => format!("{alias}value_norm > ''"),
            Kind::Num => format!("{alias}value_num IS NOT NULL"),
        }
    }

    /// [`ValueOrder::range`] for one row.
    pub fn in_range(self, norm: Option<&str>, num: Option<f64>) -> bool {
        match self.kind {
            Kind::Str { .. } => norm.is_some(),
            Kind::Bool | Kind::DateTime => norm.is_some_and(|n| !n.is_empty()),
            Kind::Num => num.is_some(),
        }
    }

    /// The sort key a row in the range stands for, when the column's order is that key's
    /// order: not for a dateTime outside years 0000-9999 (its text is wider) nor for a
    /// negative zero (SQL compares it equal to zero).
    pub fn implied(self, norm: Option<&str>, num: Option<f64>) -> Option<SortKey> {
        match self.kind {
            Kind::Str { .. } => norm.map(|n| SortKey::String(n.to_owned())),
            Kind::Bool => match norm? {
                "true" => Some(SortKey::Bool(true)),
                "false" => Some(SortKey::Bool(false)),
                _ => None,
            },
            Kind::DateTime => {
                let n = norm.filter(|n| n.len() == DATETIME_WIDTH)?;
                Some(SortKey::DateTime(datetime_from_str(n)?.to_utc()))
            }
            Kind::Num => num
                .filter(|n| !(*n == 0.0 && n.is_sign_negative()))
                .map(SortKey::Number),
        }
    }

    /// Whether a row with these columns stands for `key` (its [`ValueOrder::implied`] key is
    /// `key`), compared without building either key.
    pub fn stands_for(self, norm: Option<&str>, num: Option<f64>, key: &SortKey) -> bool {
        match (self.kind, key) {
            (Kind::Str { .. }, SortKey::String(k)) => norm == Some(k.as_str()),
            (Kind::Bool, SortKey::Bool(b)) => norm == Some(if *b { "true" } else { "false" }),
            (Kind::DateTime, SortKey::DateTime(d)) => norm
                .filter(|n| n.len() == DATETIME_WIDTH)
                .and_then(datetime_from_str)
                .is_some_and(|n| n == *d),
            (Kind::Num, SortKey::Number(k)) => num
                .is_some_and(|n| n.to_bits() == k.to_bits() && !(n == 0.0 && n.is_sign_negative())),
            _ => false,
        }
    }

    /// The encoded key of a value read from the column.
    pub fn key_of(self, v: &ColumnValue) -> Option<Vec<u8>> {
        let key = match v {
            ColumnValue::Text(t) => self.implied(Some(t), None)?,
            ColumnValue::Num(n) => self.implied(None, Some(*n))?,
        };
        Some(encode_key(&key))
    }

    /// Whether the values' index can continue after the cursor position `after`: none, a
    /// position without a key, or a key that a row of the range stands for.
    pub fn continues_after(self, after: Option<&Position>) -> bool {
        after
            .and_then(|p| p.key.as_deref())
            .is_none_or(|k| self.column_value(k).is_some())
    }

    /// The column value of an encoded key (a cursor's), or `None` when no row of the range
    /// stands for it.
    pub fn column_value(self, key: &[u8]) -> Option<ColumnValue> {
        let v = match (self.kind, decode_key(key)?) {
            (Kind::Str { .. }, SortKey::String(s)) => ColumnValue::Text(s),
            (Kind::Bool, SortKey::Bool(b)) => ColumnValue::Text(b.to_string()),
            (Kind::DateTime, SortKey::DateTime(d)) => {
                ColumnValue::Text(datetime_norm(&d.fixed_offset()))
            }
            (Kind::Num, SortKey::Number(n)) => ColumnValue::Num(n),
            _ => return None,
        };
        (self.key_of(&v).as_deref() == Some(key)).then_some(v)
    }
}

/// `YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`, the width of [`datetime_norm`] for years 0000-9999.
const DATETIME_WIDTH: usize = 30;

/// The `skey` of a single-valued path's first value row: `None` when the path's rows imply
/// the resource's sort key `key` (no row in the range and no key, or one row in the range
/// that stands for `key`), else `key` encoded ([`NO_KEY`] without one).
pub(crate) fn irregular_key(
    order: ValueOrder,
    rows: &[IndexRow],
    path_key: &str,
    key: Option<&SortKey>,
) -> Option<Vec<u8>> {
    let mut in_range = rows
        .iter()
        .filter(|r| r.key == path_key && order.in_range(r.norm.as_deref(), r.num.map(|n| n.0)));
    let regular = match (in_range.next(), in_range.next(), key) {
        (None, _, None) => true,
        (Some(r), None, Some(k)) => order.stands_for(r.norm.as_deref(), r.num.map(|n| n.0), k),
        _ => false,
    };
    (!regular).then(|| key.map_or_else(|| NO_KEY.to_vec(), encode_key))
}

/// One value row of the sorted path, as [`order_in_memory`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ValueRow {
    /// The resource.
    pub seq: i64,
    /// `value_norm`.
    pub norm: Option<String>,
    /// `value_num`.
    pub num: Option<f64>,
    /// `skey`.
    pub skey: Option<Vec<u8>>,
}

/// Every match in the query's order: the segments in `segments`' order; in the keyed one
/// by key (descending with `desc`), ties by `seq`; in the other by `seq`. `matches` are the
/// `seq`s of the query's matches, `rows` the sorted path's rows of those matches.
pub(crate) fn order_in_memory(
    order: ValueOrder,
    segments: [Segment; 2],
    desc: bool,
    matches: &[i64],
    rows: &[ValueRow],
) -> Vec<Position> {
    // Per resource: the key of its `skey` if it has one, else of its one row in the range.
    let mut keys: BTreeMap<i64, (Option<Vec<u8>>, bool)> = BTreeMap::new();
    for r in rows {
        let entry = keys.entry(r.seq).or_insert((None, false));
        if entry.1 {
            continue;
        }
        if let Some(k) = &r.skey {
            *entry = ((k.as_slice() != NO_KEY).then(|| k.clone()), true);
        } else if entry.0.is_none() {
            entry.0 = order
                .implied(r.norm.as_deref(), r.num)
                .map(|k| encode_key(&k));
        }
    }
    let matched: BTreeSet<i64> = matches.iter().copied().collect();
    let mut keyed: Vec<(Vec<u8>, i64)> = keys
        .into_iter()
        .filter(|(seq, _)| matched.contains(seq))
        .filter_map(|(seq, (k, _))| Some((k?, seq)))
        .collect();
    keyed.sort_by(|a, b| directed(a.0.cmp(&b.0), desc).then(a.1.cmp(&b.1)));
    let with_key: BTreeSet<i64> = keyed.iter().map(|(_, s)| *s).collect();
    let mut out = Vec::with_capacity(matches.len());
    for (i, seg) in segments.iter().enumerate() {
        match seg {
            Segment::Keyed => out.extend(keyed.iter().map(|(k, seq)| Position {
                segment: i,
                key: Some(k.clone()),
                seq: *seq,
            })),
            Segment::Missing => out.extend(matched.iter().filter(|s| !with_key.contains(s)).map(
                |seq| Position {
                    segment: i,
                    key: None,
                    seq: *seq,
                },
            )),
        }
    }
    out
}

fn directed(o: Ordering, desc: bool) -> Ordering {
    if desc { o.reverse() } else { o }
}

/// The page of `ordered` (from [`order_in_memory`]) that `page` asks for (after the cursor
/// position `after`, for cursor paging), and with cursor paging the position the next
/// page's cursor continues after, when there is a next page.
pub(crate) fn page_in_memory(
    ordered: Vec<Position>,
    page: &StoragePage,
    after: Option<&Position>,
    desc: bool,
) -> (Vec<Position>, Option<Position>) {
    let mut out = window(ordered, page, after, desc);
    let mut next = None;
    if let StoragePage::Cursor { limit, .. } = page {
        let limit = usize::try_from(*limit).unwrap_or(usize::MAX);
        if out.len() > limit {
            out.truncate(limit);
            next = out.last().cloned();
        }
    }
    (out, next)
}

/// The positions of `ordered` that `page` asks for, one more than a cursor page's limit.
fn window(
    mut ordered: Vec<Position>,
    page: &StoragePage,
    after: Option<&Position>,
    desc: bool,
) -> Vec<Position> {
    let (start, take) = match page {
        StoragePage::Offset { offset, limit } => (
            usize::try_from(*offset).unwrap_or(usize::MAX),
            usize::try_from(*limit).unwrap_or(usize::MAX),
        ),
        StoragePage::Cursor { limit, .. } => {
            let start = after.map_or(0, |a| {
                ordered.partition_point(|p| position_cmp(p, a, desc) != Ordering::Greater)
            });
            (
                start,
                usize::try_from(*limit)
                    .unwrap_or(usize::MAX)
                    .saturating_add(1),
            )
        }
    };
    let start = start.min(ordered.len());
    let end = start.saturating_add(take).min(ordered.len());
    ordered.truncate(end);
    ordered.drain(..start);
    ordered
}

/// The order of two positions of one query.
fn position_cmp(a: &Position, b: &Position, desc: bool) -> Ordering {
    a.segment
        .cmp(&b.segment)
        .then_with(|| directed(a.key.cmp(&b.key), desc))
        .then(a.seq.cmp(&b.seq))
}

/// Where a sorted query's keyed segment reads its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// `skey` (the sort-key rows of a multi-valued path).
    SortKeys,
    /// The value column of a single-valued path without irregular rows.
    Values(ValueOrder),
}

impl KeySource {
    /// The key column.
    pub fn column(self) -> &'static str {
        match self {
            KeySource::SortKeys => "skey",
            KeySource::Values(o) => o.column(),
        }
    }

    /// The SQL condition of a row holding a key.
    pub fn has_key(self, alias: &str) -> String {
        match self {
            KeySource::SortKeys => format!("{alias}skey IS NOT NULL"),
            KeySource::Values(o) => o.range(alias),
        }
    }
}

#[cfg(test)]
mod tests;
