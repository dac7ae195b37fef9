//! The `scim-conformance` command line: exit codes, output formats and clear top-level errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Output};

use support::{Break, FakeScim};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scim-conformance"))
        .args(args)
        .output()
        .expect("run scim-conformance")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn list_prints_the_catalogue_and_exits_0() {
    let o = run(&["--list", "--profile", "rfc,entra,okta"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(out.contains("| `users.create.returns-201-location` | MUST | RFC 7644 §3.3 |"));
    assert!(out.contains("entra.test-connection.random-guid-empty-list"));
}

#[test]
fn only_and_skip_select_checks() {
    let o = run(&["--list", "--only", "users.*", "--skip", "users.delete.*"]);
    let out = stdout(&o);
    assert!(out.contains("users.read.returns-200"));
    assert!(!out.contains("users.delete."));
    assert!(!out.contains("filters."));
}

#[test]
fn unknown_profile_is_a_usage_error() {
    let o = run(&["--url", "http://127.0.0.1:9", "--profile", "azure"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown profile"));
}

#[test]
fn unreachable_url_is_a_clear_error_with_exit_2() {
    // A port that was free a moment ago: bind, note it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/scim/v2");
    let o = run(&["--url", &url, "--timeout", "2"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot reach the SCIM service"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_credentials_on_discovery_is_a_clear_error_with_exit_2() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let o = run(&["--url", &server.uri(), "--token", "wrong"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("credentials were refused"),
        "{}",
        stderr(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tls_failure_is_a_clear_error_with_exit_2() {
    // An https:// URL pointing at a plain-HTTP server: the TLS handshake cannot succeed.
    let server = MockServer::start().await;
    let url = server.uri().replace("http://", "https://");
    let o = run(&["--url", &url, "--timeout", "5"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("TLS"), "{}", stderr(&o));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_run_exits_0_with_the_summary_last() {
    let fake = FakeScim::start().await;
    let o = run(&["--url", &fake.url(), "--profile", "rfc,entra,okta"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    let last = out.lines().last().unwrap();
    assert!(
        last.ends_with(" skipped") && last.contains(" passed, 0 failed, "),
        "{last}"
    );
    assert!(stderr(&o).contains("PASS"), "progress goes to stderr");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_exits_1_and_shows_request_response_and_section() {
    let fake = FakeScim::breaking(&[Break::NoUniqueness]).await;
    let o = run(&["--url", &fake.url(), "--only", "users.create.duplicate-*"]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("FAIL users.create.duplicate-username-409"),
        "{out}"
    );
    assert!(out.contains("RFC 7644 §3.3"));
    assert!(out.contains("> POST "), "the request is shown: {out}");
    assert!(out.contains("< 201"), "the response is shown: {out}");
    assert!(
        out.lines()
            .last()
            .unwrap()
            .contains("0 passed, 2 failed, 0 skipped")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn json_and_junit_reports_are_written_to_the_output_file() {
    let fake = FakeScim::breaking(&[Break::NoUniqueness]).await;
    let dir = std::env::temp_dir().join(format!("scim-conformance-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json_path = dir.join("r.json");
    let o = run(&[
        "--url",
        &fake.url(),
        "--only",
        "users.create.*",
        "--format",
        "json",
        "--output",
        json_path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(v["summary"]["failed"], 2);
    assert_eq!(
        v["report"]["results"][0]["id"],
        "users.create.returns-201-location"
    );
    assert!(stdout(&o).lines().last().unwrap().contains("2 failed"));

    let xml_path = dir.join("r.xml");
    let o = run(&[
        "--url",
        &fake.url(),
        "--only",
        "users.create.duplicate-username-409",
        "--format",
        "junit",
        "--output",
        xml_path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let xml = std::fs::read_to_string(&xml_path).unwrap();
    assert!(xml.starts_with("<?xml"));
    assert!(
        xml.contains("<testcase classname=\"users\" name=\"users.create.duplicate-username-409\"")
    );
    assert!(xml.contains("<failure message="));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_readme_catalogue_table_is_the_list_output() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let o = run(&["--list", "--profile", "rfc,entra,okta"]);
    let table = stdout(&o);
    assert!(
        readme.ends_with(&table),
        "README.md's catalogue is stale: regenerate it with `scim-conformance --list --profile rfc,entra,okta`"
    );
}
