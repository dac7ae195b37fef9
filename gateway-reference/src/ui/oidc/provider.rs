//! The OpenID Connect issuer as the gateway talks to it: its discovery document and signing
//! keys (OpenID Connect Discovery 1.0 §4, cached for [`CACHE_FOR`]), the code exchange at its
//! token endpoint (RFC 6749 §4.1.3 with the PKCE `code_verifier`, RFC 7636 §4.5), and the
//! validation of the ID token it answers with (OpenID Connect Core 1.0 §3.1.3.7).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::OidcConfig;
use crate::jose::{Jwt, PublicKey};

/// How long the discovery document and the keys are kept before they are fetched again
/// (an unknown key id fetches the keys at once: the issuer rolled its keys).
pub const CACHE_FOR: Duration = Duration::from_secs(3600);
/// How long one request to the issuer may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The clock difference tolerated on `exp` and `iat`.
const SKEW: i64 = 120;

/// Why a sign-in through the issuer failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The issuer could not be reached or answered something unusable.
    #[error("the sign-in service cannot be reached: {0}")]
    Unreachable(String),
    /// The token endpoint refused the code.
    #[error("the sign-in service did not accept the sign-in ({0})")]
    Refused(String),
    /// The ID token is not valid for this gateway.
    #[error("the sign-in could not be verified: {0}")]
    Invalid(String),
}

/// The parts of the discovery document the gateway uses.
#[derive(Debug, Clone, Deserialize)]
pub struct Discovery {
    /// The issuer identifier (must equal the configured one).
    pub issuer: String,
    /// Where the browser is sent to sign in.
    pub authorization_endpoint: String,
    /// Where the code is exchanged.
    pub token_endpoint: String,
    /// The issuer's signing keys (a JWK Set, RFC 7517 §5).
    pub jwks_uri: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Jwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

#[derive(Debug, Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Debug, Clone)]
struct Cached {
    discovery: Discovery,
    keys: Vec<Jwk>,
    at: Instant,
}

/// The configured issuer.
#[derive(Debug)]
pub struct Provider {
    /// The settings.
    pub config: OidcConfig,
    http: reqwest::Client,
    cache: Mutex<Option<Cached>>,
}

fn unreachable(what: &str, e: impl std::fmt::Display) -> OidcError {
    OidcError::Unreachable(format!("{what}: {e}"))
}

impl Provider {
    /// A provider for `config` (nothing is fetched yet).
    pub fn new(config: OidcConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Provider {
            config,
            http,
            cache: Mutex::new(None),
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, OidcError> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| unreachable(url, e.without_url()))?;
        if !response.status().is_success() {
            return Err(unreachable(url, response.status()));
        }
        response
            .json()
            .await
            .map_err(|_| unreachable(url, "the answer is not the expected JSON"))
    }

    async fn fetch(&self) -> Result<Cached, OidcError> {
        let url = format!("{}/.well-known/openid-configuration", self.config.issuer);
        let discovery: Discovery = self.get_json(&url).await?;
        if discovery.issuer.trim_end_matches('/') != self.config.issuer {
            return Err(OidcError::Unreachable(format!(
                "the discovery document names the issuer {:?}, not the configured {:?}",
                discovery.issuer, self.config.issuer
            )));
        }
        let set: JwkSet = self.get_json(&discovery.jwks_uri).await?;
        let cached = Cached {
            discovery,
            keys: set.keys,
            at: Instant::now(),
        };
        if let Ok(mut slot) = self.cache.lock() {
            *slot = Some(cached.clone());
        }
        Ok(cached)
    }

    async fn cached(&self, refresh: bool) -> Result<Cached, OidcError> {
        let held = self.cache.lock().ok().and_then(|c| c.clone());
        match held {
            Some(c) if !refresh && c.at.elapsed() < CACHE_FOR => Ok(c),
            _ => self.fetch().await,
        }
    }

    /// The discovery document (cached).
    pub async fn discovery(&self) -> Result<Discovery, OidcError> {
        Ok(self.cached(false).await?.discovery)
    }

    /// Exchanges `code` (with the PKCE `verifier`) at the token endpoint; returns the ID
    /// token. The client secret, if any, is sent in the body (`client_secret_post`).
    pub async fn exchange(
        &self,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
    ) -> Result<String, OidcError> {
        let discovery = self.discovery().await?;
        let body = {
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "authorization_code")
                .append_pair("code", code)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("client_id", &self.config.client_id)
                .append_pair("code_verifier", verifier);
            if let Some(secret) = &self.config.client_secret {
                form.append_pair("client_secret", &secret.0);
            }
            form.finish()
        };
        let response = self
            .http
            .post(&discovery.token_endpoint)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable(&discovery.token_endpoint, e.without_url()))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            // RFC 6749 §5.2: `error` is a code from a fixed set; only that is shown.
            let code = body
                .get("error")
                .and_then(Value::as_str)
                .filter(|c| c.len() <= 64 && c.chars().all(|c| c.is_ascii_graphic()))
                .map_or_else(|| format!("HTTP {}", status.as_u16()), str::to_string);
            return Err(OidcError::Refused(code));
        }
        body.get("id_token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| OidcError::Refused("the answer has no ID token".into()))
    }

    fn key(keys: &[Jwk], kid: Option<&str>) -> Option<PublicKey> {
        let mut rsa = keys
            .iter()
            .filter(|k| k.kty == "RSA" && k.usage.as_deref().is_none_or(|u| u == "sig"));
        let jwk = match kid {
            Some(kid) => rsa.find(|k| k.kid.as_deref() == Some(kid))?,
            None => {
                let all: Vec<&Jwk> = rsa.collect();
                match all[..] {
                    [only] => only,
                    _ => return None,
                }
            }
        };
        let n = B64URL.decode(jwk.n.as_deref()?).ok()?;
        let e = B64URL.decode(jwk.e.as_deref()?).ok()?;
        Some(PublicKey::from_components(&n, &e))
    }

    /// The claims of `id_token` once it is shown to be the issuer's, for this client, live
    /// and of this sign-in (`nonce`).
    pub async fn validate(
        &self,
        id_token: &str,
        nonce: &str,
    ) -> Result<Map<String, Value>, OidcError> {
        let invalid = |m: &str| OidcError::Invalid(m.to_string());
        let refused = |e: crate::jose::JwtError| OidcError::Invalid(format!("the ID token: {e}"));
        let jwt = Jwt::parse(id_token).map_err(refused)?;
        let header = jwt.rs256_header().map_err(refused)?;
        let kid = header.get("kid").and_then(Value::as_str);
        let mut cached = self.cached(false).await?;
        let mut key = Self::key(&cached.keys, kid);
        if key.is_none() {
            cached = self.cached(true).await?;
            key = Self::key(&cached.keys, kid);
        }
        let key = key.ok_or_else(|| invalid("the issuer has no key with the ID token's key id"))?;
        jwt.verify_rs256(&key).map_err(refused)?;
        let claims = jwt.claims().map_err(refused)?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        if text("iss") != Some(cached.discovery.issuer.as_str()) {
            return Err(invalid("the ID token is from another issuer"));
        }
        let client = self.config.client_id.as_str();
        let audience_ok = match claims.get("aud") {
            Some(Value::String(a)) => a == client,
            Some(Value::Array(list)) => {
                list.iter().any(|a| a.as_str() == Some(client))
                    && (list.len() == 1 || text("azp") == Some(client))
            }
            _ => false,
        };
        if !audience_ok {
            return Err(invalid("the ID token is meant for another application"));
        }
        let now = chrono::Utc::now().timestamp();
        let exp = claims.get("exp").and_then(Value::as_i64);
        if exp.is_none_or(|exp| exp + SKEW < now) {
            return Err(invalid("the ID token has expired"));
        }
        if claims
            .get("iat")
            .and_then(Value::as_i64)
            .is_some_and(|iat| iat > now + SKEW)
        {
            return Err(invalid("the ID token is issued in the future"));
        }
        let nonce_ok = text("nonce").is_some_and(|n| super::same(n, nonce));
        if !nonce_ok {
            return Err(invalid("the ID token belongs to another sign-in (nonce)"));
        }
        Ok(claims)
    }
}
