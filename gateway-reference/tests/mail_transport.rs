//! The SMTP transport against real servers on loopback: implicit TLS ("SMTPS", RFC 8314
//! §3.3) and required STARTTLS (RFC 3207) with a certificate of a private CA named by
//! `[smtp] ca_file` (aiosmtpd, see `tests/smtp`), a certificate of another CA refused (the
//! mail stays queued with the error), and servers that stall: one that accepts and never
//! answers, one that stops answering in the middle of DATA (plain tokio listeners). A
//! stalled attempt ends after `[smtp] timeout_seconds`; the mail is sent later, once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod smtp;

use std::path::PathBuf;
use std::time::Duration;

use gateway_reference::crm::connections::Keys;
use gateway_reference::db::Db;
use gateway_reference::mail::outbox::{self, NewMail};
use gateway_reference::mail::smtp::{Smtp, SmtpConfig, TlsMode};
use gateway_reference::mail::templates::Kind;
use gateway_reference::mail::{MailConfig, MailContext, worker};
use scim_server::TenantId;
use smtp::{Options, SmtpServer};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn smtp_config(port: u16, tls: TlsMode, ca_file: Option<PathBuf>) -> SmtpConfig {
    SmtpConfig {
        host: "127.0.0.1".into(),
        port,
        tls,
        username: None,
        password: None,
        ca_file,
        timeout: Duration::from_secs(10),
    }
}

fn notification(subject: &str) -> NewMail {
    NewMail {
        tenant: "contoso".into(),
        kind: Kind::Notification,
        from: "Contoso IT <it@contoso.com>".into(),
        to: "ops@contoso.com".into(),
        subject: subject.into(),
        text: "plain".into(),
        html: "<p>html</p>".into(),
        sealed_link: None,
    }
}

/// Delivers what is due with `cfg`, claiming with `lease`, within 30 s (a hang fails the
/// test instead of stalling it).
async fn deliver(db: &Db, cfg: &SmtpConfig, lease: Duration) -> worker::Delivery {
    let keys = Keys::random();
    let mail = MailConfig {
        smtp: Some(cfg.clone()),
        ..MailConfig::default()
    };
    let smtp = Smtp::new(cfg).unwrap();
    let sender = worker::Sender {
        smtp: &smtp,
        mail: MailContext {
            config: &mail,
            keys: &keys,
        },
    };
    tokio::time::timeout(
        Duration::from_secs(30),
        worker::deliver_due(db, sender, lease),
    )
    .await
    .expect("the delivery hung")
    .unwrap()
}

async fn make_due(db: &Db) {
    db.execute(
        "UPDATE gw_mail_outbox SET next_attempt_at = $1 WHERE status = 'queued'",
        &[gateway_reference::db::now().into()],
    )
    .await
    .unwrap();
}

fn tenant() -> TenantId {
    TenantId::new("contoso").unwrap()
}

/// One TLS mode against a server with a certificate of a private CA: refused while the
/// configured CA is another one (queued, the error recorded), delivered once with the right
/// CA, over TLS.
async fn private_ca(mode: TlsMode) {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = smtp::certificates(certs.path());
    let other = tempfile::tempdir().unwrap();
    let (other_ca, _, _) = smtp::certificates(other.path());
    let inbox = tempfile::tempdir().unwrap();
    let options = match mode {
        TlsMode::Tls => Options {
            tls: Some((cert, key)),
            ..Options::default()
        },
        _ => Options {
            starttls: Some((cert, key)),
            ..Options::default()
        },
    };
    let Some(server) = SmtpServer::start(inbox.path(), options).await else {
        return;
    };
    let db = Db::open_sqlite_in_memory().await.unwrap();
    let id = outbox::enqueue(&db, &notification("private CA"))
        .await
        .unwrap();

    // Neither the system's roots nor another CA vouch for the server: refused, kept.
    for wrong in [None, Some(other_ca)] {
        make_due(&db).await;
        let r = deliver(&db, &smtp_config(server.port, mode, wrong), worker::LEASE).await;
        assert_eq!((r.sent, r.retried, r.failed), (0, 1, 0), "{mode:?}");
        let m = outbox::get(&db, &tenant(), id, None)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(m.status, "queued");
        let error = m.last_error.unwrap().to_lowercase();
        assert!(error.contains("certificate"), "{mode:?}: {error}");
    }
    assert!(server.messages().is_empty());

    // The CA that signed it: delivered once, over TLS.
    make_due(&db).await;
    let right = smtp_config(server.port, mode, Some(ca));
    let r = deliver(&db, &right, worker::LEASE).await;
    assert_eq!((r.sent, r.retried), (1, 0), "{mode:?}");
    assert_eq!(deliver(&db, &right, worker::LEASE).await.sent, 0);
    let got = server.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["tls"], true);
    assert_eq!(got[0]["headers"]["subject"], "private CA");
    let m = outbox::get(&db, &tenant(), id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m.status.as_str(), m.attempts), ("sent", 3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_with_a_private_ca() {
    private_ca(TlsMode::Tls).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_starttls_with_a_private_ca() {
    private_ca(TlsMode::Starttls).await;
}

/// A listener that accepts and never says a word (it keeps the connections open).
async fn silent_server() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    port
}

/// A server that speaks SMTP until the end of DATA, then never answers; it reports every
/// message it read to the end on `seen`.
async fn stalls_after_data(seen: tokio::sync::mpsc::UnboundedSender<String>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut lines = BufReader::new(r).lines();
                w.write_all(b"220 stall.test ESMTP\r\n").await.unwrap();
                let mut data = None::<String>;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            let _ = seen.send(std::mem::take(body));
                            // ... and no "250": the client waits.
                            std::future::pending::<()>().await;
                        }
                        body.push_str(&line);
                        body.push('\n');
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" => b"250-stall.test\r\n250 8BITMIME\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => b"221 bye\r\n",
                        _ => b"250 ok\r\n",
                    };
                    w.write_all(reply).await.unwrap();
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_server_times_out_and_the_mail_goes_out_later_once() {
    let db = Db::open_sqlite_in_memory().await.unwrap();
    let first = outbox::enqueue(&db, &notification("first")).await.unwrap();
    let second = outbox::enqueue(&db, &notification("second")).await.unwrap();

    // Accepts, never answers: the attempt ends after the timeout; the first mail is queued
    // again with the error, the second is given back untried (no timeout per queued mail).
    let mut silent = smtp_config(silent_server().await, TlsMode::None, None);
    silent.timeout = Duration::from_secs(1);
    let r = deliver(&db, &silent, worker::LEASE).await;
    assert_eq!((r.sent, r.retried, r.failed, r.deferred), (0, 1, 0, 1));
    let m1 = outbox::get(&db, &tenant(), first, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m1.status.as_str(), m1.attempts), ("queued", 1));
    assert!(
        m1.last_error.as_deref().unwrap().contains("within 1 s"),
        "{:?}",
        m1.last_error
    );
    assert!(m1.next_attempt_at.unwrap() > gateway_reference::db::now());
    let m2 = outbox::get(&db, &tenant(), second, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m2.status.as_str(), m2.attempts), ("queued", 0));
    // Also over implicit TLS (the handshake never starts).
    let mut silent_tls = silent.clone();
    silent_tls.tls = TlsMode::Tls;
    let r = deliver(&db, &silent_tls, worker::LEASE).await;
    assert_eq!(
        (r.sent, r.retried, r.deferred),
        (0, 1, 0),
        "the second mail"
    );

    // Stops answering after the message: the same, the server saw the message once.
    let (seen_tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let mut stall = smtp_config(stalls_after_data(seen_tx).await, TlsMode::None, None);
    stall.timeout = Duration::from_secs(1);
    make_due(&db).await;
    let r = deliver(&db, &stall, worker::LEASE).await;
    assert_eq!((r.sent, r.retried, r.deferred), (0, 1, 1));
    let body = seen.try_recv().unwrap();
    assert!(body.contains("Subject: first"), "{body}");
    assert!(seen.try_recv().is_err());

    // A server that answers: both go out, once each, with the Message-IDs they always had.
    let inbox = tempfile::tempdir().unwrap();
    let Some(server) = SmtpServer::start(inbox.path(), Options::default()).await else {
        return;
    };
    make_due(&db).await;
    let good = smtp_config(server.port, TlsMode::None, None);
    let r = deliver(&db, &good, worker::LEASE).await;
    assert_eq!((r.sent, r.retried, r.deferred), (2, 0, 0));
    assert_eq!(deliver(&db, &good, worker::LEASE).await.sent, 0);
    let got = server.messages();
    assert_eq!(got.len(), 2);
    let m1 = outbox::get(&db, &tenant(), first, None)
        .await
        .unwrap()
        .unwrap();
    let m2 = outbox::get(&db, &tenant(), second, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m1.status.as_str(), m1.attempts), ("sent", 3));
    assert_eq!((m2.status.as_str(), m2.attempts), ("sent", 2));
    assert!(
        body.contains(&format!("Message-ID: {}", m1.message_id)),
        "{body}"
    );
    let ids: Vec<_> = got
        .iter()
        .map(|m| m["headers"]["message-id"].clone())
        .collect();
    assert_eq!(
        ids,
        [
            serde_json::Value::from(m1.message_id),
            serde_json::Value::from(m2.message_id)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_without_time_left_for_an_attempt_is_given_back() {
    let db = Db::open_sqlite_in_memory().await.unwrap();
    let id = outbox::enqueue(&db, &notification("late")).await.unwrap();
    // A lease shorter than one attempt may take: never tried (another worker could take the
    // mail mid-send), given back due, its attempt not counted.
    let cfg = smtp_config(silent_server().await, TlsMode::None, None);
    let r = deliver(&db, &cfg, Duration::from_secs(5)).await;
    assert_eq!((r.sent, r.retried, r.deferred), (0, 0, 1));
    let m = outbox::get(&db, &tenant(), id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((m.status.as_str(), m.attempts), ("queued", 0));
    assert_eq!(worker::lease_for(&Smtp::new(&cfg).unwrap()), worker::LEASE);
    let mut slow = cfg.clone();
    slow.timeout = Duration::from_secs(300);
    assert_eq!(
        worker::lease_for(&Smtp::new(&slow).unwrap()),
        Duration::from_secs(1200)
    );
}
