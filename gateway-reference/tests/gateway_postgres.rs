//! The real `scim-gateway` binary on PostgreSQL (`--database-url`): two processes share one
//! database; the first start happens once; tokens are bound to tenants; restart keeps data.
//! Skipped without `SCIM_TEST_POSTGRES_URL` (fails instead with `SCIM_REQUIRE_POSTGRES=1`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Gateway, cli, get, users_query};
use gateway_reference::testing::{postgres_url, unique_schema};
use serde_json::Value;

#[tokio::test]
async fn two_gateways_share_one_postgres_database() {
    let Some(url) = postgres_url() else {
        eprintln!("skipped: SCIM_TEST_POSTGRES_URL is not set");
        return;
    };
    let schema = unique_schema("gwbin");
    let mut args = vec![
        "--database-url".to_string(),
        url.clone(),
        "--database-schema".to_string(),
        schema.clone(),
    ];
    if let Ok(ca) = std::env::var("SCIM_TEST_POSTGRES_CA") {
        args.extend(["--postgres-ca-file".to_string(), ca]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let first = Gateway::start(&args).await;
    let token = first
        .printed("Secret Token:")
        .expect("first start on PostgreSQL");
    let admin = first.printed("Admin token:").unwrap();
    // A second process on the same database: no second first start.
    let second = Gateway::start(&args).await;
    assert!(
        second.printed("Secret Token:").is_none(),
        "{:#?}",
        second.banner
    );

    let url1 = format!("{}/scim/demo", first.base);
    let url2 = format!("{}/scim/demo", second.base);
    let (s, body) = get(&users_query(&url1), &token).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["totalResults"], 0);
    // A user written through one process is read through the other.
    let user = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "pg@example.com"
    });
    assert_eq!(
        common::post(&format!("{url1}/Users"), &token, &user)
            .await
            .0,
        201
    );
    let (s, body) = get(
        &format!("{url2}/Users?filter=userName%20eq%20%22pg@example.com%22"),
        &token,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(body["totalResults"], 1, "{body}");
    assert_eq!(
        get(&users_query(&url2), "0123456789abcdef-wrong").await.0,
        401
    );

    // The CLI on the same database; tenant B's token never opens demo.
    let mut create = vec!["tenant", "create", "pg-b", "--json"];
    create.extend(&args);
    let out = cli(&create).await;
    let b: Value = serde_json::from_str(out.trim()).unwrap();
    let token_b = b["token"].as_str().unwrap();
    assert_eq!(
        get(&users_query(&format!("{}/scim/pg-b", second.base)), token_b)
            .await
            .0,
        200
    );
    assert_eq!(get(&users_query(&url2), token_b).await.0, 401);
    let (s, body) = get(&format!("{}/admin/tenants", second.base), &admin).await;
    assert_eq!(s, 200);
    assert_eq!(body["tenants"].as_array().unwrap().len(), 2);
    assert_eq!(
        common::client()
            .get(format!("{}/readyz", second.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    first.stop().await;
    second.stop().await;
    // Restart keeps everything.
    let again = Gateway::start(&args).await;
    assert!(again.printed("Secret Token:").is_none());
    let (s, body) = get(
        &format!(
            "{}/scim/demo/Users?filter=userName%20eq%20%22pg@example.com%22",
            again.base
        ),
        &token,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(body["totalResults"], 1);
    again.stop().await;

    // Clean up the schema.
    use scim_server::storage::postgres::{PostgresConfig, PostgresStorage};
    let mut config = PostgresConfig::new(url).schema(schema);
    if let Ok(ca) = std::env::var("SCIM_TEST_POSTGRES_CA") {
        config = config.ca_file(ca);
    }
    PostgresStorage::connect_with(config)
        .await
        .unwrap()
        .drop_schema()
        .await
        .unwrap();
}
