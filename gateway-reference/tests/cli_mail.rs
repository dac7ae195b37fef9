//! The mail outbox commands of the real binary: `mail outbox list` (every tenant or one, by
//! status, as a table or JSON, welcome links masked) and `mail outbox retry` (a failed mail
//! back into the queue; anything else refused with exit code 1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::cli_status_in;
use std::time::Duration;

use chrono::Utc;
use gateway_reference::db::Db;
use gateway_reference::mail::outbox::{self, LINK_PLACEHOLDER, NewMail};
use gateway_reference::mail::templates::Kind;
use serde_json::Value;

fn mail(tenant: &str, subject: &str, sealed_link: Option<&str>) -> NewMail {
    NewMail {
        tenant: tenant.into(),
        kind: if sealed_link.is_some() {
            Kind::Welcome
        } else {
            Kind::Notification
        },
        from: "it@contoso.com".into(),
        to: "ops@contoso.com".into(),
        subject: subject.into(),
        text: format!("go to http://gw/activate/{LINK_PLACEHOLDER}"),
        html: "<p>html</p>".into(),
        sealed_link: sealed_link.map(str::to_string),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_outbox_list_and_retry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for t in ["acme", "globex"] {
        let (ok, _, err) = cli_status_in(&data, &["tenant", "create", t, "--json"]).await;
        assert!(ok, "{err}");
    }
    // Three mails: one of acme fails for good, one of acme waits, one of globex waits.
    let (failed, queued, other) = {
        let db = Db::open_sqlite(&data.join("gateway.db")).await.unwrap();
        let failed = outbox::enqueue(&db, &mail("acme", "refused", None))
            .await
            .unwrap();
        let queued = outbox::enqueue(&db, &mail("acme", "welcome", Some("v1:sealed")))
            .await
            .unwrap();
        let other = outbox::enqueue(&db, &mail("globex", "globex mail", None))
            .await
            .unwrap();
        let c = outbox::claim(&db, Utc::now(), Duration::from_secs(60), 1)
            .await
            .unwrap();
        assert_eq!(c[0].id, failed);
        outbox::mark_failed(&db, &c[0], "550 mailbox unknown", true, 8, Utc::now())
            .await
            .unwrap();
        (failed, queued, other)
    };

    // Every tenant, as a table.
    let (ok, out, err) = cli_status_in(&data, &["mail", "outbox", "list"]).await;
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].starts_with("ID\tTENANT\tKIND\tSTATUS"), "{out}");
    assert!(
        out.contains(&format!(
            "{failed}\tacme\tnotification\tfailed\t1\tops@contoso.com\trefused\t"
        )),
        "{out}"
    );
    assert!(out.contains("550 mailbox unknown"), "{out}");
    assert!(out.contains(&format!("{other}\tglobex\t")), "{out}");

    // One tenant and one status, as JSON; the welcome link masked.
    let (ok, out, err) = cli_status_in(
        &data,
        &["mail", "outbox", "list", "--tenant", "acme", "--json"],
    )
    .await;
    assert!(ok, "{err}");
    let all: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(all.len(), 2, "{out}");
    assert_eq!(all[0]["id"], queued);
    assert_eq!(all[0]["tenant"], "acme");
    assert_eq!(all[0]["text"], "go to http://gw/activate/REDACTED");
    let (ok, out, err) = cli_status_in(
        &data,
        &[
            "mail", "outbox", "list", "--tenant", "acme", "--status", "failed", "--json",
        ],
    )
    .await;
    assert!(ok, "{err}");
    let failed_list: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(failed_list.len(), 1, "{out}");
    assert_eq!(failed_list[0]["id"], failed);
    assert_eq!(failed_list[0]["lastError"], "550 mailbox unknown");
    let (ok, _, err) =
        cli_status_in(&data, &["mail", "outbox", "list", "--tenant", "nobody"]).await;
    assert!(!ok);
    assert!(!err.is_empty());

    // Retry: the failed mail is queued again, due now, its attempts reset; only once.
    let id = failed.to_string();
    let (ok, out, err) = cli_status_in(&data, &["mail", "outbox", "retry", &id]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("mail {failed} of acme queued again")),
        "{out}"
    );
    let (ok, out, _) = cli_status_in(
        &data,
        &[
            "mail", "outbox", "list", "--tenant", "acme", "--status", "queued", "--json",
        ],
    )
    .await;
    assert!(ok);
    let now_queued: Vec<Value> = serde_json::from_str(&out).unwrap();
    let retried = now_queued.iter().find(|m| m["id"] == failed).unwrap();
    assert_eq!(retried["attempts"], 0);
    let (ok, _, err) = cli_status_in(&data, &["mail", "outbox", "retry", &id]).await;
    assert!(!ok, "a queued mail is not retried");
    assert!(err.contains(&format!("no failed mail {failed}")), "{err}");
    let (ok, _, err) =
        cli_status_in(&data, &["mail", "outbox", "retry", &queued.to_string()]).await;
    assert!(!ok, "{err}");
    let (ok, _, _) = cli_status_in(&data, &["mail", "outbox", "retry", "999999"]).await;
    assert!(!ok);
}
