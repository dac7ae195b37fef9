//! Sign-in through an OpenID Connect issuer (Microsoft Entra ID, SuperOffice SuperID, ...):
//! the authorization code flow (OpenID Connect Core 1.0 §3.1) with PKCE S256 (RFC 7636).
//!
//! 1. `GET /ui/oidc/start?next=` (a plain link on the sign-in page) makes a random `state`,
//!    `nonce` and PKCE `code_verifier`, keeps them with `next` in a short-lived cookie sealed
//!    with the deployment's key (ChaCha20-Poly1305, [`crate::crm::connections::SecretKey`]),
//!    so they are bound to this browser and any gateway process sharing the key can finish
//!    the sign-in, and sends the browser to the issuer's `authorization_endpoint`.
//! 2. `GET /ui/oidc/callback?code=&state=` checks `state` against the cookie, exchanges the
//!    code with the verifier, validates the ID token ([`provider::Provider::validate`]:
//!    signature with the issuer's JWKS, issuer, audience, expiry, nonce) and signs in the
//!    enabled account named by the configured claim (`email` by default). There is no
//!    provisioning: an identity without an account is refused with 403.
//!
//! The redirect URI to register at the issuer is `{public_url}/ui/oidc/callback`.

pub mod provider;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::Duration;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::UiState;
use super::accounts;
use super::error::UiError;
use super::security::same;
use super::session::{read_cookie, set_cookie};
use super::signin::{safe_next, signed_in};
use crate::tenants::generate_token;
use provider::OidcError;

/// How long a sign-in at the issuer may take.
pub const FLOW_SECONDS: i64 = 600;
/// The associated data the flow cookie is sealed with (no other sealed value opens as one).
const SEAL_LABEL: &str = "ui-oidc-flow";

/// The flow cookie's name: with the `__Host-` prefix over HTTPS.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-gw_oidc" } else { "gw_oidc" }
}

/// What the flow cookie holds.
#[derive(Serialize, Deserialize)]
struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    next: String,
    expires: i64,
}

/// The PKCE S256 challenge of `verifier` (RFC 7636 §4.2).
pub fn challenge(verifier: &str) -> String {
    B64URL.encode(Sha256::digest(verifier.as_bytes()))
}

/// The redirect URI registered at the issuer.
pub fn redirect_uri(public_url: &str) -> String {
    format!("{}/ui/oidc/callback", public_url.trim_end_matches('/'))
}

fn flow_cookie(state: &UiState, value: &str, max_age: i64) -> Option<HeaderValue> {
    // SameSite=Lax (as the session cookie): the issuer sends the browser back with a
    // top-level GET from its site.
    set_cookie(
        cookie_name(state.secure_cookies),
        value,
        state.secure_cookies,
        Some(Duration::seconds(max_age)),
    )
    .parse()
    .ok()
}

fn issuer(state: &UiState) -> Result<&provider::Provider, UiError> {
    state.oidc.as_deref().ok_or_else(|| {
        UiError::NotFound("Sign-in through OpenID Connect is not configured.".into())
    })
}

fn key(state: &UiState) -> Result<crate::crm::connections::SecretKey, UiError> {
    state
        .admin
        .crm
        .keys()
        .get()
        .map_err(|e| UiError::Internal(format!("the deployment key: {e}")))
}

impl From<OidcError> for UiError {
    fn from(e: OidcError) -> Self {
        match e {
            OidcError::Unreachable(_) => {
                tracing::warn!(error = %e, "ui: OpenID Connect issuer unavailable");
                UiError::Unavailable(
                    "The sign-in service cannot be reached. Try again later or sign in with a \
                     password."
                        .into(),
                )
            }
            OidcError::Refused(_) | OidcError::Invalid(_) => {
                tracing::warn!(error = %e, "ui: OpenID Connect sign-in refused");
                UiError::Forbidden(format!("{e}. Start the sign-in again."))
            }
        }
    }
}

/// `?next=` of the start link.
#[derive(Deserialize)]
pub struct Start {
    next: Option<String>,
}

/// `GET /ui/oidc/start`: sends the browser to the issuer.
pub async fn start(
    State(state): State<UiState>,
    Query(q): Query<Start>,
) -> Result<Response, UiError> {
    let provider = issuer(&state)?;
    let discovery = provider.discovery().await?;
    let flow = Flow {
        state: generate_token(),
        nonce: generate_token(),
        verifier: generate_token(),
        next: safe_next(q.next.as_deref()).to_string(),
        expires: chrono::Utc::now().timestamp() + FLOW_SECONDS,
    };
    let plain =
        serde_json::to_vec(&flow).map_err(|e| UiError::Internal(format!("the flow: {e}")))?;
    let sealed = key(&state)?
        .seal(SEAL_LABEL, &plain)
        .map_err(|e| UiError::Internal(format!("sealing the flow: {e}")))?;
    let c = &provider.config;
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", &c.client_id)
        .append_pair("redirect_uri", &redirect_uri(&state.admin.public_url))
        .append_pair("scope", &c.scopes)
        .append_pair("state", &flow.state)
        .append_pair("nonce", &flow.nonce)
        .append_pair("code_challenge", &challenge(&flow.verifier))
        .append_pair("code_challenge_method", "S256")
        .finish();
    let sep = if discovery.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    let mut response =
        Redirect::to(&format!("{}{sep}{query}", discovery.authorization_endpoint)).into_response();
    if let Some(v) = flow_cookie(&state, &sealed, FLOW_SECONDS) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// What the issuer sends back (RFC 6749 §4.1.2, §4.1.2.1).
#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /ui/oidc/callback`: finishes the sign-in. The flow cookie is used once: every
/// answer deletes it.
pub async fn callback(
    State(state): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let mut response = match finish(&state, &headers, q).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    if let Some(v) = flow_cookie(&state, "", 0) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

async fn finish(state: &UiState, headers: &HeaderMap, q: Callback) -> Result<Response, UiError> {
    let provider = issuer(state)?;
    let expired = || {
        UiError::BadRequest(
            "This sign-in has expired or was started in another browser. Start it again from \
             the sign-in page."
                .into(),
        )
    };
    let sealed = read_cookie(headers, cookie_name(state.secure_cookies)).ok_or_else(expired)?;
    let flow: Flow = key(state)?
        .open(SEAL_LABEL, sealed)
        .ok()
        .and_then(|plain| serde_json::from_slice(&plain).ok())
        .ok_or_else(expired)?;
    if flow.expires < chrono::Utc::now().timestamp() {
        return Err(expired());
    }
    if !q.state.as_deref().is_some_and(|s| same(s, &flow.state)) {
        tracing::warn!("ui: OpenID Connect callback with a wrong state");
        return Err(UiError::Forbidden(
            "This sign-in answer does not belong to the sign-in this browser started. Start it \
             again from the sign-in page."
                .into(),
        ));
    }
    if let Some(error) = q.error {
        return Err(if error == "access_denied" {
            UiError::Forbidden(format!(
                "The sign-in was cancelled or refused at {}.",
                provider.config.label
            ))
        } else {
            let code: String = error
                .chars()
                .filter(char::is_ascii_graphic)
                .take(64)
                .collect();
            UiError::BadRequest(format!(
                "{} did not sign you in ({code}).",
                provider.config.label
            ))
        });
    }
    let code = q
        .code
        .filter(|c| !c.is_empty())
        .ok_or_else(|| UiError::BadRequest("The sign-in answer has no code.".into()))?;
    let id_token = provider
        .exchange(
            &code,
            &flow.verifier,
            &redirect_uri(&state.admin.public_url),
        )
        .await?;
    let claims = provider.validate(&id_token, &flow.nonce).await?;
    let claim = provider.config.claim.as_str();
    if claim == "email" && claims.get("email_verified") == Some(&Value::Bool(false)) {
        return Err(UiError::Forbidden(
            "Your e-mail address is not verified at the sign-in service.".into(),
        ));
    }
    let name = claims
        .get(claim)
        .and_then(Value::as_str)
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| {
            UiError::Forbidden(format!(
                "The sign-in service did not say who you are (the {claim:?} claim is missing). \
                 Ask the administrator to check the gateway's [ui.oidc] claim setting."
            ))
        })?;
    match accounts::find(&state.admin.db, name).await? {
        Some(account) if !account.disabled => {
            tracing::info!(account = %account.user_name, "ui: signed in through OpenID Connect");
            signed_in(state, account.id, &flow.next).await
        }
        _ => {
            tracing::info!("ui: OpenID Connect identity without an enabled account");
            Err(UiError::Forbidden(format!(
                "{name} is not an administrator of this gateway. An administrator can create \
                 the account with: scim-gateway admin create {name} --oidc-only"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_rfc_7636_s256() {
        // BASE64URL(SHA256(verifier)) without padding, computed independently.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mJ92K9qbaPuvLSaFqKy-Ls7IbVBALy"),
            "7xSNlofPMkBHUZ96T7s47BR3goRJEyE9ZvLHfOSfezE"
        );
    }
}
