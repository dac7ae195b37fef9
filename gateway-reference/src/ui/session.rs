//! Sign-in sessions: a random token in a cookie, its SHA-256 in `gw_ui_sessions`.
//!
//! The cookie is `HttpOnly`, `SameSite=Lax`, `Path=/`, and `Secure` with the `__Host-` name
//! prefix when the gateway is reached over HTTPS (RFC 6265bis §4.1.3.2). A session ends after
//! [`IDLE`] without a request or [`ABSOLUTE`] after sign-in, at sign-out, and when its account
//! is disabled.
//!
//! Every session has a CSRF token derived from its own token (SHA-256 of a label and the
//! session token), so nothing more is stored and a form of one session is useless in another.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use chrono::{DateTime, Duration, Utc};
use scim_server::auth::TokenHash;
use sha2::{Digest, Sha256};

use super::UiState;
use super::accounts::{self, Account};
use super::error::UiError;
use crate::db::{Db, DbError, stamp};
use crate::tenants::generate_token;

/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::hours(8);
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE: Duration = Duration::hours(24);
/// `last_seen` is written at most this often (not on every request).
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// The session cookie's name: with the `__Host-` prefix over HTTPS.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-gw_session"
    } else {
        "gw_session"
    }
}

/// A cookie's value from the request's `Cookie` headers (RFC 6265 §5.4).
pub fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value for `name=value` with the session cookie's attributes; `max_age`
/// `None` deletes the cookie.
pub fn set_cookie(name: &str, value: &str, secure: bool, max_age: Option<Duration>) -> String {
    let age = max_age.map_or(0, |d| d.num_seconds());
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={age}{secure}")
}

/// The CSRF token of the session whose cookie token is `token`.
pub fn csrf_token(token: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"scim-gateway csrf\0");
    h.update(token.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts a session for `account`; returns the cookie's token.
pub async fn create(db: &Db, account: i64) -> Result<String, DbError> {
    let token = generate_token();
    let now = Utc::now();
    db.execute(
        "INSERT INTO gw_ui_sessions (token_hash, account, created_at, last_seen, expires_at) \
         VALUES ($1, $2, $3, $3, $4)",
        &[
            TokenHash::of(&token).to_hex().into(),
            account.into(),
            stamp(now).into(),
            stamp(now + ABSOLUTE).into(),
        ],
    )
    .await?;
    Ok(token)
}

/// Ends the session of `token` (sign-out).
pub async fn destroy(db: &Db, token: &str) -> Result<(), DbError> {
    db.execute(
        "DELETE FROM gw_ui_sessions WHERE token_hash = $1",
        &[TokenHash::of(token).to_hex().into()],
    )
    .await?;
    Ok(())
}

/// Deletes ended sessions; returns how many.
pub async fn prune(db: &Db) -> Result<u64, DbError> {
    let now = Utc::now();
    db.execute(
        "DELETE FROM gw_ui_sessions WHERE expires_at < $1 OR last_seen < $2",
        &[stamp(now).into(), stamp(now - IDLE).into()],
    )
    .await
}

fn parse(at: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The signed-in account of the session `token`, if the session is live.
pub async fn load(db: &Db, token: &str) -> Result<Option<Account>, DbError> {
    let hash = TokenHash::of(token).to_hex();
    let Some(row) = db
        .query_opt(
            &format!(
                "SELECT s.last_seen, s.expires_at, {} FROM gw_ui_sessions s \
                 JOIN gw_ui_accounts a ON a.id = s.account \
                 WHERE s.token_hash = $1 AND a.disabled_at IS NULL",
                accounts::COLUMNS
            ),
            &[hash.clone().into()],
        )
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    let last_seen = parse(&row.text(0)?);
    let expires = parse(&row.text(1)?);
    let live =
        matches!((last_seen, expires), (Some(seen), Some(end)) if now < end && now - seen < IDLE);
    if !live {
        db.execute(
            "DELETE FROM gw_ui_sessions WHERE token_hash = $1",
            &[hash.into()],
        )
        .await?;
        return Ok(None);
    }
    if last_seen.is_some_and(|seen| now - seen > TOUCH_EVERY) {
        db.execute(
            "UPDATE gw_ui_sessions SET last_seen = $2 WHERE token_hash = $1",
            &[hash.into(), stamp(now).into()],
        )
        .await?;
    }
    accounts::from_row(db, &row, 2).await.map(Some)
}

/// The signed-in administrator of a request: the extractor every page but sign-in uses.
/// Without a live session, a `GET` is redirected to the sign-in page (and back after it);
/// anything else is 401.
#[derive(Debug, Clone)]
pub struct Admin {
    /// The account.
    pub account: Account,
    /// The session's CSRF token, for the page's forms.
    pub csrf: String,
}

impl FromRequestParts<UiState> for Admin {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, UiError> {
        let signed_out = || {
            if parts.method == axum::http::Method::GET {
                let next = parts
                    .uri
                    .path_and_query()
                    .map_or("/ui/", |p| p.as_str())
                    .to_string();
                UiError::SignIn { next }
            } else {
                UiError::Unauthorized
            }
        };
        let Some(token) = read_cookie(&parts.headers, cookie_name(state.secure_cookies)) else {
            return Err(signed_out());
        };
        match load(&state.admin.db, token).await? {
            Some(account) => Ok(Admin {
                account,
                csrf: csrf_token(token),
            }),
            None => Err(signed_out()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::accounts::Access;

    /// A database with the account `ada`.
    async fn ada() -> (Db, accounts::Account) {
        let db = Db::open_sqlite_in_memory().await.unwrap();
        let a = accounts::create(&db, "ada", Some("correct horse battery"), Access::All, "t")
            .await
            .unwrap();
        (db, a)
    }

    #[test]
    fn cookies_are_read_from_every_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, "a=1; gw_session=abc".parse().unwrap());
        h.append(header::COOKIE, "b=2".parse().unwrap());
        assert_eq!(read_cookie(&h, "gw_session"), Some("abc"));
        assert_eq!(read_cookie(&h, "b"), Some("2"));
        assert_eq!(read_cookie(&h, "gw"), None);
    }

    #[test]
    fn secure_cookies_use_the_host_prefix_and_the_secure_attribute() {
        let c = set_cookie(cookie_name(true), "t", true, Some(IDLE));
        assert!(
            c.starts_with("__Host-gw_session=t; Path=/; HttpOnly; SameSite=Lax"),
            "{c}"
        );
        assert!(c.ends_with("; Secure"), "{c}");
        assert!(!set_cookie(cookie_name(false), "t", false, None).contains("Secure"));
    }

    #[tokio::test]
    async fn a_session_stores_only_its_hash_and_ends_at_sign_out() {
        let (db, a) = ada().await;
        let token = create(&db, a.id).await.unwrap();
        let stored = db
            .query_opt("SELECT token_hash FROM gw_ui_sessions", &[])
            .await
            .unwrap()
            .unwrap()
            .text(0)
            .unwrap();
        assert_ne!(stored, token);
        assert_eq!(load(&db, &token).await.unwrap().map(|a| a.id), Some(a.id));
        assert_ne!(csrf_token(&token), csrf_token("other"));
        destroy(&db, &token).await.unwrap();
        assert!(load(&db, &token).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn idle_and_disabled_sessions_end() {
        let (db, a) = ada().await;
        let idle = create(&db, a.id).await.unwrap();
        db.execute(
            "UPDATE gw_ui_sessions SET last_seen = $1",
            &[stamp(Utc::now() - IDLE - Duration::minutes(1)).into()],
        )
        .await
        .unwrap();
        assert!(load(&db, &idle).await.unwrap().is_none());
        let live = create(&db, a.id).await.unwrap();
        accounts::disable(&db, "ada").await.unwrap();
        assert!(load(&db, &live).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn prune_deletes_only_ended_sessions() {
        let (db, a) = ada().await;
        let idle = create(&db, a.id).await.unwrap();
        let old = create(&db, a.id).await.unwrap();
        let live = create(&db, a.id).await.unwrap();
        async fn set(db: &Db, column: &str, at: DateTime<Utc>, token: &str) {
            db.execute(
                &format!("UPDATE gw_ui_sessions SET {column} = $1 WHERE token_hash = $2"),
                &[stamp(at).into(), TokenHash::of(token).to_hex().into()],
            )
            .await
            .unwrap();
        }
        set(
            &db,
            "last_seen",
            Utc::now() - IDLE - Duration::minutes(1),
            &idle,
        )
        .await;
        set(&db, "expires_at", Utc::now() - Duration::minutes(1), &old).await;
        assert_eq!(prune(&db).await.unwrap(), 2);
        let left = db
            .query("SELECT token_hash FROM gw_ui_sessions", &[])
            .await
            .unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].text(0).unwrap(), TokenHash::of(&live).to_hex());
        assert_eq!(load(&db, &live).await.unwrap().map(|a| a.id), Some(a.id));
    }
}
