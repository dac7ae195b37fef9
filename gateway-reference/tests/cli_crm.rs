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

/// The system user flow and the OAuth refresh-token flow set from the CLI: the key from a
/// file, the tokens from the environment; Test Connection signs in and names a refused
/// sign-in; no secret printed or in the database files.
#[tokio::test]
async fn tenant_crm_set_system_user_and_oauth() {
    use gateway_reference::crm::superoffice::fake::{
        APP_TOKEN, CLIENT_ID, REFRESH_TOKEN, SYSTEM_USER_TOKEN,
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir_arg(dir.path());
    cli(&["tenant", "create", "acme", "--data-dir", &data]).await;
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/superoffice/");
    let read = |name: &str| std::fs::read_to_string(format!("{fixtures}{name}")).unwrap();
    let fake = FakeSuperOffice::start().await;
    fake.enable_sign_in(
        &read("test-only-partner-key.pub.pem"),
        &read("test-only-superoffice-signing-key.pem"),
    );
    let url = fake.base_url();
    let key_file = format!("{fixtures}test-only-partner-key.xml");
    let cert_file = format!("{fixtures}test-only-superoffice-signing-cert.pem");
    let set = |auth: &'static str, token: &'static str, extra: Vec<String>| {
        let mut args: Vec<String> = [
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
            "--environment",
            &url,
            "--auth",
            auth,
            "--data-dir",
            &data,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra);
        tokio::process::Command::new(BIN)
            .args(args)
            .env("SCIM_GATEWAY_CRM_TOKEN", token)
            .env("SCIM_GATEWAY_CRM_APP_TOKEN", APP_TOKEN)
            .output()
    };
    let out = set(
        "system-user",
        SYSTEM_USER_TOKEN,
        vec![
            "--private-key-file".into(),
            key_file,
            "--jwt-certificate-file".into(),
            cert_file,
        ],
    )
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let v: Value = serde_json::from_str(shown.trim()).unwrap();
    assert_eq!(v["auth"], "system-user");
    assert_eq!(v["systemUserTokenSet"], true);
    assert_eq!(v["privateKeySet"], true);
    assert_eq!(v["jwtCertificateSet"], true);
    assert!(!shown.contains(SYSTEM_USER_TOKEN) && !shown.contains("RSAKeyValue"));
    let tested = cli(&["tenant", "crm", "test", "acme", "--data-dir", &data]).await;
    assert!(tested.contains("4 user plans"), "{tested}");
    assert_eq!(fake.system_user_sign_ins(), 1);

    fake.refuse_sign_in(true);
    let (ok, _, stderr) = cli_status(&["tenant", "crm", "test", "acme", "--data-dir", &data]).await;
    assert!(!ok);
    assert!(
        stderr.contains("refused the signed system user token"),
        "{stderr}"
    );
    fake.refuse_sign_in(false);

    let out = set(
        "oauth",
        REFRESH_TOKEN,
        vec!["--client-id".into(), CLIENT_ID.into()],
    )
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tested = cli(&["tenant", "crm", "test", "acme", "--data-dir", &data]).await;
    assert!(tested.contains("4 user plans"), "{tested}");
    assert_eq!(fake.refreshes(), 1);

    // A new token without --auth is the stored connection's kind of token (here the
    // refresh token), not an access token that is then dropped.
    let set_token = |token: &'static str| {
        tokio::process::Command::new(BIN)
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
                "--environment",
                &url,
                "--client-id",
                CLIENT_ID,
                "--token",
                token,
                "--data-dir",
                &data,
            ])
            .output()
    };
    let out = set_token("a-revoked-refresh-token").await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    let v: Value = serde_json::from_str(shown.trim()).unwrap();
    assert_eq!(v["auth"], "oauth");
    assert_eq!(v["refreshTokenSet"], true);
    let (ok, _, stderr) = cli_status(&["tenant", "crm", "test", "acme", "--data-dir", &data]).await;
    assert!(!ok, "the stored refresh token was kept");
    assert!(stderr.contains("refused the refresh token"), "{stderr}");
    assert_eq!(fake.refreshes(), 2);
    let out = set_token(REFRESH_TOKEN).await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tested = cli(&["tenant", "crm", "test", "acme", "--data-dir", &data]).await;
    assert!(tested.contains("4 user plans"), "{tested}");
    assert_eq!(fake.refreshes(), 3);

    let key_body = read("test-only-partner-key.xml");
    assert!(dir.path().join("gateway.db").exists());
    for name in ["gateway.db", "gateway.db-wal"] {
        if let Ok(bytes) = std::fs::read(dir.path().join(name)) {
            let text = String::from_utf8_lossy(&bytes);
            for secret in [
                SYSTEM_USER_TOKEN,
                REFRESH_TOKEN,
                APP_TOKEN,
                &key_body[20..60],
            ] {
                assert!(!text.contains(secret), "{secret} in {name}");
            }
        }
    }
}
