//! Crash safety: the real gateway on SQLite is SIGKILLed several times while Entra pushes an
//! initial cycle of 2,000 users over 4 connections (and once more while the sync catches up),
//! restarted on the same data directory and port each time. The client retries what failed
//! with a connection error, as Entra's provisioning service does; a retried POST whose first
//! attempt committed gets 409 (RFC 7644 §3.3, `uniqueness`), and the user is then found with a
//! `userName eq` filter. At the end every acknowledged user is in the CRM exactly once, with
//! the rule's role, and the CRM has no other user.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "common/proc.rs"]
mod proc;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proc::{Admin, entra_user, user_name};
use serde_json::Value;
use tokio::sync::Mutex;

const BIN: &str = env!("CARGO_BIN_EXE_scim-gateway");
const USERS: usize = 2_000;
const CONNECTIONS: usize = 4;
const KILLS: usize = 3;

/// What the client learnt.
#[derive(Default)]
struct Tally {
    /// userName -> SCIM id, for every acknowledged user.
    acked: HashMap<String, String>,
    connection_errors: usize,
    conflicts_found: usize,
}

struct Load {
    http: reqwest::Client,
    users_url: String,
    token: String,
    next: AtomicUsize,
    done: AtomicUsize,
    tally: Mutex<Tally>,
}

impl Load {
    /// POSTs user `i` until it is acknowledged (2xx, or 409 and found by userName).
    async fn push(&self, i: usize) {
        let body = entra_user(i);
        let name = user_name(i);
        for attempt in 0..600 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let sent = self
                .http
                .post(&self.users_url)
                .bearer_auth(&self.token)
                .header("Content-Type", "application/scim+json")
                .json(&body)
                .send()
                .await;
            let r = match sent {
                Ok(r) => r,
                Err(_) => {
                    self.tally.lock().await.connection_errors += 1;
                    continue;
                }
            };
            let status = r.status().as_u16();
            let Ok(v) = r.json::<Value>().await else {
                // The connection died mid-response: the outcome is unknown, ask again.
                self.tally.lock().await.connection_errors += 1;
                continue;
            };
            match status {
                200..=299 => {
                    let id = v["id"].as_str().expect("an id in the 2xx body").to_string();
                    self.ack(name, id, false).await;
                    return;
                }
                409 => {
                    assert_eq!(v["scimType"], "uniqueness", "{v}");
                    if let Some(id) = self.find(&name).await {
                        self.ack(name, id, true).await;
                        return;
                    }
                }
                // Starting up, or the database is busy: retry.
                500..=599 => {}
                _ => panic!("POST {name}: {status} {v}"),
            }
        }
        panic!("user {name} was never acknowledged");
    }

    async fn ack(&self, name: String, id: String, found_after_conflict: bool) {
        let mut t = self.tally.lock().await;
        if found_after_conflict {
            t.conflicts_found += 1;
        }
        let before = t.acked.insert(name.clone(), id);
        assert!(before.is_none(), "{name} acknowledged twice");
        drop(t);
        self.done.fetch_add(1, Ordering::SeqCst);
    }

    /// The SCIM id of the user named `name`, by a `userName eq` filter (case-insensitive, RFC
    /// 7643 §4.1.1).
    async fn find(&self, name: &str) -> Option<String> {
        let filter = format!("userName eq \"{}\"", name.to_lowercase());
        let r = self
            .http
            .get(&self.users_url)
            .query(&[("filter", filter.as_str())])
            .bearer_auth(&self.token)
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        let v: Value = r.json().await.ok()?;
        let found = v["Resources"].as_array()?;
        assert!(found.len() <= 1, "two users named {name}: {v}");
        Some(found.first()?["id"].as_str()?.to_string())
    }

    async fn worker(self: Arc<Self>) {
        loop {
            let i = self.next.fetch_add(1, Ordering::SeqCst);
            if i >= USERS {
                return;
            }
            self.push(i).await;
        }
    }
}

/// `KILLS` points in 150..1,850 acknowledged users, spread out, shifted by `seed`.
fn kill_points(seed: u64) -> Vec<usize> {
    let span = (USERS - 300) / KILLS;
    (0..KILLS)
        .map(|k| 150 + k * span + ((seed >> (k * 11)) as usize % (span - 50)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_the_initial_cycle_loses_and_duplicates_nothing() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let mut gw = proc::start(BIN, &data, "127.0.0.1:0").await;
    let listen = gw.listen();
    let token = gw.printed("Secret Token:").expect("Secret Token printed");
    let admin_token = gw.printed("Admin token:").expect("Admin token printed");
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .unwrap();
    let admin = Admin {
        http: http.clone(),
        base: gw.base.clone(),
        token: admin_token,
        tenant: "demo".into(),
    };
    let role = admin.role_id("User").await;
    admin.role_rule_and_sync_on(role).await;

    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        * 0x9e37_79b9;
    let points = kill_points(seed);
    eprintln!("kill points (acknowledged users): {points:?}");

    let load = Arc::new(Load {
        http,
        users_url: format!("{}/scim/demo/Users", gw.base),
        token,
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        tally: Mutex::new(Tally::default()),
    });
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| tokio::spawn(load.clone().worker()))
        .collect();

    let mut kills = 0;
    for &point in &points {
        while load.done.load(Ordering::SeqCst) < point {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        gw.kill9().await;
        kills += 1;
        gw = proc::start(BIN, &data, &listen).await;
        assert!(
            gw.printed("Secret Token:").is_none(),
            "a second first start"
        );
    }
    for w in workers {
        w.await.unwrap();
    }
    // Once more while the sync catches up (if it has not yet).
    if let Some((pending, pos, last)) = admin.sync_status().await
        && (pending > 0 || pos < last)
    {
        gw.kill9().await;
        kills += 1;
        gw = proc::start(BIN, &data, &listen).await;
    }
    assert!(kills >= KILLS);
    // A killed process's claims on dirty users hold for the sync's lease (10 s,
    // `sync::reconcile::LEASE`) before the restarted process may take them.
    let settled = admin.wait_settled(Duration::from_secs(60)).await;

    let tally = load.tally.lock().await;
    eprintln!(
        "{kills} SIGKILLs, {} connection errors retried, {} users found after a 409, settled {settled:?}, {:?}",
        tally.connection_errors,
        tally.conflicts_found,
        started.elapsed()
    );
    assert_eq!(tally.acked.len(), USERS);
    // The SCIM side has each user once.
    let (s, v) = admin_scim_total(&load, &gw.base).await;
    assert_eq!((s, v), (200, USERS as i64));

    // The CRM has each acknowledged user exactly once, with the rule's role, and nobody else.
    let crm = admin.crm_users().await;
    let acked: HashSet<String> = tally.acked.keys().map(|k| k.to_lowercase()).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for u in &crm {
        let name = u["userName"].as_str().unwrap().to_lowercase();
        *seen.entry(name.clone()).or_default() += 1;
        assert!(acked.contains(&name), "a CRM user nobody acknowledged: {u}");
        assert_eq!(u["role"], role, "{u}");
        assert_eq!(u["retired"], false, "{u}");
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "in the CRM more than once: {twice:?}");
    for name in &acked {
        assert!(
            seen.contains_key(name),
            "{name} was acknowledged but is not in the CRM"
        );
    }
    assert_eq!(crm.len(), USERS);
    drop(tally);
    gw.kill9().await;
    assert!(started.elapsed() < Duration::from_secs(180));
}

/// `totalResults` of the tenant's `/Users`.
async fn admin_scim_total(load: &Load, _base: &str) -> (u16, i64) {
    let r = load
        .http
        .get(&load.users_url)
        .query(&[("count", "1")])
        .bearer_auth(&load.token)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    (s, v["totalResults"].as_i64().unwrap_or(-1))
}

#[test]
fn kill_points_are_spread_inside_the_cycle() {
    for seed in [0, 1, u64::MAX, 0x1234_5678_9abc_def0] {
        let p = kill_points(seed);
        assert_eq!(p.len(), KILLS);
        assert!(p.windows(2).all(|w| w[0] < w[1]), "{p:?}");
        assert!(p[0] >= 150 && p[KILLS - 1] < USERS - 100, "{p:?}");
    }
}
