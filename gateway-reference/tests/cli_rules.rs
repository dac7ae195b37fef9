//! The rule commands of the real binary: import validates (a 400-like refusal naming the
//! rule and field, nothing saved), export round-trips, preview and reset run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn gateway(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scim-gateway"))
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn rules_import_export_preview_reset() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (ok, _, err) = gateway(&data, &["tenant", "create", "acme", "--json"]);
    assert!(ok, "{err}");

    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"rules":[{"id":"sales","name":"Sales","scope":{"kind":"allUsers"},
            "settings":{"role":{"value":999,"apply":"always"}}}]}"#,
    )
    .unwrap();
    let (ok, _, err) = gateway(
        &data,
        &["rules", "import", "--tenant", "acme", bad.to_str().unwrap()],
    );
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
    let (ok, out, err) = gateway(
        &data,
        &[
            "rules",
            "import",
            "--tenant",
            "acme",
            good.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("saved version 1"), "{out}");

    let (ok, out, err) = gateway(&data, &["rules", "export", "--tenant", "acme", "-"]);
    assert!(ok, "{err}");
    let exported: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(exported["rules"][0]["settings"]["role"]["value"], 2);
    assert_eq!(
        exported["rules"][0]["settings"]["userPlan"]["value"]["kind"],
        "notSelected"
    );

    let (ok, out, err) = gateway(&data, &["preview", "--tenant", "acme", "--json"]);
    assert!(ok, "{err}");
    let p: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(p["usersReceived"], 0);

    let (ok, _, err) = gateway(&data, &["reset", "--tenant", "acme"]);
    assert!(ok, "{err}");
    let (ok, _, err) = gateway(&data, &["sync", "nobody@example.com", "--tenant", "acme"]);
    assert!(!ok);
    assert!(err.contains("no SCIM user"), "{err}");
}
