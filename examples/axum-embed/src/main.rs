//! An axum application with SCIM 2.0 under `/scim/v2`.
//!
//! ```text
//! SCIM_TOKEN="$(openssl rand -base64 32)" cargo run -p example-axum-embed
//! curl http://127.0.0.1:3000/health
//! curl -H "Authorization: Bearer $SCIM_TOKEN" http://127.0.0.1:3000/scim/v2/ServiceProviderConfig
//! ```
//!
//! Environment: `SCIM_TOKEN` (required, at least 16 characters), `SCIM_STORAGE` (default
//! `memory`; `sqlite:PATH` for a file, see [`scim_server::storage::open`]), `LISTEN` (default
//! `127.0.0.1:3000`), `PUBLIC_URL` (optional, e.g. `https://app.example.com/scim/v2`).

use std::error::Error;

use example_axum_embed::{SCIM_BASE, app, scim_server};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let token = std::env::var("SCIM_TOKEN")
        .map_err(|_| "set SCIM_TOKEN to the bearer token SCIM clients must send")?;
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:3000".to_string());
    let public_url = std::env::var("PUBLIC_URL").ok();
    let storage = std::env::var("SCIM_STORAGE").unwrap_or_else(|_| "memory".to_string());

    let storage = scim_server::storage::open(&storage).await?;
    let scim = scim_server(storage, &token, public_url.as_deref())?;
    let listener = TcpListener::bind(&listen).await?;
    eprintln!("app on http://{listen} (GET /health), SCIM under http://{listen}{SCIM_BASE}");
    axum::serve(listener, app(scim))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
