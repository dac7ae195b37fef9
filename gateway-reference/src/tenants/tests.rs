use std::time::Duration;

use super::*;
use scim_server::Authenticator;

fn parts(token: &str) -> http::request::Parts {
    http::Request::get("/scim/a/Users")
        .header("authorization", format!("Bearer {token}"))
        .body(())
        .unwrap()
        .into_parts()
        .0
}

#[tokio::test]
async fn create_list_find_and_conflict() {
    let db = Db::open_sqlite_in_memory().await.unwrap();
    let t = create(&db, "Contoso Ltd").await.unwrap();
    assert_eq!(t.id, "contoso-ltd");
    assert_eq!(t.name, "Contoso Ltd");
    assert!(matches!(
        create(&db, "contoso ltd").await,
        Err(TenantError::Exists(id)) if id == "contoso-ltd"
    ));
    assert!(matches!(
        create(&db, "  ***  ").await,
        Err(TenantError::InvalidName(_))
    ));
    create(&db, "alpha").await.unwrap();
    let ids: Vec<_> = list(&db).await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(ids, ["alpha", "contoso-ltd"]);
    assert_eq!(find(&db, "Contoso Ltd").await.unwrap().id, "contoso-ltd");
    assert_eq!(find(&db, "contoso-ltd").await.unwrap().id, "contoso-ltd");
    assert!(matches!(
        find(&db, "nope").await,
        Err(TenantError::NotFound(_))
    ));
}

#[tokio::test]
async fn tokens_are_stored_hashed_bound_rotated_and_revoked() {
    let db = Db::open_sqlite_in_memory().await.unwrap();
    let a = create(&db, "a").await.unwrap().tenant_id().unwrap();
    let b = create(&db, "b").await.unwrap().tenant_id().unwrap();
    let ta = add_token(&db, &a, "test").await.unwrap();
    let tb = add_token(&db, &b, "test").await.unwrap();
    assert_eq!(ta.len(), 64);
    assert_ne!(ta, tb);
    // Only the hash is stored.
    let rows = db
        .query("SELECT hash FROM gw_tenant_tokens", &[])
        .await
        .unwrap();
    for r in rows {
        let h = r.text(0).unwrap();
        assert_ne!(h, ta);
        assert_ne!(h, tb);
    }
    let auth = TenantTokens::with_ttl(db.clone(), Duration::ZERO);
    let ctx = auth.authenticate(&parts(&ta)).await.unwrap();
    assert_eq!(ctx.tenant, Some(a.clone()));
    assert_eq!(
        auth.authenticate(&parts(&tb)).await.unwrap().tenant,
        Some(b.clone())
    );
    assert!(
        auth.authenticate(&parts("wrong-token-0123456789"))
            .await
            .is_err()
    );

    let new = rotate_token(&db, &a, "rotate").await.unwrap();
    assert!(auth.authenticate(&parts(&ta)).await.is_err());
    assert_eq!(
        auth.authenticate(&parts(&new)).await.unwrap().tenant,
        Some(a.clone())
    );
    assert_eq!(revoke_tokens(&db, &a, "test").await.unwrap(), 1);
    assert!(auth.authenticate(&parts(&new)).await.is_err());
    // Every token action is in a's provisioning log, none in b's.
    let q = crate::log::LogQuery {
        limit: 10,
        ..Default::default()
    };
    let actions: Vec<String> = crate::log::query(&db, &a, &q)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        ["tokens-revoked", "token-rotated", "token-created"]
    );
    assert_eq!(crate::log::query(&db, &b, &q).await.unwrap().len(), 1);
    // b is untouched.
    assert!(auth.authenticate(&parts(&tb)).await.is_ok());
    let missing = TenantId::new("missing").unwrap();
    assert!(matches!(
        add_token(&db, &missing, "x").await,
        Err(TenantError::NotFound(_))
    ));
}

#[tokio::test]
async fn the_cache_holds_a_revoked_token_at_most_its_ttl() {
    let db = Db::open_sqlite_in_memory().await.unwrap();
    let a = create(&db, "a").await.unwrap().tenant_id().unwrap();
    let token = add_token(&db, &a, "test").await.unwrap();
    let auth = TenantTokens::with_ttl(db.clone(), Duration::from_millis(300));
    assert!(auth.authenticate(&parts(&token)).await.is_ok());
    revoke_tokens(&db, &a, "test").await.unwrap();
    // Within the TTL the cached lookup still answers...
    assert!(auth.authenticate(&parts(&token)).await.is_ok());
    tokio::time::sleep(Duration::from_millis(350)).await;
    // ...after it, the revocation is seen.
    assert!(auth.authenticate(&parts(&token)).await.is_err());
}

#[tokio::test]
async fn admin_tokens_have_scopes() {
    let db = Db::open_sqlite_in_memory().await.unwrap();
    let a = create(&db, "a").await.unwrap().tenant_id().unwrap();
    let global = create_admin_token(&db, None, "test").await.unwrap();
    let scoped = create_admin_token(&db, Some(&a), "test").await.unwrap();
    assert_eq!(
        admin_scope(&db, &global).await.unwrap(),
        Some(AdminScope::All)
    );
    let s = admin_scope(&db, &scoped).await.unwrap().unwrap();
    assert_eq!(s, AdminScope::Tenant(a));
    assert!(s.allows("a") && !s.allows("b"));
    assert_eq!(admin_scope(&db, "nope").await.unwrap(), None);
    // A SCIM token is not an admin token.
    let b = create(&db, "b").await.unwrap().tenant_id().unwrap();
    let scim = add_token(&db, &b, "x").await.unwrap();
    assert_eq!(admin_scope(&db, &scim).await.unwrap(), None);
}
