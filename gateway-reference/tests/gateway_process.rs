//! The real `scim-gateway` binary on a temporary data directory: first start, SCIM auth per
//! tenant, token revocation, the CLI, restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Gateway, cli, cli_status, dir_arg, get, users_query};
use serde_json::Value;

#[tokio::test]
async fn first_start_scim_tokens_per_tenant_revocation_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir_arg(dir.path());
    let gw = Gateway::start(&["--data-dir", &data]).await;
    let url = gw.printed("Tenant URL:").expect("Tenant URL printed");
    let token = gw.printed("Secret Token:").expect("Secret Token printed");
    let admin_token = gw.printed("Admin token:").expect("admin token printed");
    assert_eq!(url, format!("{}/scim/demo", gw.base));
    assert_eq!(token.len(), 64);
    assert!(gw.printed("Admin API:").unwrap().ends_with("/admin"));
    assert!(gw.banner.iter().any(|l| l.contains("Admin Credentials")));
    assert!(dir.path().join("scim.db").exists() && dir.path().join("gateway.db").exists());

    // Entra's Test Connection: 200 with an empty list.
    let (status, body) = get(&users_query(&url), &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalResults"], 0);
    assert_eq!(body["Resources"].as_array().map_or(0, Vec::len), 0);
    // The Tenant URL with Entra's ?aadOptscim062020 flag appended.
    for u in [
        format!("{url}/Users?aadOptscim062020&filter=userName%20eq%20%22x%22"),
        format!("{url}/Users?filter=userName%20eq%20%22x%22&aadOptscim062020"),
    ] {
        let (status, body) = get(&u, &token).await;
        assert_eq!(status, 200, "{u}: {body}");
        assert_eq!(body["totalResults"], 0);
    }
    // Wrong token, no token.
    assert_eq!(
        get(&users_query(&url), "0123456789abcdef-wrong").await.0,
        401
    );
    let r = common::client()
        .get(users_query(&url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // A second tenant from the CLI while the server runs; its --json output parses.
    let out = cli(&[
        "tenant",
        "create",
        "Acme Corp",
        "--json",
        "--data-dir",
        &data,
    ])
    .await;
    assert_eq!(out.lines().count(), 1, "{out}");
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    let token_b = created["token"].as_str().unwrap().to_string();
    let url_b = created["tenant_url"].as_str().unwrap().to_string();
    assert!(url_b.ends_with("/scim/acme-corp"), "{url_b}");
    let url_b = format!("{}/scim/acme-corp", gw.base);
    assert_eq!(get(&users_query(&url_b), &token_b).await.0, 200);
    // A token of one tenant never opens another.
    assert_eq!(get(&users_query(&url_b), &token).await.0, 401);
    assert_eq!(get(&users_query(&url), &token_b).await.0, 401);
    // An unknown tenant.
    assert_eq!(
        get(&users_query(&format!("{}/scim/nobody", gw.base)), &token)
            .await
            .0,
        401
    );
    // The same name again is refused.
    let (ok, _, err) = cli_status(&["tenant", "create", "acme corp", "--data-dir", &data]).await;
    assert!(!ok && err.contains("exists already"), "{err}");

    // A SCIM user to find after the restart.
    let ann = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ann@example.com", "externalId": "e-ann", "active": true
    });
    assert_eq!(
        common::post(&format!("{url}/Users"), &token, &ann).await.0,
        201
    );

    // Revoked: refused once the cache TTL has passed.
    let out = cli(&[
        "tenant",
        "token",
        "revoke",
        "acme-corp",
        "--data-dir",
        &data,
    ])
    .await;
    assert!(out.contains("Revoked 1 token"), "{out}");
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    assert_eq!(get(&users_query(&url_b), &token_b).await.0, 401);
    // Rotate gives a working token again.
    let out = cli(&[
        "tenant",
        "token",
        "rotate",
        "acme-corp",
        "--json",
        "--data-dir",
        &data,
    ])
    .await;
    let rotated: Value = serde_json::from_str(out.trim()).unwrap();
    let token_b2 = rotated["token"].as_str().unwrap();
    assert_eq!(get(&users_query(&url_b), token_b2).await.0, 200);

    // Health and metrics.
    let c = common::client();
    assert_eq!(
        c.get(format!("{}/healthz", gw.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(format!("{}/readyz", gw.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let metrics = c
        .get(format!("{}/metrics", gw.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("scim_gateway_http_requests_total{route=\"scim\",status=\"401\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "scim_gateway_http_request_duration_seconds_bucket{route=\"scim\",le=\"+Inf\"}"
        )
    );

    let list = cli(&["tenant", "list", "--data-dir", &data]).await;
    assert!(
        list.contains("demo") && list.contains("acme-corp"),
        "{list}"
    );

    // Restart: no second first start, tokens and users kept.
    gw.stop().await;
    let gw = Gateway::start(&["--data-dir", &data]).await;
    assert!(gw.printed("Secret Token:").is_none(), "{:#?}", gw.banner);
    let url = format!("{}/scim/demo", gw.base);
    let (status, body) = get(
        &format!("{url}/Users?filter=userName%20eq%20%22ann@example.com%22"),
        &token,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["totalResults"], 1, "{body}");
    let (status, body) = get(&format!("{}/admin/tenants", gw.base), &admin_token).await;
    assert_eq!(status, 200);
    assert_eq!(body["tenants"].as_array().unwrap().len(), 2, "{body}");
    gw.stop().await;
}

/// `--sqlite-mmap-mib`: the SCIM database's readers map the file; users are created and
/// found as without it.
#[tokio::test]
async fn the_scim_database_can_be_read_through_a_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir_arg(dir.path());
    let gw = Gateway::start(&["--data-dir", &data, "--sqlite-mmap-mib", "64"]).await;
    let url = gw.printed("Tenant URL:").expect("Tenant URL printed");
    let token = gw.printed("Secret Token:").expect("Secret Token printed");
    let user = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "mapped@example.com"
    });
    assert_eq!(
        common::post(&format!("{url}/Users"), &token, &user).await.0,
        201
    );
    let (status, body) = get(
        &format!("{url}/Users?filter=userName%20eq%20%22mapped@example.com%22"),
        &token,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totalResults"], 1, "{body}");
    gw.stop().await;
}

#[tokio::test]
async fn help_everywhere_and_bad_config() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["tenant", "--help"],
        vec!["tenant", "create", "--help"],
        vec!["tenant", "list", "--help"],
        vec!["tenant", "token", "rotate", "--help"],
        vec!["tenant", "token", "revoke", "--help"],
        vec!["admin", "token", "create", "--help"],
    ] {
        let out = cli(&args).await;
        assert!(out.contains("Usage:"), "{args:?}: {out}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gw.toml");
    std::fs::write(&file, "listen = 12\n").unwrap();
    let f = dir_arg(&file);
    let (ok, _, err) = cli_status(&["tenant", "list", "--config", &f]).await;
    assert!(!ok && err.contains("gw.toml"), "{err}");
    let (ok, _, err) = cli_status(&[
        "tenant",
        "token",
        "revoke",
        "ghost",
        "--data-dir",
        &dir_arg(dir.path()),
    ])
    .await;
    assert!(!ok && err.contains("ghost"), "{err}");
}
