//! A standalone SCIM 2.0 server: [`scim_server::ScimServer`] served by hyper, with one bearer
//! token and in-memory, SQLite or PostgreSQL storage.
//!
//! ```text
//! cargo run -p example-standalone -- --listen 127.0.0.1:8080 --token "$(openssl rand -base64 32)"
//! cargo run -p example-standalone -- --token-file token.txt --storage memory
//! cargo run -p example-standalone -- --token-file token.txt --storage postgres://scim@127.0.0.1:5432/scim
//! cargo run -p example-standalone -- --token-file token.txt \
//!     --storage 'postgres://scim@db.example.com/scim?sslmode=require' --postgres-ca-file db-ca.pem
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use scim_server::ScimServer;
use scim_server::auth::BearerTokens;
use scim_server::storage::Storage;
use scim_server::storage::memory::MemoryStorage;
use scim_server::storage::postgres::{PostgresConfig, PostgresStorage};
use scim_server::storage::sqlite::SqliteStorage;
use tokio::net::TcpListener;

/// A standalone SCIM 2.0 server (RFC 7643 / RFC 7644): /Users, /Groups, discovery
/// endpoints, filters, PATCH, ETags, cursor paging.
#[derive(Debug, Parser)]
#[command(name = "example-standalone", version)]
struct Args {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,

    /// The bearer token clients must send (`Authorization: Bearer <token>`), at least 16
    /// characters; generate it, e.g. `openssl rand -base64 32`. Only its SHA-256 hash is kept.
    /// Prefer --token-file: a command line is visible to other local users.
    #[arg(
        long,
        conflicts_with = "token_file",
        required_unless_present = "token_file"
    )]
    token: Option<String>,

    /// Read the bearer token from this file (surrounding whitespace is ignored).
    #[arg(long)]
    token_file: Option<PathBuf>,

    /// Where to store resources: `memory` (lost on exit), `sqlite:PATH` (one file, WAL) or a
    /// PostgreSQL URL such as `postgres://user@127.0.0.1:5432/db` (several server processes
    /// can share one database; its tables are created on connect).
    #[arg(long, default_value = "sqlite:scim.db")]
    storage: String,

    /// With a PostgreSQL --storage: also trust the CA certificates of this PEM file for TLS
    /// (a self-signed or private CA server), besides the system's roots. TLS itself is the
    /// URL's `sslmode`: `disable`, `prefer` (the default) or `require` (certificate and host
    /// name verified).
    #[arg(long, value_name = "PATH")]
    postgres_ca_file: Option<PathBuf>,

    /// The path the SCIM endpoints live under, e.g. `/scim/v2`.
    #[arg(long, default_value = "/")]
    base_path: String,

    /// The public URL of the base path (for `Location` and `meta.location`), e.g.
    /// `https://scim.example.com/scim/v2`; default: from the request's Host header.
    #[arg(long)]
    public_url: Option<String>,
}

async fn open_storage(
    spec: &str,
    postgres_ca_file: Option<&Path>,
) -> Result<Arc<dyn Storage>, String> {
    let is_postgres = spec.starts_with("postgres:") || spec.starts_with("postgresql:");
    if postgres_ca_file.is_some() && !is_postgres {
        return Err("--postgres-ca-file needs a PostgreSQL --storage (postgres://...)".into());
    }
    if spec.eq_ignore_ascii_case("memory") {
        return Ok(Arc::new(MemoryStorage::new()));
    }
    if let Some(path) = spec.strip_prefix("sqlite:") {
        if path.is_empty() {
            return Err("--storage sqlite:PATH needs a file path".into());
        }
        return SqliteStorage::open(path)
            .map(|s| Arc::new(s) as Arc<dyn Storage>)
            .map_err(|e| format!("cannot open SQLite database {path}: {e}"));
    }
    if is_postgres {
        // The URL is passed as it is (`postgres://...` or `postgresql://...`); the error
        // message leaves it out, since it may hold a password.
        let mut config = PostgresConfig::new(spec);
        if let Some(path) = postgres_ca_file {
            config = config.ca_file(path);
        }
        return PostgresStorage::connect_with(config)
            .await
            .map(|s| Arc::new(s) as Arc<dyn Storage>)
            .map_err(|e| format!("cannot connect to PostgreSQL: {e}"));
    }
    Err(format!(
        "unknown --storage {spec:?}; use memory, sqlite:PATH or postgres://..."
    ))
}

/// The storage spec for the startup message: a PostgreSQL URL may hold a password, so only
/// its scheme is shown.
fn storage_label(spec: &str) -> &str {
    if spec.starts_with("postgres") {
        "postgres"
    } else {
        spec
    }
}

fn read_token(args: &Args) -> Result<String, String> {
    match (&args.token, &args.token_file) {
        (Some(t), _) => Ok(t.clone()),
        (None, Some(path)) => std::fs::read_to_string(path)
            .map(|s| s.trim().to_string())
            .map_err(|e| format!("cannot read --token-file {}: {e}", path.display())),
        (None, None) => Err("give --token or --token-file".into()),
    }
}

async fn build(args: &Args) -> Result<ScimServer, String> {
    let storage = open_storage(&args.storage, args.postgres_ca_file.as_deref()).await?;
    // The token is hashed here and the plain text dropped.
    let tokens = BearerTokens::single(&read_token(args)?).map_err(|e| e.to_string())?;
    let mut builder = ScimServer::builder()
        .storage(storage)
        .authenticator(tokens)
        .base_path(args.base_path.clone());
    if let Some(url) = &args.public_url {
        builder = builder.public_url(url.clone());
    }
    builder.build().map_err(|e| e.to_string())
}

async fn serve(args: Args) -> Result<(), String> {
    let server = build(&args).await?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    // The bound address, so that `--listen 127.0.0.1:0` tells which port it got.
    let bound = listener.local_addr().unwrap_or(args.listen);
    eprintln!(
        "SCIM server on http://{}{} (storage: {})",
        bound,
        args.base_path.trim_end_matches('/'),
        storage_label(&args.storage)
    );
    let builder = hyper::server::conn::http1::Builder::new();
    let graceful = GracefulShutdown::new();
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        eprintln!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let svc = TowerToHyperService::new(server.clone());
                let conn = builder.serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = &mut ctrl_c => {
                eprintln!("shutting down: finishing open requests (at most 10 s)");
                break;
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => {
            eprintln!("some connections did not finish in time");
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_and_sqlite_open() {
        assert!(open_storage("memory", None).await.is_ok());
        let path =
            std::env::temp_dir().join(format!("example-standalone-{}.db", std::process::id()));
        let spec = format!("sqlite:{}", path.display());
        assert!(open_storage(&spec, None).await.is_ok());
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[tokio::test]
    async fn bad_specs_are_refused() {
        let e = open_storage("redis://localhost", None).await.err().unwrap();
        assert!(e.contains("postgres://"), "{e}");
        let e = open_storage("sqlite:", None).await.err().unwrap();
        assert!(e.contains("file path"), "{e}");
    }

    #[tokio::test]
    async fn unreachable_postgres_is_an_error_without_the_password() {
        // Port 1 on the loopback: nothing listens there, the connection is refused at once.
        let e = open_storage("postgres://scim:s3cret-pw@127.0.0.1:1/scim", None)
            .await
            .err()
            .unwrap();
        assert!(e.starts_with("cannot connect to PostgreSQL"), "{e}");
        assert!(!e.contains("s3cret-pw"), "{e}");
    }

    #[tokio::test]
    async fn the_postgres_ca_file_option_reaches_the_postgres_config() {
        let args = Args::try_parse_from([
            "example-standalone",
            "--token",
            "0123456789abcdef0123",
            "--storage",
            "postgres://scim:s3cret-pw@127.0.0.1:1/scim?sslmode=require",
            "--postgres-ca-file",
            "/nonexistent/db-ca.pem",
        ])
        .unwrap();
        assert_eq!(
            args.postgres_ca_file.as_deref(),
            Some(Path::new("/nonexistent/db-ca.pem"))
        );
        // The CA file is read before connecting: its error shows the option got through.
        let e = build(&args).await.err().unwrap();
        assert!(e.contains("CA file /nonexistent/db-ca.pem"), "{e}");
        assert!(!e.contains("s3cret-pw"), "{e}");
        // Without the option, the default (none).
        let args = Args::try_parse_from(["example-standalone", "--token", "0123456789abcdef0123"])
            .unwrap();
        assert_eq!(args.postgres_ca_file, None);
    }

    #[tokio::test]
    async fn the_postgres_ca_file_needs_a_postgres_storage() {
        let e = open_storage("memory", Some(Path::new("ca.pem")))
            .await
            .err()
            .unwrap();
        assert!(e.contains("--postgres-ca-file"), "{e}");
    }

    #[test]
    fn the_startup_message_hides_postgres_urls() {
        assert_eq!(storage_label("postgres://scim:pw@db/scim"), "postgres");
        assert_eq!(storage_label("sqlite:scim.db"), "sqlite:scim.db");
    }
}
