//! What the integration tests share: the real `example-standalone` binary as its own process.

#![allow(dead_code)]

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// One running `example-standalone` process, its base URL and its startup line.
pub struct Process {
    pub child: Child,
    pub base: String,
    /// The first line it printed, e.g. "SCIM server on http://127.0.0.1:PORT (storage: sqlite)".
    pub startup_line: String,
}

impl Process {
    /// Starts the binary on a free port with `token` and `--storage storage`, and waits for
    /// its startup line.
    pub async fn start(storage: &str, token: &str) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_example-standalone"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--token",
                token,
                "--storage",
                storage,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start example-standalone");
        let stderr = child.stderr.take().unwrap();
        let mut lines = BufReader::new(stderr).lines();
        let first = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .expect("the server starts within 60 s")
            .unwrap()
            .expect("a startup line");
        let base = first
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in the startup line {first:?}"))
            .to_string();
        // Keep draining stderr so the child never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Process {
            child,
            base,
            startup_line: first,
        }
    }

    /// The URL of `path` on this process.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL (`kill -9`): no shutdown, no flush, no clean-up.
    pub async fn kill9(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }
}
