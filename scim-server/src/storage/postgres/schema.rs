//! The database schema, its migrations, and the names that may appear in SQL.
//!
//! The schema version is kept in the table `scim_schema_migrations` (one row per applied
//! migration) inside the PostgreSQL schema the storage uses. Migrations run in one transaction
//! that first takes a transaction-level advisory lock keyed on that schema's name, so two
//! processes starting together against a new database wait for each other: the second sees
//! the first's migrations applied and applies nothing. A crash mid-migration rolls the whole
//! transaction back (PostgreSQL DDL is transactional).

use deadpool_postgres::Client;

use crate::storage::StorageError;

use super::pg_err;

/// The migrations, in order; migration `i` takes the schema from version `i` to `i + 1`.
///
/// Tables (all rows are scoped by `tenant` and `rtype`, the resource type name), the same
/// design as the SQLite backend's:
/// - `resources`: one row per resource, primary key `(tenant, rtype, id)`; `seq` is the
///   creation order, the default sort order and the keyset of cursors; `data` is the resource
///   JSON without `members`. It is `JSON`, not `JSONB`: `JSON` keeps the attribute order the
///   client sent (as the other backends do) and accepts `\u0000`, and nothing queries inside
///   it (filters use `attr_index`).
/// - `unique_values`: the claimed unique values; the primary key enforces uniqueness inside
///   the database, so it holds across connections and processes (a violation is SQLSTATE
///   23505 on `unique_values_pkey`).
/// - `attr_index`: one row per distinct string value of each indexed attribute path and
///   element (`value_norm`: the UTF-8 bytes of the value, lower-cased when the attribute is
///   not caseExact; `elem` (version 2): the position of the element of a multi-valued
///   complex attribute the value comes from, 0 otherwise), plus a row with a NULL
///   `value_norm` when the path holds a present non-string value (for `pr`). Filters are
///   pushed down as scans of the covering index `attr_index_lookup`; the `co` / `ew`
///   conjuncts of an `and` with a range-scanned conjunct are checked per candidate through
///   `attr_index_seq (seq, path, elem, value_norm)` (version 2). Since version 3 the rows
///   are typed (`value_num`) and hold the sort keys a query cannot read from the values
///   (`skey`, see `sql::value_order`). Since version 9 the path is its key in the scope,
///   `path_key` (see `sql::path_key`), and `path_keys` holds the triple of each key.
/// - `index_layouts` (version 2): per resource type, the layout (indexed paths, case
///   folding, row format) its `attr_index` rows were written with. The rows depend on the
///   resource type's schema, which the database does not know when the storage connects,
///   so a migration cannot compute them: the backend rebuilds the rows of a resource type
///   from the stored JSON on first use when its layout is missing or differs (see
///   `ensure_layout` in `mod.rs`).
/// - `members`: one row per group member, so adding or removing one costs one indexed row;
///   `ord` keeps the order members were added in; `members_member` answers `groups_of` and
///   the clean-up when a member is deleted.
/// - `resource_counts` (version 7): the number of resources per tenant and resource type,
///   kept by triggers on `resources` (the `totalResults` of an unfiltered list).
///
/// Every child row references its resource by `seq`: `members` with a foreign key and `ON
/// DELETE CASCADE`, `attr_index` and `unique_values` (version 6) with a trigger that deletes
/// them with their resource. Text keys use
/// the "C" collation (byte order; no locale-dependent comparison anywhere).
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE resources (
    seq     BIGSERIAL NOT NULL,
    tenant  TEXT COLLATE "C" NOT NULL,
    rtype   TEXT COLLATE "C" NOT NULL,
    id      TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    data    JSON NOT NULL,
    CONSTRAINT resources_pkey PRIMARY KEY (tenant, rtype, id),
    CONSTRAINT resources_seq_key UNIQUE (seq)
);
CREATE INDEX resources_scope ON resources (tenant, rtype, seq);

CREATE TABLE unique_values (
    tenant    TEXT COLLATE "C" NOT NULL,
    rtype     TEXT COLLATE "C" NOT NULL,
    attribute TEXT COLLATE "C" NOT NULL,
    value     BYTEA NOT NULL,
    seq       BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    CONSTRAINT unique_values_pkey PRIMARY KEY (tenant, rtype, attribute, value)
);
CREATE INDEX unique_values_seq ON unique_values (seq);

CREATE TABLE attr_index (
    tenant     TEXT COLLATE "C" NOT NULL,
    rtype      TEXT COLLATE "C" NOT NULL,
    path       TEXT COLLATE "C" NOT NULL,
    value_norm BYTEA,
    seq        BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE
);
CREATE INDEX attr_index_lookup ON attr_index (tenant, rtype, path, value_norm, seq);
CREATE INDEX attr_index_seq ON attr_index (seq);

CREATE TABLE members (
    group_seq BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    tenant    TEXT COLLATE "C" NOT NULL,
    member_id TEXT COLLATE "C" NOT NULL,
    kind      TEXT,
    display   TEXT,
    ord       BIGSERIAL NOT NULL,
    CONSTRAINT members_pkey PRIMARY KEY (group_seq, member_id)
);
CREATE INDEX members_group ON members (group_seq, ord);
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
    tenant     TEXT COLLATE "C" NOT NULL,
    rtype      TEXT COLLATE "C" NOT NULL,
    path       TEXT COLLATE "C" NOT NULL,
    value_norm BYTEA,
    seq        BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
    elem       INTEGER NOT NULL
);
CREATE INDEX attr_index_lookup ON attr_index (tenant, rtype, path, value_norm, seq, elem);
CREATE INDEX attr_index_seq ON attr_index (seq, path, elem, value_norm);

CREATE TABLE index_layouts (
    rtype  TEXT COLLATE "C" NOT NULL PRIMARY KEY,
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
    tenant     TEXT COLLATE "C" NOT NULL,
    rtype      TEXT COLLATE "C" NOT NULL,
    path       TEXT COLLATE "C" NOT NULL,
    value_norm BYTEA,
    value_num  DOUBLE PRECISION,
    skey       BYTEA,
    seq        BIGINT NOT NULL REFERENCES resources (seq) ON DELETE CASCADE,
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
    // Version 4: the change feed (see `storage::changes` and `postgres/changes.rs`): per tenant, the
    // `seq` of its latest change and the pruning mark (`change_heads`; every write updates
    // its tenant's row just before it commits, which orders the tenant's writers), and the
    // changes themselves, keyed by `(tenant, seq)`. Not a SEQUENCE: its numbers are not
    // handed out in commit order. A schema migrated from an earlier version starts with an
    // empty feed.
    r#"
CREATE TABLE change_heads (
    tenant         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    last_seq       BIGINT NOT NULL,
    pruned_through BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE changes (
    tenant  TEXT COLLATE "C" NOT NULL,
    seq     BIGINT NOT NULL,
    rtype   TEXT COLLATE "C" NOT NULL,
    id      TEXT COLLATE "C" NOT NULL,
    kind    TEXT NOT NULL,
    version BIGINT NOT NULL,
    at      TEXT NOT NULL,
    CONSTRAINT changes_pkey PRIMARY KEY (tenant, seq)
);
"#,
    // Version 5: autovacuum of the tables a query reads sooner than PostgreSQL's default
    // (after 20 % of the rows changed): after 2 % changed, inserted or deleted. Counting
    // the matches of a filter (`totalResults`) is an index-only scan over `attr_index` or
    // `resources`, which visits the table for every row on a page not yet marked
    // all-visible; only a vacuum marks pages so, and on a table that mostly grows, the
    // default waits for a fifth of its size in new rows. (Insert-triggered autovacuum
    // exists since PostgreSQL 13; older servers get the other two settings.)
    r#"
ALTER TABLE resources SET (autovacuum_vacuum_scale_factor = 0.02,
                           autovacuum_analyze_scale_factor = 0.02);
ALTER TABLE attr_index SET (autovacuum_vacuum_scale_factor = 0.02,
                            autovacuum_analyze_scale_factor = 0.02);
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 130000 THEN
        ALTER TABLE resources SET (autovacuum_vacuum_insert_scale_factor = 0.02);
        ALTER TABLE attr_index SET (autovacuum_vacuum_insert_scale_factor = 0.02);
    END IF;
END
$$;
"#,
    // Version 6: the rows of `attr_index` and `unique_values` go with their resource by a
    // trigger instead of a foreign key. A foreign key checks every inserted child row
    // against `resources` (a lookup that locks the parent row: about fifteen per created
    // user), a third of a create's cost in PostgreSQL; these rows are only ever written in
    // the transaction that writes their resource, which exists then. The trigger deletes
    // them with their resource, as `ON DELETE CASCADE` did, whoever deletes it.
    r#"
ALTER TABLE attr_index DROP CONSTRAINT IF EXISTS attr_index_seq_fkey;
ALTER TABLE unique_values DROP CONSTRAINT IF EXISTS unique_values_seq_fkey;
CREATE FUNCTION resources_delete_rows() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    DELETE FROM attr_index WHERE seq = OLD.seq;
    DELETE FROM unique_values WHERE seq = OLD.seq;
    RETURN NULL;
END
$$;
CREATE TRIGGER resources_delete_rows AFTER DELETE ON resources
    FOR EACH ROW EXECUTE PROCEDURE resources_delete_rows();
"#,
    // Version 7: the number of resources per tenant and resource type, kept by triggers on
    // `resources` (once per statement, from its transition table: a batch of creates, or a
    // bulk load of a million, updates the count once), so the `totalResults` of a list
    // without a filter is one row read instead of a count of the scope's rows (about 130 ms
    // of CPU at 1,000,000 users, on every page of a client paging through them). The
    // triggers count whoever inserts or deletes, a hand-run statement included.
    r#"
CREATE TABLE resource_counts (
    tenant TEXT COLLATE "C" NOT NULL,
    rtype  TEXT COLLATE "C" NOT NULL,
    n      BIGINT NOT NULL,
    PRIMARY KEY (tenant, rtype)
);
INSERT INTO resource_counts (tenant, rtype, n)
    SELECT tenant, rtype, count(*) FROM resources GROUP BY tenant, rtype;
CREATE FUNCTION resources_count_insert() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    INSERT INTO resource_counts AS c (tenant, rtype, n)
        SELECT tenant, rtype, count(*) FROM inserted GROUP BY tenant, rtype
        ON CONFLICT (tenant, rtype) DO UPDATE SET n = c.n + EXCLUDED.n;
    RETURN NULL;
END
$$;
CREATE TRIGGER resources_count_insert AFTER INSERT ON resources
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE PROCEDURE resources_count_insert();
CREATE FUNCTION resources_count_delete() RETURNS trigger LANGUAGE plpgsql
    SET search_path FROM CURRENT AS $$
BEGIN
    UPDATE resource_counts AS c SET n = c.n - d.k
        FROM (SELECT tenant, rtype, count(*) AS k FROM deleted GROUP BY tenant, rtype) AS d
        WHERE c.tenant = d.tenant AND c.rtype = d.rtype;
    RETURN NULL;
END
$$;
CREATE TRIGGER resources_count_delete AFTER DELETE ON resources
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE PROCEDURE resources_count_delete();
"#,
    // Version 8: no B-tree deduplication (PostgreSQL 13 and later) in the indexes whose
    // keys end in `seq`, so that no two entries are ever equal: there it finds nothing to
    // merge, and trying on every full leaf page cost a create about 4 % of PostgreSQL's CPU
    // (`_bt_dedup_pass`; measured per create under load, see `loadtest/README.md`). The
    // setting applies to the entries written from now on; nothing is rebuilt.
    r#"
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 130000 THEN
        ALTER INDEX attr_index_lookup SET (deduplicate_items = off);
        ALTER INDEX attr_index_num SET (deduplicate_items = off);
        ALTER INDEX attr_index_sort SET (deduplicate_items = off);
        ALTER INDEX attr_index_seq SET (deduplicate_items = off);
        ALTER INDEX resources_scope SET (deduplicate_items = off);
    END IF;
END
$$;
"#,
    // Version 9: `attr_index` rows keyed by `path_key`, an integer derived from the tenant,
    // the resource type and the path (see `sql::path_key`), instead of the path as text.
    // The indexes begin with it (one integer compared before the value, where three
    // strings were) and carry the tenant and the type as INCLUDE columns, which the
    // statements still name and an index-only scan reads without comparing them.
    // `path_keys` records the triple of each key, so that two triples sharing one are
    // refused. The rows are dropped here and rebuilt from the stored JSON per resource type
    // on first use; the settings of versions 5 and 8 are made again for the new table.
    r#"
DROP TABLE attr_index;
CREATE TABLE attr_index (
    tenant     TEXT COLLATE "C" NOT NULL,
    rtype      TEXT COLLATE "C" NOT NULL,
    path_key   BIGINT NOT NULL,
    value_norm BYTEA,
    value_num  DOUBLE PRECISION,
    skey       BYTEA,
    seq        BIGINT NOT NULL,
    elem       INTEGER NOT NULL
);
CREATE INDEX attr_index_lookup ON attr_index (path_key, value_norm, seq, elem)
    INCLUDE (tenant, rtype);
CREATE INDEX attr_index_num ON attr_index (path_key, value_num, seq, elem)
    INCLUDE (tenant, rtype) WHERE value_num IS NOT NULL;
CREATE INDEX attr_index_sort ON attr_index (path_key, skey, seq)
    INCLUDE (tenant, rtype) WHERE skey IS NOT NULL;
CREATE INDEX attr_index_seq ON attr_index (seq, path_key, elem, value_norm, value_num);
CREATE TABLE path_keys (
    path_key BIGINT NOT NULL PRIMARY KEY,
    tenant   TEXT COLLATE "C" NOT NULL,
    rtype    TEXT COLLATE "C" NOT NULL,
    path     TEXT COLLATE "C" NOT NULL
);
ALTER TABLE attr_index SET (autovacuum_vacuum_scale_factor = 0.02,
                            autovacuum_analyze_scale_factor = 0.02);
DO $$
BEGIN
    IF current_setting('server_version_num')::int >= 130000 THEN
        ALTER TABLE attr_index SET (autovacuum_vacuum_insert_scale_factor = 0.02);
        ALTER INDEX attr_index_lookup SET (deduplicate_items = off);
        ALTER INDEX attr_index_num SET (deduplicate_items = off);
        ALTER INDEX attr_index_sort SET (deduplicate_items = off);
        ALTER INDEX attr_index_seq SET (deduplicate_items = off);
    END IF;
END
$$;
DELETE FROM index_layouts;
"#,
];

/// The DDL of version 1 (for tests of the migration from it).
#[cfg(test)]
pub(super) const VERSION_1: &str = MIGRATIONS[0];

/// The schema version this code writes.
pub(super) const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Is `name` usable as the PostgreSQL schema of a storage: 1 to 63 characters of `a-z`,
/// `0-9` and `_`, not starting with a digit and not `pg_`-prefixed? Such a name needs no
/// quoting, so it can be written into DDL and `search_path` safely (identifiers cannot be
/// bound as parameters).
pub fn is_valid_schema_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && !b[0].is_ascii_digit()
        && !name.starts_with("pg_")
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

/// The advisory lock key of a schema's migrations (FNV-1a of a fixed prefix and the name).
fn lock_key(schema: &str) -> i64 {
    fnv_key(&format!("scim-server migrations\n{schema}"))
}

/// The advisory lock key of the `attr_index` layout of one resource type in a schema.
pub(super) fn layout_lock_key(schema: &str, rtype: &str) -> i64 {
    fnv_key(&format!("scim-server index layout\n{schema}\n{rtype}"))
}

/// FNV-1a of `text`, as an advisory lock key.
fn fnv_key(text: &str) -> i64 {
    let h = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// Creates the schema if it is missing and applies the missing migrations, under an advisory
/// lock. Fails when the schema was written by a newer version of this code.
pub(super) async fn migrate(client: &mut Client, schema: &str) -> Result<i32, StorageError> {
    if !is_valid_schema_name(schema) {
        return Err(StorageError::backend(format!(
            "postgres: invalid schema name {schema:?}"
        )));
    }
    let tx = client.transaction().await.map_err(pg_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_key(schema)])
        .await
        .map_err(pg_err)?;
    let exists = tx
        .query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[&schema])
        .await
        .map_err(pg_err)?
        .is_some();
    if !exists {
        // The name was validated above: it needs no quoting and cannot inject anything.
        tx.batch_execute(&format!("CREATE SCHEMA {schema}"))
            .await
            .map_err(pg_err)?;
    }
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {schema}.scim_schema_migrations (\
           version INTEGER PRIMARY KEY, \
           applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    ))
    .await
    .map_err(pg_err)?;
    let current: i32 = tx
        .query_one(
            &format!("SELECT coalesce(max(version), 0) FROM {schema}.scim_schema_migrations"),
            &[],
        )
        .await
        .map_err(pg_err)?
        .try_get(0)
        .map_err(pg_err)?;
    if current > SCHEMA_VERSION {
        return Err(StorageError::backend(format!(
            "postgres: the schema {schema} is at version {current}, newer than this build \
             understands ({SCHEMA_VERSION})"
        )));
    }
    let start = usize::try_from(current).unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        tx.batch_execute(&format!("SET LOCAL search_path TO {schema}; {sql}"))
            .await
            .map_err(pg_err)?;
        let version = i32::try_from(i + 1).unwrap_or(i32::MAX);
        tx.execute(
            &format!("INSERT INTO {schema}.scim_schema_migrations (version) VALUES ($1)"),
            &[&version],
        )
        .await
        .map_err(pg_err)?;
    }
    tx.commit().await.map_err(pg_err)?;
    Ok(SCHEMA_VERSION)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for ok in ["scim", "public", "scim_test_0a9f", "_x", &"a".repeat(63)] {
            assert!(is_valid_schema_name(ok), "{ok}");
        }
        for bad in [
            "",
            "Scim",
            "1abc",
            "pg_catalog",
            "a-b",
            "a;drop table x",
            "a b",
            "\"q\"",
            &"a".repeat(64),
        ] {
            assert!(!is_valid_schema_name(bad), "{bad}");
        }
    }

    #[test]
    fn lock_keys_differ_per_schema() {
        assert_ne!(lock_key("a"), lock_key("b"));
        assert_eq!(lock_key("scim"), lock_key("scim"));
    }
}
