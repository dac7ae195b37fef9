use super::*;

fn keys() -> &'static Keys {
    static KEYS: std::sync::OnceLock<Keys> = std::sync::OnceLock::new();
    KEYS.get_or_init(Keys::random)
}

fn mail(to: &str, token: Option<&str>) -> NewMail {
    NewMail {
        tenant: "t".into(),
        kind: if token.is_some() {
            Kind::Welcome
        } else {
            Kind::Notification
        },
        from: "IT <it@contoso.com>".into(),
        to: to.into(),
        subject: "s".into(),
        text: format!("go to https://gw/activate/{LINK_PLACEHOLDER}"),
        html: format!("<a href=\"https://gw/activate/{LINK_PLACEHOLDER}\">x</a>"),
        sealed_link: token.map(|t| seal_link(keys(), "t", t).unwrap()),
    }
}

#[tokio::test]
async fn claim_lease_backoff_and_failure() {
    let db = Db::open_sqlite_in_memory().await.unwrap();
    let t = TenantId::new("t").unwrap();
    let a = enqueue(&db, &mail("a@x.com", Some("tok123")))
        .await
        .unwrap();
    let b = enqueue(&db, &mail("b@x.com", None)).await.unwrap();
    let now = Utc::now();
    let lease = Duration::from_secs(60);
    let got = claim(&db, now, lease, 10).await.unwrap();
    assert_eq!(got.iter().map(|c| c.id).collect::<Vec<_>>(), [a, b]);
    assert!(
        got[0]
            .mail
            .text
            .ends_with(&format!("/activate/{LINK_PLACEHOLDER}"))
    );
    assert!(
        got[0]
            .open(keys())
            .unwrap()
            .text
            .ends_with("/activate/tok123")
    );
    let stranger = Keys::random();
    assert!(matches!(got[0].open(&stranger), Err(MailError::Seal(_))));
    assert!(got[0].mail.message_id.ends_with("@contoso.com>"));
    // Leased: nobody else gets them, until the lease runs out.
    assert!(claim(&db, now, lease, 10).await.unwrap().is_empty());
    let later = now + chrono::Duration::seconds(61);
    let again = claim(&db, later, lease, 10).await.unwrap();
    assert_eq!(again.len(), 2);
    assert_eq!(again[0].attempts, 2);
    assert_eq!(again[0].mail, got[0].mail, "a retry is the same mail");
    // The first claim was lost: it can no longer mark the mail.
    assert!(!mark_sent(&db, &got[0], later).await.unwrap());
    assert!(mark_sent(&db, &again[0], later).await.unwrap());
    // Sent: the token is forgotten; the admin view is redacted either way.
    let sent = get(&db, &t, a, Some(keys())).await.unwrap().unwrap();
    assert_eq!(sent.status, "sent");
    assert!(sent.text.ends_with(&format!("/activate/{LINK_REDACTED}")));
    // A failure goes back to the queue with a backoff, then fails for good.
    let status = mark_failed(&db, &again[1], "450 busy", false, 3, later)
        .await
        .unwrap();
    assert_eq!(status, "queued");
    assert!(claim(&db, later, lease, 10).await.unwrap().is_empty());
    let due = later + chrono::Duration::seconds(61);
    let third = claim(&db, due, lease, 10).await.unwrap();
    assert_eq!(third[0].attempts, 3);
    let status = mark_failed(&db, &third[0], "450 busy", false, 3, due)
        .await
        .unwrap();
    assert_eq!(status, "failed");
    let far = due + chrono::Duration::days(1);
    assert!(claim(&db, far, lease, 10).await.unwrap().is_empty());
    let q = ListQuery {
        status: Some("failed".into()),
        limit: 10,
        ..ListQuery::default()
    };
    let failed = list(&db, &t, &q).await.unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].last_error.as_deref(), Some("450 busy"));
    assert!(retry(&db, &t, b).await.unwrap());
    assert!(!retry(&db, &t, b).await.unwrap(), "only a failed mail");
    assert!(
        !retry(&db, &TenantId::new("other").unwrap(), b)
            .await
            .unwrap()
    );
    let fourth = claim(&db, far, lease, 10).await.unwrap();
    assert_eq!((fourth[0].id, fourth[0].attempts), (b, 1));
}

#[tokio::test]
async fn listing_redacts_until_revealed_and_filters() {
    let db = Db::open_sqlite_in_memory().await.unwrap();
    let t = TenantId::new("t").unwrap();
    let id = enqueue(&db, &mail("a@x.com", Some("secret-token")))
        .await
        .unwrap();
    enqueue(&db, &mail("b@x.com", None)).await.unwrap();
    let q = ListQuery {
        limit: 10,
        ..ListQuery::default()
    };
    let all = list(&db, &t, &q).await.unwrap();
    assert_eq!(all.len(), 2);
    for m in &all {
        assert!(!m.text.contains("secret-token") && !m.html.contains("secret-token"));
    }
    let q = ListQuery {
        kind: Some(Kind::Welcome),
        limit: 10,
        ..ListQuery::default()
    };
    assert_eq!(list(&db, &t, &q).await.unwrap().len(), 1);
    let q = ListQuery {
        limit: 1,
        offset: 1,
        ..ListQuery::default()
    };
    assert_eq!(list(&db, &t, &q).await.unwrap()[0].id, id);
    let stored = db
        .query_opt(
            "SELECT link_token FROM gw_mail_outbox WHERE id = $1",
            &[id.into()],
        )
        .await
        .unwrap()
        .unwrap()
        .text(0)
        .unwrap();
    assert!(stored.starts_with("v1:") && !stored.contains("secret-token"));
    let hidden = get(&db, &t, id, None).await.unwrap().unwrap();
    assert!(hidden.text.ends_with(&format!("/activate/{LINK_REDACTED}")));
    let shown = get(&db, &t, id, Some(keys())).await.unwrap().unwrap();
    assert!(shown.text.ends_with("/activate/secret-token"));
    assert_eq!(counts(&db, &t).await.unwrap(), [("queued".to_string(), 2)]);
}

#[tokio::test]
async fn a_released_claim_gives_back_only_its_untried_mails() {
    let db = Db::open_sqlite_in_memory().await.unwrap();
    let t = TenantId::new("t").unwrap();
    let mut ids = Vec::new();
    for to in ["a@x.com", "b@x.com", "c@x.com", "d@x.com"] {
        ids.push(enqueue(&db, &mail(to, None)).await.unwrap());
    }
    let now = Utc::now();
    let lease = Duration::from_secs(60);
    let got = claim(&db, now, lease, 3).await.unwrap();
    assert_eq!(got.len(), 3);
    let other = claim(&db, now, lease, 3).await.unwrap();
    assert_eq!(other.iter().map(|c| c.id).collect::<Vec<_>>(), [ids[3]]);
    assert!(mark_sent(&db, &got[0], now).await.unwrap());
    mark_failed(&db, &got[1], "450 busy", false, 8, now)
        .await
        .unwrap();
    // Only the untried mail of this claim: not the sent one, the failed one or another
    // claim's.
    assert_eq!(release_claim(&db, &got[0].claim).await.unwrap(), 1);
    assert_eq!(release_claim(&db, &got[0].claim).await.unwrap(), 0);
    let status = |id| {
        let (db, t) = (&db, &t);
        async move {
            let m = get(db, t, id, None).await.unwrap().unwrap();
            (m.status, m.attempts)
        }
    };
    assert_eq!(status(ids[0]).await, ("sent".to_string(), 1));
    assert_eq!(status(ids[1]).await, ("queued".to_string(), 1));
    assert_eq!(status(ids[2]).await, ("queued".to_string(), 0));
    assert_eq!(status(ids[3]).await, ("sending".to_string(), 1));
    // Due at once, its attempt not counted.
    let again = claim(&db, now, lease, 10).await.unwrap();
    assert_eq!(
        again.iter().map(|c| (c.id, c.attempts)).collect::<Vec<_>>(),
        [(ids[2], 1)]
    );
}

#[test]
fn backoff_doubles_and_caps() {
    assert_eq!(backoff(1), Duration::from_secs(30));
    assert_eq!(backoff(2), Duration::from_secs(60));
    assert_eq!(backoff(50), Duration::from_secs(3600));
    assert!(new_message_id("x <a@b.example>").ends_with("@b.example>"));
    assert!(new_message_id("weird").ends_with("@scim-gateway.invalid>"));
}
