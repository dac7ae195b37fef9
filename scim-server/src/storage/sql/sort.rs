//! `sortBy` in the database (RFC 7644 §3.4.2.3), shared by the SQL backends.
//!
//! A resource's sort key for a path is scim-core's
//! [`sort_key`](scim_core::sort::sort_key) (the value, or for a multi-valued attribute the
//! primary or else the first value; case-insensitive strings folded as scim-core folds
//! them), encoded by [`encode_key`] into bytes whose byte order is
//! [`SortKey::cmp_key`](scim_core::sort::SortKey::cmp_key)'s order. For a multi-valued
//! path it lives in `attr_index.skey`, on the row of the value it comes from, and the
//! partial index `attr_index_sort (path_key, skey, seq, ...)` delivers a page in
//! order with `LIMIT`, without sorting every match. A single-valued path's value rows
//! stand for its keys, and the values' index delivers the page (see
//! [`super::value_order`]).
//!
//! The order is scim-core's ([`scim_core::sort::compare_keys`]): resources with a key by
//! key (descending reverses it), resources without one ("if there is no data for the
//! specified "sortBy" value, they are sorted via the "sortOrder" parameter, i.e., they are
//! ordered last if ascending and first if descending"), ties in creation order (`seq`). A
//! query is read as two segments, the resources with a key and those without, in the order
//! of `sortOrder`; a cursor names the segment and the position `(skey, seq)` in it, so it
//! stays correct while resources are created or deleted between pages.

use scim_core::AttrPath;
use scim_core::schema::ResourceSchema;
use scim_core::sort::{SortKey, SortOrder, SortSpec};

use super::filter::Dialect;
use super::index::{IndexedPath, Kind, id_path, key_of};
use super::path_key::PathKeys;
use super::value_order::{KeySource, ValueOrder};
use crate::storage::{StorageError, StorageErrorKind};

/// The bytes of a sort key, ordered as [`SortKey::cmp_key`] orders keys: a rank byte
/// (boolean < number < dateTime < string, scim-core's order between kinds), then the value
/// in an order-preserving form (numbers by [`f64::total_cmp`], dateTimes by instant,
/// strings by their UTF-8 bytes, which is code-point order).
pub(crate) fn encode_key(key: &SortKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    match key {
        SortKey::Bool(b) => {
            out.push(0);
            out.push(u8::from(*b));
        }
        SortKey::Number(n) => {
            out.push(1);
            let bits = n.to_bits();
            let ordered = if bits >> 63 == 1 {
                !bits
            } else {
                bits | (1 << 63)
            };
            out.extend_from_slice(&ordered.to_be_bytes());
        }
        SortKey::DateTime(d) => {
            out.push(2);
            let secs = d.timestamp() as u64 ^ (1 << 63);
            out.extend_from_slice(&secs.to_be_bytes());
            out.extend_from_slice(&d.timestamp_subsec_nanos().to_be_bytes());
        }
        SortKey::String(s) => {
            out.push(3);
            out.extend_from_slice(s.as_bytes());
        }
    }
    out
}

/// The sort key [`encode_key`] encoded, or `None` for bytes it does not produce.
pub(crate) fn decode_key(bytes: &[u8]) -> Option<SortKey> {
    let (rank, rest) = bytes.split_first()?;
    Some(match (rank, rest) {
        (0, [b]) if *b <= 1 => SortKey::Bool(*b == 1),
        (1, rest) => {
            let ordered = u64::from_be_bytes(rest.try_into().ok()?);
            let bits = if ordered >> 63 == 1 {
                ordered & !(1 << 63)
            } else {
                !ordered
            };
            SortKey::Number(f64::from_bits(bits))
        }
        (2, rest) if rest.len() == 12 => {
            let secs = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?) ^ (1 << 63);
            let nanos = u32::from_be_bytes(rest.get(8..)?.try_into().ok()?);
            SortKey::DateTime(chrono::DateTime::from_timestamp(secs as i64, nanos)?)
        }
        (3, rest) => SortKey::String(String::from_utf8(rest.to_vec()).ok()?),
        _ => return None,
    })
}

/// What a SQL backend sorts by: the `attr_index` path of the sort keys and the direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SortPlan {
    /// The `attr_index` path holding the keys (`id` for the column `id`).
    pub path: String,
    /// Its key in the query's scope, the `path_key` of its rows ([`PathKeys::of`]).
    pub key: i64,
    /// `sortOrder=descending`.
    pub desc: bool,
    /// For a single-valued path: the order of its value rows, which stand for the sort keys
    /// of the resources without an `skey` (see [`super::value_order`]).
    pub by_value: Option<ValueOrder>,
    /// The keys are the column `id` of `resources` (see [`super::index::id_path`]), read
    /// as rows of the path `id` ([`Dialect::id_rows`]).
    pub by_id: bool,
}

/// The sort plan of `sort`, or `None` when the path is not indexed (never returned, the
/// membership, the computed `groups`): then the planner sorts. A multi-valued complex
/// attribute named without a sub-attribute sorts by its `value` (scim-core's rule).
pub(crate) fn plan(
    schema: &ResourceSchema,
    paths: &[IndexedPath],
    keys: PathKeys<'_>,
    sort: &SortSpec,
) -> Option<SortPlan> {
    sort.validate(schema).ok()?;
    if id_path(schema, &sort.by) {
        // Every resource has one, a caseExact string: the values' order is the keys'.
        return Some(SortPlan {
            path: "id".to_string(),
            key: keys.of("id"),
            desc: sort.order == SortOrder::Descending,
            by_value: Some(ValueOrder {
                kind: Kind::Str { case_exact: true },
            }),
            by_id: true,
        });
    }
    let r = schema.resolve(&sort.by)?;
    let by = if r.sub_attribute.is_none() && r.attribute.is_complex() {
        let mut p = AttrPath::with_sub(r.attribute.name.clone(), "value");
        if r.in_extension {
            p.uri = Some(r.schema_urn.to_string());
        }
        p
    } else {
        sort.by.clone()
    };
    let (key, _) = key_of(schema, &by)?;
    let ip = paths.iter().find(|p| p.key == key)?;
    Some(SortPlan {
        path: ip.key.clone(),
        key: keys.of(&ip.key),
        desc: sort.order == SortOrder::Descending,
        by_value: (!ip.multi_valued).then_some(ValueOrder { kind: ip.kind }),
        by_id: false,
    })
}

/// The two segments of a sorted query, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment {
    /// The resources with a sort key.
    Keyed,
    /// The resources without one.
    Missing,
}

impl SortPlan {
    /// The table the statements below read the keys from (each names it with an alias):
    /// `attr_index`, or for `id` the resources as rows of the path `id`.
    pub fn rows<D: Dialect>(&self) -> &'static str {
        if self.by_id {
            D::id_rows()
        } else {
            "attr_index"
        }
    }

    /// The segments in the order of `sortOrder`: missing values last when ascending, first
    /// when descending.
    pub fn segments(&self) -> [Segment; 2] {
        if self.desc {
            [Segment::Missing, Segment::Keyed]
        } else {
            [Segment::Keyed, Segment::Missing]
        }
    }
}

/// The condition restricting a statement's `seq` to the filter's matches.
fn restrict(alias: &str, set: Option<&str>) -> String {
    set.map_or(String::new(), |s| format!(" AND {alias}seq IN ({s})"))
}

/// `SELECT count(*)` of the keyed segment. Parameters: 1 tenant, 2 type, the filter's,
/// then `p_path`.
pub(crate) fn count_keyed_sql<D: Dialect>(
    rows: &str,
    set: Option<&str>,
    p_path: usize,
    src: KeySource,
) -> String {
    format!(
        "SELECT count(*) FROM {rows} AS k WHERE tenant = {} AND rtype = {} AND path_key = {} AND \
         {}{}",
        D::placeholder(1),
        D::placeholder(2),
        D::placeholder(p_path),
        src.has_key(""),
        restrict("", set)
    )
}

/// Whether any resource of the scope has an `skey` under the path (for a single-valued
/// path: one whose rows do not imply its key, see [`super::value_order`]). Parameters: 1
/// tenant, 2 type, 3 the path.
pub(crate) fn has_sort_keys_sql<D: Dialect>(rows: &str) -> String {
    format!(
        "SELECT count(*) FROM (SELECT 1 FROM {rows} AS k WHERE tenant = {} AND rtype = {} AND \
         path_key = {} AND skey IS NOT NULL LIMIT 1) AS k",
        D::placeholder(1),
        D::placeholder(2),
        D::placeholder(3)
    )
}

/// The rows of the path among the filter's matches, for [`super::value_order::order_in_memory`]:
/// `seq, value_norm, value_num, skey`. Parameters: 1 tenant, 2 type, the filter's, then
/// `p_path`.
pub(crate) fn value_rows_sql<D: Dialect>(rows: &str, set: Option<&str>, p_path: usize) -> String {
    format!(
        "SELECT seq, value_norm, value_num, skey FROM {rows} AS k WHERE tenant = {} AND \
         rtype = {} AND path_key = {}{}",
        D::placeholder(1),
        D::placeholder(2),
        D::placeholder(p_path),
        restrict("", set)
    )
}

/// A page of the keyed segment: `seq` and the key column ([`KeySource::column`]) in order.
/// Parameters: 1 tenant, 2 type, the filter's, `first` the path, `first + 1` the limit,
/// `first + 2` the offset, and with `after`, `first + 3` the key and `first + 4` the `seq`
/// to continue after.
pub(crate) fn keyed_page_sql<D: Dialect>(
    rows: &str,
    set: Option<&str>,
    desc: bool,
    after: bool,
    first: usize,
    src: KeySource,
) -> String {
    let col = src.column();
    let p = |i: usize| D::placeholder(first + i);
    let (dir, cmp) = if desc { ("DESC", "<") } else { ("ASC", ">") };
    let after = if after {
        format!(
            " AND ({col} {cmp} {k} OR ({col} = {k} AND seq > {s}))",
            k = p(3),
            s = p(4)
        )
    } else {
        String::new()
    };
    format!(
        "SELECT seq, {col} FROM {rows} AS k WHERE tenant = {} AND rtype = {} AND path_key = {} AND \
         {}{}{after} ORDER BY {col} {dir}, seq ASC LIMIT {} OFFSET {}",
        D::placeholder(1),
        D::placeholder(2),
        p(0),
        src.has_key(""),
        restrict("", set),
        p(1),
        p(2)
    )
}

/// A page of the segment without keys: `seq` in creation order. Parameters: 1 tenant, 2
/// type, the filter's, `first` the path, `first + 1` the limit, `first + 2` the offset, and
/// with `after`, `first + 3` the `seq` to continue after.
pub(crate) fn missing_page_sql<D: Dialect>(
    rows: &str,
    set: Option<&str>,
    after: bool,
    first: usize,
    src: KeySource,
) -> String {
    let p = |i: usize| D::placeholder(first + i);
    let after = if after {
        format!(" AND r.seq > {}", p(3))
    } else {
        String::new()
    };
    format!(
        "SELECT r.seq FROM resources r WHERE r.tenant = {} AND r.rtype = {}{} AND NOT EXISTS \
         (SELECT 1 FROM {rows} a WHERE a.seq = r.seq AND a.path_key = {} AND {}){after} \
         ORDER BY r.seq LIMIT {} OFFSET {}",
        D::placeholder(1),
        D::placeholder(2),
        restrict("r.", set),
        p(0),
        src.has_key("a."),
        p(1),
        p(2)
    )
}

/// A position in a sorted query: the segment (0 or 1, in the order of
/// [`SortPlan::segments`]), the key (keyed segment) and the `seq`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    /// The index of the segment.
    pub segment: usize,
    /// The sort key (the keyed segment only).
    pub key: Option<Vec<u8>>,
    /// The resource's `seq`.
    pub seq: i64,
}

/// An RFC 9865 cursor of a sorted query: "after `pos`", for the query `fingerprint`,
/// tagged with the backend's `tag`.
pub(crate) fn encode_cursor(tag: &str, pos: &Position, fingerprint: u64) -> String {
    let key = pos.key.as_deref().map_or_else(|| "-".to_string(), hex);
    scim_core::messages::base64url_encode(
        format!("{tag}s.{}.{key}.{}.{fingerprint:x}", pos.segment, pos.seq).as_bytes(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The position of a cursor [`encode_cursor`] issued with `tag` for `fingerprint`, or
/// `InvalidCursor`.
pub(crate) fn decode_cursor(
    tag: &str,
    cursor: &str,
    fingerprint: u64,
) -> Result<Position, StorageError> {
    let invalid = || {
        StorageError::new(
            StorageErrorKind::InvalidCursor,
            "the cursor was not issued for this query (RFC 9865 invalidCursor)",
        )
    };
    let bytes = scim_core::messages::base64url_decode(cursor).ok_or_else(invalid)?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let parts: Vec<&str> = text.split('.').collect();
    let [t, segment, key, seq, fp] = parts.as_slice() else {
        return Err(invalid());
    };
    if *t != format!("{tag}s") {
        return Err(invalid());
    }
    let fp = u64::from_str_radix(fp, 16).map_err(|_| invalid())?;
    let segment: usize = segment.parse().map_err(|_| invalid())?;
    let seq: i64 = seq.parse().map_err(|_| invalid())?;
    if fp != fingerprint || segment > 1 || seq < 0 {
        return Err(invalid());
    }
    let key = match *key {
        "-" => None,
        k => Some(unhex(k).ok_or_else(invalid)?),
    };
    Ok(Position { segment, key, seq })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_keys_order_like_sort_keys() {
        let d = |s: &str| {
            SortKey::DateTime(
                chrono::DateTime::parse_from_rfc3339(s)
                    .unwrap()
                    .with_timezone(&chrono::Utc),
            )
        };
        let keys = [
            SortKey::Bool(false),
            SortKey::Bool(true),
            SortKey::Number(f64::NEG_INFINITY),
            SortKey::Number(-2.5),
            SortKey::Number(-0.0),
            SortKey::Number(0.0),
            SortKey::Number(3.0),
            SortKey::Number(1e300),
            d("1969-12-31T23:59:59.5Z"),
            d("2011-05-13T04:42:34Z"),
            d("2011-05-13T04:42:34.001Z"),
            SortKey::String(String::new()),
            SortKey::String("a".into()),
            SortKey::String("ab".into()),
            SortKey::String("b".into()),
            SortKey::String("é".into()),
        ];
        for a in &keys {
            assert_eq!(
                decode_key(&encode_key(a)).map(|k| encode_key(&k)),
                Some(encode_key(a)),
                "{a:?} round trip"
            );
            for b in &keys {
                assert_eq!(
                    encode_key(a).cmp(&encode_key(b)),
                    a.cmp_key(b),
                    "{a:?} vs {b:?}"
                );
            }
        }
    }

    #[test]
    fn bytes_that_encode_no_key_decode_to_none() {
        for bytes in [
            &[][..],
            &[0, 2],
            &[1, 0],
            &[2, 0],
            &[3, 0xff],
            &[4],
            &[0xff],
        ] {
            assert!(decode_key(bytes).is_none(), "{bytes:?}");
        }
    }

    #[test]
    fn cursors_round_trip_and_bind_to_their_query() {
        let pos = Position {
            segment: 1,
            key: Some(vec![3, 0x61, 0xff]),
            seq: 42,
        };
        let c = encode_cursor("sq1", &pos, 7);
        assert!(scim_core::messages::is_unreserved(&c));
        assert_eq!(decode_cursor("sq1", &c, 7).unwrap(), pos);
        assert!(decode_cursor("sq1", &c, 8).is_err());
        assert!(decode_cursor("pg1", &c, 7).is_err());
        let none = Position {
            segment: 0,
            key: None,
            seq: 1,
        };
        let c = encode_cursor("sq1", &none, 7);
        assert_eq!(decode_cursor("sq1", &c, 7).unwrap(), none);
        assert!(decode_cursor("sq1", "", 7).is_err());
    }
}
