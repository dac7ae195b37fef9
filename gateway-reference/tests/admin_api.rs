//! The admin API of the real binary: authentication, tenant scoping, errors, settings,
//! the log and the users list.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Gateway, cli, client, dir_arg, get};
use serde_json::{Value, json};

async fn send(req: reqwest::RequestBuilder) -> (u16, Value) {
    let r = req.send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn admin_api_auth_scoping_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir_arg(dir.path());
    let gw = Gateway::start(&["--data-dir", &data]).await;
    let admin = gw.printed("Admin token:").unwrap();
    let scim_token = gw.printed("Secret Token:").unwrap();
    let a = format!("{}/admin", gw.base);
    let c = client();

    // No token, a wrong token, a SCIM token: 401 with a JSON error.
    let (s, body) = send(c.get(format!("{a}/tenants"))).await;
    assert_eq!(s, 401);
    assert_eq!(body["error"], "unauthorized");
    assert!(body["detail"].is_string());
    assert_eq!(
        get(&format!("{a}/tenants"), "nope-nope-nope-nope").await.0,
        401
    );
    assert_eq!(get(&format!("{a}/tenants"), &scim_token).await.0, 401);

    // Create a tenant through the API.
    let (s, body) = send(
        c.post(format!("{a}/tenants"))
            .bearer_auth(&admin)
            .json(&json!({"name": "Beta"})),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["tenant"]["id"], "beta");
    let beta_token = body["token"].as_str().unwrap().to_string();
    let beta_url = format!("{}/scim/beta", gw.base);
    assert_eq!(body["tenant_url"], beta_url);
    assert_eq!(
        get(&common::users_query(&beta_url), &beta_token).await.0,
        200
    );
    // Again: 409. Malformed: 400 or 415/422, never 500.
    let (s, body) = send(
        c.post(format!("{a}/tenants"))
            .bearer_auth(&admin)
            .json(&json!({"name": "beta"})),
    )
    .await;
    assert_eq!(s, 409, "{body}");
    assert_eq!(body["error"], "conflict");
    let (s, body) = send(
        c.post(format!("{a}/tenants"))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["error"], "bad_request");
    let (s, _) = send(
        c.post(format!("{a}/tenants"))
            .bearer_auth(&admin)
            .json(&json!({"nom": "x"})),
    )
    .await;
    assert!((400..500).contains(&s), "{s}");
    let (s, _) = send(
        c.post(format!("{a}/tenants"))
            .bearer_auth(&admin)
            .json(&json!({"name": "%%%"})),
    )
    .await;
    assert_eq!(s, 400);

    // A token scoped to beta.
    let out = cli(&[
        "admin",
        "token",
        "create",
        "--tenant",
        "beta",
        "--json",
        "--data-dir",
        &data,
    ])
    .await;
    let scoped: Value = serde_json::from_str(out.trim()).unwrap();
    let scoped = scoped["token"].as_str().unwrap().to_string();
    let (s, body) = get(&format!("{a}/tenants"), &scoped).await;
    assert_eq!(s, 200);
    let ids: Vec<&str> = body["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["beta"]);
    for path in ["settings", "log", "users"] {
        let (s, body) = get(&format!("{a}/tenants/demo/{path}"), &scoped).await;
        assert_eq!(s, 403, "{path}: {body}");
        assert_eq!(
            get(&format!("{a}/tenants/beta/{path}"), &scoped).await.0,
            200,
            "{path}"
        );
    }
    let (s, _) = send(
        c.post(format!("{a}/tenants/demo/tokens"))
            .bearer_auth(&scoped),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = send(
        c.delete(format!("{a}/tenants/demo/tokens"))
            .bearer_auth(&scoped),
    )
    .await;
    assert_eq!(s, 403);
    let (s, _) = send(
        c.post(format!("{a}/tenants"))
            .bearer_auth(&scoped)
            .json(&json!({"name": "x"})),
    )
    .await;
    assert_eq!(s, 403);
    // The demo tenant's SCIM token still works: nothing was done.
    assert_eq!(
        get(
            &common::users_query(&format!("{}/scim/demo", gw.base)),
            &scim_token
        )
        .await
        .0,
        200
    );
    // Unknown tenant for the global token: 404; unknown endpoint: 404 JSON.
    let (s, body) = get(&format!("{a}/tenants/ghost/settings"), &admin).await;
    assert_eq!(s, 404);
    assert_eq!(body["error"], "not_found");
    assert_eq!(get(&format!("{a}/nothing"), &admin).await.0, 404);

    // Settings.
    let (s, body) = get(&format!("{a}/tenants/beta/settings"), &scoped).await;
    assert_eq!(s, 200);
    assert_eq!(body["userSyncActive"], false);
    let new = json!({"userSyncActive": true, "notificationsEmail": "ops@example.com"});
    let (s, body) = send(
        c.put(format!("{a}/tenants/beta/settings"))
            .bearer_auth(&scoped)
            .json(&new),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let (_, body) = get(&format!("{a}/tenants/beta/settings"), &admin).await;
    assert_eq!(body["userSyncActive"], true);
    assert_eq!(body["notificationsEmail"], "ops@example.com");
    for bad in [
        json!({"userSyncActiv": true}),
        json!({"userSyncActive": "yes"}),
        json!([1]),
        json!({"notificationsEmail": "nope"}),
    ] {
        let (s, body) = send(
            c.put(format!("{a}/tenants/beta/settings"))
                .bearer_auth(&admin)
                .json(&bad),
        )
        .await;
        assert_eq!(s, 400, "{bad}: {body}");
        assert!(body["detail"].is_string());
    }
    // Nothing half-saved.
    let (_, body) = get(&format!("{a}/tenants/beta/settings"), &admin).await;
    assert_eq!(body["userSyncActive"], true);

    // The log records the admin actions, newest first; filters narrow it; bad parameters are 400.
    let (s, body) = get(
        &format!("{a}/tenants/beta/log?limit=5&outcome=success"),
        &admin,
    )
    .await;
    assert_eq!(s, 200, "{body}");
    let actions: Vec<&str> = body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Turning User Sync Active on queues every user ("sync-all").
    assert_eq!(
        actions,
        ["settings-saved", "sync-all", "token-created"],
        "{body}"
    );
    assert_eq!(body["entries"][0]["reason"], "admin:beta");
    assert_eq!(body["entries"][0]["detail"]["userSyncActive"], true);
    let (_, body) = get(
        &format!("{a}/tenants/beta/log?action=token-created&since=2000-01-01T00:00:00Z"),
        &scoped,
    )
    .await;
    assert_eq!(body["entries"].as_array().unwrap().len(), 1, "{body}");
    let (_, body) = get(
        &format!("{a}/tenants/beta/log?until=2000-01-01T00:00:00%2B01:00"),
        &scoped,
    )
    .await;
    assert!(body["entries"].as_array().unwrap().is_empty(), "{body}");
    let (_, body) = get(&format!("{a}/tenants/beta/log?outcome=failure"), &scoped).await;
    assert!(body["entries"].as_array().unwrap().is_empty(), "{body}");
    for q in ["outcome=great", "since=yesterday", "limit=0", "limit=abc"] {
        let (s, body) = get(&format!("{a}/tenants/beta/log?{q}"), &admin).await;
        assert_eq!(s, 400, "{q}: {body}");
    }

    // Users by search and by group.
    let scim = |path: &str| format!("{beta_url}{path}");
    let mut ids = Vec::new();
    for (name, ext) in [
        ("ann@example.com", "e1"),
        ("bob@example.com", "e2"),
        ("cy@other.org", "e3"),
    ] {
        let (s, body) = send(
            c.post(scim("/Users"))
                .bearer_auth(&beta_token)
                .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name, "externalId": ext})),
        )
        .await;
        assert_eq!(s, 201, "{body}");
        ids.push(body["id"].as_str().unwrap().to_string());
    }
    let (s, body) = send(
        c.post(scim("/Groups"))
            .bearer_auth(&beta_token)
            .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales", "externalId": "g-sales",
                "members": [{"value": ids[0]}, {"value": ids[2]}]})),
    )
    .await;
    assert_eq!(s, 201, "{body}");
    let (s, body) = get(&format!("{a}/tenants/beta/users"), &scoped).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["totalResults"], 3);
    let (_, body) = get(
        &format!("{a}/tenants/beta/users?search=example.com"),
        &scoped,
    )
    .await;
    assert_eq!(body["totalResults"], 2, "{body}");
    let (_, body) = get(&format!("{a}/tenants/beta/users?group=g-sales"), &scoped).await;
    assert_eq!(body["totalResults"], 2, "{body}");
    let (_, body) = get(
        &format!("{a}/tenants/beta/users?group=Sales&search=%22example"),
        &scoped,
    )
    .await;
    assert_eq!(body["totalResults"], 0, "{body}");
    let (_, body) = get(
        &format!("{a}/tenants/beta/users?group=Sales&search=ann"),
        &scoped,
    )
    .await;
    assert_eq!(body["users"][0]["userName"], "ann@example.com", "{body}");
    let (s, _) = get(&format!("{a}/tenants/beta/users?group=nope"), &scoped).await;
    assert_eq!(s, 404);
    // The demo tenant sees none of beta's users.
    let (_, body) = get(&format!("{a}/tenants/demo/users"), &admin).await;
    assert_eq!(body["totalResults"], 0);

    // Rotate and revoke through the API.
    let (s, body) = send(
        c.post(format!("{a}/tenants/beta/tokens"))
            .bearer_auth(&scoped),
    )
    .await;
    assert_eq!(s, 200);
    let rotated = body["token"].as_str().unwrap().to_string();
    assert_eq!(get(&common::users_query(&beta_url), &rotated).await.0, 200);
    let (s, body) = send(
        c.delete(format!("{a}/tenants/beta/tokens"))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(body["revoked"], 1);

    // The schema document.
    let (s, body) = send(c.get(format!("{a}/schema"))).await;
    assert_eq!(s, 200);
    assert!(body["TenantSettings"]["schema"]["properties"].is_object());
    gw.stop().await;
}

#[tokio::test]
async fn admin_tokens_are_listed_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir_arg(dir.path());
    let gw = Gateway::start(&["--data-dir", &data]).await;
    let admin = gw.printed("Admin token:").unwrap();
    let a = format!("{}/admin", gw.base);
    let c = client();

    // A second global token and a tenant token, from the CLI.
    let out = cli(&["admin", "token", "create", "--json", "--data-dir", &data]).await;
    let second: Value = serde_json::from_str(out.trim()).unwrap();
    let second = second["token"].as_str().unwrap().to_string();
    let out = cli(&[
        "admin",
        "token",
        "create",
        "--tenant",
        "demo",
        "--json",
        "--data-dir",
        &data,
    ])
    .await;
    let demo_only: Value = serde_json::from_str(out.trim()).unwrap();
    let demo_only = demo_only["token"].as_str().unwrap().to_string();

    let (s, list) = send(c.get(format!("{a}/tokens")).bearer_auth(&admin)).await;
    assert_eq!(s, 200, "{list}");
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 3, "{list:?}");
    // Never a token, only 12-digit ids.
    let text = serde_json::to_string(&list).unwrap();
    for token in [&admin, &second, &demo_only] {
        assert!(!text.contains(token.as_str()));
    }
    let (s, mine) = send(c.get(format!("{a}/tokens")).bearer_auth(&demo_only)).await;
    assert_eq!(s, 200);
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    let demo_id = mine[0]["id"].as_str().unwrap().to_string();

    // The tenant token cannot revoke a global token: 404 (it cannot see it); bad ids: 400.
    let global_ids: Vec<String> = list
        .iter()
        .filter(|t| t["tenant"].is_null())
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect();
    let (s, _) = send(
        c.delete(format!("{a}/tokens/{}", global_ids[0]))
            .bearer_auth(&demo_only),
    )
    .await;
    assert_eq!(s, 404);
    let (s, body) = send(c.delete(format!("{a}/tokens/%25")).bearer_auth(&admin)).await;
    assert_eq!(s, 400, "{body}");

    // Revoking works at once.
    let (s, body) = send(
        c.delete(format!("{a}/tokens/{demo_id}"))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(s, 200, "{body}");
    assert!(body["revoked_at"].is_string());
    assert_eq!(get(&format!("{a}/tenants"), &demo_only).await.0, 401);
    // Revoke both global tokens through the CLI listing: the CLI can always make a new one.
    let out = cli(&["admin", "token", "list", "--json", "--data-dir", &data]).await;
    let listed: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3);
    for id in &global_ids {
        cli(&["admin", "token", "revoke", id, "--data-dir", &data]).await;
    }
    assert_eq!(get(&format!("{a}/tenants"), &admin).await.0, 401);
    assert_eq!(get(&format!("{a}/tenants"), &second).await.0, 401);
}
