//! Sending over SMTP with `lettre`: STARTTLS (RFC 3207), implicit TLS (RFC 8314 §3.3) or
//! plain, with AUTH (RFC 4954) when a user name is configured. Configured once per deployment
//! (`[smtp]` in the configuration file, or `SCIM_GATEWAY_SMTP_*`).
//!
//! `tls = "none"` sends everything, the password included, in clear text: use it only for a
//! relay on loopback (or in tests).

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use lettre::message::{Mailbox, MultiPart, header};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::Deserialize;

use super::MailError;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which is required (port 587). The default.
    Starttls,
    /// TLS from the first byte ("SMTPS", port 465).
    Tls,
    /// No TLS at all: only for a relay on loopback or tests.
    None,
}

impl TlsMode {
    /// Parses `starttls`, `tls` or `none`.
    pub fn parse(s: &str) -> Option<TlsMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "starttls" => Some(TlsMode::Starttls),
            "tls" => Some(TlsMode::Tls),
            "none" => Some(TlsMode::None),
            _ => None,
        }
    }

    /// The usual port of the mode.
    pub fn default_port(self) -> u16 {
        match self {
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        }
    }
}

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// The SMTP server of the deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// The server's host name (also the name its TLS certificate must carry).
    pub host: String,
    /// The port.
    pub port: u16,
    /// STARTTLS, implicit TLS or none.
    pub tls: TlsMode,
    /// The AUTH user name; none: no authentication.
    pub username: Option<String>,
    /// The AUTH password.
    pub password: Option<Secret>,
    /// Extra CA certificates (PEM) to trust for the server's certificate, besides the
    /// system's roots.
    pub ca_file: Option<PathBuf>,
    /// How long one connection and delivery may take.
    pub timeout: Duration,
}

/// One mail as the outbox holds it, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMail {
    /// `<...@...>`, kept across retries.
    pub message_id: String,
    /// The `Date` header (when the mail was enqueued, kept across retries).
    pub date: SystemTime,
    /// From.
    pub from: String,
    /// To.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// The plain text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

fn invalid(what: &str, e: impl fmt::Display) -> MailError {
    MailError::Invalid(format!("{what}: {e}"))
}

/// Parses an address (`Name <a@b>` or `a@b`).
pub fn mailbox(s: &str) -> Result<Mailbox, MailError> {
    s.trim()
        .parse::<Mailbox>()
        .map_err(|e| invalid(&format!("the address {s:?}"), e))
}

/// The message: `multipart/alternative` with the plain text first and the HTML last
/// (RFC 2046 §5.1.4: the last part is the preferred one).
pub fn build_message(mail: &OutgoingMail) -> Result<Message, MailError> {
    Message::builder()
        .from(mailbox(&mail.from)?)
        .to(mailbox(&mail.to)?)
        .subject(mail.subject.replace(['\r', '\n'], " "))
        .message_id(Some(mail.message_id.clone()))
        .date(mail.date)
        .header(header::MIME_VERSION_1_0)
        .multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            mail.html.clone(),
        ))
        .map_err(|e| invalid("the message", e))
}

/// A connection factory for one SMTP server.
#[derive(Clone)]
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    timeout: Duration,
}

impl fmt::Debug for Smtp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Smtp").finish_non_exhaustive()
    }
}

impl Smtp {
    /// The transport for `config` (reads `ca_file`; connects only when sending).
    pub fn new(config: &SmtpConfig) -> Result<Smtp, MailError> {
        let tls = match config.tls {
            TlsMode::None => Tls::None,
            mode => {
                let mut params = TlsParameters::builder(config.host.clone());
                if let Some(path) = &config.ca_file {
                    let pem = std::fs::read(path)
                        .map_err(|e| invalid(&format!("the SMTP CA file {}", path.display()), e))?;
                    let cert = Certificate::from_pem(&pem)
                        .map_err(|e| invalid("the SMTP CA certificate", e))?;
                    params = params.add_root_certificate(cert);
                }
                let params = params
                    .build()
                    .map_err(|e| invalid("the SMTP TLS settings", e))?;
                if mode == TlsMode::Tls {
                    Tls::Wrapper(params)
                } else {
                    Tls::Required(params)
                }
            }
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(config.timeout));
        if let Some(user) = &config.username {
            let password = config.password.as_ref().map_or("", |p| p.0.as_str());
            builder = builder.credentials(Credentials::new(user.clone(), password.to_string()));
        }
        Ok(Smtp {
            transport: builder.build(),
            timeout: config.timeout,
        })
    }

    /// How long one connection and delivery may take ([`SmtpConfig::timeout`]).
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends one mail; `Smtp { permanent: true }` when the server refused it for good.
    ///
    /// The whole exchange (connecting, TLS, the greeting, every command and the message)
    /// must end within [`Smtp::timeout`]: `lettre` bounds only the TCP connect, so a server
    /// that accepts and then stays silent (or stalls mid-DATA) would hold the worker
    /// forever. After the timeout the connection is dropped and the attempt is a transient
    /// failure (the outbox tries again later).
    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), MailError> {
        let message = build_message(mail)?;
        match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
            Ok(sent) => sent.map(|_| ()).map_err(|e| MailError::Smtp {
                message: crate::app::with_causes(&e),
                permanent: e.is_permanent(),
            }),
            Err(_) => Err(MailError::Smtp {
                message: format!(
                    "the SMTP server did not complete the delivery within {} s",
                    self.timeout.as_secs_f64()
                ),
                permanent: false,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let c = SmtpConfig {
            host: "smtp.example.com".into(),
            port: 587,
            tls: TlsMode::Starttls,
            username: Some("gw".into()),
            password: Some(Secret("hunter2".into())),
            ca_file: None,
            timeout: Duration::from_secs(30),
        };
        let debug = format!("{c:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("***"));
    }

    #[test]
    fn a_message_has_both_bodies_and_the_given_id() {
        let mail = OutgoingMail {
            message_id: "<abc@example.com>".into(),
            date: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            from: "Contoso IT <it@contoso.com>".into(),
            to: "ada@contoso.com".into(),
            subject: "Hello\r\nBcc: evil@example.com".into(),
            text: "plain body".into(),
            html: "<p>html body</p>".into(),
        };
        let raw = String::from_utf8(build_message(&mail).unwrap().formatted()).unwrap();
        assert!(raw.contains("Message-ID: <abc@example.com>"), "{raw}");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains("plain body") && raw.contains("html body"),
            "{raw}"
        );
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
        assert!(mailbox("not an address").is_err());
        assert_eq!(TlsMode::parse("STARTTLS"), Some(TlsMode::Starttls));
        assert_eq!(TlsMode::parse("ssl"), None);
    }
}
