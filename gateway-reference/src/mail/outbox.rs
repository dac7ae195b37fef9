//! The durable outbox: every mail is a row of `gw_mail_outbox` before it is sent.
//!
//! - **Enqueue** in the caller's transaction ([`enqueue_tx`]): the welcome mail commits with
//!   the record of the user's creation, a notification with the condition's state, so a crash
//!   never loses one and a retry of the sync never makes a second.
//! - **Claim** ([`claim`]): due mails (`queued` with `next_attempt_at <= now`, or `sending`
//!   whose lease expired) become `sending` with a lease and a claim id, in one `UPDATE`; on
//!   PostgreSQL the candidate rows are taken `FOR UPDATE SKIP LOCKED`, so several gateway
//!   processes never claim the same mail while its lease holds.
//! - **Send**, then [`mark_sent`] (only while the claim is still ours), or [`mark_failed`]:
//!   back to `queued` with an exponential backoff, or `failed` after the last attempt or a
//!   permanent (5xx) refusal. A failed mail stays visible and can be retried ([`retry`]).
//!
//! Delivery is at least once, not exactly once: SMTP has no idempotent submission, so a
//! process that dies after the server accepted a mail but before [`mark_sent`] committed (or
//! whose lease ran out mid-send) leaves it to be sent again. The window is the few
//! milliseconds between the server's `250` and the commit. Such a resend is the same mail:
//! the same `Message-ID`, `Date`, bodies and welcome link (the token is kept until the mail
//! is marked sent), which mail clients and many servers treat as one message.
//!
//! A welcome link's token is a secret until it reaches the user, so the row keeps it sealed
//! ([`seal_link`]: ChaCha20-Poly1305 with the deployment's key, the key of the CRM
//! credentials, bound to the tenant), never in clear; it is opened only to send the mail
//! ([`Claimed::open`]) or for an administrator's explicit reveal, and dropped once sent.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::templates::Kind;
use super::{MailError, parse_stamp, span, stamp};
use crate::crm::connections::Keys;
use crate::db::{Db, DbError, Dialect, Row, Tx};
use scim_server::TenantId;

/// Where a welcome link's token sits in a stored body until the mail is sent.
pub const LINK_PLACEHOLDER: &str = "__SCIM_GATEWAY_LINK_TOKEN__";
/// What the admin API shows in place of the token.
pub const LINK_REDACTED: &str = "REDACTED";

/// A mail to enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMail {
    /// The tenant it belongs to.
    pub tenant: String,
    /// Which mail.
    pub kind: Kind,
    /// From.
    pub from: String,
    /// To.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// Plain text body (may hold [`LINK_PLACEHOLDER`]).
    pub text: String,
    /// HTML body (may hold [`LINK_PLACEHOLDER`]).
    pub html: String,
    /// The welcome link's token, sealed with [`seal_link`]; opened to replace
    /// [`LINK_PLACEHOLDER`] when sending.
    pub sealed_link: Option<String>,
}

/// The additional data a welcome token is sealed with: the tenant and the purpose, so a
/// sealed token opens only as a link of its own tenant.
fn link_aad(tenant: &str) -> String {
    format!("{tenant}/welcome-link")
}

/// Seals a welcome link's `token` for the tenant's outbox row.
pub fn seal_link(keys: &Keys, tenant: &str, token: &str) -> Result<String, MailError> {
    keys.get()
        .and_then(|k| k.seal(&link_aad(tenant), token.as_bytes()))
        .map_err(MailError::Seal)
}

/// Opens what [`seal_link`] sealed.
pub fn open_link(keys: &Keys, tenant: &str, stored: &str) -> Result<String, MailError> {
    let plain = keys
        .get()
        .and_then(|k| k.open(&link_aad(tenant), stored))
        .map_err(MailError::Seal)?;
    String::from_utf8(plain).map_err(|_| MailError::Invalid("a sealed welcome link".into()))
}

/// A `Message-ID` (RFC 5322 §3.6.4) in the domain of `from`.
pub fn new_message_id(from: &str) -> String {
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>').trim())
        .filter(|d| {
            !d.is_empty()
                && d.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        })
        .unwrap_or("scim-gateway.invalid");
    format!("<{}@{domain}>", uuid::Uuid::new_v4().simple())
}

const INSERT: &str = "INSERT INTO gw_mail_outbox (tenant, kind, status, message_id, from_addr, \
     to_addr, subject, text_body, html_body, link_token, created_at, attempts, next_attempt_at) \
     VALUES ($1, $2, 'queued', $3, $4, $5, $6, $7, $8, $9, $10, 0, $10) RETURNING id";

fn insert_params(m: &NewMail, at: DateTime<Utc>) -> Vec<crate::db::Value> {
    vec![
        m.tenant.as_str().into(),
        m.kind.as_str().into(),
        new_message_id(&m.from).into(),
        m.from.as_str().into(),
        m.to.as_str().into(),
        m.subject.as_str().into(),
        m.text.as_str().into(),
        m.html.as_str().into(),
        m.sealed_link.as_deref().into(),
        stamp(at).into(),
    ]
}

/// Enqueues `mail` in the transaction `tx` (it is sent only if `tx` commits); returns its id.
pub async fn enqueue_tx(tx: &mut Tx, mail: &NewMail) -> Result<i64, DbError> {
    let row = tx
        .query_opt(INSERT, &insert_params(mail, Utc::now()))
        .await?;
    row.ok_or_else(|| DbError::Decode("INSERT ... RETURNING gave no row".into()))?
        .int(0)
}

/// Enqueues `mail` on its own.
pub async fn enqueue(db: &Db, mail: &NewMail) -> Result<i64, DbError> {
    let row = db
        .query_opt(INSERT, &insert_params(mail, Utc::now()))
        .await?;
    row.ok_or_else(|| DbError::Decode("INSERT ... RETURNING gave no row".into()))?
        .int(0)
}

/// A mail claimed for sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// Its id.
    pub id: i64,
    /// The claim id (only its holder may mark it sent or failed).
    pub claim: String,
    /// Attempts including this one.
    pub attempts: i64,
    /// Until when the claim is ours.
    pub lease_until: DateTime<Utc>,
    /// The tenant.
    pub tenant: String,
    /// The mail, a welcome link's token still as [`LINK_PLACEHOLDER`] (see
    /// [`Claimed::open`]).
    pub mail: super::smtp::OutgoingMail,
    /// The welcome link's sealed token.
    pub sealed_link: Option<String>,
}

impl Claimed {
    /// The mail as it goes out: the welcome link's token opened with `keys` and filled in.
    pub fn open(&self, keys: &Keys) -> Result<super::smtp::OutgoingMail, MailError> {
        let mut mail = self.mail.clone();
        if let Some(sealed) = &self.sealed_link {
            let token = open_link(keys, &self.tenant, sealed)?;
            mail.text = mail.text.replace(LINK_PLACEHOLDER, &token);
            mail.html = mail.html.replace(LINK_PLACEHOLDER, &token);
        }
        Ok(mail)
    }
}

const CLAIM: &str = "UPDATE gw_mail_outbox SET status = 'sending', claim = $3, lease_until = $2, \
     attempts = attempts + 1 WHERE ((status = 'queued' AND next_attempt_at <= $1) \
     OR (status = 'sending' AND lease_until <= $1)) AND id IN (SELECT id FROM gw_mail_outbox \
     WHERE (status = 'queued' AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until <= $1) \
     ORDER BY id LIMIT $4{lock}) RETURNING id, attempts, message_id, created_at, from_addr, \
     to_addr, subject, text_body, html_body, link_token, tenant";

fn claimed_from_row(r: &Row, claim: &str, lease_until: DateTime<Utc>) -> Result<Claimed, DbError> {
    let created = r.text(3)?;
    let date = parse_stamp(&created)
        .map(std::time::SystemTime::from)
        .ok_or_else(|| DbError::Decode(format!("outbox created_at {created:?}")))?;
    Ok(Claimed {
        id: r.int(0)?,
        claim: claim.to_string(),
        attempts: r.int(1)?,
        lease_until,
        tenant: r.text(10)?,
        sealed_link: r.opt_text(9)?,
        mail: super::smtp::OutgoingMail {
            message_id: r.text(2)?,
            date,
            from: r.text(4)?,
            to: r.text(5)?,
            subject: r.text(6)?,
            text: r.text(7)?,
            html: r.text(8)?,
        },
    })
}

/// Claims up to `limit` due mails for `lease`.
pub async fn claim(
    db: &Db,
    now: DateTime<Utc>,
    lease: Duration,
    limit: usize,
) -> Result<Vec<Claimed>, DbError> {
    let lock = match db.dialect() {
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    let claim_id = uuid::Uuid::new_v4().simple().to_string();
    let rows = db
        .query(
            &CLAIM.replace("{lock}", lock),
            &[
                stamp(now).into(),
                stamp(now + span(lease)).into(),
                claim_id.as_str().into(),
                i64::try_from(limit).unwrap_or(i64::MAX).into(),
            ],
        )
        .await?;
    let mut out = rows
        .iter()
        .map(|r| claimed_from_row(r, &claim_id, now + span(lease)))
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|c| c.id);
    Ok(out)
}

/// Marks a claimed mail sent and forgets its welcome token; `false` when the claim was lost
/// (its lease ran out and another worker took it).
pub async fn mark_sent(db: &Db, c: &Claimed, now: DateTime<Utc>) -> Result<bool, DbError> {
    Ok(db
        .execute(
            "UPDATE gw_mail_outbox SET status = 'sent', sent_at = $3, claim = NULL, \
             lease_until = NULL, link_token = NULL, last_error = NULL \
             WHERE id = $1 AND claim = $2",
            &[c.id.into(), c.claim.as_str().into(), stamp(now).into()],
        )
        .await?
        == 1)
}

/// Gives back every mail of the `claim` (a [`Claimed::claim`]) still `sending` (the ones not tried yet):
/// `queued`, due at once, their attempt not counted (the worker had no time left in its
/// lease to try them, or stopped after the SMTP server failed). Returns how many; a mail
/// already marked sent or failed, or whose claim was lost, is left alone.
pub async fn release_claim(db: &Db, claim: &str) -> Result<u64, DbError> {
    db.execute(
        "UPDATE gw_mail_outbox SET status = 'queued', attempts = attempts - 1, \
         claim = NULL, lease_until = NULL WHERE claim = $1 AND status = 'sending'",
        &[claim.into()],
    )
    .await
}

/// The wait before attempt `attempts + 1`: 30 s doubling, at most one hour.
pub fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 8) - 1).unwrap_or(7);
    Duration::from_secs((30_u64 << exp).min(3600))
}

/// Records a failed attempt: `queued` again after [`backoff`], or `failed` when `permanent`
/// or after `max_attempts`. Returns the new status.
pub async fn mark_failed(
    db: &Db,
    c: &Claimed,
    error: &str,
    permanent: bool,
    max_attempts: i64,
    now: DateTime<Utc>,
) -> Result<&'static str, DbError> {
    let status = if permanent || c.attempts >= max_attempts {
        "failed"
    } else {
        "queued"
    };
    db.execute(
        "UPDATE gw_mail_outbox SET status = $3, next_attempt_at = $4, last_error = $5, \
         claim = NULL, lease_until = NULL WHERE id = $1 AND claim = $2",
        &[
            c.id.into(),
            c.claim.as_str().into(),
            status.into(),
            stamp(now + span(backoff(c.attempts))).into(),
            error.into(),
        ],
    )
    .await?;
    Ok(status)
}

/// Puts a `failed` mail of the tenant back in the queue, due now, with its attempts reset;
/// `false` when there is no failed mail with this id.
pub async fn retry(db: &Db, tenant: &TenantId, id: i64) -> Result<bool, DbError> {
    Ok(requeue(db, tenant.as_str(), id).await?.is_some())
}

/// [`retry`] by id alone, for the operator's command line: the tenant of the failed mail,
/// or `None` when there is no failed mail with this id.
pub async fn retry_any(db: &Db, id: i64) -> Result<Option<String>, DbError> {
    requeue(db, "", id).await
}

/// Requeues the failed mail `id` (of `tenant`, or of any tenant when `tenant` is empty);
/// its tenant, or `None` when there is no such failed mail.
async fn requeue(db: &Db, tenant: &str, id: i64) -> Result<Option<String>, DbError> {
    let row = db
        .query_opt(
            "UPDATE gw_mail_outbox SET status = 'queued', attempts = 0, next_attempt_at = $2 \
             WHERE id = $1 AND status = 'failed' AND ($3 = '' OR tenant = $3) RETURNING tenant",
            &[id.into(), crate::db::now().into(), tenant.into()],
        )
        .await?;
    row.map(|r| r.text(0)).transpose()
}

/// One mail as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MailRecord {
    /// Its id.
    pub id: i64,
    /// `welcome`, `notification` or `recovery`.
    pub kind: String,
    /// `queued` (waiting, or no SMTP server configured), `sending`, `sent` or `failed`.
    pub status: String,
    /// The `Message-ID` header.
    pub message_id: String,
    /// From.
    pub from: String,
    /// To.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// The plain text body; a welcome link's token shows as `REDACTED` unless revealed.
    pub text: String,
    /// The HTML body, likewise.
    pub html: String,
    /// When it was enqueued.
    pub created_at: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When it is due next (while `queued`).
    pub next_attempt_at: Option<String>,
    /// The last attempt's error.
    pub last_error: Option<String>,
    /// When it was sent.
    pub sent_at: Option<String>,
}

/// Which mails [`list`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    /// Only this status.
    pub status: Option<String>,
    /// Only this kind.
    pub kind: Option<Kind>,
    /// At most this many, newest first.
    pub limit: u32,
    /// Skip this many.
    pub offset: u32,
}

const COLUMNS: &str = "id, kind, status, message_id, from_addr, to_addr, subject, text_body, \
     html_body, created_at, attempts, next_attempt_at, last_error, sent_at, link_token, tenant";

fn record(r: &Row, reveal: Option<&Keys>) -> Result<MailRecord, DbError> {
    let id = r.int(0)?;
    let shown = match (r.opt_text(14)?, reveal) {
        (Some(sealed), Some(keys)) => open_link(keys, &r.text(15)?, &sealed)
            .map_err(|e| DbError::Decode(format!("the welcome link of mail {id}: {e}")))?,
        _ => LINK_REDACTED.to_string(),
    };
    let status = r.text(2)?;
    Ok(MailRecord {
        id,
        kind: r.text(1)?,
        next_attempt_at: r.opt_text(11)?.filter(|_| status == "queued"),
        status,
        message_id: r.text(3)?,
        from: r.text(4)?,
        to: r.text(5)?,
        subject: r.text(6)?,
        text: r.text(7)?.replace(LINK_PLACEHOLDER, &shown),
        html: r.text(8)?.replace(LINK_PLACEHOLDER, &shown),
        created_at: r.text(9)?,
        attempts: r.int(10)?,
        last_error: r.opt_text(12)?,
        sent_at: r.opt_text(13)?,
    })
}

/// The tenant's mails matching `q`, newest first, welcome links redacted.
pub async fn list(db: &Db, tenant: &TenantId, q: &ListQuery) -> Result<Vec<MailRecord>, DbError> {
    let rows = db
        .query(
            &format!(
                "SELECT {COLUMNS} FROM gw_mail_outbox WHERE tenant = $1 \
                 AND ($2 = '' OR status = $2) AND ($3 = '' OR kind = $3) \
                 ORDER BY id DESC LIMIT $4 OFFSET $5"
            ),
            &[
                tenant.as_str().into(),
                q.status.clone().unwrap_or_default().into(),
                q.kind.map_or("", Kind::as_str).into(),
                i64::from(q.limit).into(),
                i64::from(q.offset).into(),
            ],
        )
        .await?;
    rows.iter().map(|r| record(r, None)).collect()
}

/// One mail of the tenant; with `reveal` (the deployment's key), an unsent welcome mail
/// shows its usable link.
pub async fn get(
    db: &Db,
    tenant: &TenantId,
    id: i64,
    reveal: Option<&Keys>,
) -> Result<Option<MailRecord>, DbError> {
    db.query_opt(
        &format!("SELECT {COLUMNS} FROM gw_mail_outbox WHERE tenant = $1 AND id = $2"),
        &[tenant.as_str().into(), id.into()],
    )
    .await?
    .map(|r| record(&r, reveal))
    .transpose()
}

/// The number of the tenant's mails per status.
pub async fn counts(db: &Db, tenant: &TenantId) -> Result<Vec<(String, i64)>, DbError> {
    db.query(
        "SELECT status, CAST(COUNT(*) AS BIGINT) FROM gw_mail_outbox WHERE tenant = $1 \
         GROUP BY status ORDER BY status",
        &[tenant.as_str().into()],
    )
    .await?
    .iter()
    .map(|r| Ok((r.text(0)?, r.int(1)?)))
    .collect()
}

#[cfg(test)]
#[path = "outbox_tests.rs"]
mod tests;
