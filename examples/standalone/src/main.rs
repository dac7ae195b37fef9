//! A standalone SCIM 2.0 server: [`scim_server::ScimServer`] served by hyper, with one bearer
//! token and in-memory, SQLite or PostgreSQL storage.
//!
//! ```text
//! cargo run -p example-standalone -- --listen 127.0.0.1:8080 --token "$(openssl rand -base64 32)"
//! cargo run -p example-standalone -- --token-file token.txt --storage memory
//! cargo run -p example-standalone -- --token-file token.txt --storage postgres://scim@127.0.0.1:5432/scim
//! cargo run -p example-standalone -- --token-file token.txt \
//!     --storage 'postgres://scim@db.example.com/scim?sslmode=require' --postgres-ca-file db-ca.pem
//! cargo run -p example-standalone -- --token-file token.txt --validation strict
//! ```
//!
//! `--storage` is parsed and opened by [`scim_server::storage::open`] (through
//! [`OpenOptions`], for `--postgres-ca-file`); `--validation` picks scim-core's strict or
//! lenient preset for both request bodies and PATCH operations.

use std::error::Error;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use scim_server::ScimServer;
use scim_server::auth::BearerTokens;
use scim_server::scim_core::patch::PatchOptions;
use scim_server::scim_core::validation::ValidationOptions;
use scim_server::storage::{OpenOptions, StorageSpec};
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

    /// Where to store resources: `memory` (lost on exit), `sqlite:PATH` (one file, WAL; also
    /// `sqlite://PATH`) or a PostgreSQL URL such as `postgres://user@127.0.0.1:5432/db`
    /// (several server processes can share one database; its tables are created on connect).
    /// A bare file path is refused: write `sqlite:PATH`.
    #[arg(long, default_value = "sqlite:scim.db")]
    storage: String,

    /// With a PostgreSQL --storage: also trust the CA certificates of this PEM file for TLS
    /// (a self-signed or private CA server), besides the system's roots. TLS itself is the
    /// URL's `sslmode`: `disable`, `prefer` (the default) or `require` (certificate and host
    /// name verified).
    #[arg(long, value_name = "PATH")]
    postgres_ca_file: Option<PathBuf>,

    /// With a SQLite file --storage: map up to this many MiB of the file into memory for
    /// reads (SQLite's memory-mapped I/O; off by default). It pays on a database much larger
    /// than the readers' page caches; each reader maps the file on its own, so resident
    /// memory counts the file's pages once per reader, and an I/O error on the file stops
    /// the process.
    #[arg(long, value_name = "MIB")]
    sqlite_mmap_mib: Option<u64>,

    /// With a SQLite --storage: whether `co` / `ew` filters use in-memory substring (4-gram)
    /// indexes (on by default; about 130 bytes of memory per email address once queried).
    /// `false` makes such a filter read every value of its attribute.
    #[arg(long, value_name = "BOOL")]
    sqlite_substring_indexes: Option<bool>,

    /// With a PostgreSQL --storage: whether `co` / `ew` filters use substring (4-gram)
    /// indexes held in this process's memory, as on SQLite (on by default). `false` makes
    /// such a filter read every value of its attribute in the database.
    #[arg(long, value_name = "BOOL")]
    postgres_substring_indexes: Option<bool>,

    /// How request bodies (POST, PUT, PATCH) are validated.
    #[arg(long, value_enum, default_value_t = Validation::Lenient)]
    validation: Validation,

    /// The path the SCIM endpoints live under, e.g. `/scim/v2`.
    #[arg(long, default_value = "/")]
    base_path: String,

    /// The public URL of the base path (for `Location` and `meta.location`), e.g.
    /// `https://scim.example.com/scim/v2`; default: from the request's Host header.
    #[arg(long)]
    public_url: Option<String>,

    /// Memory for the cache of rendered resources, in MiB (0 turns it off): a resource whose
    /// version has not changed is returned by a GET or a list without reading its attributes.
    #[arg(long, value_name = "MIB", default_value_t = 32)]
    rendered_cache_mib: u64,
}

/// The `--validation` presets (scim-core's `ValidationOptions` and `PatchOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Validation {
    /// RFC 7643 / RFC 7644 to the letter: every violation in a request body is a 400 with
    /// its scimType (unknown attributes, "True" for a boolean, a bare value for a
    /// multi-valued attribute, a PATCH op spelled "Replace", ...).
    Strict,
    /// Accept and repair what real clients (Microsoft Entra ID, Okta) are known to send;
    /// the server's default.
    Lenient,
}

impl Validation {
    fn options(self) -> (ValidationOptions, PatchOptions) {
        match self {
            Validation::Strict => (ValidationOptions::strict(), PatchOptions::strict()),
            Validation::Lenient => (ValidationOptions::lenient(), PatchOptions::lenient()),
        }
    }
}

/// An error and its causes on one line: `cannot connect to PostgreSQL: <the driver's error>`.
fn with_causes(e: &dyn Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        next = cause.source();
    }
    out
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

/// The server `args` describe, and its parsed `--storage` (for the startup message).
async fn build(args: &Args) -> Result<(ScimServer, StorageSpec), String> {
    let spec = StorageSpec::parse(&args.storage).map_err(|e| format!("--storage: {e}"))?;
    let mut open = OpenOptions::new();
    if let Some(path) = &args.postgres_ca_file {
        open = open.postgres_ca_file(path);
    }
    if let Some(mib) = args.sqlite_mmap_mib {
        open = open.sqlite_mmap_size(mib.saturating_mul(1024 * 1024));
    }
    if let Some(on) = args.sqlite_substring_indexes {
        open = open.sqlite_substring_indexes(on);
    }
    if let Some(on) = args.postgres_substring_indexes {
        open = open.postgres_substring_indexes(on);
    }
    // The error names no PostgreSQL URL (it may hold a password).
    let storage = open.open_spec(&spec).await.map_err(|e| with_causes(&e))?;
    let (validation, patch) = args.validation.options();
    // The token is hashed here and the plain text dropped.
    let tokens = BearerTokens::single(&read_token(args)?).map_err(|e| e.to_string())?;
    let mut builder = ScimServer::builder()
        .storage(storage)
        .authenticator(tokens)
        .validation(validation)
        .patch_options(patch)
        .base_path(args.base_path.clone())
        .rendered_cache_bytes(args.rendered_cache_mib.saturating_mul(1024 * 1024));
    if let Some(url) = &args.public_url {
        builder = builder.public_url(url.clone());
    }
    Ok((builder.build().map_err(|e| e.to_string())?, spec))
}

async fn serve(args: Args) -> Result<(), String> {
    let (server, storage) = build(&args).await?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    // The bound address, so that `--listen 127.0.0.1:0` tells which port it got.
    let bound = listener.local_addr().unwrap_or(args.listen);
    // `storage` shows `postgres` for a PostgreSQL URL, never the URL (it may hold a password).
    eprintln!(
        "SCIM server on http://{}{} (storage: {storage})",
        bound,
        args.base_path.trim_end_matches('/'),
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

/// mimalloc as the global allocator: 9-23 % more requests per second than glibc's malloc on
/// the read paths in the load harness (`loadtest/README.md`), for about 70 MiB more resident
/// memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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

    const TOKEN: &str = "0123456789abcdef0123";

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec!["example-standalone", "--token", TOKEN];
        argv.extend_from_slice(extra);
        Args::try_parse_from(argv).unwrap()
    }

    #[tokio::test]
    async fn memory_and_sqlite_storage_build() {
        assert!(build(&args(&["--storage", "memory"])).await.is_ok());
        let path =
            std::env::temp_dir().join(format!("example-standalone-{}.db", std::process::id()));
        let spec = format!("sqlite:{}", path.display());
        assert!(build(&args(&["--storage", &spec])).await.is_ok());
        assert!(path.exists());
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[tokio::test]
    async fn bad_specs_are_refused() {
        let e = build(&args(&["--storage", "redis://localhost"]))
            .await
            .err()
            .unwrap();
        assert!(
            e.starts_with("--storage: ") && e.contains("postgres://"),
            "{e}"
        );
        let e = build(&args(&["--storage", "sqlite:"])).await.err().unwrap();
        assert!(e.contains("file path"), "{e}");
        // A bare path is not taken for SQLite (a mistyped scheme would create a new file).
        let e = build(&args(&["--storage", "scim.db"])).await.err().unwrap();
        assert!(e.contains("sqlite:PATH"), "{e}");
    }

    #[tokio::test]
    async fn unreachable_postgres_is_an_error_without_the_password() {
        // Port 1 on the loopback: nothing listens there, the connection is refused at once.
        let e = build(&args(&[
            "--storage",
            "postgres://scim:s3cret-pw@127.0.0.1:1/scim",
        ]))
        .await
        .err()
        .unwrap();
        assert!(e.starts_with("cannot connect to PostgreSQL: "), "{e}");
        assert!(!e.contains("s3cret-pw"), "{e}");
    }

    #[tokio::test]
    async fn the_postgres_ca_file_option_reaches_the_postgres_config() {
        let a = args(&[
            "--storage",
            "postgres://scim:s3cret-pw@127.0.0.1:1/scim?sslmode=require",
            "--postgres-ca-file",
            "/nonexistent/db-ca.pem",
        ]);
        assert_eq!(
            a.postgres_ca_file.as_deref(),
            Some(std::path::Path::new("/nonexistent/db-ca.pem"))
        );
        // The CA file is read before connecting: its error shows the option got through.
        let e = build(&a).await.err().unwrap();
        assert!(e.contains("CA file /nonexistent/db-ca.pem"), "{e}");
        assert!(!e.contains("s3cret-pw"), "{e}");
        // Without the option, the default (none).
        assert_eq!(args(&[]).postgres_ca_file, None);
    }

    #[tokio::test]
    async fn the_sqlite_mmap_option_needs_a_sqlite_file() {
        let dir = std::env::temp_dir().join(format!("scim-standalone-mmap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spec = format!("sqlite:{}", dir.join("scim.db").display());
        assert!(
            build(&args(&["--storage", &spec, "--sqlite-mmap-mib", "256"]))
                .await
                .is_ok()
        );
        for storage in ["memory", "sqlite::memory:"] {
            let e = build(&args(&["--storage", storage, "--sqlite-mmap-mib", "256"]))
                .await
                .err()
                .unwrap();
            assert!(e.contains("applies only to a SQLite file"), "{e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn the_substring_index_switch_needs_a_sqlite_storage() {
        for on in ["false", "true"] {
            let a = args(&[
                "--storage",
                "sqlite::memory:",
                "--sqlite-substring-indexes",
                on,
            ]);
            assert!(build(&a).await.is_ok());
        }
        let e = build(&args(&[
            "--storage",
            "memory",
            "--sqlite-substring-indexes",
            "false",
        ]))
        .await
        .err()
        .unwrap();
        assert!(e.contains("applies only to SQLite"), "{e}");
        assert!(
            Args::try_parse_from(["example-standalone", "--sqlite-substring-indexes", "maybe"])
                .is_err()
        );
    }

    #[tokio::test]
    async fn postgres_options_need_a_postgres_storage() {
        // (storage, option, its value, what the error says)
        let cases: [(&str, &str, &str, &[&str]); 2] = [
            (
                "sqlite::memory:",
                "--postgres-substring-indexes",
                "false",
                &["applies only to a PostgreSQL storage"],
            ),
            (
                "memory",
                "--postgres-ca-file",
                "ca.pem",
                &["CA file", "postgres://"],
            ),
        ];
        for (storage, option, value, says) in cases {
            let e = build(&args(&["--storage", storage, option, value]))
                .await
                .err()
                .unwrap();
            assert!(says.iter().all(|s| e.contains(s)), "{e}");
        }
    }

    #[test]
    fn validation_defaults_to_the_server_default_and_takes_both_presets() {
        // The default is what `ScimServerBuilder` uses without `.validation(..)`.
        assert_eq!(args(&[]).validation, Validation::Lenient);
        assert_eq!(
            args(&[]).validation.options().0,
            ValidationOptions::default()
        );
        assert_eq!(args(&[]).validation.options().1, PatchOptions::default());
        let strict = args(&["--validation", "strict"]).validation;
        assert_eq!(
            strict.options(),
            (ValidationOptions::strict(), PatchOptions::strict())
        );
        assert_eq!(
            args(&["--validation", "lenient"]).validation,
            Validation::Lenient
        );
        let e = Args::try_parse_from(["x", "--token", TOKEN, "--validation", "loose"])
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("strict") && e.contains("lenient"), "{e}");
    }

    #[test]
    fn the_startup_message_hides_postgres_urls() {
        let spec = StorageSpec::parse("postgres://scim:pw@db/scim").unwrap();
        assert_eq!(spec.to_string(), "postgres");
        let spec = StorageSpec::parse("sqlite:scim.db").unwrap();
        assert_eq!(spec.to_string(), "sqlite:scim.db");
    }
}
