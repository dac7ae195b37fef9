//! An Entra ID initial cycle against the real `scim-gateway` binary (this build's profile) on
//! SQLite in a temporary directory: one rule (every user, a role; no plan, so seats do not
//! limit it), User Sync Active on, then `CYCLE_USERS` users (default 10,000) POSTed over
//! `CYCLE_CONCURRENCY` connections (default 8) as Entra's provisioning service shapes them.
//!
//! Prints the SCIM rate (first POST to last 2xx), the end-to-end rate (first POST to the moment
//! the CRM holds every user), POST latency p50/p99, and the same load against a bare hyper
//! server on loopback that answers a fixed 201 (the client and loopback ceiling).
//! Target: at least 500 users/s end to end. Run with
//! `cargo bench -p gateway-reference --bench initial_cycle`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/proc.rs"]
mod proc;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use proc::{Admin, entra_user};
use tokio::net::TcpListener;

const BIN: &str = env!("CARGO_BIN_EXE_scim-gateway");

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// What one load run measured.
struct Run {
    first_post: Instant,
    last_ok: Instant,
    latencies: Vec<Duration>,
}

/// POSTs users `0..n` to `url` over `c` concurrent connections; every answer must be 2xx.
async fn post_all(url: &str, token: &str, n: usize, c: usize) -> Run {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(c)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    // Bodies prepared up front, so the client measures the server, not JSON building.
    let bodies: Arc<Vec<Bytes>> = Arc::new(
        (0..n)
            .map(|i| Bytes::from(entra_user(i).to_string()))
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let first_post = Instant::now();
    let tasks: Vec<_> = (0..c)
        .map(|_| {
            let (http, bodies, next) = (http.clone(), bodies.clone(), next.clone());
            let (url, token) = (url.to_string(), token.to_string());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut last = Instant::now();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= bodies.len() {
                        return (lat, last);
                    }
                    let t = Instant::now();
                    let r = http
                        .post(&url)
                        .bearer_auth(&token)
                        .header("Content-Type", "application/scim+json")
                        .body(bodies[i].clone())
                        .send()
                        .await
                        .unwrap();
                    let status = r.status();
                    let body = r.bytes().await.unwrap();
                    assert!(
                        status.is_success(),
                        "POST user {i}: {status} {}",
                        String::from_utf8_lossy(&body)
                    );
                    last = Instant::now();
                    lat.push(last - t);
                }
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(n);
    let mut last_ok = first_post;
    for t in tasks {
        let (lat, last) = t.await.unwrap();
        latencies.extend(lat);
        last_ok = last_ok.max(last);
    }
    latencies.sort();
    Run {
        first_post,
        last_ok,
        latencies,
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// A bare HTTP/1.1 server answering every request with a fixed SCIM-like 201; its address.
async fn bare_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Bytes::from_static(
        br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"2819c223-7f76-453a-919d-413861904646","userName":"bjensen@example.com","active":true,"meta":{"resourceType":"User","version":"W/\"1\""}}"#,
    );
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let body = body.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let body = body.clone();
                    async move {
                        // Read the request body, as the gateway must.
                        let _ = req.into_body().collect().await;
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .status(201)
                                .header("Content-Type", "application/scim+json")
                                .body(Full::new(body))
                                .unwrap(),
                        )
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

/// Counts the CRM's users, paging on from the last seen associate id.
struct CrmCounter {
    after: i64,
    count: usize,
}

impl CrmCounter {
    async fn poll(&mut self, admin: &Admin) -> usize {
        loop {
            let page = admin.crm_page(self.after).await;
            let Some(last) = page.last() else { break };
            self.after = last["associateId"].as_i64().unwrap();
            self.count += page.len();
            if page.len() < 500 {
                break;
            }
        }
        self.count
    }
}

async fn bench() {
    let n = env_usize("CYCLE_USERS", 10_000);
    let c = env_usize("CYCLE_CONCURRENCY", 8);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let gw = proc::start(BIN, &data, "127.0.0.1:0").await;
    let token = gw.printed("Secret Token:").expect("Secret Token printed");
    let admin = Admin {
        http: reqwest::Client::new(),
        base: gw.base.clone(),
        token: gw.printed("Admin token:").expect("Admin token printed"),
        tenant: "demo".into(),
    };
    let role = admin.role_id("User").await;
    admin.role_rule_and_sync_on(role).await;
    println!(
        "initial cycle: {n} users, {c} connections, gateway {}",
        gw.base
    );

    // The CRM count is polled while the POSTs run, so the end is seen as soon as it happens.
    let watcher = {
        let admin = admin.clone();
        tokio::spawn(async move {
            let mut counter = CrmCounter { after: 0, count: 0 };
            let deadline = Instant::now() + Duration::from_secs(600);
            while Instant::now() < deadline {
                if counter.poll(&admin).await >= n {
                    return Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            None
        })
    };
    let url = format!("{}/scim/demo/Users", gw.base);
    let run = post_all(&url, &token, n, c).await;
    let crm_done = watcher
        .await
        .unwrap()
        .expect("the CRM did not reach N users in 600 s");
    let scim = run.last_ok - run.first_post;
    let e2e = crm_done - run.first_post;
    let status = admin.sync_status().await;
    println!(
        "gateway SCIM:  {:>8.0} users/s  ({n} POSTs in {:.2} s), POST latency p50 {:.2} ms, p99 {:.2} ms",
        rate(n, scim),
        scim.as_secs_f64(),
        pct(&run.latencies, 0.50).as_secs_f64() * 1e3,
        pct(&run.latencies, 0.99).as_secs_f64() * 1e3,
    );
    println!(
        "end to end:    {:>8.0} users/s  (CRM holds all {n} users {:.2} s after the first POST; sync status {status:?})",
        rate(n, e2e),
        e2e.as_secs_f64()
    );
    gw.kill9().await;

    let bare = bare_server().await;
    let ceiling = post_all(&format!("{bare}/Users"), "t", n, c).await;
    let bare_d = ceiling.last_ok - ceiling.first_post;
    println!(
        "bare hyper:    {:>8.0} users/s  ({n} POSTs in {:.2} s), POST latency p50 {:.2} ms, p99 {:.2} ms",
        rate(n, bare_d),
        bare_d.as_secs_f64(),
        pct(&ceiling.latencies, 0.50).as_secs_f64() * 1e3,
        pct(&ceiling.latencies, 0.99).as_secs_f64() * 1e3,
    );
    println!(
        "ratio:         gateway SCIM / bare = {:.3}, end to end / bare = {:.3}; end to end {} the 500 users/s target",
        rate(n, scim) / rate(n, bare_d),
        rate(n, e2e) / rate(n, bare_d),
        if rate(n, e2e) >= 500.0 {
            "meets"
        } else {
            "misses"
        }
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument that is not this bench's name skips it.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.iter().any(|a| !"initial_cycle".contains(a.as_str())) {
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(bench());
}
