//! What the PostgreSQL integration tests share: the server to test against (or a skip
//! notice), fresh schema names, and a guard that drops a test's schema.

use scim_server::storage::postgres::{PostgresConfig, PostgresStorage};
use scim_server::storage::testing::Hooks;

/// The server to test against, or `None` (after a notice naming `what`, the tests of the
/// calling file) when there is none and none is required (see
/// [`postgres_test_url`](scim_server::storage::testing::postgres_test_url)).
pub fn postgres_url(what: &str) -> Option<String> {
    let url = scim_server::storage::testing::postgres_test_url();
    if url.is_none() {
        skip_notice(what, "SCIM_TEST_POSTGRES_URL");
    }
    url
}

/// Says once per process that `what` did not run because `variable` is not set: through the
/// stderr handle rather than `eprintln!`, which the test harness captures (and shows only
/// for failed tests).
pub fn skip_notice(what: &str, variable: &str) {
    static NOTICE: std::sync::Once = std::sync::Once::new();
    NOTICE.call_once(|| {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED: {what} did not run: {variable} is not set. Set it (and \
             SCIM_REQUIRE_POSTGRES=1 to make its absence an error) to run them."
        );
    });
}

pub use scim_server::storage::testing::fresh_schema;

/// Drops the test's schema when the test ends (also when it fails), on a helper thread with
/// its own runtime and connection. As the [`Hooks`] of a `Delegating` storage, it drops the
/// schema of that storage.
pub struct SchemaGuard {
    pub url: String,
    pub schema: String,
}

impl Hooks for SchemaGuard {}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let (url, schema) = (self.url.clone(), self.schema.clone());
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let s = PostgresStorage::connect_with(
                    PostgresConfig::new(url).schema(schema).max_connections(1),
                )
                .await?;
                s.drop_schema().await
            })
        });
        if let Ok(Err(e)) = cleanup.join() {
            eprintln!(
                "warning: could not drop the test schema {}: {e}",
                self.schema
            );
        }
    }
}
