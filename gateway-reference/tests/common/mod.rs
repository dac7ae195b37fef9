//! The real `scim-gateway` binary as a child process.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod signed_in;
pub mod ui;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_scim-gateway");

/// A running gateway.
pub struct Gateway {
    pub child: Child,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// Everything it printed before it listened.
    pub banner: Vec<String>,
}

impl Gateway {
    /// Starts `scim-gateway serve --listen 127.0.0.1:0 EXTRA...` and waits until it listens.
    pub async fn start(extra: &[&str]) -> Gateway {
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn scim-gateway");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut banner = Vec::new();
        let base = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let line = lines
                    .next_line()
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("the gateway exited; it printed: {banner:#?}"));
                if let Some(rest) = line.strip_prefix("scim-gateway listening on ") {
                    let addr = rest.split_whitespace().next().unwrap().to_string();
                    banner.push(line);
                    return addr;
                }
                banner.push(line);
            }
        })
        .await
        .expect("the gateway did not start in 60 s");
        // Keep draining stdout so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Gateway {
            child,
            base,
            banner,
        }
    }

    /// The value printed after `label` on the first-start banner (e.g. `Secret Token:`).
    pub fn printed(&self, label: &str) -> Option<String> {
        self.banner
            .iter()
            .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_string()))
    }

    /// Stops it with SIGTERM (graceful shutdown) and waits.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let status = tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .expect("the gateway did not stop on SIGTERM")
            .unwrap();
        assert!(status.success(), "exit status after SIGTERM: {status}");
    }
}

/// Runs a CLI command to completion and returns its stdout (asserting success).
pub async fn cli(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).output().await.unwrap();
    assert!(
        out.status.success(),
        "scim-gateway {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a CLI command and returns (success, stdout, stderr).
pub async fn cli_status(args: &[&str]) -> (bool, String, String) {
    cli_status_with_input(args, None).await
}

/// Runs a CLI command with `input` (if any) on its standard input, which is then closed;
/// returns (success, stdout, stderr).
pub async fn cli_status_with_input(args: &[&str], input: Option<&str>) -> (bool, String, String) {
    use tokio::io::AsyncWriteExt;
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    if let Some(text) = input {
        stdin.write_all(text.as_bytes()).await.unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// [`cli_status`] of `args` with `--data-dir dir`.
pub async fn cli_status_in(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let dir = dir_arg(dir);
    let mut all = args.to_vec();
    all.extend(["--data-dir", dir.as_str()]);
    cli_status(&all).await
}

pub fn dir_arg(dir: &Path) -> String {
    dir.display().to_string()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

/// `GET url` with a bearer token; (status, JSON body or Null).
pub async fn get(url: &str, token: &str) -> (u16, serde_json::Value) {
    let r = client().get(url).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// `POST url` of the JSON `body` with a bearer token; (status, JSON body or Null).
pub async fn post(url: &str, token: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let r = client()
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// Entra's Test Connection query.
pub fn users_query(tenant_url: &str) -> String {
    format!("{tenant_url}/Users?filter=userName%20eq%20%22x%22")
}
