//! The PostgreSQL backend over TLS (rustls), against a real server with TLS on: `sslmode`
//! `require` with the server's CA, `require` without it, and `disable`.
//!
//! Needs `SCIM_TEST_POSTGRES_URL` (a database on a server with `ssl=on`, see
//! `scripts/test.sh`) and `SCIM_TEST_POSTGRES_CA` (the PEM file of the CA that signed the
//! server's certificate, for `localhost`/127.0.0.1). Without either the tests print a skip
//! notice and pass, unless `SCIM_REQUIRE_POSTGRES=1`, in which case they fail: a required
//! PostgreSQL test run (scripts/test.sh) always runs them for real.
#![cfg(feature = "postgres")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use scim_core::Resource;
use scim_core::builtin::user_resource_schema;
use scim_server::TenantId;
use scim_server::storage::postgres::{PostgresConfig, PostgresStorage};
use scim_server::storage::unique::UniquenessPolicy;
use scim_server::storage::{Load, NewResource, Scope, Storage};
use serde_json::json;

mod pg_support;

use pg_support::SchemaGuard;

const WHAT: &str = "the PostgreSQL TLS tests (tests/postgres_tls.rs)";

/// The server's URL and CA file, or `None` after a skip notice.
fn server() -> Option<(String, String)> {
    let url = pg_support::postgres_url(WHAT)?;
    let required = std::env::var("SCIM_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    match std::env::var("SCIM_TEST_POSTGRES_CA") {
        Ok(ca) if !ca.trim().is_empty() => Some((url, ca)),
        _ if required => panic!(
            "SCIM_REQUIRE_POSTGRES=1 but SCIM_TEST_POSTGRES_CA is not set: point it at the PEM \
             CA certificate of the (TLS-enabled) server of SCIM_TEST_POSTGRES_URL; \
             scripts/test.sh sets both up"
        ),
        _ => {
            pg_support::skip_notice(WHAT, "SCIM_TEST_POSTGRES_CA");
            None
        }
    }
}

/// A fresh schema name and the guard that drops the schema when the test ends.
fn fresh_schema(url: &str) -> (String, SchemaGuard) {
    let schema = pg_support::fresh_schema("scim_tls");
    let guard = SchemaGuard {
        url: url.to_string(),
        schema: schema.clone(),
    };
    (schema, guard)
}

/// `url` with `sslmode` set to `mode` (replacing one the URL may have).
fn with_sslmode(url: &str, mode: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("sslmode="))
        .collect();
    let mode = format!("sslmode={mode}");
    params.push(&mode);
    format!("{base}?{}", params.join("&"))
}

/// `url` with the password `password` (the tests' server trusts every local connection, so
/// it is never checked; it must merely never show up in an error).
fn with_password(url: &str, password: &str) -> String {
    let rest = url.strip_prefix("postgres://").expect("a postgres:// URL");
    let (userinfo, host) = rest.split_once('@').expect("a URL with a user");
    let user = userinfo.split(':').next().unwrap_or(userinfo);
    format!("postgres://{user}:{password}@{host}")
}

async fn connect(config: PostgresConfig) -> Result<PostgresStorage, String> {
    // A hang would be a bug too: bound the whole attempt.
    match tokio::time::timeout(
        Duration::from_secs(30),
        PostgresStorage::connect_with(config.connect_timeout(Duration::from_secs(5))),
    )
    .await
    {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => panic!("connecting did not finish within 30 s"),
    }
}

#[tokio::test]
async fn require_with_the_ca_file_is_encrypted_and_works() {
    let Some((url, ca)) = server() else { return };
    let (schema, _guard) = fresh_schema(&url);
    let config = PostgresConfig::new(with_sslmode(&url, "require"))
        .schema(&schema)
        .max_connections(2)
        .ca_file(&ca);
    let storage = connect(config).await.unwrap();
    assert!(
        storage.uses_tls().await.unwrap(),
        "sslmode=require gave a plain session"
    );

    let t = TenantId::new("t1").unwrap();
    let rs = user_resource_schema();
    let scope = Scope::new(&t, &rs);
    let resource = Resource::from_value(json!({"id": "u1", "userName": "tls-alice"})).unwrap();
    let unique = UniquenessPolicy::for_schema(&rs).keys(&rs, &resource);
    storage
        .create(
            scope,
            NewResource {
                id: "u1".into(),
                resource,
                members: vec![],
                unique,
            },
        )
        .await
        .unwrap();
    let got = storage.get(scope, "u1", Load::ALL).await.unwrap();
    assert_eq!(got.resource.get("userName"), Some(&json!("tls-alice")));
}

#[tokio::test]
async fn require_without_the_ca_file_fails_on_the_certificate() {
    let Some((url, _ca)) = server() else { return };
    let password = "s3cret-Pw-never-shown";
    let config = PostgresConfig::new(with_sslmode(&with_password(&url, password), "require"))
        .schema(pg_support::fresh_schema("scim_tls"))
        .max_connections(1);
    let e = connect(config)
        .await
        .expect_err("connected with an untrusted server certificate");
    assert!(
        e.contains("TLS") && e.contains("certificate") && e.contains("UnknownIssuer"),
        "unclear error: {e}"
    );
    assert!(!e.contains(password), "the password is in the error: {e}");
}

#[tokio::test]
async fn disable_connects_without_tls() {
    let Some((url, ca)) = server() else { return };
    let (schema, _guard) = fresh_schema(&url);
    // The CA file is ignored with `disable`.
    let config = PostgresConfig::new(with_sslmode(&url, "disable"))
        .schema(&schema)
        .max_connections(1)
        .ca_file(&ca);
    let storage = connect(config).await.unwrap();
    assert!(
        !storage.uses_tls().await.unwrap(),
        "sslmode=disable gave TLS"
    );
}

#[tokio::test]
async fn prefer_uses_tls_when_the_certificate_is_trusted() {
    let Some((url, ca)) = server() else { return };
    let (schema, _guard) = fresh_schema(&url);
    let config = PostgresConfig::new(with_sslmode(&url, "prefer"))
        .schema(&schema)
        .max_connections(1)
        .ca_file(&ca);
    let storage = connect(config).await.unwrap();
    assert!(
        storage.uses_tls().await.unwrap(),
        "sslmode=prefer with a trusted CA gave plain"
    );
}

#[tokio::test]
async fn prefer_falls_back_to_plain_when_the_certificate_is_not_trusted() {
    let Some((url, _ca)) = server() else { return };
    let (schema, _guard) = fresh_schema(&url);
    let config = PostgresConfig::new(with_sslmode(&url, "prefer"))
        .schema(&schema)
        .max_connections(1);
    let storage = connect(config).await.unwrap();
    assert!(
        !storage.uses_tls().await.unwrap(),
        "an untrusted certificate was accepted"
    );
}

#[tokio::test]
async fn an_unreadable_ca_file_is_a_clear_error() {
    let Some((url, _ca)) = server() else { return };
    let config = PostgresConfig::new(with_sslmode(&url, "require"))
        .schema(pg_support::fresh_schema("scim_tls"))
        .ca_file("/nonexistent/scim-test-ca.pem");
    let e = connect(config)
        .await
        .expect_err("a missing CA file was accepted");
    assert!(
        e.contains("CA file /nonexistent/scim-test-ca.pem"),
        "unclear error: {e}"
    );
}

#[tokio::test]
async fn require_checks_the_host_name() {
    let Some((url, ca)) = server() else { return };
    // The same server under a name its certificate does not have: TCP goes to `hostaddr`,
    // TLS checks `host`.
    let (before, after) = url.split_once('@').expect("a URL with a user");
    let (host, rest) = after.split_once(':').expect("a URL with a port");
    if host.parse::<std::net::IpAddr>().is_err() {
        eprintln!("SKIPPED: require_checks_the_host_name needs an IP address host, not {host}");
        return;
    }
    let renamed = with_sslmode(
        &format!("{before}@not-the-server.invalid:{rest}"),
        "require",
    ) + &format!("&hostaddr={host}");
    let config = PostgresConfig::new(renamed)
        .schema(pg_support::fresh_schema("scim_tls"))
        .max_connections(1)
        .ca_file(&ca);
    let e = connect(config)
        .await
        .expect_err("connected to a server whose certificate does not name the host");
    assert!(
        e.contains("certificate not valid for name"),
        "unclear error: {e}"
    );
}
