//! The SQLite dialect of the filter translation shared by the SQL backends
//! ([`crate::storage::sql::filter`]): `?n` placeholders, every parameter `TEXT`, and
//! `SELECT seq FROM (…) INTERSECT / UNION SELECT seq FROM (…)` for `and` / `or`.
//!
//! `value_norm` is `TEXT` compared with SQLite's BINARY collation: UTF-8 byte order, which is
//! code-point order, the evaluator's string order.

use crate::storage::sql::filter::{self, Dialect};

/// SQLite's SQL.
pub(super) struct Sqlite;

impl Dialect for Sqlite {
    const NAME: &'static str = "SQLite";

    type Param = String;

    fn placeholder(n: usize) -> String {
        format!("?{n}")
    }

    fn key(key: String) -> String {
        key
    }

    fn value(value: String) -> String {
        value
    }

    fn intersect(a: &str, b: &str) -> String {
        format!("SELECT seq FROM ({a}) INTERSECT SELECT seq FROM ({b})")
    }

    fn union(a: &str, b: &str) -> String {
        format!("SELECT seq FROM ({a}) UNION SELECT seq FROM ({b})")
    }

    const PRESENT: &'static str = "(value_norm IS NULL OR value_norm > '')";
}

/// A filter translated to SQLite: `?1` is the tenant and `?2` the resource type; `params`
/// bind `?3`, `?4`, ... in order.
pub(super) type SetSql = filter::SetSql<String>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::sql::filter::translate;
    use crate::storage::sql::index::indexed_paths;
    use scim_core::builtin::user_resource_schema;
    use scim_core::filter::Filter;

    #[test]
    fn renders_sqlite_sql() {
        let schema = user_resource_schema();
        let paths = indexed_paths(&schema);
        let f: Filter = r#"userName sw "BJ" and (externalId eq "X" or emails.value pr)"#
            .parse()
            .unwrap();
        let set: SetSql = translate::<Sqlite>(&schema, &paths, &f).unwrap();
        let head = |p: usize| {
            format!(
                "SELECT seq FROM attr_index WHERE tenant = ?1 AND rtype = ?2 AND path = ?{p} AND "
            )
        };
        assert_eq!(
            set.sql,
            format!(
                "SELECT seq FROM ({}value_norm >= ?4 AND value_norm < ?5) INTERSECT SELECT seq \
                 FROM (SELECT seq FROM ({}value_norm = ?7) UNION SELECT seq FROM ({}(value_norm \
                 IS NULL OR value_norm > '')))",
                head(3),
                head(6),
                head(8)
            )
        );
        assert_eq!(
            set.params,
            ["username", "bj", "bk", "externalid", "X", "emails.value"]
        );
    }
}
