//! The PostgreSQL dialect of the filter translation shared by the SQL backends
//! ([`crate::storage::sql::filter`]), so both SQL backends push down the same filters and
//! answer them alike. The differences are PostgreSQL's: placeholders are `$n`, and
//! `value_norm` is a `BYTEA` holding the UTF-8 bytes of the normalised value, so comparisons
//! are plain byte comparisons (UTF-8 byte order is code-point order, the evaluator's string
//! order) whatever the database's collation, and values containing U+0000 (which a
//! PostgreSQL `TEXT` cannot hold) are indexed too. `co` and `ew` use the byte functions of
//! `BYTEA` (`position`, `substring`, `octet_length`): exact, no collation, no wildcards.

use crate::storage::sql::filter::{self, Dialect};

/// A bound parameter of a translated filter.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Param {
    /// A `TEXT` value (an id).
    Text(String),
    /// A `BIGINT` value (an indexed path's key).
    Int(i64),
    /// A `BYTEA` value (a normalised value, as UTF-8 bytes).
    Bytes(Vec<u8>),
    /// A `DOUBLE PRECISION` value (a number, compared with `value_num`).
    Num(f64),
    /// An `INT8[]` value: the candidate `seq`s of a substring probe (see `substrings.rs`),
    /// read as a table by `unnest`.
    Seqs(Vec<i64>),
}

impl Param {
    /// The value as a `tokio-postgres` parameter.
    pub fn as_sql(&self) -> &(dyn tokio_postgres::types::ToSql + Sync) {
        match self {
            Param::Text(s) => s,
            Param::Int(i) => i,
            Param::Bytes(b) => b,
            Param::Num(n) => n,
            Param::Seqs(s) => s,
        }
    }
}

/// PostgreSQL's SQL.
pub(super) struct Postgres;

impl Dialect for Postgres {
    const NAME: &'static str = "PostgreSQL";
    const SCANS_DRIVE: bool = false;

    type Param = Param;

    fn placeholder(n: usize) -> String {
        format!("${n}")
    }

    fn key(key: String) -> Param {
        Param::Text(key)
    }

    fn path_key(key: i64) -> Param {
        Param::Int(key)
    }

    fn value(value: String) -> Param {
        Param::Bytes(value.into_bytes())
    }

    fn num(value: f64) -> Param {
        Param::Num(value)
    }

    fn intersect(_cols: &str, parts: &[String]) -> String {
        let parts: Vec<String> = parts.iter().map(|p| format!("({p})")).collect();
        parts.join(" INTERSECT ")
    }

    fn union(_cols: &str, parts: &[String]) -> String {
        let parts: Vec<String> = parts.iter().map(|p| format!("({p})")).collect();
        parts.join(" UNION ")
    }

    fn except(_cols: &str, a: &str, b: &str) -> String {
        format!("({a}) EXCEPT ({b})")
    }

    const PRESENT: &'static str = "(value_norm IS NULL OR value_norm > '\\x'::bytea)";

    fn contains(p: &str) -> String {
        format!("position({p}::bytea in value_norm) > 0")
    }

    fn ends_with(p: &str) -> String {
        format!(
            "octet_length(value_norm) >= octet_length({p}::bytea) AND substring(value_norm \
             from octet_length(value_norm) - octet_length({p}::bytea) + 1) = {p}::bytea"
        )
    }

    // `id` is `TEXT COLLATE "C"` and the key a text parameter: characters, compared
    // exactly (a PostgreSQL text holds no U+0000, so characters and bytes agree).
    fn id_contains(p: &str) -> String {
        format!("strpos(id, {p}::text) > 0")
    }

    fn id_ends_with(p: &str) -> String {
        format!("right(id, char_length({p}::text)) = {p}::text")
    }

    // `value_norm` is BYTEA: the id's UTF-8 bytes, whose order is `COLLATE "C"`'s.
    fn id_rows() -> &'static str {
        "(SELECT tenant, rtype, 0::int8 AS path_key, seq, convert_to(id, 'UTF8') AS \
         value_norm, NULL::float8 AS value_num, NULL::bytea AS skey FROM resources)"
    }

    /// `unnest` over an `INT8[]` parameter ([`Param::Seqs`]), its column named `value` by
    /// the alias.
    fn candidates(p: &str, alias: &str) -> String {
        format!("unnest({p}::int8[]) AS {alias}(value)")
    }

    /// PostgreSQL takes no `ON` after `CROSS JOIN`; its planner puts the few candidates
    /// outside a nested loop over `attr_index_seq`.
    const CANDIDATES_JOIN: &'static str = "JOIN";

    const PER_CANDIDATE: &'static str = " OFFSET 0";

    fn checked_rows(alias: Option<&str>) -> String {
        alias.map_or("attr_index".to_string(), |a| format!("attr_index AS {a}"))
    }
}

/// A filter translated to PostgreSQL: `$1` is the tenant and `$2` the resource type;
/// `params` bind `$3`, `$4`, ... in order.
pub(super) type SetSql = filter::SetSql<Param>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sql::filter::translate;
    use crate::storage::sql::index::indexed_paths;
    use crate::storage::sql::path_key::PathKeys;
    use scim_core::builtin::user_resource_schema;
    use scim_core::filter::Filter;

    const KEYS: PathKeys<'static> = PathKeys::new("t", "User");

    #[test]
    fn renders_postgres_sql() {
        let schema = user_resource_schema();
        let paths = indexed_paths(&schema);
        let f: Filter = r#"userName sw "BJ" and (externalId eq "X" or emails.value pr)"#
            .parse()
            .unwrap();
        let set: SetSql = translate::<Postgres>(&schema, &paths, KEYS, &f).unwrap();
        let head = |p: usize| {
            format!(
                "SELECT seq FROM attr_index WHERE tenant = $1 AND rtype = $2 AND \
                 path_key = ${p} AND "
            )
        };
        assert_eq!(
            set.sql,
            format!(
                "({}value_norm >= $4 AND value_norm < $5) INTERSECT (({}value_norm = $7) UNION \
                 ({}(value_norm IS NULL OR value_norm > '\\x'::bytea)))",
                head(3),
                head(6),
                head(8)
            )
        );
        let key = |s: &str| Param::Int(KEYS.of(s));
        let bytes = |s: &str| Param::Bytes(s.as_bytes().to_vec());
        assert_eq!(
            set.params,
            [
                key("username"),
                bytes("bj"),
                bytes("bk"),
                key("externalid"),
                bytes("X"),
                key("emails.value")
            ]
        );
    }

    #[test]
    fn renders_value_paths_and_substrings() {
        let schema = user_resource_schema();
        let paths = indexed_paths(&schema);
        let f: Filter = r#"emails[type eq "work" or value co "X"]"#.parse().unwrap();
        let set: SetSql = translate::<Postgres>(&schema, &paths, KEYS, &f).unwrap();
        let head = "SELECT seq, elem FROM attr_index WHERE tenant = $1 AND rtype = $2 AND ";
        assert_eq!(
            set.sql,
            format!(
                "SELECT seq FROM (({head}path_key = $3 AND value_norm = $4) UNION ({head}path_key \
                 IN ($5, $6) AND position($7::bytea in value_norm) > 0)) AS vp"
            )
        );
        assert_eq!(set.params[4], Param::Bytes(b"x".to_vec()));
        // A substring and a canonical value: intersected (see `Dialect::SCANS_DRIVE`).
        let f: Filter = r#"emails[type eq "work" and value co "X"]"#.parse().unwrap();
        let set: SetSql = translate::<Postgres>(&schema, &paths, KEYS, &f).unwrap();
        assert_eq!(
            set.sql,
            format!(
                "SELECT seq FROM (({head}path_key = $3 AND value_norm = $4) INTERSECT \
                 ({head}path_key IN ($5, $6) AND position($7::bytea in value_norm) > 0)) AS vp"
            )
        );
    }
}
