//! Welcome mails: a newly created CRM user (with Send Welcome Email on) gets a mail with a
//! single-use, expiring activation link `{public_url}/activate/{token}`. The token is 32
//! random bytes from the operating system (64 hex digits); the database keeps only its
//! SHA-256 (`gw_welcome_links`) and, until the mail is sent, the outbox row that carries it
//! sealed with the deployment's key ([`outbox::seal_link`]): nothing in the database opens
//! an account without that key.
//! A link is consumed with one conditional `UPDATE`, so it works once even when two requests
//! race.

use chrono::{DateTime, Utc};
use scim_server::auth::TokenHash;

use super::outbox::{self, LINK_PLACEHOLDER, NewMail};
use super::templates::{self, Kind, Vars};
use super::{MailContext, MailError, recipient, span, stamp};
use crate::db::{Db, DbError, Tx};
use scim_server::TenantId;

/// A new random token, made like the SCIM and admin tokens
/// ([`crate::tenants::generate_token`]): 64 lower-case hex digits.
pub fn new_token() -> Result<String, MailError> {
    Ok(crate::tenants::generate_token())
}

/// The stored form of a token: its SHA-256 in hex, as for the SCIM and admin tokens.
pub fn hash_token(token: &str) -> String {
    TokenHash::of(token).to_hex()
}

/// The CRM user a welcome mail is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser<'a> {
    /// The SCIM user id.
    pub user_id: &'a str,
    /// The CRM's id of the user.
    pub associate_id: i64,
    /// The login.
    pub user_name: &'a str,
    /// First name.
    pub first_name: &'a str,
    /// Last name.
    pub last_name: &'a str,
    /// The person's email.
    pub email: Option<&'a str>,
}

/// Creates the user's link and enqueues the welcome mail in `tx`, its token sealed with
/// the deployment's key (`mail.keys`); `None` when the user has no address to mail (neither an email nor a user name
/// that is one).
pub async fn enqueue_tx(
    tx: &mut Tx,
    mail: MailContext<'_>,
    tenant: &TenantId,
    user: &NewUser<'_>,
) -> Result<Option<i64>, MailError> {
    let MailContext { config, keys } = mail;
    let Some(to) = recipient(user.email, user.user_name) else {
        return Ok(None);
    };
    let token = new_token()?;
    let sealed = outbox::seal_link(keys, tenant.as_str(), &token)?;
    let now = Utc::now();
    let expires = now + span(config.link_ttl);
    tx.execute(
        "INSERT INTO gw_welcome_links (token_hash, tenant, user_id, associate_id, user_name, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            hash_token(&token).into(),
            tenant.as_str().into(),
            user.user_id.into(),
            user.associate_id.into(),
            user.user_name.into(),
            stamp(now).into(),
            stamp(expires).into(),
        ],
    )
    .await?;
    let t = templates::load_tx(tx, tenant).await?;
    let name = format!("{} {}", user.first_name, user.last_name);
    let vars = Vars::new()
        .set("name", name.trim())
        .set("username", user.user_name)
        .set("tenant", tenant.as_str())
        .set("expires", expires.format("%Y-%m-%d %H:%M UTC").to_string())
        .set(
            "link",
            format!(
                "{}/activate/{LINK_PLACEHOLDER}",
                config.public_url.trim_end_matches('/')
            ),
        );
    let rendered = t.render(Kind::Welcome, &vars)?;
    let id = outbox::enqueue_tx(
        tx,
        &NewMail {
            tenant: tenant.as_str().to_string(),
            kind: Kind::Welcome,
            from: t
                .from
                .clone()
                .unwrap_or_else(|| config.default_from.clone()),
            to,
            subject: rendered.subject,
            text: rendered.text,
            html: rendered.html,
            sealed_link: Some(sealed),
        },
    )
    .await?;
    Ok(Some(id))
}

/// A welcome link, as found by its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The tenant.
    pub tenant: TenantId,
    /// The SCIM user id.
    pub user_id: String,
    /// The CRM user.
    pub associate_id: i64,
    /// The login.
    pub user_name: String,
    /// When it expires.
    pub expires_at: String,
}

/// What a token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// A link that may still be used.
    Valid(Link),
    /// Used already (at this time).
    Used(String),
    /// Expired (at this time).
    Expired(String),
    /// No such link.
    Unknown,
}

/// The state of the link of `token` at `now`.
pub async fn lookup(db: &Db, token: &str, now: DateTime<Utc>) -> Result<LinkState, DbError> {
    let Some(r) = db
        .query_opt(
            "SELECT tenant, user_id, associate_id, user_name, expires_at, used_at \
             FROM gw_welcome_links WHERE token_hash = $1",
            &[hash_token(token).into()],
        )
        .await?
    else {
        return Ok(LinkState::Unknown);
    };
    let expires_at = r.text(4)?;
    if let Some(used) = r.opt_text(5)? {
        return Ok(LinkState::Used(used));
    }
    if expires_at <= stamp(now) {
        return Ok(LinkState::Expired(expires_at));
    }
    let Some(tenant) = TenantId::new(&r.text(0)?) else {
        return Ok(LinkState::Unknown);
    };
    Ok(LinkState::Valid(Link {
        tenant,
        user_id: r.text(1)?,
        associate_id: r.int(2)?,
        user_name: r.text(3)?,
        expires_at,
    }))
}

/// Uses the link of `token` at `now`: `Some(used_at)` for exactly one caller while it is
/// valid; `None` when it is unknown, used or expired.
pub async fn consume(db: &Db, token: &str, now: DateTime<Utc>) -> Result<Option<String>, DbError> {
    let at = stamp(now);
    let n = db
        .execute(
            "UPDATE gw_welcome_links SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
            &[hash_token(token).into(), at.as_str().into()],
        )
        .await?;
    Ok((n == 1).then_some(at))
}

/// Gives a consumed link back (the activation failed after it was consumed, e.g. the CRM was
/// unreachable), so the user can try again.
pub async fn release(db: &Db, token: &str, used_at: &str) -> Result<(), DbError> {
    db.execute(
        "UPDATE gw_welcome_links SET used_at = NULL WHERE token_hash = $1 AND used_at = $2",
        &[hash_token(token).into(), used_at.into()],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::connections::Keys;
    use crate::mail::MailConfig;

    #[test]
    fn tokens_are_random_hex_and_hashed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[tokio::test]
    async fn a_link_is_used_once_and_expires() {
        let db = Db::open_sqlite_in_memory().await.unwrap();
        let t = TenantId::new("t").unwrap();
        let config = MailConfig::default();
        let keys = Keys::random();
        let mail = MailContext {
            config: &config,
            keys: &keys,
        };
        let user = NewUser {
            user_id: "u1",
            associate_id: 7,
            user_name: "ada@contoso.com",
            first_name: "Ada",
            last_name: "Lovelace",
            email: None,
        };
        let mut tx = db.begin().await.unwrap();
        let id = enqueue_tx(&mut tx, mail, &t, &user).await.unwrap();
        tx.commit().await.unwrap();
        assert!(id.is_some());
        let sealed = db
            .query_opt("SELECT link_token FROM gw_mail_outbox", &[])
            .await
            .unwrap()
            .unwrap()
            .text(0)
            .unwrap();
        // Sealed at rest, bound to its tenant.
        assert!(sealed.starts_with("v1:"), "{sealed}");
        let token = outbox::open_link(&keys, "t", &sealed).unwrap();
        assert_eq!(token.len(), 64);
        assert!(!sealed.contains(&token));
        assert!(outbox::open_link(&keys, "other", &sealed).is_err());
        // Only the hash is in the links table.
        let stored = db
            .query_opt("SELECT token_hash FROM gw_welcome_links", &[])
            .await
            .unwrap()
            .unwrap()
            .text(0)
            .unwrap();
        assert_eq!(stored, hash_token(&token));
        let now = Utc::now();
        let LinkState::Valid(link) = lookup(&db, &token, now).await.unwrap() else {
            panic!("not valid");
        };
        assert_eq!(
            (link.associate_id, link.user_name.as_str()),
            (7, "ada@contoso.com")
        );
        let used = consume(&db, &token, now).await.unwrap().unwrap();
        assert!(consume(&db, &token, now).await.unwrap().is_none());
        assert!(matches!(
            lookup(&db, &token, now).await.unwrap(),
            LinkState::Used(_)
        ));
        release(&db, &token, &used).await.unwrap();
        let week = now + chrono::Duration::days(8);
        assert!(matches!(
            lookup(&db, &token, week).await.unwrap(),
            LinkState::Expired(_)
        ));
        assert!(consume(&db, &token, week).await.unwrap().is_none());
        assert_eq!(lookup(&db, "nope", now).await.unwrap(), LinkState::Unknown);
        // No address: no mail, no link.
        let mut tx = db.begin().await.unwrap();
        let none = NewUser {
            user_name: "ada",
            ..user
        };
        assert_eq!(enqueue_tx(&mut tx, mail, &t, &none).await.unwrap(), None);
    }
}
