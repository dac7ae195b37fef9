//! Signing in to SuperOffice CRM Online: the credential the Web API calls carry, obtained
//! and renewed by the gateway itself.
//!
//! - **System user** (server to server,
//!   <https://docs.superoffice.com/en/authentication/online/auth-application/index.html>): the
//!   gateway signs `"{system user token}.{yyyyMMddHHmm, UTC}"` with the application's RSA key
//!   (RSASSA-PKCS1-v1_5, SHA-256, base64) and posts the signed token, the application token
//!   and the customer's context identifier to `POST {login}/Login/api/PartnerSystemUser/Authenticate`
//!   (<https://docs.superoffice.com/en/authentication/online/auth-application/get-system-user-ticket.html>).
//!   The answer's JWT carries the ticket in the claim [`TICKET_CLAIM`] (and the tenant's Web
//!   API address in [`WEBAPI_URL_CLAIM`], used when present); calls then send
//!   `Authorization: SOTICKET <ticket>` and `SO-AppToken`. When a certificate (or public
//!   key) of SuperOffice's is configured the JWT's signature is verified with it.
//!   SuperOffice asks applications to cache the ticket (valid 6 hours, sliding) and to get
//!   a new one only when a call answers 401 or the cache times out: the gateway keeps it
//!   for [`DEFAULT_TICKET_LIFETIME`] and signs in again once on a 401.
//! - **OAuth refresh token**: with a refresh token from an authorization-code consent, the
//!   gateway posts `grant_type=refresh_token`, the client id and secret to
//!   `POST {login}/login/common/oauth/tokens` and sends `Authorization: Bearer
//!   <access token>`, renewed [`RENEW_MARGIN`] before `expires_in` elapses and once on a 401.
//! - A ready access token or ticket is used as given (it cannot be renewed).
//!
//! Renewals are serialized per tenant: concurrent calls wait for one sign-in.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use tokio::time::Instant;

use super::client::{ApiError, SignInFailure, SuperOfficeAuth, transport_kind};
use super::keys::{PartnerKey, PublicKey, jwt_claims};
use crate::crm::connections::is_http_url;

/// The JWT claim holding the system user ticket.
pub const TICKET_CLAIM: &str = "http://schemes.superoffice.net/identity/ticket";
/// The JWT claim holding the tenant's REST Web API address (`https://.../Cust12345/api/`).
pub const WEBAPI_URL_CLAIM: &str = "http://schemes.superoffice.net/identity/webapi_url";
/// The system user sign-in service, under the environment's address.
pub const SYSTEM_USER_PATH: &str = "Login/api/PartnerSystemUser/Authenticate";
/// The OAuth token endpoint, under the environment's address.
pub const TOKENS_PATH: &str = "login/common/oauth/tokens";
/// How long a system user ticket is used before a new one is obtained.
pub const DEFAULT_TICKET_LIFETIME: Duration = Duration::from_secs(6 * 3600);
/// How long before an access token's `expires_in` elapses it is renewed.
pub const RENEW_MARGIN: Duration = Duration::from_secs(60);

/// The environment's address for `environment`: `sod`, `stage` and `online` are
/// `https://{env}.superoffice.com`; an http(s) URL is taken as is (a proxy, a test server).
pub fn environment_url(environment: &str) -> Option<String> {
    let e = environment.trim();
    match e {
        "sod" | "stage" | "online" => Some(format!("https://{e}.superoffice.com")),
        _ if is_http_url(e) => Some(e.trim_end_matches('/').to_string()),
        _ => None,
    }
}

/// The system user flow's credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct SystemUserCredentials {
    /// The environment's address (`https://online.superoffice.com`), where the sign-in
    /// service is.
    pub login_url: String,
    /// The system user token (from the administrator's consent).
    pub system_user_token: String,
    /// The application token (client secret), sent as `ApplicationToken` and `SO-AppToken`.
    pub app_token: String,
    /// The application's RSA private key (XML, PKCS#1 or PKCS#8 PEM).
    pub private_key: String,
    /// The customer's context identifier (`Cust12345`).
    pub context_identifier: String,
    /// SuperOffice's certificate or public key (PEM) to verify the answer's JWT with.
    pub jwt_certificate: Option<String>,
}

impl std::fmt::Debug for SystemUserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemUserCredentials")
            .field("login_url", &self.login_url)
            .field("context_identifier", &self.context_identifier)
            .field("secrets", &"<redacted>")
            .finish()
    }
}

/// The OAuth refresh-token flow's credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthCredentials {
    /// The environment's address, where the token endpoint is.
    pub login_url: String,
    /// The application's client id.
    pub client_id: String,
    /// The application's client secret (application token).
    pub client_secret: String,
    /// The refresh token.
    pub refresh_token: String,
}

impl std::fmt::Debug for OAuthCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthCredentials")
            .field("login_url", &self.login_url)
            .field("client_id", &self.client_id)
            .field("secrets", &"<redacted>")
            .finish()
    }
}

/// The signed system user token: `"{token}.{yyyyMMddHHmm}.{base64 signature}"`, the
/// signature over `"{token}.{yyyyMMddHHmm}"` with `now` in UTC.
pub fn signed_system_token(
    system_user_token: &str,
    key: &PartnerKey,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, super::keys::KeyError> {
    let data = format!("{system_user_token}.{}", now.format("%Y%m%d%H%M"));
    let sig = key.sign(data.as_bytes())?;
    Ok(format!("{data}.{}", B64.encode(sig)))
}

/// The credential of the calls, as long as it is good.
#[derive(Clone)]
pub struct Session {
    /// The `Authorization` header's value.
    pub authorization: String,
    /// The `SO-AppToken` header's value.
    pub app_token: Option<String>,
    /// The Web API's address from the sign-in (`.../Cust12345/api/v1`), if it said.
    pub api_url: Option<String>,
    serial: u64,
    renew_at: Option<Instant>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("api_url", &self.api_url)
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// Which sign-in made it (1, 2, ...).
    pub fn serial(&self) -> u64 {
        self.serial
    }
}

/// The system user sign-in's answer (the REST form of `AuthenticationResponse`).
#[derive(Debug, Deserialize)]
struct AuthenticateResponse {
    #[serde(rename = "IsSuccessful", alias = "isSuccessful", default)]
    is_successful: bool,
    #[serde(rename = "ErrorMessage", alias = "errorMessage", default)]
    error_message: Option<String>,
    #[serde(rename = "Token", alias = "token", default)]
    token: Option<String>,
}

/// The token endpoint's answer (RFC 6749 §5.1, §5.2).
#[derive(Debug, Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// Where an [`Authenticator`]'s credential comes from.
enum Flow {
    /// A ready access token or ticket, used as given.
    Fixed(Session),
    /// The system user flow, with the keys read once.
    SystemUser {
        creds: Box<SystemUserCredentials>,
        /// The application's key, which signs the system user token.
        key: PartnerKey,
        /// SuperOffice's key, which verifies the answer's JWT (when configured).
        jwt_key: Option<PublicKey>,
    },
    /// The OAuth refresh-token flow.
    OAuth(OAuthCredentials),
}

impl std::fmt::Debug for Flow {
    /// Never prints a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Flow::Fixed(session) => f.debug_tuple("Fixed").field(session).finish(),
            Flow::SystemUser { creds, .. } => f.debug_tuple("SystemUser").field(creds).finish(),
            Flow::OAuth(creds) => f.debug_tuple("OAuth").field(creds).finish(),
        }
    }
}

/// Gets and renews one tenant's credential.
pub struct Authenticator {
    http: reqwest::Client,
    flow: Flow,
    ticket_lifetime: Duration,
    session: tokio::sync::Mutex<Option<Session>>,
    /// A refresh token the token endpoint handed back in place of the stored one.
    rotated_refresh: std::sync::Mutex<Option<String>>,
    sign_ins: AtomicU64,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("flow", &self.flow)
            .field("sign_ins", &self.sign_ins.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn sign_in_error(step: &str, failure: SignInFailure, message: impl Into<String>) -> ApiError {
    ApiError::SignIn {
        step: step.to_string(),
        failure,
        message: message.into(),
    }
}

impl Authenticator {
    /// An authenticator for `auth`; refuses an unreadable key.
    pub fn new(
        http: reqwest::Client,
        auth: SuperOfficeAuth,
        ticket_lifetime: Duration,
    ) -> Result<Self, super::keys::KeyError> {
        let fixed = |authorization: String, app_token: Option<String>| {
            Flow::Fixed(Session {
                authorization,
                app_token,
                api_url: None,
                serial: 0,
                renew_at: None,
            })
        };
        let flow = match auth {
            SuperOfficeAuth::Bearer { access_token } => {
                fixed(format!("Bearer {access_token}"), None)
            }
            SuperOfficeAuth::SoTicket { ticket, app_token } => {
                fixed(format!("SOTICKET {ticket}"), Some(app_token))
            }
            SuperOfficeAuth::SystemUser(creds) => Flow::SystemUser {
                key: PartnerKey::parse(&creds.private_key)?,
                jwt_key: creds
                    .jwt_certificate
                    .as_deref()
                    .map(PublicKey::parse)
                    .transpose()?,
                creds: Box::new(creds),
            },
            SuperOfficeAuth::OAuth(creds) => Flow::OAuth(creds),
        };
        Ok(Authenticator {
            http,
            flow,
            ticket_lifetime,
            session: tokio::sync::Mutex::new(None),
            rotated_refresh: std::sync::Mutex::new(None),
            sign_ins: AtomicU64::new(0),
        })
    }

    /// Can a refused credential be replaced (system user, OAuth refresh)?
    pub fn renewable(&self) -> bool {
        !matches!(self.flow, Flow::Fixed(_))
    }

    /// How often the gateway signed in (system user or refresh).
    pub fn sign_ins(&self) -> u64 {
        self.sign_ins.load(Ordering::Relaxed)
    }

    /// The credential to call with: the cached one while good, else a new one.
    pub async fn session(&self) -> Result<Session, ApiError> {
        let mut slot = self.session.lock().await;
        if let Some(s) = &*slot
            && s.renew_at.is_none_or(|t| Instant::now() < t)
        {
            return Ok(s.clone());
        }
        let fresh = self.sign_in().await?;
        *slot = Some(fresh.clone());
        Ok(fresh)
    }

    /// Drops the credential of sign-in `serial` (the Web API refused it); the next
    /// [`Authenticator::session`] signs in again, unless another call already did.
    pub async fn forget(&self, serial: u64) {
        let mut slot = self.session.lock().await;
        if slot.as_ref().is_some_and(|s| s.serial == serial) {
            *slot = None;
        }
    }

    async fn sign_in(&self) -> Result<Session, ApiError> {
        match &self.flow {
            Flow::Fixed(session) => Ok(session.clone()),
            Flow::SystemUser {
                creds,
                key,
                jwt_key,
            } => self.system_user(creds, key, jwt_key.as_ref()).await,
            Flow::OAuth(creds) => self.refresh(creds).await,
        }
    }

    /// Sends `req`; the status and body, or the sign-in error of a transport failure.
    async fn send(
        &self,
        step: &str,
        req: reqwest::RequestBuilder,
    ) -> Result<(u16, Vec<u8>), ApiError> {
        let unreachable = |e: reqwest::Error| {
            let (kind, message) = transport_kind(&e);
            sign_in_error(step, SignInFailure::Unreachable(kind), message)
        };
        let resp = req.send().await.map_err(unreachable)?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(unreachable)?;
        if status == 429 || status >= 500 {
            return Err(sign_in_error(
                step,
                SignInFailure::ServerError,
                format!("answered {status}"),
            ));
        }
        Ok((status, body.to_vec()))
    }

    async fn system_user(
        &self,
        c: &SystemUserCredentials,
        key: &PartnerKey,
        jwt_key: Option<&PublicKey>,
    ) -> Result<Session, ApiError> {
        const STEP: &str = "POST Login/api/PartnerSystemUser/Authenticate";
        let signed = signed_system_token(&c.system_user_token, key, chrono::Utc::now())
            .map_err(|e| sign_in_error(STEP, SignInFailure::Invalid, e.0))?;
        let body = serde_json::json!({
            "SignedSystemToken": signed,
            "ApplicationToken": c.app_token,
            "ContextIdentifier": c.context_identifier,
            "ReturnTokenType": "JWT",
        });
        let url = format!("{}/{SYSTEM_USER_PATH}", c.login_url.trim_end_matches('/'));
        let req = self
            .http
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body);
        self.sign_ins.fetch_add(1, Ordering::Relaxed);
        let (status, bytes) = self.send(STEP, req).await?;
        let answer: Option<AuthenticateResponse> = serde_json::from_slice(&bytes).ok();
        let refused = |detail: Option<String>| {
            sign_in_error(
                STEP,
                SignInFailure::Refused,
                format!(
                    "the sign-in service refused the signed system user token ({status}{})",
                    detail
                        .filter(|d| !d.trim().is_empty())
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ),
            )
        };
        let answer = match answer {
            Some(a) if (200..300).contains(&status) && a.is_successful => a,
            Some(a) => return Err(refused(a.error_message)),
            None if (200..300).contains(&status) => {
                return Err(sign_in_error(
                    STEP,
                    SignInFailure::Invalid,
                    "the sign-in service's answer is not its JSON",
                ));
            }
            None => return Err(refused(None)),
        };
        let jwt = answer.token.unwrap_or_default();
        let claims = jwt_claims(&jwt, jwt_key)
            .map_err(|e| sign_in_error(STEP, SignInFailure::Invalid, e.to_string()))?;
        let ticket = claims
            .get(TICKET_CLAIM)
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                sign_in_error(STEP, SignInFailure::Invalid, "the JWT carries no ticket")
            })?;
        let api_url = claims
            .get(WEBAPI_URL_CLAIM)
            .and_then(|u| u.as_str())
            .filter(|u| is_http_url(u))
            .map(|u| {
                let u = u.trim_end_matches('/');
                if u.ends_with("/v1") {
                    u.to_string()
                } else {
                    format!("{u}/v1")
                }
            });
        Ok(Session {
            authorization: format!("SOTICKET {ticket}"),
            app_token: Some(c.app_token.clone()),
            api_url,
            serial: self.sign_ins(),
            renew_at: Some(Instant::now() + self.ticket_lifetime),
        })
    }

    async fn refresh(&self, c: &OAuthCredentials) -> Result<Session, ApiError> {
        const STEP: &str = "POST login/common/oauth/tokens";
        let refresh_token = self
            .rotated_refresh
            .lock()
            .ok()
            .and_then(|r| r.clone())
            .unwrap_or_else(|| c.refresh_token.clone());
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "refresh_token")
            .append_pair("client_id", &c.client_id)
            .append_pair("client_secret", &c.client_secret)
            .append_pair("refresh_token", &refresh_token)
            .finish();
        let url = format!("{}/{TOKENS_PATH}", c.login_url.trim_end_matches('/'));
        let req = self
            .http
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form);
        self.sign_ins.fetch_add(1, Ordering::Relaxed);
        let (status, bytes) = self.send(STEP, req).await?;
        let answer: Option<TokenResponse> = serde_json::from_slice(&bytes).ok();
        let (access, expires_in, rotated) = match answer {
            Some(TokenResponse {
                access_token: Some(access),
                expires_in,
                refresh_token,
                ..
            }) if (200..300).contains(&status) && !access.is_empty() => {
                (access, expires_in, refresh_token)
            }
            other => {
                let detail = other
                    .and_then(|a| {
                        a.error
                            .map(|e| format!("{e} {}", a.error_description.unwrap_or_default()))
                    })
                    .unwrap_or_default();
                return Err(sign_in_error(
                    STEP,
                    SignInFailure::Refused,
                    format!(
                        "the token endpoint refused the refresh token ({status}) {}",
                        detail.trim()
                    )
                    .trim()
                    .to_string(),
                ));
            }
        };
        if let Some(new) = rotated.filter(|t| !t.is_empty())
            && let Ok(mut slot) = self.rotated_refresh.lock()
        {
            *slot = Some(new);
        }
        let lifetime = Duration::from_secs(expires_in.unwrap_or(3600));
        Ok(Session {
            authorization: format!("Bearer {access}"),
            app_token: None,
            api_url: None,
            serial: self.sign_ins(),
            renew_at: Some(Instant::now() + lifetime.saturating_sub(RENEW_MARGIN)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environments_and_urls() {
        assert_eq!(
            environment_url("sod").as_deref(),
            Some("https://sod.superoffice.com")
        );
        assert_eq!(
            environment_url("http://127.0.0.1:9/").as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert!(environment_url("prod").is_none());
    }

    #[test]
    fn the_signed_token_has_the_documented_shape() {
        let key = PartnerKey::parse(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/superoffice/test-only-partner-key.pkcs8.pem"
            ))
            .unwrap(),
        )
        .unwrap();
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-02T03:04:59Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let signed = signed_system_token("Magic-123", &key, now).unwrap();
        let (data, sig) = signed.rsplit_once('.').unwrap();
        assert_eq!(data, "Magic-123.202601020304");
        assert!(
            key.public_key()
                .verify(data.as_bytes(), &B64.decode(sig).unwrap())
        );
    }
}
