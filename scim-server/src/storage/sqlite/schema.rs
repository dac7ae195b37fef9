//! The database schema and its migrations.
//!
//! The schema version is kept in `PRAGMA user_version` (0 for a new file). Each migration is
//! applied once, in order, inside one `BEGIN IMMEDIATE` transaction together with the bump
//! of `user_version`, so two processes opening a new file at the same time cannot both apply
//! it, and a crash mid-migration leaves the previous version intact.

use rusqlite::{Connection, TransactionBehavior};

use crate::storage::StorageError;

use super::backend_err;

/// The migrations, in order; migration `i` takes the database from version `i` to `i + 1`.
///
/// Tables (all rows are scoped by `tenant` and `rtype`, the resource type name):
/// - `resources`: one row per resource; `seq` is the creation order, the default sort order
///   and the keyset of cursors. The JSON holds no `members`.
/// - `unique_values`: the claimed unique values; the primary key enforces uniqueness inside
///   the database, so it holds across connections and processes.
/// - `attr_index`: one row per distinct value of each attribute path and element
///   (`value_norm` / `value_num`, typed and case folded as `sql::index` describes; `elem`,
///   the position of the element of a multi-valued complex attribute, 0 otherwise), with
///   (version 3) the sort keys a query cannot read from the values (`skey`, see
///   `sql::value_order`; the row format, not the schema, decides which rows hold one).
///   Filters are pushed down as scans of the covering index `attr_index_lookup`; the
///   `co` / `ew` conjuncts of an `and` with a range-scanned conjunct are checked per
///   candidate through the rows of that one resource: `attr_index_seq (seq, path, elem,
///   value_norm)` (version 2), since version 6 the table's own key `(seq, path, elem, n)`
///   (a WITHOUT ROWID table). Since version 8 the path is its key in the scope,
///   `path_key` (see `sql::path_key`), and `path_keys` holds the triple of each key.
/// - `index_layouts` (version 2): per resource type, the layout (indexed paths, case
///   folding, row format) its `attr_index` rows were written with. The rows depend on the
///   resource type's schema, which the database does not know when it is opened, so a
///   migration cannot compute them: the backend rebuilds the rows of a resource type from
///   the stored JSON on first use when its layout is missing or differs (see
///   `ensure_layout` in `sqlite.rs`).
/// - `members`: one row per group member, so adding or removing one costs one indexed row;
///   `members_member` answers `groups_of` and the clean-up when a member is deleted.
/// - `resource_counts` (version 5): the number of resources per tenant and resource type
///   (the `totalResults` of an unfiltered list), kept by triggers on `resources` until
///   version 7, by the writes since (summed per transaction of the writer, `counters.rs`).
///
/// Every child row references its resource by `seq` with `ON DELETE CASCADE`, which the
/// connections do not enforce: the writes keep it (see `configure` in `pool.rs`).
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE resources (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant  TEXT    NOT NULL,
    rtype   TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    json    TEXT    NOT NULL,
    UNIQUE (tenant, rtype, id)
);
CREATE INDEX resources_scope ON resources (tenant, rtype, seq);

CREATE TABLE unique_values (
    tenant    TEXT    NOT NULL,
    rtype     TEXT    NOT NULL,
    attribute TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    seq       INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    PRIMARY KEY (tenant, rtype, attribute, value)
) WITHOUT ROWID;
CREATE INDEX unique_values_seq ON unique_values (seq);

CREATE TABLE attr_index (
    tenant     TEXT    NOT NULL,
    rtype      TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    value_norm TEXT,
    seq        INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE
);
CREATE INDEX attr_index_lookup ON attr_index (tenant, rtype, path, value_norm, seq);
CREATE INDEX attr_index_seq ON attr_index (seq);

CREATE TABLE members (
    group_seq INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    tenant    TEXT    NOT NULL,
    member_id TEXT    NOT NULL,
    kind      TEXT,
    display   TEXT,
    UNIQUE (group_seq, member_id)
);
CREATE INDEX members_group ON members (group_seq);
CREATE INDEX members_member ON members (tenant, member_id);
"#,
    // Version 2: `attr_index.elem` (the element of a multi-valued attribute a row comes
    // from, for value paths) in the covering index, `attr_index_seq` covering the rows of
    // one resource (`seq, path, elem, value_norm`: the per-candidate checks of `co` / `ew`
    // conjuncts, see `sql::filter`), and `index_layouts`. The old rows lack
    // `elem` and `emails.type`: they are dropped here and rebuilt from the stored JSON, per
    // resource type, on first use (no layout recorded = rebuild).
    r#"
DROP TABLE attr_index;
CREATE TABLE attr_index (
    tenant     TEXT    NOT NULL,
    rtype      TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    value_norm TEXT,
    seq        INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    elem       INTEGER NOT NULL
);
CREATE INDEX attr_index_lookup ON attr_index (tenant, rtype, path, value_norm, seq, elem);
CREATE INDEX attr_index_seq ON attr_index (seq, path, elem, value_norm);

CREATE TABLE index_layouts (
    rtype  TEXT NOT NULL PRIMARY KEY,
    layout TEXT NOT NULL
);
"#,
    // Version 3: every attribute value is indexed, typed (see `sql::index`): `value_num`
    // (integers and decimals, compared numerically) beside `value_norm` (strings, case
    // folded unless caseExact; booleans; dateTimes as UTC instants), with
    // `attr_index_num` over the numbers; `skey`, the sort key of a resource for one path
    // (rows under the path key prefixed with `~`; `sortBy` in the database, RFC 7644
    // §3.4.2.3), with `attr_index_sort`. The rows are dropped here and rebuilt from the
    // stored JSON per resource type on first use (the layout's row format changed).
    r#"
DROP TABLE attr_index;
CREATE TABLE attr_index (
    tenant     TEXT    NOT NULL,
    rtype      TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    value_norm TEXT,
    value_num  REAL,
    skey       BLOB,
    seq        INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    elem       INTEGER NOT NULL
);
CREATE INDEX attr_index_lookup ON attr_index (tenant, rtype, path, value_norm, seq, elem);
CREATE INDEX attr_index_num ON attr_index (tenant, rtype, path, value_num, seq, elem)
    WHERE value_num IS NOT NULL;
CREATE INDEX attr_index_sort ON attr_index (tenant, rtype, path, skey, seq)
    WHERE skey IS NOT NULL;
CREATE INDEX attr_index_seq ON attr_index (seq, path, elem, value_norm, value_num);
DELETE FROM index_layouts;
"#,
    // Version 4: the change feed (see `storage::changes` and `sqlite/changes.rs`): per tenant, the
    // `seq` of its latest change and the pruning mark (`change_heads`, incremented in every
    // write's transaction), and the changes themselves, keyed by `(tenant, seq)`. A
    // database migrated from an earlier version starts with an empty feed.
    r#"
CREATE TABLE change_heads (
    tenant         TEXT    NOT NULL PRIMARY KEY,
    last_seq       INTEGER NOT NULL,
    pruned_through INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE changes (
    tenant  TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    rtype   TEXT    NOT NULL,
    id      TEXT    NOT NULL,
    kind    TEXT    NOT NULL,
    version INTEGER NOT NULL,
    at      TEXT    NOT NULL,
    PRIMARY KEY (tenant, seq)
) WITHOUT ROWID;
"#,
    // Version 5: the number of resources per tenant and resource type, kept by triggers on
    // `resources` in the transaction of every insert and delete, so the `totalResults` of a
    // list without a filter is one row read instead of a count over the scope index (60 ms
    // for 1,000,000 users, on every page of a client paging through them).
    r#"
CREATE TABLE resource_counts (
    tenant TEXT    NOT NULL,
    rtype  TEXT    NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (tenant, rtype)
) WITHOUT ROWID;
INSERT INTO resource_counts (tenant, rtype, n)
    SELECT tenant, rtype, count(*) FROM resources GROUP BY tenant, rtype;
CREATE TRIGGER resources_count_insert AFTER INSERT ON resources BEGIN
    INSERT INTO resource_counts (tenant, rtype, n) VALUES (NEW.tenant, NEW.rtype, 1)
        ON CONFLICT (tenant, rtype) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER resources_count_delete AFTER DELETE ON resources BEGIN
    UPDATE resource_counts SET n = n - 1 WHERE tenant = OLD.tenant AND rtype = OLD.rtype;
END;
"#,
    // Version 6: `attr_index` is a WITHOUT ROWID table keyed by `(seq, path, elem, n)`
    // (`n`, the row's position among the resource's rows), so the table itself is the
    // index of a resource's rows that `attr_index_seq` was: one B-tree fewer to write per
    // row (a user has about 14 rows). The rows are dropped here and rebuilt from the stored
    // JSON per resource type on first use.
    r#"
DROP TABLE attr_index;
CREATE TABLE attr_index (
    tenant     TEXT    NOT NULL,
    rtype      TEXT    NOT NULL,
    path       TEXT    NOT NULL,
    value_norm TEXT,
    value_num  REAL,
    skey       BLOB,
    seq        INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    elem       INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (seq, path, elem, n)
) WITHOUT ROWID;
CREATE INDEX attr_index_lookup ON attr_index (tenant, rtype, path, value_norm, seq, elem);
CREATE INDEX attr_index_num ON attr_index (tenant, rtype, path, value_num, seq, elem)
    WHERE value_num IS NOT NULL;
CREATE INDEX attr_index_sort ON attr_index (tenant, rtype, path, skey, seq)
    WHERE skey IS NOT NULL;
DELETE FROM index_layouts;
"#,
    // Version 7: `resource_counts` is kept by the writes, in the transaction of each insert
    // and delete of a resource (now summed per transaction, `counters.rs`), not by
    // triggers: a trigger that writes makes its statement a multi-row write that may abort,
    // for which SQLite copies every page the statement changes to a statement journal
    // first (about 20k instructions of about 630k per create, counted with callgrind).
    r#"
DROP TRIGGER IF EXISTS resources_count_insert;
DROP TRIGGER IF EXISTS resources_count_delete;
"#,
    // Version 8: `attr_index` rows keyed by `path_key`, an integer derived from the tenant,
    // the resource type and the path (see `sql::path_key`), instead of the path as text;
    // the indexes begin with it, and keep the tenant and the type at the end (they stay in
    // the statements, which read them from the index without a lookup). `path_keys`
    // records the triple of each key, so that two triples sharing one are refused. The
    // rows are dropped here and rebuilt from the stored JSON per resource type on first
    // use.
    r#"
DROP TABLE attr_index;
CREATE TABLE attr_index (
    tenant     TEXT    NOT NULL,
    rtype      TEXT    NOT NULL,
    path_key   INTEGER NOT NULL,
    value_norm TEXT,
    value_num  REAL,
    skey       BLOB,
    seq        INTEGER NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    elem       INTEGER NOT NULL,
    n          INTEGER NOT NULL,
    PRIMARY KEY (seq, path_key, elem, n)
) WITHOUT ROWID;
CREATE INDEX attr_index_lookup ON attr_index (path_key, value_norm, seq, elem, tenant, rtype);
CREATE INDEX attr_index_num ON attr_index (path_key, value_num, seq, elem, tenant, rtype)
    WHERE value_num IS NOT NULL;
CREATE INDEX attr_index_sort ON attr_index (path_key, skey, seq, tenant, rtype)
    WHERE skey IS NOT NULL;
CREATE TABLE path_keys (
    path_key INTEGER NOT NULL PRIMARY KEY,
    tenant   TEXT    NOT NULL,
    rtype    TEXT    NOT NULL,
    path     TEXT    NOT NULL
);
DELETE FROM index_layouts;
"#,
];

/// The DDL of version 1 (for tests of the migration from it).
#[cfg(test)]
pub(super) const VERSION_1: &str = MIGRATIONS[0];

/// The schema version this code writes.
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Applies the missing migrations. Fails when the file was written by a newer version.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StorageError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend_err)?;
    let current: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(backend_err)?;
    if current > SCHEMA_VERSION {
        return Err(StorageError::backend(format!(
            "the database schema is at version {current}, newer than this build \
             understands ({SCHEMA_VERSION})"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        tx.execute_batch(sql).map_err(backend_err)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(backend_err)?;
    }
    tx.commit().map_err(backend_err)
}
