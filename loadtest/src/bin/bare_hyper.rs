//! `bare-hyper`: the ceiling of a load test. Answers every request with one fixed response
//! (status, headers, body read from a JSON file that `scim-load` captured from the real
//! server), served the way `example-standalone` serves: hyper's HTTP/1.1 connection builder
//! on a multi-thread tokio runtime, one task per connection. Whatever the SCIM server does
//! beyond this is its own cost.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use scim_loadtest::Captured;

/// Serves one captured response to every request.
#[derive(Debug, Parser)]
#[command(name = "bare-hyper")]
struct Args {
    /// The address to listen on (`127.0.0.1:0`: any free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The captured response (JSON: `status`, `headers`, `body`).
    #[arg(long)]
    response: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.response)
        .map_err(|e| format!("cannot read {}: {e}", args.response.display()))?;
    let captured: Captured =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", args.response.display()))?;
    let template = Arc::new(Prepared::from(&captured));
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    // The driver reads this line to learn the port.
    println!("listening on {bound}");
    let builder = hyper::server::conn::http1::Builder::new();
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(a) => a,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let template = Arc::clone(&template);
        let svc = service_fn(move |_req: Request<Incoming>| {
            let template = Arc::clone(&template);
            async move { Ok::<_, Infallible>(respond(&template)) }
        });
        let conn = builder.serve_connection(TokioIo::new(stream), svc);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}

/// The response, built once: every request clones a header map and a reference-counted
/// body, as cheap as a server can be.
struct Prepared {
    status: hyper::StatusCode,
    headers: hyper::HeaderMap,
    body: Bytes,
}

impl From<&Captured> for Prepared {
    fn from(c: &Captured) -> Self {
        let mut headers = hyper::HeaderMap::new();
        for (name, value) in &c.headers {
            // hyper writes these itself for every response.
            if ["content-length", "date", "connection", "transfer-encoding"]
                .contains(&name.to_ascii_lowercase().as_str())
            {
                continue;
            }
            if let (Ok(n), Ok(v)) = (
                hyper::header::HeaderName::from_bytes(name.as_bytes()),
                hyper::header::HeaderValue::from_str(value),
            ) {
                headers.append(n, v);
            }
        }
        Prepared {
            status: hyper::StatusCode::from_u16(c.status).unwrap_or(hyper::StatusCode::OK),
            headers,
            body: Bytes::from(c.body.clone()),
        }
    }
}

fn respond(p: &Prepared) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(p.body.clone()));
    *response.status_mut() = p.status;
    *response.headers_mut() = p.headers.clone();
    response
}
