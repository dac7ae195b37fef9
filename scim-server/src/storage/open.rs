//! [`open`]: a storage backend from one string (`memory`, `sqlite:PATH`, `postgres://...`), so
//! that a program takes its storage as a command-line option or a configuration value
//! instead of parsing it itself.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Storage, StorageError};

/// Opens the storage `spec` names, with the default [`OpenOptions`]; the result goes to
/// [`ScimServerBuilder::storage`](crate::ScimServerBuilder::storage).
///
/// | spec | backend | Cargo feature |
/// |---|---|---|
/// | `memory` | [`MemoryStorage`](super::memory::MemoryStorage): in process, lost on exit | `memory` (default) |
/// | `sqlite:PATH` | `SqliteStorage` on the file `PATH` (created if missing, WAL) | `sqlite` (default) |
/// | `sqlite://PATH` | the same; `sqlite:///var/lib/scim.db` is the absolute path `/var/lib/scim.db` | `sqlite` |
/// | `sqlite::memory:` | a private in-memory SQLite database (tests) | `sqlite` |
/// | `postgres://...`, `postgresql://...` | `PostgresStorage`: the URL goes to the driver as it is (`sslmode`, `?host=/run/postgresql` for a Unix socket, ...); tables are created on connect | `postgres` |
///
/// Schemes are matched without regard to case (RFC 3986 §3.1). A bare file path is
/// **refused**, not taken for SQLite: a mistyped scheme (`postgress://...`, `memroy`) would
/// otherwise start the server on a new, empty database file; write `sqlite:PATH`. Everything
/// after `sqlite:` (or `sqlite://`) is the path, unchanged (no query parameters).
///
/// A spec whose backend is not compiled in is an [`OpenError::FeatureDisabled`] naming the
/// feature to enable. No message, `Debug` or `Display` output of [`OpenError`] or
/// [`StorageSpec`] contains a PostgreSQL URL (it may hold a password).
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use scim_server::storage::{self, OpenError, StorageSpec};
///
/// let memory = storage::open("memory").await.unwrap();
///
/// let dir = std::env::temp_dir().join(format!("scim-open-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let file = storage::open(&format!("sqlite:{}", dir.join("scim.db").display())).await.unwrap();
/// # drop(file); std::fs::remove_dir_all(&dir).unwrap();
///
/// assert_eq!(
///     StorageSpec::parse("sqlite:///var/lib/scim.db").unwrap(),
///     StorageSpec::Sqlite("/var/lib/scim.db".into())
/// );
/// assert!(matches!(storage::open("scim.db").await, Err(OpenError::UnknownSpec { .. })));
/// # let _ = memory;
/// # });
/// ```
///
/// Options that only some backends take go through [`OpenOptions`]:
///
/// ```no_run
/// # async fn run() -> Result<(), scim_server::storage::OpenError> {
/// use scim_server::storage::OpenOptions;
///
/// let storage = OpenOptions::new()
///     .postgres_ca_file("/etc/scim/db-ca.pem")
///     .open("postgres://scim@db.example.com/scim?sslmode=require")
///     .await?;
/// # let _ = storage; Ok(()) }
/// ```
pub async fn open(spec: &str) -> Result<Arc<dyn Storage>, OpenError> {
    OpenOptions::new().open(spec).await
}

/// A parsed storage spec: which backend, and where (see [`open`]).
///
/// `Debug` and `Display` never show a PostgreSQL URL (it may hold a password): `Display`
/// gives `memory`, `sqlite:PATH`, `sqlite::memory:` or `postgres`, fit for a startup message.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StorageSpec {
    /// `memory`.
    Memory,
    /// `sqlite:PATH` or `sqlite://PATH`: the file.
    Sqlite(PathBuf),
    /// `sqlite::memory:`.
    SqliteInMemory,
    /// `postgres://...` or `postgresql://...`: the URL, its scheme in lower case.
    Postgres(String),
}

impl StorageSpec {
    /// Parses a spec without opening anything (e.g. to check a configuration at startup).
    ///
    /// ```
    /// use scim_server::storage::{OpenError, StorageSpec};
    ///
    /// assert_eq!(StorageSpec::parse("memory").unwrap(), StorageSpec::Memory);
    /// assert_eq!(StorageSpec::parse("sqlite:scim.db").unwrap(), StorageSpec::Sqlite("scim.db".into()));
    /// assert_eq!(StorageSpec::parse("sqlite://scim.db").unwrap(), StorageSpec::Sqlite("scim.db".into()));
    /// assert_eq!(StorageSpec::parse("sqlite::memory:").unwrap(), StorageSpec::SqliteInMemory);
    /// let pg = StorageSpec::parse("PostgreSQL://scim:pw@db/scim").unwrap();
    /// assert_eq!(pg, StorageSpec::Postgres("postgresql://scim:pw@db/scim".into()));
    /// assert_eq!(pg.to_string(), "postgres");
    /// assert!(matches!(StorageSpec::parse("sqlite:"), Err(OpenError::MissingSqlitePath)));
    /// assert!(matches!(StorageSpec::parse("/var/lib/scim.db"), Err(OpenError::UnknownSpec { .. })));
    /// ```
    pub fn parse(spec: &str) -> Result<StorageSpec, OpenError> {
        if spec.eq_ignore_ascii_case("memory") {
            return Ok(StorageSpec::Memory);
        }
        for scheme in ["postgres://", "postgresql://"] {
            if let Some(rest) = strip_prefix_ignore_case(spec, scheme) {
                return Ok(StorageSpec::Postgres(format!("{scheme}{rest}")));
            }
        }
        if let Some(rest) = strip_prefix_ignore_case(spec, "sqlite:") {
            if rest.eq_ignore_ascii_case(":memory:") {
                return Ok(StorageSpec::SqliteInMemory);
            }
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(OpenError::MissingSqlitePath);
            }
            return Ok(StorageSpec::Sqlite(PathBuf::from(path)));
        }
        Err(OpenError::UnknownSpec {
            shown: shown_spec(spec),
        })
    }

    /// The Cargo feature of scim-server this backend needs.
    pub fn feature(&self) -> &'static str {
        match self {
            StorageSpec::Memory => "memory",
            StorageSpec::Sqlite(_) | StorageSpec::SqliteInMemory => "sqlite",
            StorageSpec::Postgres(_) => "postgres",
        }
    }
}

impl std::str::FromStr for StorageSpec {
    type Err = OpenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StorageSpec::parse(s)
    }
}

impl fmt::Display for StorageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageSpec::Memory => f.write_str("memory"),
            StorageSpec::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StorageSpec::SqliteInMemory => f.write_str("sqlite::memory:"),
            StorageSpec::Postgres(_) => f.write_str("postgres"),
        }
    }
}

impl fmt::Debug for StorageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageSpec::Memory => f.write_str("Memory"),
            StorageSpec::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            StorageSpec::SqliteInMemory => f.write_str("SqliteInMemory"),
            StorageSpec::Postgres(_) => f.write_str("Postgres(..)"),
        }
    }
}

/// Why [`open`] (or [`StorageSpec::parse`]) failed. The messages never contain a
/// PostgreSQL URL; the backend's own error is the [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Not a spec this module knows (a bare file path included).
    #[error(
        "unknown storage {shown:?}: use memory, sqlite:PATH (a file) or postgres://USER@HOST/DB"
    )]
    UnknownSpec {
        /// The spec, or only its scheme when it looks like a URL (which may hold a password).
        shown: String,
    },
    /// `sqlite:` without a path.
    #[error("sqlite: needs a file path, e.g. sqlite:scim.db")]
    MissingSqlitePath,
    /// The backend is not compiled into this build of scim-server.
    #[error(
        "the {feature} storage is not compiled in: enable the Cargo feature \"{feature}\" of scim-server"
    )]
    FeatureDisabled {
        /// The Cargo feature to enable: `memory`, `sqlite` or `postgres`.
        feature: &'static str,
    },
    /// A PostgreSQL option of [`OpenOptions`] was given for another backend.
    #[error("{option} applies only to a PostgreSQL storage (postgres://...), not to {backend}")]
    PostgresOnlyOption {
        /// The option, e.g. `a PostgreSQL CA file`.
        option: &'static str,
        /// The spec's backend (its [`StorageSpec::feature`]).
        backend: &'static str,
    },
    /// A SQLite file option of [`OpenOptions`] was given for another backend.
    #[error("{option} applies only to a SQLite file (sqlite:PATH), not to {backend}")]
    SqliteFileOnlyOption {
        /// The option, e.g. `a memory-mapped size`.
        option: &'static str,
        /// The spec's backend: its [`StorageSpec::feature`], or `sqlite::memory:`.
        backend: &'static str,
    },
    /// A SQLite option of [`OpenOptions`] was given for another backend.
    #[error("{option} applies only to SQLite (sqlite:PATH, sqlite::memory:), not to {backend}")]
    SqliteOnlyOption {
        /// The option, e.g. `substring indexes`.
        option: &'static str,
        /// The spec's backend (its [`StorageSpec::feature`]).
        backend: &'static str,
    },
    /// The SQLite database could not be opened or migrated.
    #[error("cannot open the SQLite database {}", path.display())]
    Sqlite {
        /// The file (`:memory:` for `sqlite::memory:`).
        path: PathBuf,
        /// The backend's error.
        #[source]
        source: StorageError,
    },
    /// The PostgreSQL server could not be reached, refused the connection or the migration
    /// failed.
    #[error("cannot connect to PostgreSQL")]
    Postgres {
        /// The backend's error (without the URL).
        #[source]
        source: StorageError,
    },
}

/// Options for [`open`]: what only some backends take. The PostgreSQL options are always
/// available (so a program compiles the same with and without the `postgres` feature);
/// giving one for another backend is [`OpenError::PostgresOnlyOption`], and a SQLite file
/// option for another backend [`OpenError::SqliteFileOnlyOption`] ([`OpenError::SqliteOnlyOption`]
/// for one that also applies to `sqlite::memory:`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    postgres_ca_file: Option<PathBuf>,
    postgres_schema: Option<String>,
    postgres_substring_indexes: Option<bool>,
    sqlite_mmap_size: Option<u64>,
    sqlite_substring_indexes: Option<bool>,
}

impl OpenOptions {
    /// The defaults: no extra CA, the default PostgreSQL schema (`scim`).
    pub fn new() -> Self {
        OpenOptions::default()
    }

    /// PostgreSQL: also trust the CA certificates of this PEM file for TLS, besides the
    /// system's roots (`PostgresConfig::ca_file`); TLS itself follows the URL's `sslmode`.
    pub fn postgres_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.postgres_ca_file = Some(path.into());
        self
    }

    /// PostgreSQL: the schema for the tables, created if missing (`PostgresConfig::schema`;
    /// default `scim`).
    pub fn postgres_schema(mut self, schema: impl Into<String>) -> Self {
        self.postgres_schema = Some(schema.into());
        self
    }

    /// PostgreSQL: whether `co` / `ew` filters use substring indexes held in this process's
    /// memory (`PostgresStorage::substring_indexes`; default on). Off, such a filter reads
    /// every value of its path in the database.
    pub fn postgres_substring_indexes(mut self, on: bool) -> Self {
        self.postgres_substring_indexes = Some(on);
        self
    }

    /// SQLite file: how many bytes of the file the read-only connections map into memory
    /// (`SqliteStorage::mmap_size`; default none).
    pub fn sqlite_mmap_size(mut self, bytes: u64) -> Self {
        self.sqlite_mmap_size = Some(bytes);
        self
    }

    /// SQLite: whether `co` / `ew` filters use in-memory substring indexes
    /// (`SqliteStorage::substring_indexes`; default on).
    pub fn sqlite_substring_indexes(mut self, on: bool) -> Self {
        self.sqlite_substring_indexes = Some(on);
        self
    }

    /// Parses `spec` and opens it.
    pub async fn open(&self, spec: &str) -> Result<Arc<dyn Storage>, OpenError> {
        self.open_spec(&StorageSpec::parse(spec)?).await
    }

    /// Opens a parsed spec: creates the SQLite file or the PostgreSQL tables if missing and
    /// applies the schema migrations. SQLite's file I/O runs on Tokio's blocking pool.
    pub async fn open_spec(&self, spec: &StorageSpec) -> Result<Arc<dyn Storage>, OpenError> {
        if !matches!(spec, StorageSpec::Postgres(_)) {
            let option = if self.postgres_ca_file.is_some() {
                Some("a PostgreSQL CA file")
            } else if self.postgres_schema.is_some() {
                Some("a PostgreSQL schema")
            } else if self.postgres_substring_indexes.is_some() {
                Some("the PostgreSQL substring index switch")
            } else {
                None
            };
            if let Some(option) = option {
                return Err(OpenError::PostgresOnlyOption {
                    option,
                    backend: spec.feature(),
                });
            }
        }
        if self.sqlite_mmap_size.is_some() && !matches!(spec, StorageSpec::Sqlite(_)) {
            return Err(OpenError::SqliteFileOnlyOption {
                option: "a memory-mapped size",
                backend: match spec {
                    StorageSpec::SqliteInMemory => "sqlite::memory:",
                    other => other.feature(),
                },
            });
        }
        if self.sqlite_substring_indexes.is_some()
            && !matches!(spec, StorageSpec::Sqlite(_) | StorageSpec::SqliteInMemory)
        {
            return Err(OpenError::SqliteOnlyOption {
                option: "substring indexes",
                backend: spec.feature(),
            });
        }
        let substrings = self.sqlite_substring_indexes.unwrap_or(true);
        match spec {
            StorageSpec::Memory => open_memory(),
            StorageSpec::Sqlite(path) => {
                open_sqlite(Some(path.clone()), self.sqlite_mmap_size, substrings).await
            }
            StorageSpec::SqliteInMemory => open_sqlite(None, None, substrings).await,
            StorageSpec::Postgres(url) => self.open_postgres(url).await,
        }
    }

    #[cfg(feature = "postgres")]
    async fn open_postgres(&self, url: &str) -> Result<Arc<dyn Storage>, OpenError> {
        use super::postgres::{PostgresConfig, PostgresStorage};
        let mut config = PostgresConfig::new(url);
        if let Some(path) = &self.postgres_ca_file {
            config = config.ca_file(path.clone());
        }
        if let Some(schema) = &self.postgres_schema {
            config = config.schema(schema.clone());
        }
        let storage = PostgresStorage::connect_with(config)
            .await
            .map_err(|source| OpenError::Postgres { source })?
            .substring_indexes(self.postgres_substring_indexes.unwrap_or(true));
        Ok(Arc::new(storage))
    }

    #[cfg(not(feature = "postgres"))]
    async fn open_postgres(&self, _url: &str) -> Result<Arc<dyn Storage>, OpenError> {
        Err(OpenError::FeatureDisabled {
            feature: "postgres",
        })
    }
}

#[cfg(feature = "memory")]
fn open_memory() -> Result<Arc<dyn Storage>, OpenError> {
    Ok(Arc::new(super::memory::MemoryStorage::new()))
}

#[cfg(not(feature = "memory"))]
fn open_memory() -> Result<Arc<dyn Storage>, OpenError> {
    Err(OpenError::FeatureDisabled { feature: "memory" })
}

/// Opens the file `path`, or a private in-memory database for `None`.
#[cfg(feature = "sqlite")]
async fn open_sqlite(
    path: Option<PathBuf>,
    mmap_size: Option<u64>,
    substring_indexes: bool,
) -> Result<Arc<dyn Storage>, OpenError> {
    use super::sqlite::SqliteStorage;
    let shown = path.clone().unwrap_or_else(|| PathBuf::from(":memory:"));
    let opened = tokio::task::spawn_blocking(move || match &path {
        Some(path) => SqliteStorage::open(path).map(|s| match mmap_size {
            Some(bytes) => s.mmap_size(bytes),
            None => s,
        }),
        None => SqliteStorage::open_in_memory(),
    })
    .await
    .map(|opened| opened.map(|s| s.substring_indexes(substring_indexes)))
    .unwrap_or_else(|e| Err(StorageError::backend(format!("sqlite: open failed: {e}"))));
    match opened {
        Ok(storage) => Ok(Arc::new(storage)),
        Err(source) => Err(OpenError::Sqlite {
            path: shown,
            source,
        }),
    }
}

#[cfg(not(feature = "sqlite"))]
async fn open_sqlite(
    _path: Option<PathBuf>,
    _mmap_size: Option<u64>,
    _substring_indexes: bool,
) -> Result<Arc<dyn Storage>, OpenError> {
    Err(OpenError::FeatureDisabled { feature: "sqlite" })
}

/// `prefix` stripped from the start of `s`, comparing ASCII case-insensitively.
fn strip_prefix_ignore_case<'s>(s: &'s str, prefix: &str) -> Option<&'s str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// What an [`OpenError::UnknownSpec`] shows of a spec: only the scheme of anything that
/// looks like a URL (`redis://user:pw@host` → `redis://…`), since the rest may hold a
/// password; a short plain word or path as it is.
fn shown_spec(spec: &str) -> String {
    match spec.find("://") {
        Some(i) => format!("{}://…", &spec[..i]),
        None if spec.contains('@') => "…".to_string(),
        None => spec.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    /// The error's message and every source's, joined as a program would print them.
    #[cfg(feature = "postgres")]
    fn chain(e: &OpenError) -> String {
        let mut out = e.to_string();
        let mut next = e.source();
        while let Some(s) = next {
            out.push_str(": ");
            out.push_str(&s.to_string());
            next = s.source();
        }
        out
    }

    fn temp_db(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("scim-open-{name}-{}.db", std::process::id()))
    }

    fn remove_db(path: &std::path::Path) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    #[test]
    fn specs_parse_to_their_backend() {
        let cases: &[(&str, StorageSpec)] = &[
            ("memory", StorageSpec::Memory),
            ("MEMORY", StorageSpec::Memory),
            ("sqlite:scim.db", StorageSpec::Sqlite("scim.db".into())),
            ("SQLite:scim.db", StorageSpec::Sqlite("scim.db".into())),
            (
                "sqlite:/var/lib/scim.db",
                StorageSpec::Sqlite("/var/lib/scim.db".into()),
            ),
            ("sqlite://scim.db", StorageSpec::Sqlite("scim.db".into())),
            (
                "sqlite:///var/lib/scim.db",
                StorageSpec::Sqlite("/var/lib/scim.db".into()),
            ),
            (
                "sqlite:dir/a b.db",
                StorageSpec::Sqlite("dir/a b.db".into()),
            ),
            ("sqlite::memory:", StorageSpec::SqliteInMemory),
            (
                "postgres://scim@127.0.0.1:5432/scim?sslmode=require",
                StorageSpec::Postgres("postgres://scim@127.0.0.1:5432/scim?sslmode=require".into()),
            ),
            (
                "POSTGRESQL://scim@db/scim",
                StorageSpec::Postgres("postgresql://scim@db/scim".into()),
            ),
        ];
        for (spec, expected) in cases {
            assert_eq!(&StorageSpec::parse(spec).unwrap(), expected, "{spec}");
            assert_eq!(&spec.parse::<StorageSpec>().unwrap(), expected, "{spec}");
        }
    }

    #[test]
    fn bad_specs_are_refused_with_a_typed_error() {
        for spec in [
            "",
            "scim.db",
            "/var/lib/scim.db",
            "memroy",
            "postgress://x",
            "redis://h",
        ] {
            assert!(
                matches!(StorageSpec::parse(spec), Err(OpenError::UnknownSpec { .. })),
                "{spec}"
            );
        }
        for spec in ["sqlite:", "sqlite://"] {
            assert!(
                matches!(StorageSpec::parse(spec), Err(OpenError::MissingSqlitePath)),
                "{spec}"
            );
        }
        let e = StorageSpec::parse("scim.db").unwrap_err().to_string();
        assert!(
            e.contains("\"scim.db\"") && e.contains("sqlite:PATH"),
            "{e}"
        );
    }

    #[test]
    fn no_message_shows_a_url_password() {
        let e = StorageSpec::parse("mysql://root:s3cret-pw@db/x").unwrap_err();
        assert!(!e.to_string().contains("s3cret-pw"), "{e}");
        assert!(e.to_string().contains("mysql://"), "{e}");
        let e = StorageSpec::parse("root:s3cret-pw@db").unwrap_err();
        assert!(!e.to_string().contains("s3cret-pw"), "{e}");
        let spec = StorageSpec::parse("postgres://scim:s3cret-pw@db/scim").unwrap();
        assert_eq!(spec.to_string(), "postgres");
        assert!(!format!("{spec:?}").contains("s3cret-pw"));
    }

    #[tokio::test]
    async fn memory_and_sqlite_open() {
        assert!(open("memory").await.is_ok());
        assert!(open("sqlite::memory:").await.is_ok());
        let path = temp_db("file");
        remove_db(&path);
        open(&format!("sqlite:{}", path.display())).await.unwrap();
        assert!(path.exists(), "the SQLite file is created");
        remove_db(&path);
    }

    #[tokio::test]
    async fn an_unopenable_sqlite_file_keeps_the_cause() {
        let path = std::env::temp_dir()
            .join(format!("scim-open-missing-dir-{}", std::process::id()))
            .join("scim.db");
        let e = open(&format!("sqlite:{}", path.display()))
            .await
            .err()
            .unwrap();
        let OpenError::Sqlite { path: shown, .. } = &e else {
            panic!("{e:?}");
        };
        assert_eq!(shown, &path);
        assert!(e.source().is_some(), "{e:?}");
    }

    #[tokio::test]
    async fn postgres_options_are_refused_for_other_backends() {
        // (options, storage, the backend the error names, what its message names)
        let cases = [
            (
                OpenOptions::new().postgres_ca_file("ca.pem"),
                "memory",
                "memory",
                None,
            ),
            (
                OpenOptions::new().postgres_schema("s"),
                "sqlite::memory:",
                "sqlite",
                None,
            ),
            (
                OpenOptions::new().postgres_substring_indexes(false),
                "memory",
                "memory",
                Some("substring index"),
            ),
            (
                OpenOptions::new().postgres_substring_indexes(false),
                "sqlite::memory:",
                "sqlite",
                Some("substring index"),
            ),
        ];
        for (options, spec, backend, names) in cases {
            let e = options.open(spec).await.err().unwrap();
            assert!(
                matches!(e, OpenError::PostgresOnlyOption { backend: b, .. } if b == backend),
                "{e:?}"
            );
            if let Some(names) = names {
                assert!(e.to_string().contains(names), "{e}");
            }
        }
    }

    #[tokio::test]
    async fn sqlite_options_are_refused_for_other_backends() {
        let e = OpenOptions::new()
            .sqlite_substring_indexes(false)
            .open("memory")
            .await
            .err()
            .unwrap();
        assert!(
            matches!(
                e,
                OpenError::SqliteOnlyOption {
                    backend: "memory",
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[cfg(feature = "sqlite")]
    #[tokio::test]
    async fn the_substring_index_switch_applies_to_sqlite_in_memory() {
        let opened = OpenOptions::new()
            .sqlite_substring_indexes(false)
            .open("sqlite::memory:")
            .await;
        assert!(opened.is_ok());
    }

    #[tokio::test]
    async fn sqlite_file_options_are_refused_for_other_backends() {
        for (spec, backend) in [("memory", "memory"), ("sqlite::memory:", "sqlite::memory:")] {
            let e = OpenOptions::new()
                .sqlite_mmap_size(1 << 20)
                .open(spec)
                .await
                .err()
                .unwrap();
            assert!(
                matches!(e, OpenError::SqliteFileOnlyOption { backend: b, .. } if b == backend),
                "{e:?}"
            );
        }
    }

    #[cfg(not(feature = "postgres"))]
    #[tokio::test]
    async fn postgres_without_the_feature_names_it() {
        let e = open("postgres://scim@127.0.0.1/scim").await.err().unwrap();
        assert!(
            matches!(
                e,
                OpenError::FeatureDisabled {
                    feature: "postgres"
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().contains("\"postgres\""), "{e}");
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn unreachable_postgres_keeps_the_cause_without_the_password() {
        // Port 1 on the loopback: nothing listens there, the connection is refused at once.
        let e = open("postgres://scim:s3cret-pw@127.0.0.1:1/scim")
            .await
            .err()
            .unwrap();
        assert!(matches!(e, OpenError::Postgres { .. }), "{e:?}");
        assert!(e.source().is_some());
        assert!(!chain(&e).contains("s3cret-pw"), "{}", chain(&e));
        assert!(!format!("{e:?}").contains("s3cret-pw"), "{e:?}");
    }

    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn the_ca_file_reaches_the_postgres_config() {
        // The CA file is read before connecting: its error shows the option got through.
        let e = OpenOptions::new()
            .postgres_ca_file("/nonexistent/db-ca.pem")
            .open("postgres://scim:s3cret-pw@127.0.0.1:1/scim?sslmode=require")
            .await
            .err()
            .unwrap();
        let text = chain(&e);
        assert!(text.contains("CA file /nonexistent/db-ca.pem"), "{text}");
        assert!(!text.contains("s3cret-pw"), "{text}");
    }

    /// `open` against the test server (SCIM_TEST_POSTGRES_URL), in a schema of its own: a
    /// user created through the opened storage is read through a handle on that schema.
    #[cfg(feature = "postgres")]
    #[tokio::test]
    async fn postgres_opens_in_the_given_schema() {
        use crate::storage::postgres::{PostgresConfig, PostgresStorage};
        use crate::storage::{Load, NewResource, Scope};
        use crate::tenancy::TenantId;
        let Some(url) = crate::storage::testing::postgres_test_url() else {
            return;
        };
        let ca = std::env::var("SCIM_TEST_POSTGRES_CA").ok();
        let schema = format!("open_test_{}", std::process::id());
        let mut options = OpenOptions::new().postgres_schema(schema.clone());
        let mut config = PostgresConfig::new(&url).schema(schema.clone());
        if let Some(ca) = &ca {
            options = options.postgres_ca_file(ca);
            config = config.ca_file(ca);
        }
        let opened = options.open(&url).await.unwrap();
        let check = PostgresStorage::connect_with(config).await.unwrap();
        let tenant = TenantId::default_tenant();
        let user_schema = scim_core::builtin::user_resource_schema();
        let user =
            scim_core::Resource::from_value(serde_json::json!({"id": "u1", "userName": "bjensen"}))
                .unwrap();
        let scope = Scope::new(&tenant, &user_schema);
        let outcome = async {
            opened
                .create(
                    scope,
                    NewResource {
                        id: "u1".into(),
                        resource: user,
                        members: vec![],
                        unique: vec![],
                    },
                )
                .await?;
            check.get(scope, "u1", Load::default()).await
        }
        .await;
        let _ = check.drop_schema().await;
        assert_eq!(outcome.unwrap().id, "u1");
    }
}
