//! The mail worker: on every tick it escalates notification conditions ([`notify::tick`])
//! and, with an SMTP server configured, claims due mails from the outbox, sends them and
//! records the outcome. Without SMTP the mails stay `queued` (the admin API lists them) and
//! go out once the gateway runs with an SMTP server.

use std::time::Duration;

use chrono::Utc;

use super::outbox::{self, Claimed};
use super::smtp::Smtp;
use super::{MailConfig, MailError, notify};
use crate::db::Db;

/// How long a claimed mail is ours before another worker may take it (a sending attempt
/// times out well before).
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
}

async fn send_one(
    db: &Db,
    smtp: &Smtp,
    config: &MailConfig,
    c: &Claimed,
    report: &mut Delivery,
) -> Result<(), MailError> {
    match smtp.send(&c.mail).await {
        Ok(()) => {
            if !outbox::mark_sent(db, c, Utc::now()).await? {
                tracing::warn!(mail = c.id, "mail sent after its lease ran out");
            }
            report.sent += 1;
        }
        Err(e) => {
            let permanent = matches!(
                e,
                MailError::Smtp {
                    permanent: true,
                    ..
                }
            ) || matches!(e, MailError::Invalid(_));
            let status = outbox::mark_failed(
                db,
                c,
                &e.to_string(),
                permanent,
                config.max_attempts,
                Utc::now(),
            )
            .await?;
            tracing::warn!(mail = c.id, attempts = c.attempts, status, error = %e, "mail not sent");
            if status == "failed" {
                report.failed += 1;
            } else {
                report.retried += 1;
            }
        }
    }
    Ok(())
}

/// Claims the due mails (with `lease`) and sends them, until none is due.
pub async fn deliver_due(
    db: &Db,
    smtp: &Smtp,
    config: &MailConfig,
    lease: Duration,
) -> Result<Delivery, MailError> {
    let mut report = Delivery::default();
    loop {
        let batch = outbox::claim(db, Utc::now(), lease, BATCH).await?;
        let n = batch.len();
        for c in &batch {
            send_one(db, smtp, config, c, &mut report).await?;
        }
        if n < BATCH {
            return Ok(report);
        }
    }
}

/// Runs until `shutdown` resolves: every `poll`, [`notify::tick`], then (with SMTP)
/// [`deliver_due`].
pub async fn run(
    db: Db,
    config: MailConfig,
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
            && let Err(e) = deliver_due(&db, smtp, &config, LEASE).await
        {
            tracing::warn!(error = %e, "mail delivery failed");
        }
        tokio::select! {
            () = &mut shutdown => return,
            () = tokio::time::sleep(poll) => {}
        }
    }
}
