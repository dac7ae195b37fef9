//! TLS for the PostgreSQL backend: a rustls client configuration (ring provider, native roots
//! plus an optional CA file, host name checked) and the pool's connect step, which applies
//! the URL's `sslmode` (see [`super::PostgresConfig`]).

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use deadpool_postgres::Connect;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};
use tokio::task::JoinHandle;
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, Config, NoTls, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::StorageError;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The ALPN protocol name PostgreSQL servers expect (required with `sslnegotiation=direct`;
/// servers before PostgreSQL 17 ignore it).
const ALPN_POSTGRESQL: &[u8] = b"postgresql";

/// The rustls client configuration: the platform's native roots plus the certificates of
/// `ca_file` (PEM), TLS 1.2 and 1.3 with the ring provider, no client certificate. The
/// server certificate is verified against these roots, and its names against the host name
/// of the URL (rustls' WebPKI verifier; an IP address host is matched against the IP
/// addresses of the certificate).
pub(super) fn client_config(ca_file: Option<&Path>) -> Result<ClientConfig, StorageError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    if !native.errors.is_empty() {
        tracing::debug!(
            errors = ?native.errors,
            "postgres TLS: some native root certificates could not be loaded"
        );
    }
    let (_added, _ignored) = roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        for cert in read_ca_file(path)? {
            roots.add(cert).map_err(|e| {
                StorageError::backend(format!(
                    "postgres: the CA file {} holds an invalid certificate: {e}",
                    path.display()
                ))
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StorageError::backend(format!("postgres: TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![ALPN_POSTGRESQL.to_vec()];
    Ok(config)
}

/// The certificates of a PEM file; an error when it cannot be read, is not PEM or holds no
/// certificate.
fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, StorageError> {
    let invalid = |e: &dyn std::fmt::Display| {
        StorageError::backend(format!(
            "postgres: cannot use the CA file {}: {e}",
            path.display()
        ))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| invalid(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(&e))?;
    if certs.is_empty() {
        return Err(invalid(&"no PEM certificate (BEGIN CERTIFICATE) in it"));
    }
    Ok(certs)
}

/// The pool's connect step: `sslmode=disable` connects without TLS, `require` with TLS
/// only, `prefer` tries TLS and, when the TLS handshake fails (the server's certificate is
/// not trusted, for instance), connects again without TLS, as libpq does.
pub(super) struct PgConnect {
    /// `None` with `sslmode=disable`.
    tls: Option<MakeRustlsConnect>,
}

impl PgConnect {
    /// The connect step with `tls` (`None`: never TLS).
    pub(super) fn new(tls: Option<ClientConfig>) -> Self {
        PgConnect {
            tls: tls.map(MakeRustlsConnect::new),
        }
    }
}

impl Connect for PgConnect {
    fn connect(
        &self,
        pg: &Config,
    ) -> BoxFuture<'_, Result<(Client, JoinHandle<()>), tokio_postgres::Error>> {
        let pg = pg.clone();
        let tls = self.tls.clone().map(Marked);
        Box::pin(async move {
            let Some(tls) = tls else {
                return Ok(spawn(pg.connect(NoTls).await?));
            };
            let client = match pg.get_ssl_mode() {
                SslMode::Prefer => match pg.connect(tls).await {
                    Ok(c) => spawn(c),
                    Err(e) if is_handshake_error(&e) => {
                        tracing::debug!(
                            error = %e,
                            "postgres: sslmode=prefer: the TLS handshake failed, connecting \
                             without TLS"
                        );
                        spawn(pg.connect(NoTls).await?)
                    }
                    Err(e) => return Err(e),
                },
                // `Require` (and any mode a later tokio-postgres adds): TLS. `Disable` never
                // gets here: it builds no TLS configuration.
                _ => spawn(pg.connect(tls).await?),
            };
            Ok(client)
        })
    }
}

/// Runs the connection on its own task, as deadpool-postgres' own connect step does.
fn spawn<S, T>(
    (client, connection): (Client, tokio_postgres::Connection<S, T>),
) -> (Client, JoinHandle<()>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "postgres: connection error");
        }
    });
    (client, task)
}

/// Whether `e` is a failed TLS handshake (marked by [`Marked`]).
fn is_handshake_error(e: &tokio_postgres::Error) -> bool {
    std::error::Error::source(e).is_some_and(|s| s.is::<HandshakeError>())
}

/// A failed TLS handshake (wraps rustls' error, e.g. an untrusted certificate).
#[derive(Debug)]
struct HandshakeError(std::io::Error);

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for HandshakeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// [`MakeRustlsConnect`] with its handshake errors marked as [`HandshakeError`], so that
/// `prefer` falls back to plain TCP on those only (not on, say, a wrong password).
#[derive(Clone)]
struct Marked<T>(T);

type RustlsStream = <MakeRustlsConnect as MakeTlsConnect<Socket>>::Stream;
type RustlsConnect = <MakeRustlsConnect as MakeTlsConnect<Socket>>::TlsConnect;

impl MakeTlsConnect<Socket> for Marked<MakeRustlsConnect> {
    type Stream = RustlsStream;
    type TlsConnect = Marked<RustlsConnect>;
    type Error = std::convert::Infallible;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Self::TlsConnect, Self::Error> {
        let Ok(connect) =
            <MakeRustlsConnect as MakeTlsConnect<Socket>>::make_tls_connect(&mut self.0, domain);
        Ok(Marked(connect))
    }
}

impl TlsConnect<Socket> for Marked<RustlsConnect> {
    type Stream = RustlsStream;
    type Error = HandshakeError;
    type Future = BoxFuture<'static, Result<RustlsStream, HandshakeError>>;

    fn connect(self, stream: Socket) -> Self::Future {
        let handshake = self.0.connect(stream);
        Box::pin(async move { handshake.await.map_err(HandshakeError) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_ca_file_is_a_clear_error() {
        let e = client_config(Some(Path::new("/nonexistent/scim-ca.pem"))).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("CA file /nonexistent/scim-ca.pem"), "{msg}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_a_clear_error() {
        let path = std::env::temp_dir().join(format!("scim-not-a-ca-{}.pem", std::process::id()));
        std::fs::write(&path, "just some text, no PEM\n").unwrap();
        let e = client_config(Some(&path)).unwrap_err();
        let _ = std::fs::remove_file(&path);
        let msg = e.to_string();
        assert!(msg.contains("no PEM certificate"), "{msg}");
    }

    #[test]
    fn a_broken_certificate_is_a_clear_error() {
        let path = std::env::temp_dir().join(format!("scim-bad-ca-{}.pem", std::process::id()));
        std::fs::write(
            &path,
            "-----BEGIN CERTIFICATE-----\nMIIBbad=\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = client_config(Some(&path)).unwrap_err();
        let _ = std::fs::remove_file(&path);
        assert!(e.to_string().contains("CA file"), "{e}");
    }

    #[test]
    fn the_client_config_offers_alpn_postgresql() {
        let config = client_config(None).unwrap();
        assert_eq!(config.alpn_protocols, vec![ALPN_POSTGRESQL.to_vec()]);
    }
}
