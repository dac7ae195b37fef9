//! The Identity Manager account commands of the real binary: `admin create` (every tenant or
//! `--tenant`s; password generated and printed once, read from stdin, or none for OpenID
//! Connect), `admin list` (never hashes), `admin password` and `admin disable`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use gateway_reference::app::Gateway;
use gateway_reference::config::{Config, Partial};
use gateway_reference::ui::accounts;
use serde_json::Value;

fn run(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_scim-gateway"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn printed_password(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Password:"))
        .map(|p| p.trim().to_string())
}

async fn verify(dir: &std::path::Path, name: &str, password: &str) -> bool {
    let partial = Partial {
        data_dir: Some(dir.to_path_buf()),
        ..Partial::default()
    };
    let gw = Gateway::open(&Config::resolve(partial, None, |_| None).unwrap())
        .await
        .unwrap();
    accounts::verify(gw.db(), name, password)
        .await
        .unwrap()
        .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_account_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    for t in ["acme", "globex"] {
        assert!(run(&dir, &["tenant", "create", t], None).0);
    }

    // A generated password, printed once, for one tenant.
    let (ok, out, err) = run(&dir, &["admin", "create", "ops", "--tenant", "acme"], None);
    assert!(ok, "{err}");
    let generated = printed_password(&out).expect("a printed password");
    assert!(generated.len() >= 12, "{generated}");
    assert!(verify(&dir, "OPS", &generated).await);

    // Names are unique case-insensitively; unknown tenants and short passwords are refused.
    let (ok, _, err) = run(&dir, &["admin", "create", "Ops"], None);
    assert!(!ok && err.contains("exists"), "{err}");
    let (ok, _, err) = run(&dir, &["admin", "create", "x", "--tenant", "nope"], None);
    assert!(!ok && err.contains("nope"), "{err}");
    let (ok, _, err) = run(
        &dir,
        &["admin", "create", "short", "--password-stdin"],
        Some("short\n"),
    );
    assert!(!ok && err.contains("12"), "{err}");

    // From standard input (not echoed); OpenID Connect only (no password at all).
    let (ok, out, err) = run(
        &dir,
        &[
            "admin",
            "create",
            "pw",
            "--password-stdin",
            "--tenant",
            "acme",
            "--tenant",
            "globex",
        ],
        Some("a password from stdin\n"),
    );
    assert!(ok, "{err}");
    assert!(printed_password(&out).is_none(), "{out}");
    assert!(!out.contains("a password from stdin"));
    assert!(verify(&dir, "pw", "a password from stdin").await);
    let (ok, out, err) = run(
        &dir,
        &["admin", "create", "sso@example.com", "--oidc-only"],
        None,
    );
    assert!(ok, "{err}");
    assert!(printed_password(&out).is_none(), "{out}");
    let (ok, _, _) = run(
        &dir,
        &["admin", "create", "y", "--oidc-only", "--password-stdin"],
        Some("whatever whatever\n"),
    );
    assert!(!ok, "--oidc-only and --password-stdin exclude each other");

    // The list: names, tenants, sign-in methods; never a hash.
    let (ok, out, err) = run(&dir, &["admin", "list", "--json"], None);
    assert!(ok, "{err}");
    assert!(!out.contains("argon2"), "{out}");
    let list: Value = serde_json::from_str(&out).unwrap();
    let by = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|a| a["user_name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {list}"))
    };
    assert_eq!(by("ops")["tenants"], serde_json::json!(["acme"]));
    assert_eq!(by("ops")["password"], true);
    assert_eq!(by("pw")["tenants"], serde_json::json!(["acme", "globex"]));
    assert_eq!(by("sso@example.com")["password"], false);
    assert_eq!(by("sso@example.com")["tenants"], Value::Null);
    assert_eq!(by("ops")["disabled"], false);
    let (ok, table, _) = run(&dir, &["admin", "list"], None);
    assert!(ok && table.contains("OIDC only") && table.contains("(every tenant)"));
    assert!(!table.contains("argon2"));

    // A new password replaces the old one.
    let (ok, out, err) = run(&dir, &["admin", "password", "ops"], None);
    assert!(ok, "{err}");
    let replaced = printed_password(&out).unwrap();
    assert_ne!(replaced, generated);
    assert!(verify(&dir, "ops", &replaced).await);
    assert!(!verify(&dir, "ops", &generated).await);
    let (ok, _, err) = run(
        &dir,
        &["admin", "password", "sso@example.com", "--password-stdin"],
        Some("now with a password\n"),
    );
    assert!(ok, "{err}");
    assert!(verify(&dir, "sso@example.com", "now with a password").await);
    let (ok, _, err) = run(&dir, &["admin", "password", "nobody"], None);
    assert!(!ok && err.contains("nobody"), "{err}");

    // Disabled: no sign-in, shown in the list.
    let (ok, _, err) = run(&dir, &["admin", "disable", "ops"], None);
    assert!(ok, "{err}");
    assert!(!verify(&dir, "ops", &replaced).await);
    let (_, out, _) = run(&dir, &["admin", "list", "--json"], None);
    let list: Value = serde_json::from_str(&out).unwrap();
    let ops = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["user_name"] == "ops")
        .unwrap();
    assert_eq!(ops["disabled"], true);
    let (ok, _, err) = run(&dir, &["admin", "disable", "nobody"], None);
    assert!(!ok && err.contains("nobody"), "{err}");
}
