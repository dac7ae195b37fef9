//! `scim-load`: measures a SCIM server as its users do. For each storage backend it starts
//! the real `example-standalone` binary (or `scim-gateway`, with `--servers gateway`) as its
//! own process, seeds it with users over HTTP,
//! and drives it with `wrk` (an external load generator: C, epoll, Lua-scripted requests;
//! Debian's `wrk` package). Each GET workload is then replayed against `bare-hyper`, a
//! separate process answering the exact bytes the server returned, in the same run: the
//! ratio server/bare is the share of the machine's HTTP ceiling the server keeps.
//!
//! ```sh
//! scripts/load.sh                       # memory and SQLite, 1,000 users, 8 s per run
//! scripts/load.sh --users 10000,100000 --backends sqlite
//! scripts/load.sh --backends postgres --postgres-url postgres://user@127.0.0.1:5432/db
//! scripts/load.sh --servers standalone,gateway --backends sqlite
//! scripts/load.sh --rounds 3             # each workload three times, the median round shown
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use scim_loadtest::{
    Captured, WrkReport, command_name, cpu_ticks, parse_wrk, post_users_script, random_get_script,
};

const TOKEN: &str = "load-test-token-0123456789";

/// Measure example-standalone (and scim-gateway) against a bare hyper ceiling with wrk.
#[derive(Debug, Parser)]
#[command(name = "scim-load")]
struct Args {
    /// Servers: `standalone` (example-standalone), `gateway` (scim-gateway: a tenant's SCIM
    /// endpoint; its backends are `sqlite` and `postgres`).
    #[arg(long, value_delimiter = ',', default_value = "standalone")]
    servers: Vec<String>,
    /// Storage backends: `memory`, `sqlite`, `postgres` (needs --postgres-url).
    #[arg(long, value_delimiter = ',', default_value = "memory,sqlite")]
    backends: Vec<String>,
    /// Users seeded before measuring; several sizes show how cost grows.
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    users: Vec<usize>,
    /// Seconds per wrk run.
    #[arg(long, default_value_t = 8)]
    duration: u64,
    /// Seconds of the same GET workload run before each measured server run and not
    /// counted: after seeding, PostgreSQL is still busy with the fresh rows (autovacuum,
    /// hint bits on first reads), which cost it several times a steady read.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Rounds per workload: the server and bare hyper run one after the other this many
    /// times, and the table shows the round with the median ratio (for POST, the median
    /// rate) beside every round's. On a shared machine one pair can be off by 15 %; the
    /// median of three is steadier.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=15))]
    rounds: u32,
    /// wrk connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Workloads: `get-id`, `filter-username`, `filter-emails`, `list-page`, `sorted-page`,
    /// `post`.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "get-id,filter-username,filter-emails,list-page,sorted-page,post"
    )]
    workloads: Vec<String>,
    /// A PostgreSQL database for the `postgres` backend (give a fresh one: the users of
    /// earlier runs stay in it).
    #[arg(long)]
    postgres_url: Option<String>,
    /// A CA file for the PostgreSQL server's TLS certificate.
    #[arg(long)]
    postgres_ca_file: Option<PathBuf>,
    /// The `example-standalone` binary (default: next to this one).
    #[arg(long)]
    standalone: Option<PathBuf>,
    /// The `bare-hyper` binary (default: next to this one).
    #[arg(long)]
    bare: Option<PathBuf>,
    /// The `scim-gateway` binary (default: next to this one).
    #[arg(long)]
    gateway: Option<PathBuf>,
}

/// A SCIM server under test, started for one run.
struct Target {
    /// The process.
    proc: Proc,
    /// The SCIM base URL's scheme and authority (`http://127.0.0.1:PORT`).
    base: String,
    /// The SCIM base URL's path (`""`, or `/scim/TENANT` on the gateway).
    prefix: String,
    /// The bearer token.
    token: String,
}

/// One row of the results.
struct Row {
    target: &'static str,
    backend: String,
    users: usize,
    workload: String,
    matches: Option<u64>,
    /// The round with the median figure.
    median: Round,
    /// Every round's figure ([`Round::figure`]), in the order run.
    rounds: Vec<f64>,
}

/// One round of a workload: the server's wrk run, then bare hyper's on the same script.
struct Round {
    server: WrkReport,
    /// The server's CPU time per request during its wrk run, in microseconds.
    server_cpu_us: Option<f64>,
    bare: Option<WrkReport>,
    /// Bare hyper's CPU time per request during its wrk run, in microseconds.
    bare_cpu_us: Option<f64>,
    /// The local PostgreSQL cluster's CPU time per request during the server's wrk run, in
    /// microseconds (PostgreSQL rows only; see [`database_ticks`]).
    database_cpu_us: Option<f64>,
}

impl Round {
    /// What rounds are compared by: the ratio, or the server's rate without bare hyper.
    fn figure(&self) -> f64 {
        match &self.bare {
            Some(b) => self.server.requests_per_sec / b.requests_per_sec,
            None => self.server.requests_per_sec,
        }
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

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

/// The binary given on the command line, or else `name` next to this one.
fn binary(given: &Option<PathBuf>, name: &str) -> Result<PathBuf, Error> {
    if let Some(p) = given {
        return Ok(p.clone());
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().ok_or("no directory of the running binary")?;
    Ok(dir.join(name))
}

async fn run(args: Args) -> Result<(), Error> {
    let standalone = binary(&args.standalone, "example-standalone")?;
    let bare = binary(&args.bare, "bare-hyper")?;
    let gateway = binary(&args.gateway, "scim-gateway")?;
    let mut needed = vec![("bare-hyper", &bare)];
    if args.servers.iter().any(|s| s == "standalone") {
        needed.push(("example-standalone", &standalone));
    }
    if args.servers.iter().any(|s| s == "gateway") {
        needed.push(("scim-gateway", &gateway));
    }
    for (what, path) in needed {
        if !path.exists() {
            return Err(format!(
                "{what} not found at {}: build it with `cargo build --release -p example-standalone -p gateway-reference -p scim-loadtest` (scripts/load.sh does)",
                path.display()
            )
            .into());
        }
    }
    let wrk = Command::new("wrk").arg("--version").output().await;
    if wrk.is_err() {
        return Err("wrk is not installed (Debian: apt-get install wrk)".into());
    }
    let work = std::env::temp_dir().join(format!("scim-load-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let mut rows = Vec::new();
    for server in &args.servers {
        let (server, binary): (&'static str, &Path) = match server.as_str() {
            "standalone" => ("standalone", &standalone),
            "gateway" => ("gateway", &gateway),
            other => return Err(format!("unknown server {other:?} (standalone, gateway)").into()),
        };
        for backend in &args.backends {
            if server == "gateway" && backend == "memory" {
                eprintln!(
                    "== gateway, memory: skipped (the gateway stores on SQLite or PostgreSQL)"
                );
                continue;
            }
            for &users in &args.users {
                eprintln!("== {server}, {backend}, {users} users");
                let dir = work.join(format!("{server}-{backend}-{users}"));
                let run = async {
                    std::fs::create_dir_all(&dir)?;
                    let target = match server {
                        "gateway" => start_gateway(&args, binary, &dir, backend).await?,
                        _ => start_standalone(&args, binary, &dir, backend).await?,
                    };
                    measure(&args, target, server, &bare, &dir, backend, users).await
                };
                match run.await {
                    Ok(mut r) => rows.append(&mut r),
                    Err(e) => eprintln!("   {server} on {backend} with {users} users failed: {e}"),
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    print_table(&args, &rows);
    Ok(())
}

/// A child process killed when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// Starts a program that prints its bound address on a line containing `marker`; returns
/// the process and `http://addr`.
async fn spawn(mut cmd: Command, marker: &str, stderr: bool) -> Result<(Proc, String), Error> {
    cmd.kill_on_drop(true).stdin(Stdio::null());
    if stderr {
        cmd.stderr(Stdio::piped()).stdout(Stdio::null());
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    }
    let mut child = cmd.spawn()?;
    let lines: Box<dyn tokio::io::AsyncRead + Unpin + Send> = if stderr {
        Box::new(child.stderr.take().ok_or("no stderr")?)
    } else {
        Box::new(child.stdout.take().ok_or("no stdout")?)
    };
    let mut lines = BufReader::new(lines).lines();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = tokio::time::timeout_at(deadline.into(), lines.next_line())
            .await
            .map_err(|_| format!("no `{marker}` line within 60 s"))??
            .ok_or_else(|| format!("exited before printing `{marker}`"))?;
        if let Some(rest) = line.split(marker).nth(1) {
            let addr = rest
                .trim()
                .trim_start_matches("http://")
                .split(|c: char| c == '/' || c.is_whitespace())
                .next()
                .unwrap_or_default()
                .to_string();
            // Keep draining the pipe so the child never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Ok((Proc(child), format!("http://{addr}")));
        }
    }
}

fn storage_spec(args: &Args, backend: &str, dir: &Path) -> Result<String, Error> {
    match backend {
        "memory" => Ok("memory".into()),
        "sqlite" => Ok(format!("sqlite:{}", dir.join("scim.db").display())),
        "postgres" => args
            .postgres_url
            .clone()
            .ok_or_else(|| "the postgres backend needs --postgres-url".into()),
        other => Err(format!("unknown backend {other:?} (memory, sqlite, postgres)").into()),
    }
}

/// The CPU time (user and system) of process `pid`, in seconds.
fn cpu_seconds(pid: Option<u32>, ticks_per_second: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    Some(cpu_ticks(&stat)? as f64 / ticks_per_second)
}

/// The clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`, asked once; 100 on
/// Linux when it cannot be asked).
fn ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// The CPU time, in clock ticks, of every process of this machine whose command name is
/// `postgres` (a local PostgreSQL cluster: its postmaster, backends and background
/// processes), by pid. Empty without one (a remote database is not measured).
fn database_ticks() -> HashMap<u32, u64> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            (command_name(&stat)? == "postgres").then_some((pid, cpu_ticks(&stat)?))
        })
        .collect()
}

/// The CPU time the database's processes spent between two [`database_ticks`], in
/// seconds: a process started meanwhile counts whole, one that ended meanwhile is not
/// counted (its last ticks are gone with it). `None` without a local database.
fn database_cpu_seconds(
    before: &HashMap<u32, u64>,
    after: &HashMap<u32, u64>,
    ticks_per_second: f64,
) -> Option<f64> {
    if after.is_empty() {
        return None;
    }
    let ticks: u64 = after
        .iter()
        .map(|(pid, t)| t.saturating_sub(before.get(pid).copied().unwrap_or(0)))
        .sum();
    Some(ticks as f64 / ticks_per_second)
}

/// Runs wrk against `base` and measures the CPU time process `pid` spent meanwhile, per
/// completed request, in microseconds; with `database`, also the local PostgreSQL
/// cluster's ([`database_ticks`]).
async fn run_wrk_with_cpu(
    args: &Args,
    base: &str,
    script: &Path,
    pid: Option<u32>,
    database: bool,
) -> Result<(WrkReport, Option<f64>, Option<f64>), Error> {
    let hz = ticks_per_second();
    let db_before = database.then(database_ticks);
    let before = cpu_seconds(pid, hz);
    let report = run_wrk(args, base, script).await?;
    let after = cpu_seconds(pid, hz);
    let db_after = database.then(database_ticks);
    let per_request = |seconds: Option<f64>| {
        seconds
            .filter(|_| report.requests > 0)
            .map(|s| s * 1e6 / report.requests as f64)
    };
    let server = per_request(before.zip(after).map(|(b, a)| a - b));
    let db = per_request(
        db_before
            .zip(db_after)
            .and_then(|(b, a)| database_cpu_seconds(&b, &a, hz)),
    );
    Ok((report, server, db))
}

/// Resident memory of a process in MiB (`VmRSS` of `/proc/PID/status`).
fn rss_mib(pid: Option<u32>) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// Starts `example-standalone` on `backend`.
async fn start_standalone(
    args: &Args,
    binary: &Path,
    dir: &Path,
    backend: &str,
) -> Result<Target, Error> {
    let mut cmd = Command::new(binary);
    cmd.args(["--listen", "127.0.0.1:0", "--token", TOKEN, "--storage"])
        .arg(storage_spec(args, backend, dir)?);
    if let Some(ca) = &args.postgres_ca_file {
        cmd.arg("--postgres-ca-file").arg(ca);
    }
    let (proc, base) = spawn(cmd, "SCIM server on ", true).await?;
    Ok(Target {
        proc,
        base,
        prefix: String::new(),
        token: TOKEN.to_string(),
    })
}

/// Starts `scim-gateway` on `backend` (its data directory in `dir`, or the PostgreSQL
/// database) with one tenant, `load`, created by its CLI first; the SCIM endpoint is the
/// tenant's, `/scim/load`, with the token the CLI printed.
async fn start_gateway(
    args: &Args,
    binary: &Path,
    dir: &Path,
    backend: &str,
) -> Result<Target, Error> {
    let global = |cmd: &mut Command| -> Result<(), Error> {
        cmd.arg("--data-dir").arg(dir);
        match backend {
            "sqlite" => {}
            "postgres" => {
                cmd.arg("--database-url")
                    .arg(storage_spec(args, backend, dir)?);
            }
            other => return Err(format!("the gateway has no {other:?} backend").into()),
        }
        Ok(())
    };
    let mut create = Command::new(binary);
    global(&mut create)?;
    let out = create
        .args(["tenant", "create", "load", "--json"])
        .output()
        .await?;
    if !out.status.success() {
        return Err(format!(
            "scim-gateway tenant create failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let created: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let token = created["token"]
        .as_str()
        .ok_or("scim-gateway tenant create printed no token")?
        .to_string();
    let mut serve = Command::new(binary);
    global(&mut serve)?;
    serve.args(["serve", "--listen", "127.0.0.1:0"]);
    let (proc, base) = spawn(serve, "scim-gateway listening on ", false).await?;
    Ok(Target {
        proc,
        base,
        prefix: "/scim/load".to_string(),
        token,
    })
}

/// The operand of the `co` workload for `users` seeded users (`u0` ... `u{users-1}` in
/// their work emails): `u5` followed by zeros so that it matches 11 users at every power of
/// ten from 1,000 on (`u50` at 1,000: `u50` and `u500` ... `u509`; `u500` at 10,000), so the
/// response stays the same size while the database grows and the figure follows the cost
/// of the search.
fn co_operand(users: usize) -> String {
    let digits = users.saturating_sub(1).max(1).to_string().len();
    format!("u5{}", "0".repeat(digits.saturating_sub(2)))
}

async fn measure(
    args: &Args,
    target: Target,
    server_name: &'static str,
    bare: &Path,
    dir: &Path,
    backend: &str,
    users: usize,
) -> Result<Vec<Row>, Error> {
    let Target {
        proc: server,
        base: host,
        prefix,
        token,
    } = target;
    let base = format!("{host}{prefix}");
    let run_tag = format!("r{}", std::process::id());
    let started = Instant::now();
    let ids = seed(&base, &token, users, &run_tag).await?;
    let seed_secs = started.elapsed().as_secs_f64();
    eprintln!(
        "   seeded {users} users in {seed_secs:.1} s ({:.0} users/s); server RSS {}",
        users as f64 / seed_secs,
        rss_mib(server.0.id()).map_or("?".into(), |m| format!("{m:.1} MiB"))
    );
    let mut rows = Vec::new();
    for w in &args.workloads {
        let (name, script, sample): (String, String, Option<String>) = match w.as_str() {
            "get-id" => {
                let paths: Vec<String> = ids
                    .iter()
                    .step_by((ids.len() / 10_000).max(1))
                    .map(|id| format!("{prefix}/Users/{id}"))
                    .collect();
                let sample = paths.first().cloned();
                (
                    "GET /Users/{id}".to_string(),
                    random_get_script(&token, &paths),
                    sample,
                )
            }
            "filter-username" => {
                let step = (users / 10_000).max(1);
                let paths: Vec<String> = (0..users)
                    .step_by(step)
                    .map(|i| {
                        format!(
                            "{prefix}/Users?filter=userName%20eq%20%22user{i}-{run_tag}%40example.com%22"
                        )
                    })
                    .collect();
                let sample = paths.first().cloned();
                (
                    "GET /Users?filter=userName eq \"…\"".to_string(),
                    random_get_script(&token, &paths),
                    sample,
                )
            }
            "filter-emails" => {
                let operand = co_operand(users);
                let path = format!(
                    "{prefix}/Users?filter=emails%5Btype%20eq%20%22work%22%20and%20value%20co%20%22{operand}%22%5D"
                );
                (
                    format!(
                        "GET /Users?filter=emails[type eq \"work\" and value co \"{operand}\"]"
                    ),
                    random_get_script(&token, std::slice::from_ref(&path)),
                    Some(path),
                )
            }
            "list-page" => {
                // Okta imports users page by page, `startIndex` and `count=100`: one of
                // the first ten pages at random.
                let paths: Vec<String> = (0..(users / 100).clamp(1, 10))
                    .map(|k| format!("{prefix}/Users?startIndex={}&count=100", 1 + 100 * k))
                    .collect();
                let sample = paths.first().cloned();
                (
                    "GET /Users?startIndex=…&count=100".to_string(),
                    random_get_script(&token, &paths),
                    sample,
                )
            }
            "sorted-page" => {
                // A page of 100 in `userName` order (RFC 7644 §3.4.2.3 `sortBy`), as an
                // administration UI lists users: one of the first ten pages at random.
                let paths: Vec<String> = (0..(users / 100).clamp(1, 10))
                    .map(|k| {
                        format!(
                            "{prefix}/Users?sortBy=userName&startIndex={}&count=100",
                            1 + 100 * k
                        )
                    })
                    .collect();
                let sample = paths.first().cloned();
                (
                    "GET /Users?sortBy=userName&startIndex=…&count=100".to_string(),
                    random_get_script(&token, &paths),
                    sample,
                )
            }
            "post" => (
                "POST /Users".to_string(),
                post_users_script(&token, &format!("{prefix}/Users"), &run_tag),
                None,
            ),
            other => return Err(format!("unknown workload {other:?}").into()),
        };
        let script_path = dir.join(format!("{w}.lua"));
        std::fs::write(&script_path, &script)?;
        if sample.is_some() && args.warmup > 0 {
            run_wrk_for(args, &host, &script_path, args.warmup).await?;
        }
        // Bare hyper replays the server's response to the workload's first request.
        let (bare_proc, matches) = match &sample {
            Some(path) => {
                let captured = capture(&host, path, &token).await?;
                let matches = serde_json::from_str::<serde_json::Value>(&captured.body)
                    .ok()
                    .and_then(|v| v["totalResults"].as_u64());
                let file = dir.join(format!("{w}.response.json"));
                std::fs::write(&file, serde_json::to_vec(&captured)?)?;
                let mut cmd = Command::new(bare);
                cmd.arg("--response").arg(&file);
                (Some(spawn(cmd, "listening on ", false).await?), matches)
            }
            None => (None, None),
        };
        let mut rounds = Vec::new();
        for _ in 0..args.rounds {
            let (server_report, server_cpu_us, database_cpu_us) = run_wrk_with_cpu(
                args,
                &host,
                &script_path,
                server.0.id(),
                backend == "postgres",
            )
            .await?;
            let (bare_report, bare_cpu_us) = match &bare_proc {
                Some((proc, bare_base)) => {
                    let (report, cpu, _) =
                        run_wrk_with_cpu(args, bare_base, &script_path, proc.0.id(), false).await?;
                    (Some(report), cpu)
                }
                None => (None, None),
            };
            let round = Round {
                server: server_report,
                server_cpu_us,
                bare: bare_report,
                bare_cpu_us,
                database_cpu_us,
            };
            eprintln!(
                "   {name}: {:.0} req/s{}",
                round.server.requests_per_sec,
                round.bare.map_or(String::new(), |b| format!(
                    " (bare hyper {:.0}, ratio {:.2})",
                    b.requests_per_sec,
                    round.figure()
                ))
            );
            rounds.push(round);
        }
        drop(bare_proc);
        let figures: Vec<f64> = rounds.iter().map(Round::figure).collect();
        let median = median_index(&figures).ok_or("no round was run")?;
        rows.push(Row {
            target: server_name,
            backend: backend.to_string(),
            users,
            workload: name,
            matches,
            median: rounds.swap_remove(median),
            rounds: figures,
        });
    }
    eprintln!(
        "   server RSS at the end: {}",
        rss_mib(server.0.id()).map_or("?".into(), |m| format!("{m:.1} MiB"))
    );
    drop(server);
    Ok(rows)
}

/// Creates `users` users over HTTP, 32 requests in flight; returns their ids in order.
async fn seed(base: &str, token: &str, users: usize, run_tag: &str) -> Result<Vec<String>, Error> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let client = client.clone();
        let next = Arc::clone(&next);
        let base = base.to_string();
        let token = token.to_string();
        let run_tag = run_tag.to_string();
        tasks.push(tokio::spawn(async move {
            let mut made = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= users {
                    return Ok::<_, String>(made);
                }
                let name = format!("user{i}-{run_tag}@example.com");
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": name,
                    "active": true,
                    "name": {"givenName": "User", "familyName": format!("Number {i}")},
                    "emails": [{"type": "work", "primary": true,
                                "value": format!("u{i}-{run_tag}@example.com")}]
                });
                let r = client
                    .post(format!("{base}/Users"))
                    .bearer_auth(&token)
                    .header("content-type", "application/scim+json")
                    .body(body.to_string())
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                let status = r.status();
                let v: serde_json::Value = r.json().await.map_err(|e| e.to_string())?;
                if status.as_u16() != 201 {
                    return Err(format!("seeding user {i}: {status}: {v}"));
                }
                let id = v["id"].as_str().ok_or("no id")?.to_string();
                made.push((i, id));
            }
        }));
    }
    let mut all = Vec::with_capacity(users);
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, id)| id).collect())
}

async fn capture(base: &str, path: &str, token: &str) -> Result<Captured, Error> {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .header("accept", "application/scim+json")
        .send()
        .await?;
    let status = r.status().as_u16();
    let headers = r
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
        .collect();
    let body = r.text().await?;
    if status != 200 {
        return Err(format!("GET {path}: {status}: {body}").into());
    }
    Ok(Captured {
        status,
        headers,
        body,
    })
}

async fn run_wrk(args: &Args, base: &str, script: &Path) -> Result<WrkReport, Error> {
    run_wrk_for(args, base, script, args.duration).await
}

async fn run_wrk_for(
    args: &Args,
    base: &str,
    script: &Path,
    seconds: u64,
) -> Result<WrkReport, Error> {
    let out = Command::new("wrk")
        .arg(format!("-t{}", args.threads))
        .arg(format!("-c{}", args.connections))
        .arg(format!("-d{seconds}s"))
        .arg("--latency")
        .arg("-s")
        .arg(script)
        .arg(base)
        .output()
        .await?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "wrk failed: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(parse_wrk(&text)?)
}

/// The position of the median of `figures` (the upper one of an even count), `None` when
/// empty.
fn median_index(figures: &[f64]) -> Option<usize> {
    let mut order: Vec<usize> = (0..figures.len()).collect();
    order.sort_by(|&a, &b| figures[a].total_cmp(&figures[b]));
    order.get(figures.len() / 2).copied()
}

/// The figure of every round, in the order run: ratios to two decimals, rates whole.
fn each_round(r: &Row) -> String {
    let figure = |f: &f64| match r.median.bare {
        Some(_) => format!("{f:.2}"),
        None => format!("{f:.0}"),
    };
    r.rounds.iter().map(figure).collect::<Vec<_>>().join(" ")
}

fn print_table(args: &Args, rows: &[Row]) {
    println!(
        "\nwrk -t{} -c{} -d{}s --latency, loopback; ratio = server req/s / bare hyper req/s in the same run; database CPU = the local PostgreSQL cluster's processes during the server's run{}\n",
        args.threads,
        args.connections,
        args.duration,
        if args.rounds > 1 {
            format!(
                "; {} rounds of server then bare hyper per workload, the row is the median round's",
                args.rounds
            )
        } else {
            String::new()
        }
    );
    println!(
        "| server | backend | users | workload | bare hyper req/s | server req/s | ratio | p50 ms | p99 ms | non-2xx | bare CPU µs/req | server CPU µs/req | database CPU µs/req | each round |"
    );
    println!("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let micros = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.0}"));
    for r in rows {
        let m = &r.median;
        let workload = match r.matches {
            Some(m) if r.workload.contains("co") => format!("{} ({m} matches)", r.workload),
            _ => r.workload.to_string(),
        };
        println!(
            "| {} | {} | {} | {} | {} | {:.0} | {} | {:.2} | {:.2} | {} | {} | {} | {} | {} |",
            r.target,
            r.backend,
            r.users,
            workload.replace('|', "\\|"),
            m.bare
                .map_or("n/a".to_string(), |b| format!("{:.0}", b.requests_per_sec)),
            m.server.requests_per_sec,
            m.bare
                .map_or("n/a".to_string(), |_| format!("{:.2}", m.figure())),
            m.server.p50_ms,
            m.server.p99_ms,
            m.server.errors,
            micros(m.bare_cpu_us),
            micros(m.server_cpu_us),
            micros(m.database_cpu_us),
            each_round(r),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::{co_operand, median_index};

    #[test]
    fn the_median_round_is_picked_by_its_figure() {
        assert_eq!(median_index(&[0.52, 0.41, 0.47]), Some(2));
        assert_eq!(median_index(&[0.5]), Some(0));
        assert_eq!(median_index(&[0.3, 0.6, 0.4, 0.5]), Some(3));
        assert_eq!(median_index(&[]), None);
    }

    /// The operand matches 11 of the seeded users (`u0` ... `u{n-1}`) at every size.
    #[test]
    fn the_co_operand_matches_eleven_users_at_every_size() {
        for users in [1_000, 10_000, 100_000, 1_000_000] {
            let operand = co_operand(users);
            let matches = (0..users)
                .filter(|i| format!("u{i}-r1@example.com").contains(&operand))
                .count();
            assert_eq!(matches, 11, "{users} users, {operand}");
        }
        assert_eq!(co_operand(1_000), "u50");
    }
}
