//! HTTP load harness: the real [`ScimServer`] (in-memory and SQLite storage) against a bare
//! hyper server that answers every request with the exact bytes (status, headers, body) of a
//! SCIM GET-by-id, all in one process and one run, so the figures are comparable as ratios.
//!
//! ```text
//! cargo bench -p scim-server --bench load                 # default mode, 10k users
//! LOAD_SCALE=1 cargo bench -p scim-server --bench load    # + 10k/100k/1M users, groups of 10/100k
//! ```
//!
//! Environment: `LOAD_SECS` (seconds per scenario, default 5), `LOAD_CONNS` (concurrent
//! keep-alive HTTP/1.1 connections, default 4), `LOAD_USERS` (preloaded users in the default
//! mode, default 10000), `LOAD_SCALE=1` (also run the scale scenarios), `LOAD_SCALE_CONNS`
//! (connections in the scale scenarios, default 1: pure latency, no queueing),
//! `LOAD_SCALE_MAX` (largest user count in the scale mode, default 1000000), `LOAD_BACKENDS`
//! (`memory,sqlite` by default; e.g. `sqlite` to profile one backend).
//!
//! The client, the servers and the storage share one tokio runtime with 2 worker threads (the
//! machine has 2 cores): every figure includes the client's own CPU cost, which inflates the
//! ratio to bare hyper (the client costs the same per request in both, so the real
//! server-only ratio is lower). Under `cargo test` (no `--bench` argument) it does nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use scim_core::Resource;
use scim_core::builtin::{group_resource_schema, user_resource_schema};
use scim_server::ScimServer;
use scim_server::TenantId;
use scim_server::auth::BearerTokens;
use scim_server::storage::memory::MemoryStorage;
use scim_server::storage::sqlite::SqliteStorage;
use scim_server::storage::unique::UniquenessPolicy;
use scim_server::storage::{Member, NewResource, Scope, Storage};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

const TOKEN: &str = "load-harness-bearer-token-0123456789";
const SCIM_JSON: &str = "application/scim+json";

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

fn user(i: u64) -> NewResource {
    let schema = user_resource_schema();
    let resource = Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": format!("u{i}"),
        "userName": format!("user{i}@example.com"),
        "externalId": format!("ext-{i}"),
        "name": {"givenName": "User", "familyName": format!("Number {i}")},
        "displayName": format!("User Number {i}"),
        "active": true,
        "emails": [{"value": format!("user{i}@example.com"), "type": "work", "primary": true}],
        "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z",
                 "lastModified": "2024-01-01T00:00:00Z"}
    }))
    .unwrap();
    let unique = UniquenessPolicy::for_schema(&schema).keys(&schema, &resource);
    NewResource {
        id: format!("u{i}"),
        resource,
        members: vec![],
        unique,
    }
}

fn group(id: &str, members: u64) -> NewResource {
    let schema = group_resource_schema();
    let resource = Resource::from_value(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": id,
        "displayName": format!("Group {id}"),
        "meta": {"resourceType": "Group", "created": "2024-01-01T00:00:00Z",
                 "lastModified": "2024-01-01T00:00:00Z"}
    }))
    .unwrap();
    NewResource {
        id: id.to_string(),
        unique: UniquenessPolicy::for_schema(&schema).keys(&schema, &resource),
        resource,
        members: (0..members)
            .map(|i| Member {
                value: format!("pre-{i}"),
                kind: Some("User".into()),
                display: None,
            })
            .collect(),
    }
}

/// The backends to run: `LOAD_BACKENDS` (`memory,sqlite` by default).
fn backends() -> Vec<Backend> {
    let spec = std::env::var("LOAD_BACKENDS").unwrap_or_else(|_| "memory,sqlite".into());
    [Backend::Memory, Backend::Sqlite]
        .into_iter()
        .filter(|b| spec.split(',').any(|s| s.trim() == b.name()))
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Memory,
    Sqlite,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// A SQLite file in the temp dir, removed (with -wal and -shm) on drop.
struct TempDb(std::path::PathBuf);

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}

static DB_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A store with `users` users (`u0`..) and the given groups, loaded through the storage API.
async fn open_store(
    backend: Backend,
    users: u64,
    groups: &[(&str, u64)],
) -> (Arc<dyn Storage>, Option<TempDb>) {
    let tenant = TenantId::default_tenant();
    let user_schema = user_resource_schema();
    let group_schema = group_resource_schema();
    let started = Instant::now();
    let out: (Arc<dyn Storage>, Option<TempDb>) = match backend {
        Backend::Memory => {
            let s = Arc::new(MemoryStorage::new());
            let scope = Scope::new(&tenant, &user_schema);
            for i in 0..users {
                s.create(scope, user(i)).await.unwrap();
            }
            let gscope = Scope::new(&tenant, &group_schema);
            for (id, n) in groups {
                s.create(gscope, group(id, *n)).await.unwrap();
            }
            (s, None)
        }
        Backend::Sqlite => {
            let db = TempDb(std::env::temp_dir().join(format!(
                "scim-load-{}-{}.db",
                std::process::id(),
                DB_COUNTER.fetch_add(1, Ordering::Relaxed)
            )));
            let s = Arc::new(SqliteStorage::open(&db.0).unwrap());
            let n = s
                .create_many(Scope::new(&tenant, &user_schema), (0..users).map(user))
                .await
                .unwrap();
            assert_eq!(n, users);
            s.create_many(
                Scope::new(&tenant, &group_schema),
                groups
                    .iter()
                    .map(|(id, n)| group(id, *n))
                    .collect::<Vec<_>>(),
            )
            .await
            .unwrap();
            (s, Some(db))
        }
    };
    eprintln!(
        "  loaded {} store: {users} users, groups {:?} in {:.1?}",
        backend.name(),
        groups,
        started.elapsed()
    );
    out
}

// ---------------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------------

/// Serves `server` on 127.0.0.1:0 with hyper (HTTP/1.1, keep-alive), as examples/standalone
/// does; the accept loop ends when the returned handle is aborted.
async fn serve_scim(server: ScimServer) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let builder = hyper::server::conn::http1::Builder::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let conn = builder.serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(server.clone()),
            );
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    });
    (addr, task)
}

/// A captured response: what the bare server replays.
#[derive(Clone)]
struct Captured {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

/// A bare hyper server answering every request with `captured`.
async fn serve_bare(captured: Captured) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let captured = Arc::new(captured);
    let task = tokio::spawn(async move {
        let builder = hyper::server::conn::http1::Builder::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let captured = captured.clone();
            let svc = hyper::service::service_fn(move |_req: Request<hyper::body::Incoming>| {
                let c = captured.clone();
                async move {
                    let mut resp = Response::new(Full::new(c.body.clone()));
                    *resp.status_mut() = c.status;
                    *resp.headers_mut() = c.headers.clone();
                    Ok::<_, Infallible>(resp)
                }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    });
    (addr, task)
}

fn scim_server(storage: Arc<dyn Storage>) -> ScimServer {
    ScimServer::builder()
        .storage(storage)
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .build()
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------------

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Sender {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
}

/// One request to send; `timed` requests are measured, the others (clean-up) are not.
struct Req {
    method: Method,
    path: String,
    body: Option<String>,
    timed: bool,
}

fn request(addr: SocketAddr, r: &Req) -> Request<Full<Bytes>> {
    let mut b = Request::builder()
        .method(r.method.clone())
        .uri(&r.path)
        .header("host", addr.to_string())
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("accept", SCIM_JSON);
    if r.body.is_some() {
        b = b.header("content-type", SCIM_JSON);
    }
    b.body(Full::new(Bytes::from(r.body.clone().unwrap_or_default())))
        .unwrap()
}

async fn send(sender: &mut Sender, req: Request<Full<Bytes>>) -> Captured {
    sender.ready().await.unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Captured {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// Percent-encodes a query parameter value (everything but RFC 3986 unreserved characters).
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A small deterministic PRNG (xorshift), one per connection.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Makes the requests of one step: (connection index, step counter, rng) → requests.
type Maker = Arc<dyn Fn(u64, u64, &mut Rng) -> Vec<Req> + Send + Sync>;

struct Outcome {
    rps: f64,
    p50: Duration,
    p99: Duration,
    count: usize,
    errors: u64,
    first_error: Option<String>,
    /// The sorted latencies, for [`merge`].
    samples: Vec<Duration>,
    /// The measured seconds.
    secs: f64,
}

fn summarize(
    mut all: Vec<Duration>,
    secs: f64,
    errors: u64,
    first_error: Option<String>,
) -> Outcome {
    all.sort_unstable();
    let pct = |p: f64| -> Duration {
        if all.is_empty() {
            return Duration::ZERO;
        }
        let i = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
        all[i]
    };
    Outcome {
        rps: all.len() as f64 / secs,
        p50: pct(0.50),
        p99: pct(0.99),
        count: all.len(),
        errors,
        first_error,
        secs,
        samples: all,
    }
}

/// Several runs of one target as one: all latencies, the summed time.
fn merge(outs: Vec<Outcome>) -> Outcome {
    let secs = outs.iter().map(|o| o.secs).sum();
    let errors = outs.iter().map(|o| o.errors).sum();
    let mut first_error = None;
    let mut all = Vec::new();
    for o in outs {
        first_error = first_error.or(o.first_error);
        all.extend(o.samples);
    }
    summarize(all, secs, errors, first_error)
}

/// Runs `maker` over `conns` keep-alive connections for `secs` (after a short warm-up) and
/// measures every timed request. `ok` tells the expected statuses.
async fn run_load(
    addr: SocketAddr,
    conns: u64,
    secs: f64,
    maker: Maker,
    ok: fn(StatusCode) -> bool,
) -> Outcome {
    let warmup = Duration::from_secs_f64((secs / 10.0).min(0.5));
    let duration = Duration::from_secs_f64(secs);
    let errors = Arc::new(AtomicU64::new(0));
    let first_error: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let start = Instant::now();
    let measure_from = start + warmup;
    let deadline = measure_from + duration;
    let mut tasks = Vec::new();
    for c in 0..conns {
        let maker = maker.clone();
        let errors = errors.clone();
        let first_error = first_error.clone();
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(addr).await;
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (c + 1).wrapping_mul(0x2545_F491_4F6C_DD1D));
            // Bounded: at most 4M samples per connection.
            let mut lat: Vec<Duration> = Vec::with_capacity(1 << 16);
            let mut step = 0u64;
            loop {
                let now = Instant::now();
                if now >= deadline || lat.len() >= 4_000_000 {
                    break;
                }
                for r in maker(c, step, &mut rng) {
                    let req = request(addr, &r);
                    let t0 = Instant::now();
                    let resp = send(&mut sender, req).await;
                    let el = t0.elapsed();
                    if !ok(resp.status) && r.timed {
                        errors.fetch_add(1, Ordering::Relaxed);
                        let mut fe = first_error.lock().unwrap();
                        if fe.is_none() {
                            *fe = Some(format!(
                                "{} {} -> {} {}",
                                r.method,
                                r.path,
                                resp.status,
                                String::from_utf8_lossy(&resp.body)
                            ));
                        }
                    }
                    if r.timed && t0 >= measure_from && t0 < deadline {
                        lat.push(el);
                    }
                }
                step += 1;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let first_error = first_error.lock().unwrap().take();
    summarize(
        all,
        duration.as_secs_f64(),
        errors.load(Ordering::Relaxed),
        first_error,
    )
}

fn is_2xx(s: StatusCode) -> bool {
    s.is_success()
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

fn get_by_id(users: u64) -> Maker {
    Arc::new(move |_, _, rng| {
        vec![Req {
            method: Method::GET,
            path: format!("/Users/u{}", rng.next() % users),
            body: None,
            timed: true,
        }]
    })
}

fn filter_maker(users: u64, template: fn(u64) -> String) -> Maker {
    Arc::new(move |_, _, rng| {
        vec![Req {
            method: Method::GET,
            path: format!("/Users?filter={}", enc(&template(rng.next() % users))),
            body: None,
            timed: true,
        }]
    })
}

fn user_name_eq(i: u64) -> String {
    format!("userName eq \"user{i}@example.com\"")
}

fn user_name_and_emails(i: u64) -> String {
    format!("userName eq \"user{i}@example.com\" and emails[type eq \"work\" and value co \"x\"]")
}

const EMAILS_ONLY: &str = "emails[type eq \"work\" and value co \"x\"]";

static POST_COUNTER: AtomicU64 = AtomicU64::new(0);

fn post_user() -> Maker {
    Arc::new(|_, _, _| {
        let n = POST_COUNTER.fetch_add(1, Ordering::Relaxed);
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("posted{n}@example.com"),
            "name": {"givenName": "Posted", "familyName": format!("User {n}")},
            "displayName": format!("Posted User {n}"),
            "active": true,
            "emails": [{"value": format!("posted{n}@example.com"), "type": "work",
                        "primary": true}]
        });
        vec![Req {
            method: Method::POST,
            path: "/Users".into(),
            body: Some(body.to_string()),
            timed: true,
        }]
    })
}

static MEMBER_COUNTER: AtomicU64 = AtomicU64::new(0);

fn patch_ops(ops: serde_json::Value) -> String {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": ops
    })
    .to_string()
}

/// PATCH add one member to `group`, then an untimed PATCH removes it again so the group
/// stays at its size. The member is one of the `users` preloaded users (`u0`, `u1`, ...):
/// a member id must name an existing resource of the tenant (400 `invalidValue` otherwise),
/// and re-adding a current member is a no-op that would measure nothing.
fn patch_add_member(group: &'static str, users: u64) -> Maker {
    Arc::new(move |_, _, _| {
        let m = format!(
            "u{}",
            MEMBER_COUNTER.fetch_add(1, Ordering::Relaxed) % users.max(1)
        );
        let path = format!("/Groups/{group}");
        let mut out = vec![Req {
            method: Method::PATCH,
            path: path.clone(),
            body: Some(patch_ops(
                json!([{"op": "add", "path": "members", "value": [{"value": m}]}]),
            )),
            timed: true,
        }];
        out.push(Req {
            method: Method::PATCH,
            path,
            body: Some(patch_ops(json!([{"op": "remove",
                "path": format!("members[value eq \"{m}\"]")}]))),
            timed: false,
        });
        out
    })
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

struct Row {
    scenario: String,
    backend: String,
    out: Outcome,
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn print_table(title: &str, rows: &[Row], with_ratio: bool) {
    println!("\n### {title}\n");
    println!(
        "| scenario | backend | req/s | p50 | p99 | requests | errors | ratio to bare hyper |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    // Each row's ratio is to the bare hyper run just before it (runs close in time see
    // similar background load).
    let mut bare: Option<f64> = None;
    for r in rows {
        let is_bare = r.backend == "bare hyper";
        let ratio = match bare {
            Some(b) if with_ratio && b > 0.0 && !is_bare => {
                format!("{:.0}%", 100.0 * r.out.rps / b)
            }
            _ => "-".into(),
        };
        if is_bare {
            bare = Some(r.out.rps);
        }
        println!(
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} |",
            r.scenario,
            r.backend,
            r.out.rps,
            ms(r.out.p50),
            ms(r.out.p99),
            r.out.count,
            r.out.errors,
            ratio
        );
    }
    for r in rows {
        if let Some(e) = &r.out.first_error {
            let e: String = e.chars().take(300).collect();
            println!("\n- first error of {} / {}: `{e}`", r.scenario, r.backend);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Modes
// ---------------------------------------------------------------------------------------------

/// Captures the exact response of `GET /Users/u0` from a real in-memory server.
async fn capture_get_by_id() -> Captured {
    let (storage, _db) = open_store(Backend::Memory, 1, &[]).await;
    let (addr, task) = serve_scim(scim_server(storage)).await;
    let mut s = connect(addr).await;
    let r = Req {
        method: Method::GET,
        path: "/Users/u0".into(),
        body: None,
        timed: true,
    };
    let c = send(&mut s, request(addr, &r)).await;
    task.abort();
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    c
}

async fn run_bare(captured: &Captured, conns: u64, secs: f64) -> Outcome {
    let (addr, task) = serve_bare(captured.clone()).await;
    let out = run_load(addr, conns, secs, get_by_id(1), is_2xx).await;
    task.abort();
    out
}

/// GET by id on bare hyper, memory and SQLite in `rounds` interleaved slices of
/// `secs / rounds` each, so background load hits the three alike.
async fn interleaved_get(captured: &Captured, conns: u64, secs: f64, users: u64, rounds: u64) {
    let (bare_addr, bare_task) = serve_bare(captured.clone()).await;
    let mut targets = vec![("bare hyper", bare_addr, 1u64, None, bare_task)];
    for backend in backends() {
        let (storage, db) = open_store(backend, users, &[]).await;
        let (addr, task) = serve_scim(scim_server(storage)).await;
        targets.push((backend.name(), addr, users, db, task));
    }
    let slice = secs / rounds as f64;
    let mut outs: Vec<Vec<Outcome>> = targets.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        eprintln!("interleaved GET by id, round {}/{rounds}", round + 1);
        for (i, (_, addr, n, _, _)) in targets.iter().enumerate() {
            outs[i].push(run_load(*addr, conns, slice, get_by_id(*n), is_2xx).await);
        }
    }
    let mut rows = Vec::new();
    for ((name, _, _, db, task), o) in targets.into_iter().zip(outs) {
        task.abort();
        drop(db);
        rows.push(Row {
            scenario: "GET by id".into(),
            backend: name.into(),
            out: merge(o),
        });
    }
    print_table(
        &format!(
            "GET by id, interleaved: {rounds} rounds of (bare, memory, sqlite), {:.1} s each, \
             {users} users, {conns} connections (ratio: to bare hyper)",
            slice
        ),
        &rows,
        true,
    );
}

async fn default_mode(conns: u64, secs: f64, users: u64) {
    let captured = capture_get_by_id().await;
    interleaved_get(&captured, conns, secs, users, 5).await;
    eprintln!(
        "captured GET /Users/u0: {} {:?}, {} body bytes",
        captured.status,
        captured.headers,
        captured.body.len()
    );
    let mut rows = Vec::new();
    let mut probes = BTreeMap::new();
    for backend in backends() {
        eprintln!("bare hyper (before {})", backend.name());
        let bare = run_bare(&captured, conns, secs).await;
        rows.push(Row {
            scenario: "GET by id (the same bytes)".into(),
            backend: "bare hyper".into(),
            out: bare,
        });
        let (storage, db) = open_store(backend, users, &[("g1", 10)]).await;
        let (addr, task) = serve_scim(scim_server(storage)).await;
        // What the server says to an unindexed filter.
        let mut s = connect(addr).await;
        let probe = send(
            &mut s,
            request(
                addr,
                &Req {
                    method: Method::GET,
                    path: format!("/Users?filter={}", enc(EMAILS_ONLY)),
                    body: None,
                    timed: true,
                },
            ),
        )
        .await;
        let body = String::from_utf8_lossy(&probe.body);
        let body: String = body.chars().take(300).collect();
        probes.insert(backend.name(), format!("{} {body}", probe.status));
        let emails_only_ok = probe.status.is_success();

        let mut scenarios: Vec<(String, Maker)> = vec![
            ("GET by id".into(), get_by_id(users)),
            (
                "filter=userName eq \"…\"".into(),
                filter_maker(users, user_name_eq),
            ),
        ];
        if emails_only_ok {
            scenarios.push((
                "filter=emails[type eq \"work\" and value co \"x\"]".into(),
                filter_maker(users, |_| EMAILS_ONLY.to_string()),
            ));
        }
        scenarios.extend([
            (
                "filter=userName eq \"…\" and emails[type eq \"work\" and value co \"x\"]".into(),
                filter_maker(users, user_name_and_emails),
            ),
            ("POST /Users".into(), post_user()),
            (
                "PATCH add member (group of 10)".into(),
                patch_add_member("g1", users),
            ),
        ]);
        for (name, maker) in scenarios {
            eprintln!("{} / {name}", backend.name());
            let out = run_load(addr, conns, secs, maker, is_2xx).await;
            rows.push(Row {
                scenario: name,
                backend: backend.name().into(),
                out,
            });
        }
        task.abort();
        drop(db);
    }
    eprintln!("bare hyper (last)");
    let bare = run_bare(&captured, conns, secs).await;
    rows.push(Row {
        scenario: "GET by id (the same bytes)".into(),
        backend: "bare hyper".into(),
        out: bare,
    });
    print_table(
        &format!(
            "Default mode: {users} users, {conns} connections, {secs} s per scenario \
             (ratio: to the bare hyper run just before)"
        ),
        &rows,
        true,
    );
    println!();
    for (b, p) in probes {
        println!("- `filter={EMAILS_ONLY}` alone on {b}: `{p}`");
    }
}

/// Users preloaded in the scale mode's membership scenarios, to be added as members.
const SCALE_MEMBERS: u64 = 1_000;

async fn scale_mode(conns: u64, secs: f64, max: u64) {
    let mut rows = Vec::new();
    let sizes: Vec<u64> = [10_000u64, 100_000, 1_000_000]
        .into_iter()
        .filter(|&n| n <= max)
        .collect();
    for backend in backends() {
        for &n in &sizes {
            let (storage, db) = open_store(backend, n, &[]).await;
            let (addr, task) = serve_scim(scim_server(storage)).await;
            eprintln!("{} / userName eq at {n}", backend.name());
            let out = run_load(addr, conns, secs, filter_maker(n, user_name_eq), is_2xx).await;
            rows.push(Row {
                scenario: format!("filter=userName eq, {n} users"),
                backend: backend.name().into(),
                out,
            });
            task.abort();
            drop(db);
        }
        let (storage, db) =
            open_store(backend, SCALE_MEMBERS, &[("g10", 10), ("g100000", 100_000)]).await;
        let (addr, task) = serve_scim(scim_server(storage)).await;
        for (g, label) in [("g10", "10"), ("g100000", "100,000")] {
            eprintln!("{} / PATCH add member, group of {label}", backend.name());
            let out = run_load(
                addr,
                conns,
                secs,
                patch_add_member(g, SCALE_MEMBERS),
                is_2xx,
            )
            .await;
            rows.push(Row {
                scenario: format!("PATCH add member, group of {label}"),
                backend: backend.name().into(),
                out,
            });
        }
        task.abort();
        drop(db);
    }
    print_table(
        &format!(
            "Scale mode: {conns} connection(s), {secs} s per scenario (PATCH: each timed add is \
             followed by an untimed PATCH remove, so the group keeps its size)"
        ),
        &rows,
        false,
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test` (which builds benches in test mode) does
    // not: do nothing then.
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("load harness: run it with `cargo bench -p scim-server --bench load`");
        return;
    }
    let secs = env_u64("LOAD_SECS", 5).max(1) as f64;
    let conns = env_u64("LOAD_CONNS", 4).max(1);
    let users = env_u64("LOAD_USERS", 10_000).max(1);
    let scale = std::env::var("LOAD_SCALE").is_ok_and(|v| v == "1");
    let scale_conns = env_u64("LOAD_SCALE_CONNS", 1).max(1);
    let scale_max = env_u64("LOAD_SCALE_MAX", 1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        default_mode(conns, secs, users).await;
        if scale {
            scale_mode(scale_conns, secs, scale_max).await;
        }
    });
}
