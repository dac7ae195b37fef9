//! A gateway process that can be SIGKILLed and restarted on the same data directory and port,
//! and the admin/SCIM calls an Entra-shaped load needs (shared by `crash_kill9` and the
//! `initial_cycle` benchmark).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `scim-gateway serve`.
pub struct Proc {
    /// The child process.
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Everything printed before it listened.
    pub banner: Vec<String>,
}

/// Starts `BIN serve --listen LISTEN --data-dir DATA` and waits until it listens. Retries the
/// spawn for a few seconds when the port is still taken (right after a SIGKILL).
pub async fn start(bin: &str, data: &str, listen: &str) -> Proc {
    let mut last = Vec::new();
    for _ in 0..50 {
        let mut child = Command::new(bin)
            .arg("serve")
            .args(["--listen", listen, "--data-dir", data])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn scim-gateway");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = Vec::new();
        let base = tokio::time::timeout(Duration::from_secs(60), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.strip_prefix("scim-gateway listening on ") {
                    let addr = rest.split_whitespace().next().unwrap().to_string();
                    banner.push(line);
                    return Some(addr);
                }
                banner.push(line);
            }
            None
        })
        .await
        .expect("the gateway did not start in 60 s");
        if let Some(base) = base {
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Proc {
                child,
                base,
                banner,
            };
        }
        let _ = child.wait().await;
        last = banner;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the gateway did not start; it printed: {last:#?}");
}

impl Proc {
    /// The value printed after `label` on the first-start banner.
    pub fn printed(&self, label: &str) -> Option<String> {
        self.banner
            .iter()
            .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_string()))
    }

    /// `127.0.0.1:PORT`, to restart on the same port.
    pub fn listen(&self) -> String {
        self.base.trim_start_matches("http://").to_string()
    }

    /// SIGKILL, and wait for the exit.
    pub async fn kill9(mut self) {
        self.child.kill().await.expect("SIGKILL the gateway");
    }
}

/// An Entra ID user as Entra's provisioning service POSTs it. The userName is mixed case so
/// the CRM's case-insensitive matching is exercised.
pub fn entra_user(i: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": format!("00000000-0000-4000-8000-{i:012}"),
        "userName": user_name(i),
        "active": true,
        "displayName": format!("User {i}"),
        "name": {"givenName": "User", "familyName": format!("Number{i}"), "formatted": format!("User Number{i}")},
        "emails": [{"primary": true, "type": "work", "value": user_name(i).to_lowercase()}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}
    })
}

/// The userName of the `i`-th user.
pub fn user_name(i: usize) -> String {
    format!("User{i}@Crash.Example.com")
}

/// Admin calls with the admin token.
#[derive(Clone)]
pub struct Admin {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub tenant: String,
}

impl Admin {
    fn url(&self, rest: &str) -> String {
        format!("{}/admin/tenants/{}{rest}", self.base, self.tenant)
    }

    /// `GET` an admin path; (status, JSON or Null).
    pub async fn get(&self, rest: &str) -> (u16, Value) {
        let r = self
            .http
            .get(self.url(rest))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// `PUT` an admin path; (status, JSON or Null).
    pub async fn put(&self, rest: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .put(self.url(rest))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// The id of the CRM role named `name`, from the catalogue.
    pub async fn role_id(&self, name: &str) -> i64 {
        let (s, cat) = self.get("/crm/catalog").await;
        assert_eq!(s, 200, "{cat}");
        cat["roles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no role {name} in {cat}"))["id"]
            .as_i64()
            .unwrap()
    }

    /// One rule, every user, the role only (no plan, so seats do not matter); then User Sync
    /// Active on.
    pub async fn role_rule_and_sync_on(&self, role: i64) {
        let rules = json!({
            "rules": [{
                "id": "everyone",
                "name": "Everyone",
                "enabled": true,
                "scope": {"kind": "allUsers"},
                "settings": {"role": {"value": role, "apply": "always"}}
            }],
            "comment": null
        });
        let (s, v) = self.put("/rules", &rules).await;
        assert!((200..300).contains(&s), "PUT rules: {s} {v}");
        let (s, v) = self
            .put("/settings", &json!({"userSyncActive": true}))
            .await;
        assert!((200..300).contains(&s), "PUT settings: {s} {v}");
    }

    /// The CRM users with an associateId above `after` (one page of at most 500).
    pub async fn crm_page(&self, after: i64) -> Vec<Value> {
        let (s, v) = self
            .get(&format!("/crm/users?after={after}&limit=500"))
            .await;
        assert_eq!(s, 200, "{v}");
        v.as_array().cloned().unwrap_or_default()
    }

    /// Every CRM user.
    pub async fn crm_users(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = 0;
        loop {
            let page = self.crm_page(after).await;
            let Some(last) = page.last() else { break };
            after = last["associateId"].as_i64().unwrap();
            out.extend(page);
        }
        out
    }

    /// `(pendingUsers, feedPosition, lastChange)`, or `None` when the gateway does not answer.
    pub async fn sync_status(&self) -> Option<(i64, i64, i64)> {
        let r = self
            .http
            .get(self.url("/sync/status"))
            .bearer_auth(&self.token)
            .send()
            .await
            .ok()?;
        if !r.status().is_success() {
            return None;
        }
        let v: Value = r.json().await.ok()?;
        Some((
            v["pendingUsers"].as_i64()?,
            v["feedPosition"].as_i64()?,
            v["lastChange"].as_i64()?,
        ))
    }

    /// Polls the sync status until nothing is pending and the feed is consumed.
    pub async fn wait_settled(&self, max: Duration) -> Option<(i64, i64, i64)> {
        let end = tokio::time::Instant::now() + max;
        let mut last = None;
        while tokio::time::Instant::now() < end {
            last = self.sync_status().await;
            if matches!(last, Some((0, pos, lc)) if pos == lc) {
                return last;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("the sync did not settle in {max:?}; last status {last:?}");
    }
}
