//! The gateway's settings: command line > `SCIM_GATEWAY_*` environment variables > TOML
//! file (`--config FILE` or `SCIM_GATEWAY_CONFIG`) > defaults.
//!
//! ```toml
//! # scim-gateway.toml
//! listen = "0.0.0.0:8080"
//! data_dir = "/var/lib/scim-gateway"
//! public_url = "https://scim.example.com"
//! # database_url = "postgres://gateway@db.example.com/gateway?sslmode=require"
//! # database_schema = "scim"
//! # postgres_ca_file = "/etc/scim-gateway/db-ca.pem"
//!
//! # Mail (see `crate::mail`); without [smtp] mails stay queued in the outbox.
//! [smtp]
//! host = "smtp.example.com"
//! port = 587                     # default: 587 starttls, 465 tls, 25 none
//! tls = "starttls"               # "starttls" | "tls" | "none" (none: loopback relays only)
//! username = "scim-gateway"      # AUTH; omit for none
//! password = "..."               # or SCIM_GATEWAY_SMTP_PASSWORD; never logged
//! # ca_file = "/etc/scim-gateway/smtp-ca.pem"
//!
//! [mail]
//! from = "Contoso IT <it@contoso.com>"   # tenants may set their own
//! welcome_link_days = 7
//! notify_window_minutes = 60
//! crm_unreachable_minutes = 10
//! user_failures = 5
//! max_attempts = 8
//!
//! # Identity Manager sign-in through OpenID Connect (see `crate::ui::oidc`).
//! [ui.oidc]
//! issuer = "https://login.microsoftonline.com/{tenant-id}/v2.0"
//! client_id = "..."
//! client_secret = "..."          # or SCIM_GATEWAY_UI_OIDC_CLIENT_SECRET; omit for a public client
//! scopes = "openid email profile"
//! label = "Microsoft"            # the button says "Sign in with Microsoft"
//! claim = "preferred_username"   # which claim names the account (default "email")
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::mail::MailConfig;
use crate::mail::smtp::{Secret, SmtpConfig, TlsMode};

/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default data directory (for the embedded SQLite files).
pub const DEFAULT_DATA_DIR: &str = "./data";
/// The prefix of the environment variables.
pub const ENV_PREFIX: &str = "SCIM_GATEWAY_";

/// Settings from one source, each optional (the file, the environment, the command line).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partial {
    /// The address to listen on.
    pub listen: Option<String>,
    /// The data directory.
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL URL; without one, SQLite files in the data directory.
    pub database_url: Option<String>,
    /// The PostgreSQL schema of the SCIM and gateway tables (default `scim`).
    pub database_schema: Option<String>,
    /// A PEM file of CA certificates to trust for PostgreSQL TLS.
    pub postgres_ca_file: Option<PathBuf>,
    /// The public base URL (`https://scim.example.com`); Tenant URLs are
    /// `{public_url}/scim/{tenant}`.
    pub public_url: Option<String>,
    /// Memory for the SCIM server's cache of rendered resources, in MiB (0 turns it off).
    pub rendered_cache_mib: Option<u64>,
    /// How much of the SQLite SCIM database the readers map into memory, in MiB (0: none).
    pub sqlite_mmap_mib: Option<u64>,
    /// Whether SCIM `co` / `ew` filters on SQLite use in-memory substring indexes.
    pub sqlite_substring_indexes: Option<bool>,
    /// Whether SCIM `co` / `ew` filters on PostgreSQL use in-memory substring indexes.
    pub postgres_substring_indexes: Option<bool>,
    /// The SMTP server (`[smtp]`).
    pub smtp: Option<SmtpPartial>,
    /// Mail settings (`[mail]`).
    pub mail: Option<MailPartial>,
    /// Identity Manager settings (`[ui]`).
    pub ui: Option<UiPartial>,
}

/// `[ui]`: the Identity Manager.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UiPartial {
    /// Sign-in through an OpenID Connect issuer (`[ui.oidc]`).
    pub oidc: Option<OidcPartial>,
}

/// `[ui.oidc]`: the OpenID Connect issuer administrators sign in with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcPartial {
    /// The issuer URL (its discovery document is `{issuer}/.well-known/openid-configuration`).
    pub issuer: Option<String>,
    /// The client id registered at the issuer.
    pub client_id: Option<String>,
    /// The client secret; none for a public client (PKCE protects the code).
    pub client_secret: Option<Secret>,
    /// The scopes asked for (default `openid email profile`).
    pub scopes: Option<String>,
    /// The sign-in button's label (default `OpenID Connect`).
    pub label: Option<String>,
    /// The ID token claim that names the account (default `email`).
    pub claim: Option<String>,
}

impl OidcPartial {
    fn or(self, lower: OidcPartial) -> OidcPartial {
        OidcPartial {
            issuer: self.issuer.or(lower.issuer),
            client_id: self.client_id.or(lower.client_id),
            client_secret: self.client_secret.or(lower.client_secret),
            scopes: self.scopes.or(lower.scopes),
            label: self.label.or(lower.label),
            claim: self.claim.or(lower.claim),
        }
    }
}

impl UiPartial {
    fn or(self, lower: UiPartial) -> UiPartial {
        UiPartial {
            oidc: or_nested(self.oidc, lower.oidc, OidcPartial::or),
        }
    }
}

/// The `[ui.oidc]` settings of the `SCIM_GATEWAY_UI_OIDC_*` variables.
fn ui_from_env(var: &impl Fn(&str) -> Option<String>) -> Option<UiPartial> {
    let get = |name: &str| var(&format!("{ENV_PREFIX}UI_OIDC_{name}")).filter(|v| !v.is_empty());
    let oidc = OidcPartial {
        issuer: get("ISSUER"),
        client_id: get("CLIENT_ID"),
        client_secret: get("CLIENT_SECRET").map(Secret),
        scopes: get("SCOPES"),
        label: get("LABEL"),
        claim: get("CLAIM"),
    };
    (oidc != OidcPartial::default()).then_some(UiPartial { oidc: Some(oidc) })
}

/// The resolved `[ui.oidc]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The issuer URL, without a trailing `/`.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The client secret, if the client is confidential.
    pub client_secret: Option<Secret>,
    /// The scopes, space-separated (always with `openid`).
    pub scopes: String,
    /// The sign-in button's label.
    pub label: String,
    /// The claim that names the account.
    pub claim: String,
}

fn resolve_oidc(p: Option<UiPartial>) -> Result<Option<OidcConfig>, ConfigError> {
    let Some(p) = p.and_then(|u| u.oidc) else {
        return Ok(None);
    };
    let invalid = |message: &str| ConfigError::Invalid {
        name: "ui.oidc",
        message: message.to_string(),
    };
    let issuer = p
        .issuer
        .map(|i| i.trim().trim_end_matches('/').to_string())
        .filter(|i| !i.is_empty())
        .ok_or_else(|| invalid("[ui.oidc] needs an issuer (SCIM_GATEWAY_UI_OIDC_ISSUER)"))?;
    let local = issuer.starts_with("http://127.0.0.1") || issuer.starts_with("http://localhost");
    if !(issuer.starts_with("https://") || local) {
        return Err(invalid(
            "the issuer must be an https:// URL (http:// only for 127.0.0.1 and localhost)",
        ));
    }
    let client_id = p
        .client_id
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .ok_or_else(|| invalid("[ui.oidc] needs a client_id (SCIM_GATEWAY_UI_OIDC_CLIENT_ID)"))?;
    let mut scopes: Vec<String> = p
        .scopes
        .as_deref()
        .unwrap_or("openid email profile")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    Ok(Some(OidcConfig {
        issuer,
        client_id,
        client_secret: p.client_secret.filter(|s| !s.0.is_empty()),
        scopes: scopes.join(" "),
        label: p
            .label
            .filter(|l| !l.trim().is_empty())
            .unwrap_or_else(|| "OpenID Connect".into()),
        claim: p
            .claim
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| "email".into()),
    }))
}

/// `[smtp]`: the deployment's SMTP server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpPartial {
    /// The host name.
    pub host: Option<String>,
    /// The port (default by `tls`: 587, 465, 25).
    pub port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    pub tls: Option<String>,
    /// The AUTH user name.
    pub username: Option<String>,
    /// The AUTH password (never logged).
    pub password: Option<Secret>,
    /// Extra CA certificates (PEM) for the server's certificate.
    pub ca_file: Option<PathBuf>,
    /// Seconds one delivery may take (default 30).
    pub timeout_seconds: Option<u64>,
}

/// `[mail]`: what the gateway mails and when.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailPartial {
    /// The From of tenants that set none.
    pub from: Option<String>,
    /// Days a welcome link stays valid (default 7).
    pub welcome_link_days: Option<u32>,
    /// Minutes within which a condition is mailed once (default 60).
    pub notify_window_minutes: Option<u32>,
    /// Minutes the CRM must be unreachable before it is notified (default 10).
    pub crm_unreachable_minutes: Option<u32>,
    /// Failures in a row of one user before it is notified (default 5).
    pub user_failures: Option<u32>,
    /// Attempts to send a mail before it is marked failed (default 8).
    pub max_attempts: Option<u32>,
}

impl SmtpPartial {
    fn or(self, lower: SmtpPartial) -> SmtpPartial {
        SmtpPartial {
            host: self.host.or(lower.host),
            port: self.port.or(lower.port),
            tls: self.tls.or(lower.tls),
            username: self.username.or(lower.username),
            password: self.password.or(lower.password),
            ca_file: self.ca_file.or(lower.ca_file),
            timeout_seconds: self.timeout_seconds.or(lower.timeout_seconds),
        }
    }
}

impl MailPartial {
    fn or(self, lower: MailPartial) -> MailPartial {
        MailPartial {
            from: self.from.or(lower.from),
            welcome_link_days: self.welcome_link_days.or(lower.welcome_link_days),
            notify_window_minutes: self.notify_window_minutes.or(lower.notify_window_minutes),
            crm_unreachable_minutes: self
                .crm_unreachable_minutes
                .or(lower.crm_unreachable_minutes),
            user_failures: self.user_failures.or(lower.user_failures),
            max_attempts: self.max_attempts.or(lower.max_attempts),
        }
    }
}

fn or_nested<T>(a: Option<T>, b: Option<T>, or: impl Fn(T, T) -> T) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(or(a, b)),
        (a, b) => a.or(b),
    }
}

/// The `[smtp]` and `[mail]` settings of the `SCIM_GATEWAY_SMTP_*` and `SCIM_GATEWAY_MAIL_*`
/// variables; a number that does not parse is an error.
fn mail_from_env(
    var: &impl Fn(&str) -> Option<String>,
) -> Result<(Option<SmtpPartial>, Option<MailPartial>), ConfigError> {
    let get = |name: &str| var(&format!("{ENV_PREFIX}{name}")).filter(|v| !v.is_empty());
    fn num<T: std::str::FromStr>(
        name: &'static str,
        v: Option<String>,
    ) -> Result<Option<T>, ConfigError> {
        v.map(|v| {
            v.trim().parse::<T>().map_err(|_| ConfigError::Invalid {
                name,
                message: format!("{v:?} is not a number"),
            })
        })
        .transpose()
    }
    let smtp = SmtpPartial {
        host: get("SMTP_HOST"),
        port: num("SCIM_GATEWAY_SMTP_PORT", get("SMTP_PORT"))?,
        tls: get("SMTP_TLS"),
        username: get("SMTP_USERNAME"),
        password: get("SMTP_PASSWORD").map(Secret),
        ca_file: get("SMTP_CA_FILE").map(PathBuf::from),
        timeout_seconds: num(
            "SCIM_GATEWAY_SMTP_TIMEOUT_SECONDS",
            get("SMTP_TIMEOUT_SECONDS"),
        )?,
    };
    let mail = MailPartial {
        from: get("MAIL_FROM"),
        welcome_link_days: num(
            "SCIM_GATEWAY_MAIL_WELCOME_LINK_DAYS",
            get("MAIL_WELCOME_LINK_DAYS"),
        )?,
        notify_window_minutes: num(
            "SCIM_GATEWAY_MAIL_NOTIFY_WINDOW_MINUTES",
            get("MAIL_NOTIFY_WINDOW_MINUTES"),
        )?,
        crm_unreachable_minutes: num(
            "SCIM_GATEWAY_MAIL_CRM_UNREACHABLE_MINUTES",
            get("MAIL_CRM_UNREACHABLE_MINUTES"),
        )?,
        user_failures: num("SCIM_GATEWAY_MAIL_USER_FAILURES", get("MAIL_USER_FAILURES"))?,
        max_attempts: num("SCIM_GATEWAY_MAIL_MAX_ATTEMPTS", get("MAIL_MAX_ATTEMPTS"))?,
    };
    Ok((
        Some(smtp).filter(|s| *s != SmtpPartial::default()),
        Some(mail).filter(|m| *m != MailPartial::default()),
    ))
}

fn resolve_smtp(p: Option<SmtpPartial>) -> Result<Option<SmtpConfig>, ConfigError> {
    let Some(p) = p else { return Ok(None) };
    let Some(host) = p.host.clone().filter(|h| !h.trim().is_empty()) else {
        if p != SmtpPartial::default() {
            return Err(ConfigError::Invalid {
                name: "smtp",
                message: "[smtp] needs a host (SCIM_GATEWAY_SMTP_HOST)".into(),
            });
        }
        return Ok(None);
    };
    let tls = match p.tls.as_deref() {
        None => TlsMode::Starttls,
        Some(t) => TlsMode::parse(t).ok_or_else(|| ConfigError::Invalid {
            name: "smtp.tls",
            message: format!("{t:?} is not one of starttls, tls, none"),
        })?,
    };
    if p.username.is_some() != p.password.is_some() {
        return Err(ConfigError::Invalid {
            name: "smtp",
            message: "set both username and password for SMTP AUTH, or neither".into(),
        });
    }
    Ok(Some(SmtpConfig {
        host: host.trim().to_string(),
        port: p.port.unwrap_or_else(|| tls.default_port()),
        tls,
        username: p.username,
        password: p.password,
        ca_file: p.ca_file,
        timeout: std::time::Duration::from_secs(p.timeout_seconds.unwrap_or(30).max(1)),
    }))
}

fn resolve_mail(
    p: Option<MailPartial>,
    smtp: Option<SmtpConfig>,
) -> Result<MailConfig, ConfigError> {
    let p = p.unwrap_or_default();
    let d = MailConfig::default();
    if let Some(from) = &p.from {
        crate::mail::smtp::mailbox(from).map_err(|e| ConfigError::Invalid {
            name: "mail.from",
            message: e.to_string(),
        })?;
    }
    let mins = |v: Option<u32>, d: std::time::Duration| {
        v.map_or(d, |m| std::time::Duration::from_secs(u64::from(m) * 60))
    };
    Ok(MailConfig {
        public_url: d.public_url,
        default_from: p.from.unwrap_or(d.default_from),
        link_ttl: p.welcome_link_days.map_or(d.link_ttl, |days| {
            std::time::Duration::from_secs(u64::from(days) * 86_400)
        }),
        notify_window: mins(p.notify_window_minutes, d.notify_window),
        unreachable_after: mins(p.crm_unreachable_minutes, d.unreachable_after),
        user_failures: p
            .user_failures
            .map_or(d.user_failures, |n| i64::from(n.max(1))),
        max_attempts: p
            .max_attempts
            .map_or(d.max_attempts, |n| i64::from(n.max(1))),
        smtp,
    })
}

/// A number of MiB from the environment variable `name` (`zero` says what 0 means).
fn mib(value: Option<String>, name: &'static str, zero: &str) -> Result<Option<u64>, ConfigError> {
    value
        .map(|v| {
            v.trim().parse::<u64>().map_err(|e| ConfigError::Invalid {
                name,
                message: format!("{v:?}: {e} (a number of MiB; {zero})"),
            })
        })
        .transpose()
}

/// `true` or `false` from the environment variable `name`.
fn boolean(value: Option<String>, name: &'static str) -> Result<Option<bool>, ConfigError> {
    value
        .map(|v| match v.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(ConfigError::Invalid {
                name,
                message: format!("{other:?}: true or false"),
            }),
        })
        .transpose()
}

impl Partial {
    /// Each field of `self`, else of `lower`.
    pub fn or(self, lower: Partial) -> Partial {
        Partial {
            smtp: or_nested(self.smtp, lower.smtp, SmtpPartial::or),
            mail: or_nested(self.mail, lower.mail, MailPartial::or),
            ui: or_nested(self.ui, lower.ui, UiPartial::or),
            listen: self.listen.or(lower.listen),
            data_dir: self.data_dir.or(lower.data_dir),
            database_url: self.database_url.or(lower.database_url),
            database_schema: self.database_schema.or(lower.database_schema),
            postgres_ca_file: self.postgres_ca_file.or(lower.postgres_ca_file),
            public_url: self.public_url.or(lower.public_url),
            rendered_cache_mib: self.rendered_cache_mib.or(lower.rendered_cache_mib),
            sqlite_mmap_mib: self.sqlite_mmap_mib.or(lower.sqlite_mmap_mib),
            sqlite_substring_indexes: self
                .sqlite_substring_indexes
                .or(lower.sqlite_substring_indexes),
            postgres_substring_indexes: self
                .postgres_substring_indexes
                .or(lower.postgres_substring_indexes),
        }
    }

    /// The settings of the `SCIM_GATEWAY_*` variables `var` returns (empty values ignored);
    /// a variable whose value is not of its setting's type is an error.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Partial, ConfigError> {
        let get = |name: &str| var(&format!("{ENV_PREFIX}{name}")).filter(|v| !v.is_empty());
        Ok(Partial {
            listen: get("LISTEN"),
            data_dir: get("DATA_DIR").map(PathBuf::from),
            database_url: get("DATABASE_URL"),
            database_schema: get("DATABASE_SCHEMA"),
            postgres_ca_file: get("POSTGRES_CA_FILE").map(PathBuf::from),
            public_url: get("PUBLIC_URL"),
            rendered_cache_mib: mib(
                get("RENDERED_CACHE_MIB"),
                "SCIM_GATEWAY_RENDERED_CACHE_MIB",
                "0 turns the cache off",
            )?,
            sqlite_mmap_mib: mib(
                get("SQLITE_MMAP_MIB"),
                "SCIM_GATEWAY_SQLITE_MMAP_MIB",
                "0 maps nothing",
            )?,
            sqlite_substring_indexes: boolean(
                get("SQLITE_SUBSTRING_INDEXES"),
                "SCIM_GATEWAY_SQLITE_SUBSTRING_INDEXES",
            )?,
            postgres_substring_indexes: boolean(
                get("POSTGRES_SUBSTRING_INDEXES"),
                "SCIM_GATEWAY_POSTGRES_SUBSTRING_INDEXES",
            )?,
            smtp: None,
            mail: None,
            ui: None,
        })
    }

    /// The settings of a TOML file.
    pub fn from_file(path: &Path) -> Result<Partial, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

/// The resolved settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The data directory (SQLite files).
    pub data_dir: PathBuf,
    /// A PostgreSQL URL, if the gateway runs on PostgreSQL.
    pub database_url: Option<String>,
    /// The PostgreSQL schema.
    pub database_schema: Option<String>,
    /// CA certificates for PostgreSQL TLS.
    pub postgres_ca_file: Option<PathBuf>,
    /// The public base URL, without a trailing `/`; `None`: `http://{listen}`.
    pub public_url: Option<String>,
    /// The bound of the SCIM server's cache of rendered resources, in bytes
    /// (`ScimServerBuilder::rendered_cache_bytes`).
    pub rendered_cache_bytes: u64,
    /// How many bytes of the SQLite SCIM database the readers map into memory
    /// (`SqliteStorage::mmap_size`); 0, the default, maps nothing.
    pub sqlite_mmap_bytes: u64,
    /// Whether `co` / `ew` filters on the SQLite SCIM database use in-memory substring
    /// indexes (`SqliteStorage::substring_indexes`); on by default.
    pub sqlite_substring_indexes: bool,
    /// Whether `co` / `ew` filters on the PostgreSQL SCIM database use substring indexes
    /// held in the gateway's memory (`PostgresStorage::substring_indexes`); on by default.
    pub postgres_substring_indexes: bool,
    /// Mail: the SMTP server and the mail settings (its `public_url` is set by
    /// [`Config::mail_config`]).
    pub mail: MailConfig,
    /// The Identity Manager's OpenID Connect issuer, if one is configured.
    pub oidc: Option<OidcConfig>,
}

/// A configuration the gateway cannot use.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown keys.
    #[error("the configuration file {path} is invalid: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value is invalid.
    #[error("invalid {name}: {message}")]
    Invalid {
        /// The setting.
        name: &'static str,
        /// Why.
        message: String,
    },
}

impl Config {
    /// Resolves the settings: `cli` over the environment (`env`) over the file named by
    /// `config_file` (or by `SCIM_GATEWAY_CONFIG`) over the defaults.
    pub fn resolve(
        cli: Partial,
        config_file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let env_file = env(&format!("{ENV_PREFIX}CONFIG")).filter(|v| !v.is_empty());
        let file = match config_file
            .map(Path::to_path_buf)
            .or(env_file.map(PathBuf::from))
        {
            Some(p) => Partial::from_file(&p)?,
            None => Partial::default(),
        };
        let (env_smtp, env_mail) = mail_from_env(&env)?;
        let from_env = Partial {
            smtp: env_smtp,
            mail: env_mail,
            ui: ui_from_env(&env),
            ..Partial::from_env(&env)?
        };
        let merged = cli.or(from_env).or(file);
        let smtp = resolve_smtp(merged.smtp.clone())?;
        let mail = resolve_mail(merged.mail.clone(), smtp)?;
        let oidc = resolve_oidc(merged.ui.clone())?;
        let listen_text = merged.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = listen_text
            .parse::<SocketAddr>()
            .map_err(|e| ConfigError::Invalid {
                name: "listen address",
                message: format!("{listen_text:?}: {e} (write e.g. 127.0.0.1:8080)"),
            })?;
        let public_url = match merged.public_url {
            Some(u) => {
                let u = u.trim_end_matches('/').to_string();
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return Err(ConfigError::Invalid {
                        name: "public URL",
                        message: format!("{u:?} must start with http:// or https://"),
                    });
                }
                Some(u)
            }
            None => None,
        };
        if merged.database_url.is_some() && merged.sqlite_mmap_mib.is_some_and(|m| m > 0) {
            return Err(ConfigError::Invalid {
                name: "sqlite_mmap_mib",
                message: "it applies to the SQLite files of the data directory, not to a \
                          PostgreSQL database (database_url)"
                    .into(),
            });
        }
        if merged.database_url.is_some() && merged.sqlite_substring_indexes.is_some() {
            return Err(ConfigError::Invalid {
                name: "sqlite_substring_indexes",
                message: "it applies to the SQLite files of the data directory, not to a \
                          PostgreSQL database (database_url)"
                    .into(),
            });
        }
        if merged.database_url.is_none() && merged.postgres_substring_indexes.is_some() {
            return Err(ConfigError::Invalid {
                name: "postgres_substring_indexes",
                message: "it applies to a PostgreSQL database (database_url), not to the \
                          SQLite files of the data directory (see sqlite_substring_indexes)"
                    .into(),
            });
        }
        if let Some(url) = &merged.database_url {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return Err(ConfigError::Invalid {
                    name: "database URL",
                    message: "it must start with postgres:// or postgresql:// (without one, the \
                              gateway uses SQLite files in the data directory)"
                        .into(),
                });
            }
        }
        Ok(Config {
            listen,
            data_dir: merged
                .data_dir
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            database_url: merged.database_url,
            database_schema: merged.database_schema,
            postgres_ca_file: merged.postgres_ca_file,
            public_url,
            rendered_cache_bytes: merged
                .rendered_cache_mib
                .map_or(scim_server::server::DEFAULT_RENDERED_CACHE_BYTES, |mib| {
                    mib.saturating_mul(1024 * 1024)
                }),
            sqlite_mmap_bytes: merged
                .sqlite_mmap_mib
                .map_or(0, |mib| mib.saturating_mul(1024 * 1024)),
            sqlite_substring_indexes: merged.sqlite_substring_indexes.unwrap_or(true),
            postgres_substring_indexes: merged.postgres_substring_indexes.unwrap_or(true),
            mail,
            oidc,
        })
    }

    /// The mail settings for a gateway reached at `public_url`.
    pub fn mail_config(&self, public_url: &str) -> MailConfig {
        MailConfig {
            public_url: public_url.trim_end_matches('/').to_string(),
            ..self.mail.clone()
        }
    }

    /// The public base URL for a server bound to `bound`.
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    /// The error the environment `vars` alone resolve to.
    fn refused(vars: &[(&str, &str)]) -> String {
        Config::resolve(Partial::default(), None, env(vars))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults() {
        let c = Config::resolve(Partial::default(), None, env(&[])).unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(c.database_url, None);
        assert_eq!(
            c.public_url_for("127.0.0.1:9000".parse().unwrap()),
            "http://127.0.0.1:9000"
        );
        assert_eq!(
            c.rendered_cache_bytes,
            scim_server::server::DEFAULT_RENDERED_CACHE_BYTES
        );
    }

    #[test]
    fn the_rendered_cache_size_from_each_source() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gw.toml");
        std::fs::write(&file, "rendered_cache_mib = 256\n").unwrap();
        let c = Config::resolve(Partial::default(), Some(&file), env(&[])).unwrap();
        assert_eq!(c.rendered_cache_bytes, 256 * 1024 * 1024);
        let vars = [("SCIM_GATEWAY_RENDERED_CACHE_MIB", "0")];
        let c = Config::resolve(Partial::default(), Some(&file), env(&vars)).unwrap();
        assert_eq!(c.rendered_cache_bytes, 0, "the environment over the file");
        let cli = Partial {
            rendered_cache_mib: Some(8),
            ..Partial::default()
        };
        let c = Config::resolve(cli, Some(&file), env(&vars)).unwrap();
        assert_eq!(c.rendered_cache_bytes, 8 * 1024 * 1024);
        let vars = [("SCIM_GATEWAY_RENDERED_CACHE_MIB", "lots")];
        let e = refused(&vars);
        assert!(e.contains("SCIM_GATEWAY_RENDERED_CACHE_MIB"), "{e}");
    }

    #[test]
    fn the_sqlite_mmap_size_from_each_source() {
        let c = Config::resolve(Partial::default(), None, env(&[])).unwrap();
        assert_eq!(c.sqlite_mmap_bytes, 0, "off by default");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gw.toml");
        std::fs::write(&file, "sqlite_mmap_mib = 2048\n").unwrap();
        let c = Config::resolve(Partial::default(), Some(&file), env(&[])).unwrap();
        assert_eq!(c.sqlite_mmap_bytes, 2048 * 1024 * 1024);
        let vars = [("SCIM_GATEWAY_SQLITE_MMAP_MIB", "256")];
        let c = Config::resolve(Partial::default(), Some(&file), env(&vars)).unwrap();
        assert_eq!(
            c.sqlite_mmap_bytes,
            256 * 1024 * 1024,
            "the environment over the file"
        );
        let cli = Partial {
            sqlite_mmap_mib: Some(0),
            ..Partial::default()
        };
        let c = Config::resolve(cli, Some(&file), env(&vars)).unwrap();
        assert_eq!(c.sqlite_mmap_bytes, 0);
        let vars = [("SCIM_GATEWAY_SQLITE_MMAP_MIB", "lots")];
        let e = refused(&vars);
        assert!(e.contains("SCIM_GATEWAY_SQLITE_MMAP_MIB"), "{e}");
        // Only the SQLite files are mapped: with a PostgreSQL database it is refused.
        let vars = [
            ("SCIM_GATEWAY_SQLITE_MMAP_MIB", "256"),
            ("SCIM_GATEWAY_DATABASE_URL", "postgres://gw@db/gw"),
        ];
        let e = refused(&vars);
        assert!(e.contains("sqlite_mmap_mib"), "{e}");
    }

    #[test]
    fn the_substring_index_switch_from_each_source() {
        let c = Config::resolve(Partial::default(), None, env(&[])).unwrap();
        assert!(c.sqlite_substring_indexes, "on by default");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gw.toml");
        std::fs::write(&file, "sqlite_substring_indexes = false\n").unwrap();
        let c = Config::resolve(Partial::default(), Some(&file), env(&[])).unwrap();
        assert!(!c.sqlite_substring_indexes);
        let vars = [("SCIM_GATEWAY_SQLITE_SUBSTRING_INDEXES", "true")];
        let c = Config::resolve(Partial::default(), Some(&file), env(&vars)).unwrap();
        assert!(c.sqlite_substring_indexes, "the environment over the file");
        let cli = Partial {
            sqlite_substring_indexes: Some(false),
            ..Partial::default()
        };
        let c = Config::resolve(cli, Some(&file), env(&vars)).unwrap();
        assert!(!c.sqlite_substring_indexes);
        let vars = [("SCIM_GATEWAY_SQLITE_SUBSTRING_INDEXES", "maybe")];
        let e = refused(&vars);
        assert!(e.contains("SCIM_GATEWAY_SQLITE_SUBSTRING_INDEXES"), "{e}");
        let vars = [
            ("SCIM_GATEWAY_SQLITE_SUBSTRING_INDEXES", "false"),
            ("SCIM_GATEWAY_DATABASE_URL", "postgres://gw@db/gw"),
        ];
        let e = refused(&vars);
        assert!(e.contains("sqlite_substring_indexes"), "{e}");
    }

    #[test]
    fn the_postgres_substring_index_switch_from_each_source() {
        let url = ("SCIM_GATEWAY_DATABASE_URL", "postgres://gw@db/gw");
        let c = Config::resolve(Partial::default(), None, env(&[url])).unwrap();
        assert!(c.postgres_substring_indexes, "on by default");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gw.toml");
        std::fs::write(&file, "postgres_substring_indexes = false\n").unwrap();
        let c = Config::resolve(Partial::default(), Some(&file), env(&[url])).unwrap();
        assert!(!c.postgres_substring_indexes);
        let vars = [url, ("SCIM_GATEWAY_POSTGRES_SUBSTRING_INDEXES", "true")];
        let c = Config::resolve(Partial::default(), Some(&file), env(&vars)).unwrap();
        assert!(
            c.postgres_substring_indexes,
            "the environment over the file"
        );
        let cli = Partial {
            postgres_substring_indexes: Some(false),
            ..Partial::default()
        };
        let c = Config::resolve(cli, Some(&file), env(&vars)).unwrap();
        assert!(!c.postgres_substring_indexes);
        let vars = [url, ("SCIM_GATEWAY_POSTGRES_SUBSTRING_INDEXES", "maybe")];
        let e = refused(&vars);
        assert!(e.contains("SCIM_GATEWAY_POSTGRES_SUBSTRING_INDEXES"), "{e}");
        // Without a PostgreSQL database it is refused.
        let vars = [("SCIM_GATEWAY_POSTGRES_SUBSTRING_INDEXES", "false")];
        let e = refused(&vars);
        assert!(e.contains("postgres_substring_indexes"), "{e}");
    }

    #[test]
    fn cli_over_env_over_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gw.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:1111\"\ndata_dir = \"/file\"\npublic_url = \"https://file.example/\"\n",
        )
        .unwrap();
        let vars = [
            ("SCIM_GATEWAY_LISTEN", "127.0.0.1:2222"),
            ("SCIM_GATEWAY_DATA_DIR", "/env"),
        ];
        let cli = Partial {
            listen: Some("127.0.0.1:3333".into()),
            ..Partial::default()
        };
        let c = Config::resolve(cli, Some(&file), env(&vars)).unwrap();
        assert_eq!(c.listen.port(), 3333);
        assert_eq!(c.data_dir, PathBuf::from("/env"));
        assert_eq!(c.public_url.as_deref(), Some("https://file.example"));
        // The file named by the environment.
        let path = file.display().to_string();
        let vars = [("SCIM_GATEWAY_CONFIG", path.as_str())];
        let c = Config::resolve(Partial::default(), None, env(&vars)).unwrap();
        assert_eq!(c.listen.port(), 1111);
    }

    #[test]
    fn smtp_and_mail_from_file_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gw.toml");
        std::fs::write(
            &file,
            "[smtp]\nhost = \"smtp.example.com\"\ntls = \"tls\"\nusername = \"gw\"\n\
             password = \"file-secret\"\n[mail]\nfrom = \"IT <it@example.com>\"\n\
             welcome_link_days = 2\n",
        )
        .unwrap();
        let vars = [
            ("SCIM_GATEWAY_SMTP_PASSWORD", "env-secret"),
            ("SCIM_GATEWAY_MAIL_NOTIFY_WINDOW_MINUTES", "5"),
        ];
        let c = Config::resolve(Partial::default(), Some(&file), env(&vars)).unwrap();
        let smtp = c.mail.smtp.clone().unwrap();
        assert_eq!((smtp.host.as_str(), smtp.port), ("smtp.example.com", 465));
        assert_eq!(smtp.tls, TlsMode::Tls);
        assert_eq!(smtp.password, Some(Secret("env-secret".into())));
        assert!(!format!("{c:?}").contains("secret"));
        assert_eq!(c.mail.default_from, "IT <it@example.com>");
        assert_eq!(c.mail.link_ttl.as_secs(), 2 * 86_400);
        assert_eq!(c.mail.notify_window.as_secs(), 300);
        assert_eq!(c.mail_config("http://x/").public_url, "http://x");
        // No SMTP by default; bad values are named.
        let c = Config::resolve(Partial::default(), None, env(&[])).unwrap();
        assert_eq!(c.mail.smtp, None);
        for (k, v, named) in [
            ("SCIM_GATEWAY_SMTP_PORT", "x", "SMTP_PORT"),
            ("SCIM_GATEWAY_SMTP_TLS", "ssl", "smtp.tls"),
            ("SCIM_GATEWAY_SMTP_USERNAME", "u", "smtp"),
            ("SCIM_GATEWAY_MAIL_FROM", "nope", "mail.from"),
        ] {
            let vars = [("SCIM_GATEWAY_SMTP_HOST", "h"), (k, v)];
            let e = Config::resolve(Partial::default(), None, env(&vars))
                .unwrap_err()
                .to_string();
            assert!(e.contains(named), "{k}: {e}");
        }
    }

    #[test]
    fn oidc_from_file_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gw.toml");
        std::fs::write(
            &file,
            "[ui.oidc]\nissuer = \"https://login.example.com/t/v2.0/\"\nclient_id = \"app\"\n\
             label = \"Microsoft\"\n",
        )
        .unwrap();
        let vars = [
            ("SCIM_GATEWAY_UI_OIDC_CLAIM", "preferred_username"),
            ("SCIM_GATEWAY_UI_OIDC_CLIENT_SECRET", "env-secret"),
        ];
        let c = Config::resolve(Partial::default(), Some(&file), env(&vars)).unwrap();
        let o = c.oidc.clone().unwrap();
        assert_eq!(o.issuer, "https://login.example.com/t/v2.0");
        assert_eq!(o.client_id, "app");
        assert_eq!(o.scopes, "openid email profile");
        assert_eq!(o.label, "Microsoft");
        assert_eq!(o.claim, "preferred_username");
        assert_eq!(o.client_secret, Some(Secret("env-secret".into())));
        assert!(!format!("{c:?}").contains("env-secret"));
        assert_eq!(
            Config::resolve(Partial::default(), None, env(&[]))
                .unwrap()
                .oidc,
            None
        );
        for (vars, named) in [
            (vec![("SCIM_GATEWAY_UI_OIDC_CLIENT_ID", "a")], "issuer"),
            (
                vec![("SCIM_GATEWAY_UI_OIDC_ISSUER", "https://i")],
                "client_id",
            ),
            (
                vec![
                    ("SCIM_GATEWAY_UI_OIDC_ISSUER", "http://i.example"),
                    ("SCIM_GATEWAY_UI_OIDC_CLIENT_ID", "a"),
                ],
                "https://",
            ),
        ] {
            let e = Config::resolve(Partial::default(), None, env(&vars))
                .unwrap_err()
                .to_string();
            assert!(e.contains(named), "{e}");
        }
    }

    #[test]
    fn bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gw.toml");
        std::fs::write(&file, "listne = \"x\"\n").unwrap();
        let e = Config::resolve(Partial::default(), Some(&file), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("listne"), "{e}");
        let vars = [("SCIM_GATEWAY_LISTEN", "nonsense")];
        let e = refused(&vars);
        assert!(e.contains("listen address"), "{e}");
        let vars = [("SCIM_GATEWAY_DATABASE_URL", "mysql://x")];
        let e = refused(&vars);
        assert!(e.contains("postgres://"), "{e}");
        assert!(!e.contains("mysql"), "{e}");
        let e = Config::resolve(
            Partial::default(),
            Some(Path::new("/nonexistent.toml")),
            env(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("/nonexistent.toml"), "{e}");
    }
}
