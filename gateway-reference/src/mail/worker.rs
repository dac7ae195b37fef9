//! The mail worker: on every tick it escalates notification conditions ([`notify::tick`])
//! and, with an SMTP server configured, claims due mails from the outbox, sends them and
//! records the outcome. Without SMTP the mails stay `queued` (the admin API lists them) and
//! go out once the gateway runs with an SMTP server.
//!
//! A welcome mail's token is opened with the deployment's key only for the send. An SMTP
//! server that does not answer (or stops mid-transfer) costs one `[smtp] timeout_seconds`
//! per attempt: the attempt fails, the mail is queued again with a backoff, under the same
//! `Message-ID`.

use std::time::Duration;

use chrono::Utc;

use super::outbox::{self, Claimed};
use super::smtp::Smtp;
use super::{MailConfig, MailContext, MailError, notify};
use crate::crm::connections::Keys;
use crate::db::Db;

/// How long a claimed mail is ours before another worker may take it, at least (a sending
/// attempt times out well before; see [`lease_for`]).
pub const LEASE: Duration = Duration::from_secs(120);
/// Mails claimed at once.
pub const BATCH: usize = 20;

/// What one [`deliver_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Sent.
    pub sent: usize,
    /// Failed and queued again.
    pub retried: usize,
    /// Failed for good.
    pub failed: usize,
    /// Claimed but given back untried (the SMTP server just failed, or too little of the
    /// lease was left): due again at once, their attempts not counted.
    pub deferred: usize,
}

/// The lease [`run`] claims with: [`LEASE`], or more for a long SMTP timeout, so that a
/// claimed mail is always tried well within its lease.
pub fn lease_for(smtp: &Smtp) -> Duration {
    LEASE.max(smtp.timeout().saturating_mul(4))
}

/// Whether a mail whose lease ends at `until` may still be tried: the attempt (bounded by
/// the SMTP timeout) must end before another worker may take the mail, or both would send it.
fn time_left(until: chrono::DateTime<Utc>, smtp: &Smtp) -> bool {
    let margin = super::span(smtp.timeout() + Duration::from_secs(2));
    Utc::now() + margin < until
}

/// The SMTP server, the deployment's mail settings and its key: what sending needs.
#[derive(Debug, Clone, Copy)]
pub struct Sender<'a> {
    /// The SMTP transport.
    pub smtp: &'a Smtp,
    /// The mail settings (attempts) and the deployment's key (opens the welcome links).
    pub mail: MailContext<'a>,
}

/// Sends one claimed mail and records the outcome; `false` after a transient SMTP failure
/// (the server is down, refuses for now or does not answer).
async fn send_one(
    db: &Db,
    s: Sender<'_>,
    c: &Claimed,
    report: &mut Delivery,
) -> Result<bool, MailError> {
    let sent = match c.open(s.mail.keys) {
        Ok(mail) => s.smtp.send(&mail).await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(()) => {
            if !outbox::mark_sent(db, c, Utc::now()).await? {
                tracing::warn!(mail = c.id, "mail sent after its lease ran out");
            }
            report.sent += 1;
            Ok(true)
        }
        Err(e) => {
            let permanent = matches!(
                e,
                MailError::Smtp {
                    permanent: true,
                    ..
                }
            ) || matches!(e, MailError::Invalid(_) | MailError::Seal(_));
            let status = outbox::mark_failed(
                db,
                c,
                &e.to_string(),
                permanent,
                s.mail.config.max_attempts,
                Utc::now(),
            )
            .await?;
            tracing::warn!(mail = c.id, attempts = c.attempts, status, error = %e, "mail not sent");
            if status == "failed" {
                report.failed += 1;
            } else {
                report.retried += 1;
            }
            Ok(permanent)
        }
    }
}

/// Claims the due mails (with `lease`) and sends them one after the other, until none is
/// due. After a transient SMTP failure the rest of the batch is given back untried
/// ([`outbox::release_claim`]) and the round ends: the next round tries again, without one
/// timeout per queued mail against a server that is down. A mail whose lease is too short
/// for one more attempt is given back as well, so it is never sent by two workers.
pub async fn deliver_due(db: &Db, s: Sender<'_>, lease: Duration) -> Result<Delivery, MailError> {
    let mut report = Delivery::default();
    loop {
        let batch = outbox::claim(db, Utc::now(), lease, BATCH).await?;
        for c in &batch {
            if !time_left(c.lease_until, s.smtp) || !send_one(db, s, c, &mut report).await? {
                let released = outbox::release_claim(db, &c.claim).await?;
                report.deferred += usize::try_from(released).unwrap_or(usize::MAX);
                return Ok(report);
            }
        }
        if batch.len() < BATCH {
            return Ok(report);
        }
    }
}

/// Runs until `shutdown` resolves: every `poll`, [`notify::tick`], then (with SMTP)
/// [`deliver_due`].
pub async fn run(
    db: Db,
    config: MailConfig,
    keys: std::sync::Arc<Keys>,
    poll: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let smtp = match config.smtp.as_ref().map(Smtp::new).transpose() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "SMTP is misconfigured: mails stay in the outbox");
            None
        }
    };
    tokio::pin!(shutdown);
    loop {
        if let Err(e) = notify::tick(&db, &config, Utc::now()).await {
            tracing::warn!(error = %e, "notifications: tick failed");
        }
        if let Some(smtp) = &smtp
            && let Err(e) = deliver_due(
                &db,
                Sender {
                    smtp,
                    mail: MailContext {
                        config: &config,
                        keys: &keys,
                    },
                },
                lease_for(smtp),
            )
            .await
        {
            tracing::warn!(error = %e, "mail delivery failed");
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(poll) => {}
        }
    }
}
