//! The rule commands of the real binary: import validates (a 400-like refusal naming the
//! rule and field, nothing saved), export round-trips, preview and reset run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cli_status_in;

#[tokio::test]
async fn rules_import_export_preview_reset() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = cli_status_in(&data, &["tenant", "create", "acme", "--json"]).await;
    assert!(ok, "{err}");

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"rules":[{"id":"sales","name":"Sales","scope":{"kind":"allUsers"},
            "settings":{"role":{"value":999,"apply":"always"}}}]}"#,
    )
    .unwrap();
    let (ok, _, err) = cli_status_in(
        &data,
        &["rules", "import", "--tenant", "acme", bad.to_str().unwrap()],
    )
    .await;
    assert!(!ok);
    assert!(err.contains("rule 1 (sales), settings.role"), "{err}");

    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        r#"{"rules":[{"id":"sales","name":"Sales","scope":{"kind":"allUsers"},
            "settings":{"role":{"value":2,"apply":"always"},
                        "userPlan":{"value":{"kind":"notSelected"},"apply":"ifNotSet"}}}]}"#,
    )
    .unwrap();
    let (ok, out, err) = cli_status_in(
        &data,
        &[
            "rules",
            "import",
            "--tenant",
            "acme",
            good.to_str().unwrap(),
        ],
    )
    .await;
    assert!(ok, "{err}");
    assert!(out.contains("saved version 1"), "{out}");

    let (ok, out, err) = cli_status_in(&data, &["rules", "export", "--tenant", "acme", "-"]).await;
    assert!(ok, "{err}");
    let exported: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(exported["rules"][0]["settings"]["role"]["value"], 2);
    assert_eq!(
        exported["rules"][0]["settings"]["userPlan"]["value"]["kind"],
        "notSelected"
    );

    let (ok, out, err) = cli_status_in(&data, &["preview", "--tenant", "acme", "--json"]).await;
    assert!(ok, "{err}");
    let p: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(p["usersReceived"], 0);

    let (ok, _, err) = cli_status_in(&data, &["reset", "--tenant", "acme"]).await;
    assert!(ok, "{err}");
    let (ok, _, err) =
        cli_status_in(&data, &["sync", "nobody@example.com", "--tenant", "acme"]).await;
    assert!(!ok);
    assert!(err.contains("no SCIM user"), "{err}");
}
