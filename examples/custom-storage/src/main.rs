//! Serves [`HashMapStorage`], a storage backend defined outside scim-server, with hyper.
//!
//! ```text
//! SCIM_TOKEN="$(openssl rand -base64 32)" cargo run -p example-custom-storage
//! ```
//!
//! Environment: `SCIM_TOKEN` (required, at least 16 characters), `LISTEN` (default
//! `127.0.0.1:8080`).

use std::error::Error;
use std::sync::Arc;

use example_custom_storage::HashMapStorage;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use scim_server::ScimServer;
use scim_server::auth::BearerTokens;
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let token = std::env::var("SCIM_TOKEN")
        .map_err(|_| "set SCIM_TOKEN to the bearer token SCIM clients must send")?;
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".to_string());

    let server = ScimServer::builder()
        .storage(Arc::new(HashMapStorage::new()))
        .authenticator(BearerTokens::single(&token)?)
        .build()?;

    let listener = TcpListener::bind(&listen).await?;
    eprintln!("SCIM server with a custom storage backend on http://{listen}");
    loop {
        let (stream, _peer) = listener.accept().await?;
        let service = TowerToHyperService::new(server.clone());
        tokio::spawn(async move {
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                eprintln!("connection error: {e}");
            }
        });
    }
}
