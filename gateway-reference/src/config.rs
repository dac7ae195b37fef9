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
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
}

impl Partial {
    /// Each field of `self`, else of `lower`.
    pub fn or(self, lower: Partial) -> Partial {
        Partial {
            listen: self.listen.or(lower.listen),
            data_dir: self.data_dir.or(lower.data_dir),
            database_url: self.database_url.or(lower.database_url),
            database_schema: self.database_schema.or(lower.database_schema),
            postgres_ca_file: self.postgres_ca_file.or(lower.postgres_ca_file),
            public_url: self.public_url.or(lower.public_url),
        }
    }

    /// The settings of the `SCIM_GATEWAY_*` variables `var` returns (empty values ignored).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Partial {
        let get = |name: &str| var(&format!("{ENV_PREFIX}{name}")).filter(|v| !v.is_empty());
        Partial {
            listen: get("LISTEN"),
            data_dir: get("DATA_DIR").map(PathBuf::from),
            database_url: get("DATABASE_URL"),
            database_schema: get("DATABASE_SCHEMA"),
            postgres_ca_file: get("POSTGRES_CA_FILE").map(PathBuf::from),
            public_url: get("PUBLIC_URL"),
        }
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
        let merged = cli.or(Partial::from_env(&env)).or(file);
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
        })
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
    fn bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gw.toml");
        std::fs::write(&file, "listne = \"x\"\n").unwrap();
        let e = Config::resolve(Partial::default(), Some(&file), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("listne"), "{e}");
        let vars = [("SCIM_GATEWAY_LISTEN", "nonsense")];
        let e = Config::resolve(Partial::default(), None, env(&vars))
            .unwrap_err()
            .to_string();
        assert!(e.contains("listen address"), "{e}");
        let vars = [("SCIM_GATEWAY_DATABASE_URL", "mysql://x")];
        let e = Config::resolve(Partial::default(), None, env(&vars))
            .unwrap_err()
            .to_string();
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
