//! A real SMTP server on loopback for the mail tests: `tests/smtp/server.py` (aiosmtpd) run
//! by the Python named in `SCIM_TEST_SMTP_PYTHON` (scripts/test.sh makes a venv with the
//! pinned aiosmtpd). Without it the tests skip, unless `SCIM_REQUIRE_SMTP=1`.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The Python with aiosmtpd, or `None` to skip (panics if `SCIM_REQUIRE_SMTP=1`).
pub fn python() -> Option<String> {
    match std::env::var("SCIM_TEST_SMTP_PYTHON") {
        Ok(p) if !p.trim().is_empty() => Some(p),
        _ => {
            assert!(
                std::env::var("SCIM_REQUIRE_SMTP").map_or(true, |v| v != "1"),
                "SCIM_REQUIRE_SMTP=1 but SCIM_TEST_SMTP_PYTHON is not set (scripts/test.sh sets it)"
            );
            eprintln!(
                "skipped: set SCIM_TEST_SMTP_PYTHON to a Python with aiosmtpd \
                 (scripts/test.sh does) to run the SMTP tests"
            );
            None
        }
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A throwaway CA and a server certificate it signed for 127.0.0.1 and localhost, in `dir`:
/// (ca.crt, server.crt, server.key).
pub fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut a = vec!["req", "-x509", "-new"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=smtp test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&a);
    let mut a = vec!["req", "-new"];
    a.extend(ec);
    a.extend([
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
    ]);
    run(&a);
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    (
        dir.join("ca.crt"),
        dir.join("server.crt"),
        dir.join("server.key"),
    )
}

/// How the server runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The port (default: a free one).
    pub port: Option<u16>,
    /// STARTTLS required, with this certificate and key.
    pub starttls: Option<(PathBuf, PathBuf)>,
    /// Implicit TLS with this certificate and key.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// AUTH required with this user and password.
    pub auth: Option<(String, String)>,
}

/// A running server; its messages land in `out`.
pub struct SmtpServer {
    child: Option<Child>,
    pub port: u16,
    pub out: PathBuf,
    python: String,
    options: Options,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py")
}

impl SmtpServer {
    /// Starts it (messages go to `out`); `None` when there is no Python with aiosmtpd.
    pub async fn start(out: &Path, options: Options) -> Option<SmtpServer> {
        let python = python()?;
        let port = options.port.unwrap_or_else(free_port);
        let mut s = SmtpServer {
            child: None,
            port,
            out: out.to_path_buf(),
            python,
            options,
        };
        s.restart().await;
        Some(s)
    }

    /// Starts it again on the same port (after [`SmtpServer::stop`]).
    pub async fn restart(&mut self) {
        let mut cmd = Command::new(&self.python);
        cmd.arg(script())
            .args(["--port", &self.port.to_string()])
            .arg("--out")
            .arg(&self.out);
        if let Some((c, k)) = &self.options.starttls {
            cmd.arg("--starttls").arg(c).arg(k);
        }
        if let Some((c, k)) = &self.options.tls {
            cmd.arg("--tls").arg(c).arg(k);
        }
        if let Some((u, p)) = &self.options.auth {
            cmd.args(["--auth", &format!("{u}:{p}")]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                match lines.next_line().await.unwrap() {
                    Some(l) if l.trim() == "READY" => return,
                    Some(_) => {}
                    None => panic!("the SMTP server exited before it was ready"),
                }
            }
        })
        .await
        .expect("the SMTP server did not start in 30 s");
        self.child = Some(child);
    }

    /// Stops it (the port refuses connections until [`SmtpServer::restart`]).
    pub async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().await.unwrap();
            let _ = c.wait().await;
        }
    }

    /// The messages received so far, in order (the JSON summaries).
    pub fn messages(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
            .collect()
    }
}
