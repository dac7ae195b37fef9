//! `example-change-feed`: mirrors one tenant's change feed to a JSON-lines file or a
//! webhook, resuming from its recorded position.
//!
//! ```text
//! cargo run -p example-change-feed -- --storage sqlite:scim.db \
//!     --position mirror.position --out mirror.jsonl
//! cargo run -p example-change-feed -- --storage postgres://scim@127.0.0.1:5432/scim \
//!     --position hook.position --webhook https://provisioning.example.com/scim-changes
//! ```
//!
//! It reads the storage that a SCIM server (e.g. `example-standalone`) writes, as its own
//! process: the feed lives in the database, so the two need not run together.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use example_change_feed::{Consumer, JsonLinesFile, PositionFile, Sink, Webhook};
use scim_server::TenantId;
use scim_server::storage::Storage;
use scim_server::storage::postgres::PostgresStorage;
use scim_server::storage::sqlite::SqliteStorage;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Mirror a SCIM server's change feed to a file or a webhook"
)]
struct Args {
    /// The storage the SCIM server writes: `sqlite:PATH` or a PostgreSQL URL
    /// (`postgres://user@host:5432/db`).
    #[arg(long)]
    storage: String,

    /// The tenant whose changes to mirror (default: the single-tenant server's tenant).
    #[arg(long)]
    tenant: Option<String>,

    /// The file that keeps the position (the `seq` of the last change delivered).
    #[arg(long)]
    position: PathBuf,

    /// Append each change as a line of JSON to this file.
    #[arg(long, conflicts_with = "webhook", required_unless_present = "webhook")]
    out: Option<PathBuf>,

    /// POST each page of changes as `{"changes": [...]}` to this URL.
    #[arg(long)]
    webhook: Option<String>,

    /// With --webhook: send `Authorization: Bearer <token>`; read from this file.
    #[arg(long, requires = "webhook")]
    webhook_token_file: Option<PathBuf>,

    /// Changes per page (the position is recorded after each page).
    #[arg(long, default_value_t = 100)]
    page_size: usize,

    /// How often to poll for new changes, in milliseconds.
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,

    /// Deliver what is there, then exit (instead of polling until Ctrl-C).
    #[arg(long)]
    once: bool,
}

async fn open_storage(spec: &str) -> Result<Arc<dyn Storage>, String> {
    if let Some(path) = spec.strip_prefix("sqlite:") {
        if path.is_empty() {
            return Err("--storage sqlite:PATH needs a file path".into());
        }
        return SqliteStorage::open(path)
            .map(|s| Arc::new(s) as Arc<dyn Storage>)
            .map_err(|e| format!("cannot open SQLite database {path}: {e}"));
    }
    if spec.starts_with("postgres:") || spec.starts_with("postgresql:") {
        return PostgresStorage::connect(spec)
            .await
            .map(|s| Arc::new(s) as Arc<dyn Storage>)
            .map_err(|e| format!("cannot connect to PostgreSQL: {e}"));
    }
    Err(format!(
        "unknown --storage {spec:?}; use sqlite:PATH or postgres://..."
    ))
}

async fn run(args: Args) -> Result<(), String> {
    let storage = open_storage(&args.storage).await?;
    let tenant = match &args.tenant {
        Some(t) => TenantId::new(t).ok_or_else(|| format!("invalid --tenant {t:?}"))?,
        None => TenantId::default_tenant(),
    };
    let sink: Box<dyn Sink> = match (&args.out, &args.webhook) {
        (Some(path), _) => Box::new(JsonLinesFile::new(path)),
        (None, Some(url)) => {
            let mut hook = Webhook::new(url);
            if let Some(path) = &args.webhook_token_file {
                let token = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                hook = hook.bearer(token.trim());
            }
            Box::new(hook)
        }
        (None, None) => return Err("give --out or --webhook".into()),
    };
    let mut consumer = Consumer::new(storage, tenant, PositionFile::new(&args.position), sink)
        .page_size(args.page_size);
    if args.once {
        let n = consumer.catch_up().await.map_err(|e| e.to_string())?;
        eprintln!("delivered {n} changes");
        return Ok(());
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    consumer
        .run(Duration::from_millis(args.poll_ms), shutdown)
        .await
        .map_err(|e| e.to_string())
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
