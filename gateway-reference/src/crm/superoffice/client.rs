//! The HTTP side of the SuperOffice backend: the base URL of the customer's tenant, the
//! credentials, timeouts, retries ([`RetryPolicy`]) and the tenant's [`CircuitBreaker`], and
//! the mapping of HTTP outcomes to [`ApiError`] (and from there to [`CrmError`]).
//!
//! SuperOffice CRM Online serves a customer's Web API at
//! `https://{env}.superoffice.com/{CustomerId}/api/v1/` and takes
//! `Authorization: Bearer <access token>`, or `Authorization: SOTICKET <ticket>` with the
//! application's `SO-AppToken` header for a system user
//! (<https://docs.superoffice.com/en/api/reference/restful/rest/index.html>, "Request
//! Headers"). Where the credential comes from, and when it is renewed, is
//! [`auth`](super::auth)'s business; a 401 with a renewable credential is answered by signing
//! in again and repeating the request once.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::auth::{
    Authenticator, DEFAULT_TICKET_LIFETIME, OAuthCredentials, Session, SystemUserCredentials,
};
use super::breaker::{BreakerConfig, CircuitBreaker};
use super::model::ErrorBody;
use super::retry::{RetryPolicy, parse_retry_after};
use crate::crm::CrmError;

/// How the gateway signs in to a customer's SuperOffice.
#[derive(Clone, PartialEq, Eq)]
pub enum SuperOfficeAuth {
    /// `Authorization: Bearer <access token>` (an OpenID Connect access token).
    Bearer {
        /// The access token.
        access_token: String,
    },
    /// A system user: `Authorization: SOTICKET <ticket>` and `SO-AppToken: <app token>`.
    SoTicket {
        /// The system user's ticket.
        ticket: String,
        /// The application token (the app's client secret).
        app_token: String,
    },
    /// The system user flow: the gateway signs the system user token and gets (and renews)
    /// the ticket itself ([`auth`](super::auth)).
    SystemUser(SystemUserCredentials),
    /// The OAuth refresh-token flow: the gateway gets (and renews) access tokens itself.
    OAuth(OAuthCredentials),
}

impl std::fmt::Debug for SuperOfficeAuth {
    /// Never prints a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SuperOfficeAuth::Bearer { .. } => f.write_str("Bearer(<redacted>)"),
            SuperOfficeAuth::SoTicket { .. } => f.write_str("SoTicket(<redacted>)"),
            SuperOfficeAuth::SystemUser(c) => write!(f, "SystemUser({c:?})"),
            SuperOfficeAuth::OAuth(c) => write!(f, "OAuth({c:?})"),
        }
    }
}

/// Where a tenant's SuperOffice is and how the backend talks to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuperOfficeConfig {
    /// The environment's base URL, e.g. `https://online.superoffice.com`.
    pub base_url: String,
    /// The customer id (`Cust12345`), the first path segment of the tenant's API.
    pub customer_id: String,
    /// The credentials.
    pub auth: SuperOfficeAuth,
    /// Where the tenant's users sign in; default `{base_url}/login/` (SuperID).
    pub sign_in_url: Option<String>,
    /// The longest one request may take, connecting included.
    pub timeout: Duration,
    /// The longest connecting may take.
    pub connect_timeout: Duration,
    /// Retries of idempotent calls.
    pub retry: RetryPolicy,
    /// The tenant's circuit breaker.
    pub breaker: BreakerConfig,
    /// How long a system user ticket is used before the gateway gets a new one.
    pub ticket_lifetime: Duration,
}

impl SuperOfficeConfig {
    /// A configuration with the default timeouts (10 s, connecting 5 s), retries and breaker.
    pub fn new(
        base_url: impl Into<String>,
        customer_id: impl Into<String>,
        auth: SuperOfficeAuth,
    ) -> Self {
        SuperOfficeConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            customer_id: customer_id.into(),
            auth,
            sign_in_url: None,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            retry: RetryPolicy::default(),
            breaker: BreakerConfig::default(),
            ticket_lifetime: DEFAULT_TICKET_LIFETIME,
        }
    }

    /// `{base_url}/{customer_id}/api/v1`.
    pub fn api_url(&self) -> String {
        format!(
            "{}/{}/api/v1",
            self.base_url.trim_end_matches('/'),
            self.customer_id
        )
    }

    /// Where the tenant's users sign in.
    pub fn sign_in_url(&self) -> String {
        self.sign_in_url
            .clone()
            .unwrap_or_else(|| format!("{}/login/", self.base_url.trim_end_matches('/')))
    }
}

/// Why SuperOffice could not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The host name did not resolve.
    Dns,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The connection was refused or the host is unreachable.
    Connect,
    /// No answer in time.
    Timeout,
    /// The connection was reset or closed mid-request.
    Reset,
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TransportKind::Dns => "the host name does not resolve (DNS)",
            TransportKind::Tls => "the TLS handshake failed",
            TransportKind::Connect => "the connection was refused or the host is unreachable",
            TransportKind::Timeout => "no answer in time",
            TransportKind::Reset => "the connection was reset",
        })
    }
}

/// Why signing in (system user or OAuth refresh) failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInFailure {
    /// The sign-in service or token endpoint refused the credentials.
    Refused,
    /// It could not be reached.
    Unreachable(TransportKind),
    /// It answered with a server error or 429.
    ServerError,
    /// Its answer could not be used (not its JSON, a JWT that does not verify), or the
    /// stored key cannot sign.
    Invalid,
}

/// What a SuperOffice call failed with. The messages never hold a credential.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// SuperOffice (or a proxy before it) answered with an error status.
    #[error("SuperOffice answered {status} to {call}: {}", detail(.body))]
    Status {
        /// The HTTP status.
        status: u16,
        /// The call (`PUT User/12`).
        call: String,
        /// The error body, if it was SuperOffice's.
        body: ErrorBody,
        /// The wait a 429 or 503 asked for.
        retry_after: Option<Duration>,
    },
    /// SuperOffice could not be reached.
    #[error("SuperOffice is unreachable on {call}: {kind} ({message})")]
    Transport {
        /// Why.
        kind: TransportKind,
        /// The call.
        call: String,
        /// The client's message.
        message: String,
    },
    /// The tenant's circuit breaker is open: the call was not made.
    #[error("SuperOffice failed repeatedly; calls pause for {}s (circuit breaker open)", .retry_in.as_secs())]
    CircuitOpen {
        /// Until the next probe.
        retry_in: Duration,
    },
    /// Signing in failed (the Web API call was not made).
    #[error("signing in to SuperOffice failed on {step}: {message}")]
    SignIn {
        /// The sign-in call (`POST Login/api/PartnerSystemUser/Authenticate`).
        step: String,
        /// Why.
        failure: SignInFailure,
        /// What happened (never a credential).
        message: String,
    },
    /// The answer was not what the API documents.
    #[error("unexpected answer from SuperOffice to {call}: {message}")]
    Decode {
        /// The call.
        call: String,
        /// What did not fit.
        message: String,
    },
}

fn detail(body: &ErrorBody) -> String {
    let parts: Vec<&str> = [&body.error_type, &body.error, &body.message]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if parts.is_empty() {
        "(no details)".into()
    } else {
        parts.join(": ")
    }
}

impl ApiError {
    /// Worth retrying: unreachable, timed out, 429, 5xx, or the breaker is open.
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Status { status, .. } => *status == 429 || *status >= 500,
            ApiError::Transport { .. } | ApiError::CircuitOpen { .. } => true,
            ApiError::SignIn { failure, .. } => matches!(
                failure,
                SignInFailure::Unreachable(_) | SignInFailure::ServerError
            ),
            ApiError::Decode { .. } => false,
        }
    }

    /// The HTTP status, when SuperOffice answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The error body's text (type, error, message), lower-cased, for classification.
    pub fn body_text(&self) -> String {
        match self {
            ApiError::Status { body, .. } => detail(body).to_lowercase(),
            _ => String::new(),
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            ApiError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

impl From<ApiError> for CrmError {
    /// Transient failures are `Unavailable`; 401 and 403 `Unauthorized`; 400, 404, 409 and
    /// 422 `Invalid` (the backend maps them to `NotFound` / `UserNameTaken` where it knows
    /// the context); the rest `Other`.
    fn from(e: ApiError) -> Self {
        if e.is_transient() {
            return CrmError::Unavailable(e.to_string());
        }
        if matches!(e, ApiError::SignIn { .. }) {
            return CrmError::Unauthorized(e.to_string());
        }
        match e.status() {
            Some(401 | 403) => CrmError::Unauthorized(e.to_string()),
            Some(400 | 404 | 409 | 422) => CrmError::Invalid(e.to_string()),
            _ => CrmError::Other {
                message: e.to_string(),
                source: Some(Box::new(e)),
            },
        }
    }
}

/// A decoded answer and its `Last-Modified` header (for a conditional update).
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    /// The body.
    pub body: T,
    /// The `Last-Modified` header, as sent.
    pub last_modified: Option<String>,
}

/// One request of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Safe to repeat (reads, PUTs stating the whole entity, `MakeRetired`): retried.
    Idempotent,
    /// Not safe to repeat blindly (`POST User`): the caller decides.
    Once,
}

/// The HTTP client for one tenant's SuperOffice.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    api: String,
    auth: Authenticator,
    retry: RetryPolicy,
    breaker: CircuitBreaker,
}

impl Client {
    /// A client for `config`; refuses a private key or certificate it cannot read.
    pub fn new(config: &SuperOfficeConfig) -> Result<Client, CrmError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("scim-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CrmError::Other {
                message: format!("building the SuperOffice HTTP client: {e}"),
                source: Some(Box::new(e)),
            })?;
        let auth = Authenticator::new(http.clone(), config.auth.clone(), config.ticket_lifetime)
            .map_err(|e| CrmError::Invalid(format!("the SuperOffice sign-in: {e}")))?;
        Ok(Client {
            http,
            api: config.api_url(),
            auth,
            retry: config.retry,
            breaker: CircuitBreaker::new(config.breaker),
        })
    }

    /// The tenant's circuit breaker.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// How the client signs in.
    pub fn authenticator(&self) -> &Authenticator {
        &self.auth
    }

    /// `GET {path}` (retried).
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<Fetched<T>, ApiError> {
        self.call::<(), T>(reqwest::Method::GET, path, None, &[], Retry::Idempotent)
            .await
    }

    /// `POST {path}` with a JSON body.
    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        retry: Retry,
    ) -> Result<T, ApiError> {
        Ok(self
            .call(reqwest::Method::POST, path, Some(body), &[], retry)
            .await?
            .body)
    }

    /// A request with retries per `retry`, through the breaker. A 401 with a renewable
    /// credential (system user, OAuth refresh) signs in again and repeats the request once
    /// (a refused request changed nothing, so this holds for [`Retry::Once`] too).
    pub async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&B>,
        headers: &[(&'static str, String)],
        retry: Retry,
    ) -> Result<Fetched<T>, ApiError> {
        let call = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let mut attempt = 1;
        let mut signed_in_again = false;
        loop {
            if let Err(retry_in) = self.breaker.acquire() {
                return Err(ApiError::CircuitOpen { retry_in });
            }
            let outcome = match self.auth.session().await {
                Ok(session) => {
                    let outcome = self
                        .once(&session, &method, path, body, headers, &call)
                        .await;
                    if !signed_in_again
                        && self.auth.renewable()
                        && matches!(&outcome, Err(e) if e.status() == Some(401))
                    {
                        tracing::info!(call = %call, "SuperOffice refused the credential (401): signing in again");
                        self.breaker.record(false);
                        self.auth.forget(session.serial()).await;
                        signed_in_again = true;
                        continue;
                    }
                    outcome
                }
                Err(e) => Err(e),
            };
            let transient = matches!(&outcome, Err(e) if e.is_transient());
            self.breaker.record(transient);
            let err = match outcome {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if !transient || retry == Retry::Once {
                return Err(err);
            }
            match self.retry.delay(attempt, err.retry_after()) {
                Some(wait) => {
                    tracing::debug!(call = %call, attempt, wait_ms = wait.as_millis() as u64, error = %err, "SuperOffice: retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                None => return Err(err),
            }
        }
    }

    fn headers(session: &Session) -> Result<HeaderMap, ApiError> {
        let bad = |_| ApiError::Decode {
            call: "credentials".into(),
            message: "a credential holds characters a header cannot carry".into(),
        };
        let mut h = HeaderMap::new();
        h.insert(
            reqwest::header::ACCEPT,
            HeaderValue::from_static("application/json"),
        );
        let mut v = HeaderValue::from_str(&session.authorization).map_err(bad)?;
        v.set_sensitive(true);
        h.insert(reqwest::header::AUTHORIZATION, v);
        if let Some(app_token) = &session.app_token {
            let mut v = HeaderValue::from_str(app_token).map_err(bad)?;
            v.set_sensitive(true);
            h.insert(HeaderName::from_static("so-apptoken"), v);
        }
        Ok(h)
    }

    async fn once<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        session: &Session,
        method: &reqwest::Method,
        path: &str,
        body: Option<&B>,
        extra: &[(&'static str, String)],
        call: &str,
    ) -> Result<Fetched<T>, ApiError> {
        let api = session.api_url.as_deref().unwrap_or(&self.api);
        let mut req = self
            .http
            .request(method.clone(), format!("{api}/{path}"))
            .headers(Self::headers(session)?);
        for (name, value) in extra {
            req = req.header(*name, value);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await.map_err(|e| transport(call, &e))?;
        let status = resp.status().as_u16();
        let header = |name: reqwest::header::HeaderName| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let last_modified = header(reqwest::header::LAST_MODIFIED);
        let retry_after = header(reqwest::header::RETRY_AFTER)
            .and_then(|v| parse_retry_after(&v, chrono::Utc::now()));
        let bytes = resp.bytes().await.map_err(|e| transport(call, &e))?;
        if !(200..300).contains(&status) {
            let body = serde_json::from_slice::<ErrorBody>(&bytes).unwrap_or_else(|_| ErrorBody {
                message: Some(String::from_utf8_lossy(&bytes).chars().take(200).collect())
                    .filter(|m: &String| !m.trim().is_empty()),
                ..ErrorBody::default()
            });
            return Err(ApiError::Status {
                status,
                call: call.to_string(),
                body,
                retry_after,
            });
        }
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &bytes
        };
        let body = serde_json::from_slice(text).map_err(|e| ApiError::Decode {
            call: call.to_string(),
            message: e.to_string(),
        })?;
        Ok(Fetched {
            body,
            last_modified,
        })
    }
}

/// Classifies a client error by its kind and the messages of its causes.
fn transport(call: &str, e: &reqwest::Error) -> ApiError {
    let (kind, message) = transport_kind(e);
    ApiError::Transport {
        kind,
        call: call.to_string(),
        message,
    }
}

/// Why a request did not get an answer, and the messages of the error's causes.
pub(crate) fn transport_kind(e: &reqwest::Error) -> (TransportKind, String) {
    let mut chain = e.to_string();
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        next = cause.source();
    }
    let lower = chain.to_lowercase();
    let kind = if e.is_timeout() || lower.contains("timed out") {
        TransportKind::Timeout
    } else if lower.contains("dns error")
        || lower.contains("failed to lookup")
        || lower.contains("name or service not known")
        || lower.contains("no such host")
    {
        TransportKind::Dns
    } else if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("invalidcontenttype")
    {
        TransportKind::Tls
    } else if e.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Reset
    };
    (kind, chain)
}
