//! The Identity Manager account commands of the real binary: `admin create` (every tenant or
//! `--tenant`s; password generated and printed once, read from stdin, or none for OpenID
//! Connect), `admin list` (never hashes), `admin password` and `admin disable`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use gateway_reference::app::Gateway;
use gateway_reference::config::{Config, Partial};
use gateway_reference::db::Db;
use gateway_reference::ui::accounts;
use serde_json::Value;

/// `scim-gateway ARGS --data-dir DIR` with `stdin` on its standard input.
async fn run(dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let dir = common::dir_arg(dir);
    let args: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--data-dir", dir.as_str()])
        .collect();
    common::cli_status_with_input(&args, stdin).await
}

fn printed_password(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("Password:"))
        .map(|p| p.trim().to_string())
}

/// The gateway's database in `dir` (opened once, as the commands change it).
async fn open(dir: &std::path::Path) -> Gateway {
    let partial = Partial {
        data_dir: Some(dir.to_path_buf()),
        ..Partial::default()
    };
    Gateway::open(&Config::resolve(partial, None, |_| None).unwrap())
        .await
        .unwrap()
}

/// Whether `password` signs `name` in.
async fn verify(db: &Db, name: &str, password: &str) -> bool {
    accounts::verify(db, name, password)
        .await
        .unwrap()
        .is_some()
}

/// The account `name` in `admin list --json` output.
fn listed<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|a| a["user_name"] == name)
        .unwrap_or_else(|| panic!("{name} in {list}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_account_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data");
    for t in ["acme", "globex"] {
        assert!(run(&dir, &["tenant", "create", t], None).await.0);
    }
    let gw = open(&dir).await;
    let db = gw.db();

    // A generated password, printed once, for one tenant.
    let (ok, out, err) = run(&dir, &["admin", "create", "ops", "--tenant", "acme"], None).await;
    assert!(ok, "{err}");
    let generated = printed_password(&out).expect("a printed password");
    assert!(generated.len() >= 12, "{generated}");
    assert!(verify(db, "OPS", &generated).await);

    // Names are unique case-insensitively; unknown tenants and short passwords are refused.
    let (ok, _, err) = run(&dir, &["admin", "create", "Ops"], None).await;
    assert!(!ok && err.contains("exists"), "{err}");
    let (ok, _, err) = run(&dir, &["admin", "create", "x", "--tenant", "nope"], None).await;
    assert!(!ok && err.contains("nope"), "{err}");
    let (ok, _, err) = run(
        &dir,
        &["admin", "create", "short", "--password-stdin"],
        Some("short\n"),
    )
    .await;
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
    )
    .await;
    assert!(ok, "{err}");
    assert!(printed_password(&out).is_none(), "{out}");
    assert!(!out.contains("a password from stdin"));
    assert!(verify(db, "pw", "a password from stdin").await);
    let (ok, out, err) = run(
        &dir,
        &["admin", "create", "sso@example.com", "--oidc-only"],
        None,
    )
    .await;
    assert!(ok, "{err}");
    assert!(printed_password(&out).is_none(), "{out}");
    let (ok, _, _) = run(
        &dir,
        &["admin", "create", "y", "--oidc-only", "--password-stdin"],
        Some("whatever whatever\n"),
    )
    .await;
    assert!(!ok, "--oidc-only and --password-stdin exclude each other");

    // The list: names, tenants, sign-in methods; never a hash.
    let (ok, out, err) = run(&dir, &["admin", "list", "--json"], None).await;
    assert!(ok, "{err}");
    assert!(!out.contains("argon2"), "{out}");
    let list: Value = serde_json::from_str(&out).unwrap();
    let by = |name: &str| listed(&list, name);
    assert_eq!(by("ops")["tenants"], serde_json::json!(["acme"]));
    assert_eq!(by("ops")["password"], true);
    assert_eq!(by("pw")["tenants"], serde_json::json!(["acme", "globex"]));
    assert_eq!(by("sso@example.com")["password"], false);
    assert_eq!(by("sso@example.com")["tenants"], Value::Null);
    assert_eq!(by("ops")["disabled"], false);
    let (ok, table, _) = run(&dir, &["admin", "list"], None).await;
    assert!(ok && table.contains("OIDC only") && table.contains("(every tenant)"));
    assert!(!table.contains("argon2"));

    // A new password replaces the old one.
    let (ok, out, err) = run(&dir, &["admin", "password", "ops"], None).await;
    assert!(ok, "{err}");
    let replaced = printed_password(&out).unwrap();
    assert_ne!(replaced, generated);
    assert!(verify(db, "ops", &replaced).await);
    assert!(!verify(db, "ops", &generated).await);
    let (ok, _, err) = run(
        &dir,
        &["admin", "password", "sso@example.com", "--password-stdin"],
        Some("now with a password\n"),
    )
    .await;
    assert!(ok, "{err}");
    assert!(verify(db, "sso@example.com", "now with a password").await);
    let (ok, _, err) = run(&dir, &["admin", "password", "nobody"], None).await;
    assert!(!ok && err.contains("nobody"), "{err}");

    // Disabled: no sign-in, shown in the list.
    let (ok, _, err) = run(&dir, &["admin", "disable", "ops"], None).await;
    assert!(ok, "{err}");
    assert!(!verify(db, "ops", &replaced).await);
    let (_, out, _) = run(&dir, &["admin", "list", "--json"], None).await;
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed(&list, "ops")["disabled"], true);
    let (ok, _, err) = run(&dir, &["admin", "disable", "nobody"], None).await;
    assert!(!ok && err.contains("nobody"), "{err}");
}
