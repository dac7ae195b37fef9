//! Which CRM each tenant uses: the embedded CRM (the default) or SuperOffice CRM Online
//! (base URL, customer id, credentials), stored in `gw_crm_connections` (migration 5).
//!
//! Four ways to sign in ([`AuthKind`]): a ready access token (`bearer`), a ready system
//! user ticket with the application token (`soticket`), the system user flow
//! (`system-user`: the system user token, the application token, the application's RSA
//! private key; the gateway gets and renews the ticket) and the OAuth refresh-token flow
//! (`oauth`: client id, application token as the client secret, refresh token; the gateway
//! gets and renews access tokens); see [`superoffice::auth`](super::superoffice::auth).
//!
//! The credentials (access token, ticket, application token, system user token, private
//! key, refresh token) must be sent to or used with SuperOffice, so they cannot be hashed: they are encrypted at rest with
//! ChaCha20-Poly1305 (RFC 8439), a random 96-bit nonce per write, and the tenant id as
//! associated data (a sealed value copied to another tenant's row does not open). The key
//! is the deployment's: `SCIM_GATEWAY_SECRET_KEY` (base64 of 32 bytes; give every process
//! sharing a PostgreSQL database the same), or else the file `secret.key` in the data
//! directory, generated on first use with mode 0600. Secrets are never logged, never
//! printed by `Debug`, and never returned by the admin API (which says only whether each is
//! set).

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use scim_server::TenantId;
use serde::{Deserialize, Serialize};

use super::superoffice::auth::{OAuthCredentials, SystemUserCredentials, environment_url};
use super::superoffice::keys::{PartnerKey, PublicKey};
use super::superoffice::{SuperOfficeAuth, SuperOfficeConfig};
use crate::db::{Db, DbError, now};

/// The environment variable with the deployment's key (base64 of 32 bytes).
pub const KEY_ENV: &str = "SCIM_GATEWAY_SECRET_KEY";
/// The key file in the data directory, when the variable is not set.
pub const KEY_FILE: &str = "secret.key";
const SEALED_PREFIX: &str = "v1:";

/// What a connection operation refused.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The connection's values are not usable.
    #[error("invalid CRM connection: {0}")]
    Invalid(String),
    /// The key is missing or malformed.
    #[error("the credentials key: {0}")]
    Key(String),
    /// A sealed value does not open with this key (another key, or tampered with).
    #[error("the stored CRM credentials cannot be decrypted (a different {KEY_ENV}?)")]
    Decrypt,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// The deployment's key for credentials at rest.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    /// A fresh random key (the operating system's generator).
    pub fn generate() -> Self {
        let mut key = [0_u8; 32];
        key.copy_from_slice(&ChaCha20Poly1305::generate_key(&mut OsRng));
        SecretKey(key)
    }

    /// The key of its base64 text (32 bytes).
    pub fn from_base64(text: &str) -> Result<Self, ConnectionError> {
        let bytes = B64
            .decode(text.trim())
            .map_err(|_| ConnectionError::Key(format!("{KEY_ENV} is not base64")))?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            ConnectionError::Key(format!("{KEY_ENV} must be the base64 of 32 bytes"))
        })?;
        Ok(SecretKey(key))
    }

    /// The key as base64 (to give other processes the same one).
    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }

    /// The deployment's key: `env_value` (the value of [`KEY_ENV`]) if given, else the key
    /// file in `data_dir`, created (mode 0600) with a fresh key if missing.
    pub fn load(data_dir: &Path, env_value: Option<&str>) -> Result<Self, ConnectionError> {
        if let Some(v) = env_value.filter(|v| !v.trim().is_empty()) {
            return Self::from_base64(v);
        }
        let path = data_dir.join(KEY_FILE);
        let io = |e: std::io::Error| ConnectionError::Key(format!("{}: {e}", path.display()));
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::from_base64(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(data_dir).map_err(io)?;
                let key = Self::generate();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                match options.open(&path) {
                    Ok(mut f) => {
                        use std::io::Write;
                        f.write_all(format!("{}\n", key.to_base64()).as_bytes())
                            .map_err(io)?;
                        Ok(key)
                    }
                    // Another process made it first: use theirs.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Self::from_base64(&std::fs::read_to_string(&path).map_err(io)?)
                    }
                    Err(e) => Err(io(e)),
                }
            }
            Err(e) => Err(io(e)),
        }
    }

    fn cipher(&self) -> ChaCha20Poly1305 {
        ChaCha20Poly1305::new(Key::from_slice(&self.0))
    }

    /// Seals `plain` for `tenant`: `v1:` and the base64 of nonce and ciphertext.
    pub fn seal(&self, tenant: &str, plain: &[u8]) -> Result<String, ConnectionError> {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: tenant.as_bytes(),
                },
            )
            .map_err(|_| ConnectionError::Key("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("{SEALED_PREFIX}{}", B64.encode(out)))
    }

    /// Opens what [`SecretKey::seal`] sealed for `tenant`.
    pub fn open(&self, tenant: &str, sealed: &str) -> Result<Vec<u8>, ConnectionError> {
        let bytes = sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .filter(|b| b.len() > 12)
            .ok_or(ConnectionError::Decrypt)?;
        let (nonce, ct) = bytes.split_at(12);
        self.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: tenant.as_bytes(),
                },
            )
            .map_err(|_| ConnectionError::Decrypt)
    }
}

/// The deployment's key as the gateway holds it: fixed, or loaded (the file generated) on
/// first use, so a gateway whose tenants all use the embedded CRM never makes a key file.
#[derive(Debug)]
pub struct Keys {
    source: Option<(std::path::PathBuf, Option<String>)>,
    key: std::sync::Mutex<Option<SecretKey>>,
}

impl Keys {
    /// This key.
    pub fn fixed(key: SecretKey) -> Self {
        Keys {
            source: None,
            key: std::sync::Mutex::new(Some(key)),
        }
    }

    /// A new random key ([`SecretKey::generate`]), for tests and one-off deployments.
    pub fn random() -> Self {
        Keys::fixed(SecretKey::generate())
    }

    /// [`SecretKey::load`] of `data_dir` and the value of [`KEY_ENV`], on first use.
    pub fn lazy(data_dir: &Path, env_value: Option<String>) -> Self {
        Keys {
            source: Some((data_dir.to_path_buf(), env_value)),
            key: std::sync::Mutex::new(None),
        }
    }

    /// The key, loaded now if it was not yet.
    pub fn get(&self) -> Result<SecretKey, ConnectionError> {
        let mut slot = self
            .key
            .lock()
            .map_err(|_| ConnectionError::Key("the key's lock is poisoned".into()))?;
        if let Some(k) = &*slot {
            return Ok(k.clone());
        }
        let (dir, env) = self
            .source
            .as_ref()
            .ok_or_else(|| ConnectionError::Key("no key".into()))?;
        let key = SecretKey::load(dir, env.as_deref())?;
        *slot = Some(key.clone());
        Ok(key)
    }
}

/// Which CRM a tenant uses.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum CrmKind {
    /// The embedded CRM directory in the gateway's database.
    #[default]
    Embedded,
    /// SuperOffice CRM Online's Web API.
    Superoffice,
}

impl std::fmt::Display for CrmKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CrmKind::Embedded => "embedded",
            CrmKind::Superoffice => "superoffice",
        })
    }
}

/// How the gateway signs in to SuperOffice.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum AuthKind {
    /// A ready access token (`Authorization: Bearer`), used until it expires.
    #[default]
    Bearer,
    /// A ready system user ticket with the application token (`SOTICKET`, `SO-AppToken`).
    Soticket,
    /// The system user flow: the gateway signs the system user token with the
    /// application's private key and gets (and renews) the ticket.
    SystemUser,
    /// The OAuth refresh-token flow: the gateway gets (and renews) access tokens.
    Oauth,
}

impl AuthKind {
    /// Its name in the database and the admin API.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthKind::Bearer => "bearer",
            AuthKind::Soticket => "soticket",
            AuthKind::SystemUser => "system-user",
            AuthKind::Oauth => "oauth",
        }
    }
}

/// A connection's credentials (in memory only in plain text).
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secrets {
    /// The access token (Bearer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// The system user ticket (SOTICKET).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    /// The application token, also called the client secret (SO-AppToken; the system user
    /// sign-in's `ApplicationToken`; the OAuth `client_secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_token: Option<String>,
    /// The system user token (system user flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_user_token: Option<String>,
    /// The application's RSA private key, XML or PEM (system user flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    /// The refresh token (OAuth flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "<set>");
        f.debug_struct("Secrets")
            .field("access_token", &set(&self.access_token))
            .field("ticket", &set(&self.ticket))
            .field("app_token", &set(&self.app_token))
            .field("system_user_token", &set(&self.system_user_token))
            .field("private_key", &set(&self.private_key))
            .field("refresh_token", &set(&self.refresh_token))
            .finish()
    }
}

/// The sign-in flows' settings (not secret; stored in the sealed value with the secrets,
/// so they need no column of their own).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInSettings {
    /// Where the sign-in service and token endpoint are: `sod`, `stage`, `online` or a URL
    /// (default: the base URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The application's client id (OAuth flow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// SuperOffice's certificate or public key (PEM), to verify the system user sign-in's
    /// JWT with (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_certificate: Option<String>,
}

/// What the sealed column holds.
#[derive(Serialize, Deserialize)]
struct Sealed {
    #[serde(flatten)]
    secrets: Secrets,
    #[serde(default)]
    settings: SignInSettings,
}

/// A tenant's CRM connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrmConnection {
    /// Which CRM.
    pub kind: CrmKind,
    /// SuperOffice: the environment's base URL (`https://online.superoffice.com`).
    pub base_url: Option<String>,
    /// SuperOffice: the customer id (`Cust12345`).
    pub customer_id: Option<String>,
    /// SuperOffice: how to sign in.
    pub auth: AuthKind,
    /// SuperOffice: where users sign in (default `{base_url}/login/`).
    pub sign_in_url: Option<String>,
    /// The credentials.
    pub secrets: Secrets,
    /// The sign-in flows' settings.
    pub settings: SignInSettings,
    /// When it was last saved (`None`: never, the default).
    pub updated_at: Option<String>,
}

/// Is `url` an http(s) URL: the scheme, something after it and no whitespace?
pub fn is_http_url(url: &str) -> bool {
    url.strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .is_some_and(|rest| !rest.is_empty())
        && !url.contains(char::is_whitespace)
}

fn check_url(name: &str, url: &str) -> Result<(), ConnectionError> {
    if is_http_url(url) {
        Ok(())
    } else {
        Err(ConnectionError::Invalid(format!(
            "{name} must be an http(s) URL like https://online.superoffice.com"
        )))
    }
}

impl CrmConnection {
    /// Checks that a SuperOffice connection has what it needs.
    pub fn validate(&self) -> Result<(), ConnectionError> {
        if self.kind == CrmKind::Embedded {
            return Ok(());
        }
        let url = self.base_url.as_deref().ok_or_else(|| {
            ConnectionError::Invalid("a SuperOffice connection needs a base URL".into())
        })?;
        check_url("the base URL", url)?;
        if let Some(s) = &self.sign_in_url {
            check_url("the sign-in URL", s)?;
        }
        let customer = self.customer_id.as_deref().unwrap_or("");
        if customer.is_empty()
            || !customer
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(ConnectionError::Invalid(
                "a SuperOffice connection needs the customer id (letters and digits, e.g. Cust12345)"
                    .into(),
            ));
        }
        let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
        match self.auth {
            AuthKind::Bearer if !set(&self.secrets.access_token) => Err(ConnectionError::Invalid(
                "the bearer sign-in needs an access token".into(),
            )),
            AuthKind::Soticket if !set(&self.secrets.ticket) || !set(&self.secrets.app_token) => {
                Err(ConnectionError::Invalid(
                    "the SOTICKET sign-in needs the system user ticket and the application token"
                        .into(),
                ))
            }
            AuthKind::SystemUser
                if !set(&self.secrets.system_user_token)
                    || !set(&self.secrets.app_token)
                    || !set(&self.secrets.private_key) =>
            {
                Err(ConnectionError::Invalid(
                    "the system user sign-in needs the system user token, the application token \
                     and the application's private key"
                        .into(),
                ))
            }
            AuthKind::Oauth
                if !set(&self.settings.client_id)
                    || !set(&self.secrets.app_token)
                    || !set(&self.secrets.refresh_token) =>
            {
                Err(ConnectionError::Invalid(
                    "the OAuth sign-in needs the client id, the application token (client \
                     secret) and the refresh token"
                        .into(),
                ))
            }
            _ => self.validate_sign_in(),
        }
    }

    /// The environment, the private key and the certificate are readable.
    fn validate_sign_in(&self) -> Result<(), ConnectionError> {
        if let Some(env) = &self.settings.environment
            && environment_url(env).is_none()
        {
            return Err(ConnectionError::Invalid(
                "the environment must be sod, stage, online or an http(s) URL".into(),
            ));
        }
        if self.auth == AuthKind::SystemUser {
            if let Some(key) = &self.secrets.private_key {
                PartnerKey::parse(key).map_err(|e| ConnectionError::Invalid(e.0))?;
            }
            if let Some(cert) = &self.settings.jwt_certificate {
                PublicKey::parse(cert).map_err(|e| ConnectionError::Invalid(e.0))?;
            }
        }
        Ok(())
    }

    /// Where the sign-in service and token endpoint are: the environment's address, else
    /// the base URL.
    pub fn login_url(&self) -> String {
        self.settings
            .environment
            .as_deref()
            .and_then(environment_url)
            .unwrap_or_else(|| self.base_url.clone().unwrap_or_default())
    }

    /// The SuperOffice client configuration (default timeouts, retries and breaker).
    pub fn superoffice_config(&self) -> Result<SuperOfficeConfig, ConnectionError> {
        self.validate()?;
        let secret = |v: &Option<String>| v.clone().unwrap_or_default();
        let auth = match self.auth {
            AuthKind::Bearer => SuperOfficeAuth::Bearer {
                access_token: secret(&self.secrets.access_token),
            },
            AuthKind::Soticket => SuperOfficeAuth::SoTicket {
                ticket: secret(&self.secrets.ticket),
                app_token: secret(&self.secrets.app_token),
            },
            AuthKind::SystemUser => SuperOfficeAuth::SystemUser(SystemUserCredentials {
                login_url: self.login_url(),
                system_user_token: secret(&self.secrets.system_user_token),
                app_token: secret(&self.secrets.app_token),
                private_key: secret(&self.secrets.private_key),
                context_identifier: self.customer_id.clone().unwrap_or_default(),
                jwt_certificate: self.settings.jwt_certificate.clone(),
            }),
            AuthKind::Oauth => SuperOfficeAuth::OAuth(OAuthCredentials {
                login_url: self.login_url(),
                client_id: secret(&self.settings.client_id),
                client_secret: secret(&self.secrets.app_token),
                refresh_token: secret(&self.secrets.refresh_token),
            }),
        };
        let mut c = SuperOfficeConfig::new(
            self.base_url.clone().unwrap_or_default(),
            self.customer_id.clone().unwrap_or_default(),
            auth,
        );
        c.sign_in_url.clone_from(&self.sign_in_url);
        Ok(c)
    }
}

/// Which CRM the tenant uses (without opening the credentials).
pub async fn kind(db: &Db, tenant: &TenantId) -> Result<CrmKind, DbError> {
    let kind = db
        .query_opt(
            "SELECT kind FROM gw_crm_connections WHERE tenant = $1",
            &[tenant.as_str().into()],
        )
        .await?
        .map(|r| r.text(0))
        .transpose()?;
    Ok(match kind.as_deref() {
        Some("superoffice") => CrmKind::Superoffice,
        _ => CrmKind::Embedded,
    })
}

/// When the tenant's connection was last saved (`None`: never); cheap, for reload checks.
pub async fn version(db: &Db, tenant: &TenantId) -> Result<Option<String>, DbError> {
    db.query_opt(
        "SELECT updated_at FROM gw_crm_connections WHERE tenant = $1",
        &[tenant.as_str().into()],
    )
    .await?
    .map(|r| r.text(0))
    .transpose()
}

fn parse_name<T: serde::de::DeserializeOwned>(name: String) -> Result<T, ConnectionError> {
    serde_json::from_value(serde_json::Value::String(name.clone()))
        .map_err(|_| ConnectionError::Invalid(format!("unknown value {name:?}")))
}

/// The tenant's connection (the embedded CRM when none was saved), secrets decrypted.
pub async fn load(
    db: &Db,
    keys: &Keys,
    tenant: &TenantId,
) -> Result<CrmConnection, ConnectionError> {
    let Some(row) = db
        .query_opt(
            "SELECT kind, base_url, customer_id, auth, sign_in_url, secrets, updated_at \
             FROM gw_crm_connections WHERE tenant = $1",
            &[tenant.as_str().into()],
        )
        .await?
    else {
        return Ok(CrmConnection::default());
    };
    let kind: CrmKind = parse_name(row.text(0)?)?;
    let auth: AuthKind = row
        .opt_text(3)?
        .map(parse_name)
        .transpose()?
        .unwrap_or_default();
    let sealed = match row.opt_text(5)? {
        Some(sealed) => serde_json::from_slice(&keys.get()?.open(tenant.as_str(), &sealed)?)
            .map_err(|_| ConnectionError::Decrypt)?,
        None => Sealed {
            secrets: Secrets::default(),
            settings: SignInSettings::default(),
        },
    };
    Ok(CrmConnection {
        kind,
        base_url: row.opt_text(1)?,
        customer_id: row.opt_text(2)?,
        auth,
        sign_in_url: row.opt_text(4)?,
        secrets: sealed.secrets,
        settings: sealed.settings,
        updated_at: Some(row.text(6)?),
    })
}

/// Saves the tenant's connection (validated; secrets sealed with `key`); returns the version
/// it stored (`updated_at`).
pub async fn save(
    db: &Db,
    keys: &Keys,
    tenant: &TenantId,
    c: &CrmConnection,
    by: &str,
) -> Result<String, ConnectionError> {
    c.validate()?;
    let plain = serde_json::to_vec(&Sealed {
        secrets: c.secrets.clone(),
        settings: c.settings.clone(),
    })
    .map_err(|e| ConnectionError::Invalid(e.to_string()))?;
    let sealed = if c.secrets == Secrets::default() && c.settings == SignInSettings::default() {
        None
    } else {
        Some(keys.get()?.seal(tenant.as_str(), &plain)?)
    };
    let auth = c.auth.as_str();
    // A new version on every save, even within one millisecond (reload checks).
    let version = format!("{}#{}", now(), uuid::Uuid::new_v4().simple());
    db.execute(
        "INSERT INTO gw_crm_connections (tenant, kind, base_url, customer_id, auth, sign_in_url, \
         secrets, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (tenant) DO UPDATE SET kind = excluded.kind, base_url = excluded.base_url, \
         customer_id = excluded.customer_id, auth = excluded.auth, \
         sign_in_url = excluded.sign_in_url, secrets = excluded.secrets, \
         updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        &[
            tenant.as_str().into(),
            c.kind.to_string().into(),
            c.base_url.as_deref().into(),
            c.customer_id.as_deref().into(),
            auth.into(),
            c.sign_in_url.as_deref().into(),
            sealed.into(),
            version.as_str().into(),
            by.into(),
        ],
    )
    .await?;
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cli_names_of_the_auth_kinds_are_their_stored_names() {
        use clap::ValueEnum as _;
        let names: Vec<String> = AuthKind::value_variants()
            .iter()
            .map(|k| {
                let name = k.to_possible_value().unwrap().get_name().to_string();
                assert_eq!(name, k.as_str());
                name
            })
            .collect();
        assert_eq!(names, ["bearer", "soticket", "system-user", "oauth"]);
    }

    #[test]
    fn an_http_url_has_a_scheme_a_rest_and_no_whitespace() {
        for ok in [
            "https://online.superoffice.com",
            "http://127.0.0.1:9/",
            "http://x",
        ] {
            assert!(is_http_url(ok), "{ok}");
        }
        for bad in [
            "https://",
            "http://",
            "ftp://x",
            "online.superoffice.com",
            "https://a b",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }

    #[test]
    fn seal_opens_only_for_its_tenant_and_key() {
        let k = SecretKey::generate();
        let sealed = k.seal("contoso", b"token-123").unwrap();
        assert!(sealed.starts_with("v1:") && !sealed.contains("token-123"));
        assert_eq!(k.open("contoso", &sealed).unwrap(), b"token-123");
        assert_ne!(
            k.seal("contoso", b"token-123").unwrap(),
            sealed,
            "nonce reused"
        );
        assert!(matches!(
            k.open("fabrikam", &sealed),
            Err(ConnectionError::Decrypt)
        ));
        let other = SecretKey::generate();
        assert!(matches!(
            other.open("contoso", &sealed),
            Err(ConnectionError::Decrypt)
        ));
        assert!(k.open("contoso", "v1:AAAA").is_err());
        let again = SecretKey::from_base64(&k.to_base64()).unwrap();
        assert_eq!(again.open("contoso", &sealed).unwrap(), b"token-123");
        assert!(SecretKey::from_base64("c2hvcnQ=").is_err());
        assert!(!format!("{k:?}").contains(&k.to_base64()));
    }

    #[test]
    fn key_file_is_made_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let a = SecretKey::load(dir.path(), None).unwrap();
        let b = SecretKey::load(dir.path(), None).unwrap();
        assert_eq!(a.to_base64(), b.to_base64());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let env = SecretKey::generate().to_base64();
        let c = SecretKey::load(dir.path(), Some(&env)).unwrap();
        assert_eq!(c.to_base64(), env);
    }

    #[test]
    fn superoffice_needs_url_customer_and_secrets() {
        let mut c = CrmConnection {
            kind: CrmKind::Superoffice,
            base_url: Some("https://online.superoffice.com".into()),
            customer_id: Some("Cust12345".into()),
            ..CrmConnection::default()
        };
        assert!(c.validate().is_err());
        c.secrets.access_token = Some("t".into());
        c.validate().unwrap();
        c.auth = AuthKind::Soticket;
        assert!(c.validate().is_err());
        c.secrets.ticket = Some("x".into());
        c.secrets.app_token = Some("y".into());
        c.validate().unwrap();
        c.base_url = Some("ftp://x".into());
        assert!(c.validate().is_err());
        c.base_url = Some("https://online.superoffice.com".into());
        c.customer_id = Some("../x".into());
        assert!(c.validate().is_err());
        assert!(!format!("{c:?}").contains("\"y\""));
        CrmConnection::default().validate().unwrap();
    }
}
