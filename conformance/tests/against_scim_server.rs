//! The suite's acceptance run against this project's own server: every profile (`rfc`, `entra`,
//! `okta`) against `scim-server` on each storage backend, served over a real loopback socket.
//! Nothing may fail; a check may only skip for a feature the server's ServiceProviderConfig
//! says it lacks. This is also `scim-server`'s acceptance test.
//!
//! PostgreSQL runs when `SCIM_TEST_POSTGRES_URL` is set (`scripts/test.sh` starts a throwaway
//! cluster and sets it); with `SCIM_REQUIRE_POSTGRES=1` a missing URL is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use conformance::{Credentials, Profile, Suite, SuiteConfig};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use scim_server::ScimServer;
use scim_server::auth::BearerTokens;
use scim_server::storage::Storage;
use scim_server::storage::memory::MemoryStorage;
use scim_server::storage::postgres::PostgresStorage;
use scim_server::storage::sqlite::SqliteStorage;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const TOKEN: &str = "conformance-acceptance-token-0123456789";

/// Serves `storage` behind a `ScimServer` on 127.0.0.1 until the returned task is aborted.
async fn serve(storage: Arc<dyn Storage>) -> (SocketAddr, JoinHandle<()>) {
    let server = ScimServer::builder()
        .storage(storage)
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let svc = TowerToHyperService::new(server.clone());
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, task)
}

/// Runs every profile against `storage` and fails with each failing check's report.
async fn assert_conforms(backend: &str, storage: Arc<dyn Storage>) {
    let (addr, task) = serve(storage).await;
    let config = SuiteConfig::new(format!("http://{addr}"))
        .credentials(Credentials::bearer(TOKEN))
        .profiles(&[Profile::Rfc, Profile::Entra, Profile::Okta]);
    let report = Suite::new(config).run().await.unwrap();
    task.abort();

    let failures: Vec<String> = report
        .results
        .iter()
        .filter(|r| r.outcome.is_fail())
        .map(|r| format!("{} ({}): {:?}", r.id, r.section, r.outcome.reason()))
        .collect();
    assert!(
        failures.is_empty(),
        "{backend}: {}\n{}",
        report.summary_line(),
        failures.join("\n")
    );
    // Every check that skips must say why, and only features the server disclaims may skip.
    for r in report.results.iter().filter(|r| r.outcome.is_skip()) {
        let reason = r.outcome.reason().unwrap_or_default();
        assert!(
            !reason.is_empty(),
            "{backend}: {} skipped without a reason",
            r.id
        );
    }
    assert!(
        report.passed() >= 140,
        "{backend}: only {}",
        report.summary_line()
    );
    eprintln!("{backend}: {}", report.summary_line());
}

fn unique_suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}_{nanos}", std::process::id())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn memory_backend_conforms() {
    assert_conforms("memory", Arc::new(MemoryStorage::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_backend_conforms() {
    let path = std::env::temp_dir().join(format!("scim-conformance-{}.db", unique_suffix()));
    let storage = SqliteStorage::open(&path).unwrap();
    assert_conforms("sqlite", Arc::new(storage)).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_backend_conforms() {
    let Ok(url) = std::env::var("SCIM_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("SCIM_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "SCIM_REQUIRE_POSTGRES=1 but SCIM_TEST_POSTGRES_URL is not set (scripts/test.sh sets both)"
        );
        eprintln!("SKIPPED: postgres_backend_conforms (SCIM_TEST_POSTGRES_URL is not set)");
        return;
    };
    let schema = format!("conformance_{}", unique_suffix());
    let storage = PostgresStorage::connect_with_schema(&url, &schema)
        .await
        .unwrap();
    assert_conforms("postgres", Arc::new(storage.clone())).await;
    storage.drop_schema().await.unwrap();
}
