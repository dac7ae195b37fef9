//! `scim-gateway tenant crm set|show|test` with the real binary against the fake
//! SuperOffice: the token read from standard input or the environment, never printed, and
//! not in the database files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;

use common::{BIN, cli, cli_status, dir_arg};
use gateway_reference::crm::superoffice::fake::{ACCESS_TOKEN, CUSTOMER_ID, FakeSuperOffice};
use serde_json::Value;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn tenant_crm_set_show_test() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir_arg(dir.path());
    cli(&["tenant", "create", "acme", "--data-dir", &data]).await;
    let fake = FakeSuperOffice::start().await;
    let url = fake.base_url();

    // The token from standard input.
    let mut child = tokio::process::Command::new(BIN)
        .args([
            "tenant",
            "crm",
            "set",
            "acme",
            "--crm",
            "superoffice",
            "--url",
            &url,
            "--customer-id",
            CUSTOMER_ID,
            "--token-stdin",
            "--data-dir",
            &data,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{ACCESS_TOKEN}\n").as_bytes())
        .await
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().await.unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("superoffice"), "{stdout}");
    assert!(!stdout.contains(ACCESS_TOKEN));

    let shown = cli(&[
        "tenant",
        "crm",
        "show",
        "acme",
        "--json",
        "--data-dir",
        &data,
    ])
    .await;
    assert!(!shown.contains(ACCESS_TOKEN), "{shown}");
    let v: Value = serde_json::from_str(shown.trim()).unwrap();
    assert_eq!(v["kind"], "superoffice");
    assert_eq!(v["accessTokenSet"], true);
    assert_eq!(v["customerId"], CUSTOMER_ID);

    let tested = cli(&["tenant", "crm", "test", "acme", "--data-dir", &data]).await;
    assert!(tested.contains("4 user plans"), "{tested}");

    // A wrong token from the environment: Test Connection fails and says why.
    let out = tokio::process::Command::new(BIN)
        .args([
            "tenant",
            "crm",
            "set",
            "acme",
            "--crm",
            "superoffice",
            "--url",
            &url,
            "--customer-id",
            CUSTOMER_ID,
            "--data-dir",
            &data,
        ])
        .env("SCIM_GATEWAY_CRM_TOKEN", "wrong-token")
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let (ok, _, stderr) = cli_status(&["tenant", "crm", "test", "acme", "--data-dir", &data]).await;
    assert!(!ok);
    assert!(stderr.contains("401"), "{stderr}");

    // At rest: neither token in the database files; the key file is private.
    assert!(dir.path().join("gateway.db").exists());
    for name in ["gateway.db", "gateway.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(name)) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(ACCESS_TOKEN) && !text.contains("wrong-token"),
                "{name}"
            );
        }
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Back to the embedded CRM.
    cli(&[
        "tenant",
        "crm",
        "set",
        "acme",
        "--crm",
        "embedded",
        "--data-dir",
        &data,
    ])
    .await;
    let shown = cli(&["tenant", "crm", "show", "acme", "--data-dir", &data]).await;
    assert!(shown.contains("embedded"), "{shown}");
}
