//! The [`Db`] contract, on SQLite here and on PostgreSQL in `tests/db_postgres.rs`.

use super::*;

/// Runs the contract against `db` (a fresh database with the current schema).
pub(crate) async fn contract(db: &Db) {
    // Parameters bind by number, in any order of appearance.
    db.execute(
        "INSERT INTO gw_tenants (created_at, id, name) VALUES ($3, $1, $2)",
        &["t1".into(), "One".into(), now().into()],
    )
    .await
    .unwrap();
    let row = db
        .query_opt(
            "SELECT id, name FROM gw_tenants WHERE id = $1",
            &["t1".into()],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.text(0).unwrap(), "t1");
    assert_eq!(row.text(1).unwrap(), "One");

    // A unique violation is recognisable.
    let err = db
        .execute(
            "INSERT INTO gw_tenants (id, name, created_at) VALUES ($1, $2, $3)",
            &["t1".into(), "Again".into(), now().into()],
        )
        .await
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err}");

    // Integers, NULLs and auto-numbered ids.
    for outcome in ["success", "failure"] {
        db.execute(
            "INSERT INTO gw_log (tenant, at, user_id, source, action, outcome) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                "t1".into(),
                now().into(),
                Value::Null,
                "crm".into(),
                "create".into(),
                outcome.into(),
            ],
        )
        .await
        .unwrap();
    }
    let rows = db
        .query(
            "SELECT id, user_id, CAST(COUNT(*) OVER () AS BIGINT) FROM gw_log ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[1].int(0).unwrap() > rows[0].int(0).unwrap());
    assert_eq!(rows[0].opt_text(1).unwrap(), None);
    assert_eq!(rows[0].int(2).unwrap(), 2);

    // A transaction dropped without commit leaves nothing behind; a committed one stays.
    {
        let mut tx = db.begin().await.unwrap();
        tx.execute(
            "INSERT INTO gw_tenants (id, name, created_at) VALUES ($1, $2, $3)",
            &["t2".into(), "Two".into(), now().into()],
        )
        .await
        .unwrap();
        let seen = tx
            .query_opt("SELECT id FROM gw_tenants WHERE id = $1", &["t2".into()])
            .await
            .unwrap();
        assert!(seen.is_some());
    }
    assert!(
        db.query_opt("SELECT id FROM gw_tenants WHERE id = $1", &["t2".into()])
            .await
            .unwrap()
            .is_none()
    );
    let mut tx = db.begin().await.unwrap();
    tx.execute(
        "INSERT INTO gw_tenants (id, name, created_at) VALUES ($1, $2, $3)",
        &["t3".into(), "Three".into(), now().into()],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(
        db.query_opt("SELECT id FROM gw_tenants WHERE id = $1", &["t3".into()])
            .await
            .unwrap()
            .is_some()
    );

    // Upserts, the same text on both databases.
    for seq in [5_i64, 9] {
        db.execute(
            "INSERT INTO gw_feed_positions (tenant, seq, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at",
            &["t1".into(), seq.into(), now().into()],
        )
        .await
        .unwrap();
    }
    let row = db
        .query_opt(
            "SELECT seq FROM gw_feed_positions WHERE tenant = $1",
            &["t1".into()],
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.int(0).unwrap(), 9);

    // Migrating again is a no-op.
    migrate::migrate(db).await.unwrap();
    assert_eq!(
        migrate::version(db).await.unwrap(),
        migrate::latest_version()
    );
}

#[tokio::test]
async fn sqlite_in_memory_contract() {
    let db = Db::open_sqlite_in_memory().await.unwrap();
    contract(&db).await;
}

#[tokio::test]
async fn sqlite_file_contract_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.db");
    let db = Db::open_sqlite(&path).await.unwrap();
    contract(&db).await;
    drop(db);
    let db = Db::open_sqlite(&path).await.unwrap();
    let n = db
        .query_opt("SELECT CAST(COUNT(*) AS BIGINT) FROM gw_tenants", &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n.int(0).unwrap(), 2);
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_contract() {
    let Some((_storage, db)) = crate::testing::postgres("gw_db").await else {
        return;
    };
    assert_eq!(db.dialect(), Dialect::Postgres);
    contract(&db).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_concurrent_migrations_wait_for_each_other() {
    let Some((storage, db)) = crate::testing::postgres("gw_mig").await else {
        return;
    };
    let _ = storage;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move { migrate::migrate(&db).await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        migrate::version(&db).await.unwrap(),
        migrate::latest_version()
    );
}
