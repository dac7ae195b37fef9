//! Test support: real databases for the gateway's tests (a SQLite file in a temporary
//! directory, or a fresh schema in the PostgreSQL server named by `SCIM_TEST_POSTGRES_URL`).
//! Not part of the stable API.

use std::sync::Arc;

use scim_server::Storage;

use crate::db::Db;

/// The PostgreSQL URL for tests, or `None` to skip them. Panics when
/// `SCIM_REQUIRE_POSTGRES=1` and no URL is set, so CI never skips them silently.
pub fn postgres_url() -> Option<String> {
    match std::env::var("SCIM_TEST_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("SCIM_REQUIRE_POSTGRES").map_or(true, |v| v != "1"),
                "SCIM_REQUIRE_POSTGRES=1 but SCIM_TEST_POSTGRES_URL is not set"
            );
            None
        }
    }
}

/// A schema name no other test uses.
pub fn unique_schema(prefix: &str) -> String {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos:x}", std::process::id())
}

/// The SCIM storage and the gateway database in a fresh schema of the test PostgreSQL
/// server, or `None` when there is none (see [`postgres_url`]).
#[cfg(feature = "postgres")]
pub async fn postgres(prefix: &str) -> Option<(Arc<dyn Storage>, Db)> {
    use scim_server::storage::postgres::{PostgresConfig, PostgresStorage};
    let url = postgres_url()?;
    let mut config = PostgresConfig::new(url).schema(unique_schema(prefix));
    if let Ok(ca) = std::env::var("SCIM_TEST_POSTGRES_CA") {
        config = config.ca_file(ca);
    }
    let storage = PostgresStorage::connect_with(config)
        .await
        .unwrap_or_else(|e| panic!("test PostgreSQL: {e}"));
    let db = Db::from_postgres_pool(storage.pool().clone())
        .await
        .unwrap_or_else(|e| panic!("test PostgreSQL: {e}"));
    Some((Arc::new(storage), db))
}
