//! How to connect to PostgreSQL: [`PostgresConfig`].

use std::path::{Path, PathBuf};
use std::time::Duration;

#[cfg(doc)]
use super::{PostgresStorage, is_valid_schema_name};

/// How to connect: the URL, the PostgreSQL schema holding the tables, the pool size and
/// the CA certificates to trust for TLS.
///
/// # TLS (`sslmode`)
/// The URL's `sslmode` parameter (`?sslmode=...`, or `sslmode=...` in the `key=value`
/// form) chooses whether connections use TLS (rustls, TLS 1.2 or 1.3). tokio-postgres
/// knows three modes; any other value (`allow`, `verify-ca`, `verify-full`) is an invalid
/// URL error.
///
/// - `disable`: never TLS; everything, the password included when the server asks for it
///   in clear text (`password` authentication), goes unencrypted.
/// - `prefer` (the default when `sslmode` is absent, as in libpq): asks the server for TLS.
///   If the server declines (it has `ssl=off`), or the TLS handshake fails (its certificate
///   is not trusted, or does not name the host), the connection is opened again without
///   TLS, as libpq does. When the handshake succeeds, the certificate was verified as for
///   `require`. This protects against passive eavesdropping only where the server's
///   certificate is trusted; an active attacker can always force plain TCP. Use `require`
///   for any network you do not trust.
/// - `require`: TLS or no connection. The server's certificate chain must lead to a
///   trusted root: the platform's native roots (`rustls-native-certs`; on Linux, the
///   OpenSSL certificate files, or those `SSL_CERT_FILE`/`SSL_CERT_DIR` name) plus those
///   of [`Self::ca_file`]; and the certificate must name the URL's host (a DNS name, or an
///   IP address among the certificate's IP addresses). **This is stricter than libpq**,
///   whose `require` does not verify the certificate (unless a root certificate file is
///   present); here it is what libpq calls `verify-full`. There is no mode that accepts any
///   certificate: for a self-signed or private CA server, give its CA with
///   [`Self::ca_file`]. A failed verification is a `Backend` error naming the reason
///   (e.g. `invalid peer certificate: UnknownIssuer`).
///
/// `sslnegotiation=direct` (PostgreSQL 17+, TLS without the `SSLRequest` round trip) works
/// with `require` (ALPN `postgresql` is sent). No client certificate is sent. A Unix socket
/// host never gets TLS from the server, so there `prefer` means plain and `require` fails.
///
/// The password is never part of an error message or log line (`Debug` of this type shows
/// the URL, so do not log it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    pub(super) url: String,
    pub(super) schema: String,
    pub(super) max_connections: usize,
    pub(super) connect_timeout: Duration,
    pub(super) ca_file: Option<PathBuf>,
}

impl PostgresConfig {
    /// The default schema name.
    pub const DEFAULT_SCHEMA: &'static str = "scim";

    /// A configuration for `url` (`postgres://user:password@host:port/database?...` or the
    /// `key=value` form), schema [`Self::DEFAULT_SCHEMA`], 16 connections.
    pub fn new(url: impl Into<String>) -> Self {
        PostgresConfig {
            url: url.into(),
            schema: Self::DEFAULT_SCHEMA.to_string(),
            max_connections: 16,
            connect_timeout: Duration::from_secs(10),
            ca_file: None,
        }
    }

    /// The PostgreSQL schema for the tables (created if missing): see
    /// [`is_valid_schema_name`]. Several storages (or test cases) in one database stay apart
    /// by using different schemas.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The most connections the pool opens (at least 1).
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long opening a connection (and waiting for a free one) may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Also trusts the CA certificates of the PEM file at `path` (one or more
    /// `BEGIN CERTIFICATE` blocks) for TLS, besides the platform's native roots: for a
    /// server with a self-signed certificate or one from a private CA (or a provider's CA
    /// bundle). Read when connecting; an unreadable file, or one without a valid
    /// certificate, makes [`PostgresStorage::connect_with`] fail with a `Backend` error
    /// naming the file. Unused with `sslmode=disable`.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// The CA file given with [`Self::ca_file`].
    pub fn get_ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }
}
