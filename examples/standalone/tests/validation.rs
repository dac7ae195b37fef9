//! `--validation strict|lenient` reaches the server: the binary, started with each preset on
//! in-memory storage, answers what real clients send (Entra ID's `"active": "True"` and
//! `"op": "Replace"`) as that preset says, and `--help` shows both presets.
//!
//! RFC 7644 §3.12: a value "incompatible with the operation or attribute type" is 400
//! `invalidValue`; "The request body message structure was invalid or did not conform to the
//! request schema" (an `op` that is not `add`, `remove` or `replace`, RFC 7644 §3.5.2) is 400
//! `invalidSyntax`. The lenient preset accepts both forms, as Entra ID sends them.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const TOKEN: &str = "validation-test-token-0123456789";
const BIN: &str = env!("CARGO_BIN_EXE_example-standalone");

/// A running server (killed on drop) and its base URL.
struct Server {
    _child: Child,
    base: String,
}

/// Starts the binary on a free port with `extra` arguments and waits for its startup line.
async fn start(extra: &[&str]) -> Server {
    let mut child = Command::new(BIN)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--token",
            TOKEN,
            "--storage",
            "memory",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start example-standalone");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
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
    assert!(first.ends_with("(storage: memory)"), "{first:?}");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Server {
        _child: child,
        base,
    }
}

async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: String,
    body: Value,
) -> (StatusCode, Value) {
    let r = http
        .request(method, url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/scim+json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body = r.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// A User as Entra ID sends it: `active` as the string "True".
fn entra_user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "active": "True"
    })
}

fn entra_patch() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "displayName", "value": "Babs"}]
    })
}

fn rfc_user(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "active": true
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_refuses_and_lenient_accepts_what_entra_sends() {
    let http = reqwest::Client::new();
    let (strict, default, lenient) = tokio::join!(
        start(&["--validation", "strict"]),
        start(&[]),
        start(&["--validation", "lenient"])
    );

    // Strict: the string boolean is 400 invalidValue, the capitalised op 400 invalidSyntax.
    let users = format!("{}/Users", strict.base);
    let (status, body) = send(&http, reqwest::Method::POST, users.clone(), entra_user("a")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["scimType"], "invalidValue", "{body}");
    let (status, created) = send(&http, reqwest::Method::POST, users, rfc_user("a")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let url = format!("{}/Users/{}", strict.base, created["id"].as_str().unwrap());
    let (status, body) = send(&http, reqwest::Method::PATCH, url, entra_patch()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["scimType"], "invalidSyntax", "{body}");

    // Lenient, given or by default: both are accepted.
    for server in [&default, &lenient] {
        let users = format!("{}/Users", server.base);
        let (status, created) = send(&http, reqwest::Method::POST, users, entra_user("b")).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        assert_eq!(created["active"], true, "{created}");
        let url = format!("{}/Users/{}", server.base, created["id"].as_str().unwrap());
        let (status, body) = send(&http, reqwest::Method::PATCH, url, entra_patch()).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["displayName"], "Babs", "{body}");
    }
}

#[tokio::test]
async fn help_shows_both_presets() {
    let out = Command::new(BIN).arg("--help").output().await.unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("--validation <VALIDATION>"), "{help}");
    assert!(help.contains("strict:"), "{help}");
    assert!(help.contains("lenient:"), "{help}");
    assert!(help.contains("[default: lenient]"), "{help}");
}
