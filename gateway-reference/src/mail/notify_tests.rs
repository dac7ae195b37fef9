use super::*;
use crate::settings::TenantSettings;

async fn setup() -> (Db, TenantId, MailConfig) {
    let (db, t) = crate::db::test_tenant().await;
    let s = TenantSettings {
        notifications_email: Some("ops@contoso.com".into()),
        ..TenantSettings::default()
    };
    settings::save(&db, &t, &s, "test").await.unwrap();
    (db, t, MailConfig::default())
}

async fn mails(db: &Db) -> Vec<(String, String, String)> {
    db.query(
        "SELECT kind, subject, text_body FROM gw_mail_outbox ORDER BY id",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.text(0).unwrap(), r.text(1).unwrap(), r.text(2).unwrap()))
    .collect()
}

#[tokio::test]
async fn dedup_within_the_window_then_digest_then_recovery() {
    let (db, t, config) = setup().await;
    let t0 = Utc::now();
    let c = Condition::SeatsExhausted;
    let min = chrono::Duration::minutes;
    assert_eq!(
        raise(&db, &config, &t, &c, "plan 1 (ann)", t0)
            .await
            .unwrap(),
        Raised::Mailed
    );
    assert_eq!(
        raise(&db, &config, &t, &c, "plan 1 (bob)", t0 + min(5))
            .await
            .unwrap(),
        Raised::Suppressed
    );
    assert_eq!(
        raise(&db, &config, &t, &c, "plan 1 (cy)", t0 + min(10))
            .await
            .unwrap(),
        Raised::Suppressed
    );
    assert_eq!(mails(&db).await.len(), 1);
    // Nothing new after the window: tick sends the digest.
    assert_eq!(tick(&db, &config, t0 + min(30)).await.unwrap(), 0);
    assert_eq!(tick(&db, &config, t0 + min(61)).await.unwrap(), 1);
    let m = mails(&db).await;
    assert_eq!(m.len(), 2);
    assert!(m[1].2.contains("2 further occurrences"), "{}", m[1].2);
    assert!(m[1].2.contains("plan 1 (bob)") && m[1].2.contains("plan 1 (cy)"));
    // Another occurrence within the new window: suppressed; after it: mailed with the digest.
    raise(&db, &config, &t, &c, "plan 1 (dan)", t0 + min(70))
        .await
        .unwrap();
    assert_eq!(
        raise(&db, &config, &t, &c, "plan 1 (eve)", t0 + min(125))
            .await
            .unwrap(),
        Raised::Mailed
    );
    let m = mails(&db).await;
    assert_eq!(m.len(), 3);
    assert!(m[2].2.contains("1 further occurrence since") && m[2].2.contains("(dan)"));
    assert!(m[2].1.contains("No free seat"), "{}", m[2].1);
    // Cleared: one recovery mail; clearing again does nothing.
    assert!(clear(&db, &config, &t, &c).await.unwrap());
    assert!(!clear(&db, &config, &t, &c).await.unwrap());
    let m = mails(&db).await;
    assert_eq!(m.len(), 4);
    assert_eq!(m[3].0, "recovery");
    assert!(m[3].1.contains("Resolved"), "{}", m[3].1);
    assert!(open_conditions(&db, &t).await.unwrap().is_empty());
}

#[tokio::test]
async fn crm_unreachable_waits_for_the_threshold_and_a_short_outage_is_silent() {
    let (db, t, config) = setup().await;
    let t0 = Utc::now();
    let min = chrono::Duration::minutes;
    let down = BatchEvents {
        unavailable: Some("connection refused".into()),
        ..BatchEvents::default()
    };
    let up = BatchEvents {
        succeeded: vec!["u1".into()],
        ..BatchEvents::default()
    };
    // A short outage: tracked, never mailed, forgotten at the first success.
    after_batch(&db, &config, &t, &down, t0).await.unwrap();
    after_batch(&db, &config, &t, &down, t0 + min(5))
        .await
        .unwrap();
    assert_eq!(tick(&db, &config, t0 + min(9)).await.unwrap(), 0);
    after_batch(&db, &config, &t, &up, t0 + min(9))
        .await
        .unwrap();
    assert!(mails(&db).await.is_empty());
    assert!(open_conditions(&db, &t).await.unwrap().is_empty());
    // A long one: mailed once the threshold passes (by tick, with no new failure).
    after_batch(&db, &config, &t, &down, t0 + min(20))
        .await
        .unwrap();
    assert_eq!(tick(&db, &config, t0 + min(29)).await.unwrap(), 0);
    assert_eq!(tick(&db, &config, t0 + min(31)).await.unwrap(), 1);
    assert_eq!(
        open_conditions(&db, &t).await.unwrap(),
        [Condition::CrmUnreachable]
    );
    after_batch(&db, &config, &t, &down, t0 + min(32))
        .await
        .unwrap();
    assert_eq!(mails(&db).await.len(), 1);
    after_batch(&db, &config, &t, &up, t0 + min(40))
        .await
        .unwrap();
    let m = mails(&db).await;
    assert_eq!(
        m.iter().map(|m| m.0.as_str()).collect::<Vec<_>>(),
        ["notification", "recovery"]
    );
    assert!(m[0].1.contains("unreachable"));
}

#[tokio::test]
async fn a_user_failing_repeatedly_and_without_an_address_nothing_is_mailed() {
    let (db, t, config) = setup().await;
    let now = Utc::now();
    let fail = |attempts| BatchEvents {
        failures: vec![UserFailure {
            user_id: "u7".into(),
            message: "the CRM refused the values: unknown role 9".into(),
            condition: None,
            attempts,
        }],
        ..BatchEvents::default()
    };
    for a in 1..config.user_failures {
        after_batch(&db, &config, &t, &fail(a), now).await.unwrap();
    }
    assert!(mails(&db).await.is_empty());
    after_batch(&db, &config, &t, &fail(config.user_failures), now)
        .await
        .unwrap();
    let m = mails(&db).await;
    assert_eq!(m.len(), 1);
    assert!(m[0].2.contains("u7") && m[0].2.contains("unknown role 9"));
    let ok = BatchEvents {
        succeeded: vec!["u7".into()],
        ..BatchEvents::default()
    };
    after_batch(&db, &config, &t, &ok, now).await.unwrap();
    assert_eq!(mails(&db).await.len(), 2);
    // Without a notifications address the state is kept but no mail is enqueued.
    settings::save(&db, &t, &TenantSettings::default(), "test")
        .await
        .unwrap();
    raise(&db, &config, &t, &Condition::CredentialsRefused, "401", now)
        .await
        .unwrap();
    assert_eq!(mails(&db).await.len(), 2);
    assert_eq!(
        open_conditions(&db, &t).await.unwrap(),
        [Condition::CredentialsRefused]
    );
}
