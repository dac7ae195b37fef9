//! The command line (`scim-gateway --help`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Partial;

/// scim-gateway: a SCIM 2.0 gateway that Microsoft Entra ID or Okta provisions users and
/// groups into, per tenant, for SuperOffice CRM. Without a command it serves.
#[derive(Debug, Parser)]
#[command(name = "scim-gateway", version)]
pub struct Cli {
    /// Where and how the gateway stores its data (every command takes these).
    #[command(flatten)]
    pub global: Global,
    /// What to do (default: `serve`).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options every command takes.
#[derive(Debug, Clone, Default, Args)]
pub struct Global {
    /// The address to listen on [env: SCIM_GATEWAY_LISTEN] [default: 127.0.0.1:8080].
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// The data directory for the embedded SQLite databases (scim.db, gateway.db)
    /// [env: SCIM_GATEWAY_DATA_DIR] [default: ./data].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Run on PostgreSQL instead of SQLite: `postgres://user@host:5432/db` (several gateway
    /// processes may share it) [env: SCIM_GATEWAY_DATABASE_URL].
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// The PostgreSQL schema of the SCIM and gateway tables (several gateways may use one
    /// database with different schemas) [env: SCIM_GATEWAY_DATABASE_SCHEMA] [default: scim].
    #[arg(long, global = true, value_name = "NAME")]
    pub database_schema: Option<String>,
    /// Also trust these CA certificates (PEM) for PostgreSQL TLS
    /// [env: SCIM_GATEWAY_POSTGRES_CA_FILE].
    #[arg(long, global = true, value_name = "FILE")]
    pub postgres_ca_file: Option<PathBuf>,
    /// A TOML configuration file [env: SCIM_GATEWAY_CONFIG].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The URL clients reach the gateway at, e.g. `https://scim.example.com`; Tenant URLs are
    /// `{public-url}/scim/{tenant}` [env: SCIM_GATEWAY_PUBLIC_URL] [default: http://LISTEN].
    #[arg(long, global = true, value_name = "URL")]
    pub public_url: Option<String>,
    /// Memory for the cache of rendered SCIM resources, in MiB; 0 turns it off
    /// [env: SCIM_GATEWAY_RENDERED_CACHE_MIB] [default: 32].
    #[arg(long, global = true, value_name = "MIB")]
    pub rendered_cache_mib: Option<u64>,
    /// Map up to this many MiB of the SQLite SCIM database into memory for reads (SQLite's
    /// memory-mapped I/O): for a database much larger than the readers' page caches
    /// [env: SCIM_GATEWAY_SQLITE_MMAP_MIB] [default: 0, none].
    #[arg(long, global = true, value_name = "MIB")]
    pub sqlite_mmap_mib: Option<u64>,
    /// Whether SCIM `co` / `ew` filters on the SQLite database use in-memory substring
    /// (4-gram) indexes, about 130 bytes of memory per email address once queried; `false`
    /// makes them read every value [env: SCIM_GATEWAY_SQLITE_SUBSTRING_INDEXES]
    /// [default: true].
    #[arg(long, global = true, value_name = "BOOL")]
    pub sqlite_substring_indexes: Option<bool>,
    /// Whether SCIM `co` / `ew` filters on the PostgreSQL database use substring (4-gram)
    /// indexes held in the gateway's memory, as on SQLite; `false` makes them read every
    /// value in the database [env: SCIM_GATEWAY_POSTGRES_SUBSTRING_INDEXES] [default: true].
    #[arg(long, global = true, value_name = "BOOL")]
    pub postgres_substring_indexes: Option<bool>,
}

impl Global {
    /// The settings given on the command line.
    pub fn partial(&self) -> Partial {
        Partial {
            listen: self.listen.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            database_schema: self.database_schema.clone(),
            postgres_ca_file: self.postgres_ca_file.clone(),
            public_url: self.public_url.clone(),
            rendered_cache_mib: self.rendered_cache_mib,
            sqlite_mmap_mib: self.sqlite_mmap_mib,
            sqlite_substring_indexes: self.sqlite_substring_indexes,
            postgres_substring_indexes: self.postgres_substring_indexes,
            ..Partial::default()
        }
    }
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the SCIM endpoints (`/scim/{tenant}`), the admin API (`/admin`), `/healthz`,
    /// `/readyz` and `/metrics`. On the first start it creates the tenant `demo` and prints
    /// its Tenant URL and Secret Token and an admin token.
    Serve,
    /// Tenants and their SCIM tokens.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Admin API tokens.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// A tenant's User Sync Rules: export to or import from a JSON file.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Print what the saved rules do: each user, whether it is synced, and its settings.
    Preview {
        /// The tenant (id or name).
        #[arg(long, default_value = "demo")]
        tenant: String,
        /// Only users whose userName or displayName contains this (case-insensitive).
        #[arg(long)]
        search: Option<String>,
        /// Print the preview as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sync now: one user (by userName or SCIM id), or `all`.
    Sync {
        /// `all`, or a user's userName or SCIM id.
        user: String,
        /// The tenant (id or name).
        #[arg(long, default_value = "demo")]
        tenant: String,
    },
    /// Forget what the sync wrote (the next sync finds CRM users by user name again); the
    /// rules, settings and SCIM data are kept.
    Reset {
        /// The tenant (id or name).
        #[arg(long, default_value = "demo")]
        tenant: String,
    },
    /// The mail outbox (welcome mails and notifications).
    #[command(subcommand)]
    Mail(MailCommand),
}

/// `scim-gateway mail ...`
#[derive(Debug, Subcommand)]
pub enum MailCommand {
    /// The durable outbox of mails to send.
    #[command(subcommand)]
    Outbox(OutboxCommand),
}

/// `scim-gateway mail outbox ...`
#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List the mails, newest first (welcome links masked).
    List {
        /// Only this tenant (id or name) [default: every tenant].
        #[arg(long)]
        tenant: Option<String>,
        /// Only this status: queued, sending, sent or failed.
        #[arg(long, value_parser = ["queued", "sending", "sent", "failed"])]
        status: Option<String>,
        /// At most this many per tenant.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Put a failed mail back into the queue (due now, attempts reset); the running
    /// gateway sends it at its next poll.
    Retry {
        /// The mail's id (`mail outbox list` shows it).
        id: i64,
    },
}

/// `scim-gateway rules ...`
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Write the current rules to FILE (`-` for standard output) as `{"rules": [...]}`.
    Export {
        /// The file.
        file: PathBuf,
        /// The tenant (id or name).
        #[arg(long, default_value = "demo")]
        tenant: String,
    },
    /// Validate the rules in FILE (`{"rules": [...]}`) and save them as a new version.
    Import {
        /// The file.
        file: PathBuf,
        /// The tenant (id or name).
        #[arg(long, default_value = "demo")]
        tenant: String,
        /// A comment kept with the version.
        #[arg(long)]
        comment: Option<String>,
    },
}

/// `scim-gateway tenant ...`
#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant and print its Tenant URL and Secret Token (shown once).
    Create {
        /// The tenant's name; its id (the last segment of the Tenant URL) is the name in
        /// lower case with other characters than letters, digits, `-`, `_`, `.` as `-`.
        name: String,
        /// Print `{"tenant_url": "...", "token": "..."}` on one line.
        #[arg(long)]
        json: bool,
    },
    /// List the tenants and their Tenant URLs.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// A tenant's SCIM tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Which CRM a tenant provisions into: the embedded CRM or SuperOffice CRM Online.
    #[command(subcommand)]
    Crm(CrmCommand),
}

/// Which CRM (`--crm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CrmChoice {
    /// The embedded CRM directory (the default; the demo catalogue).
    Embedded,
    /// SuperOffice CRM Online's Web API.
    Superoffice,
}

/// The variable the access token (or system user ticket) is read from when neither
/// `--token` nor `--token-stdin` is given.
pub const CRM_TOKEN_ENV: &str = "SCIM_GATEWAY_CRM_TOKEN";
/// The variable the application token is read from when `--app-token` is not given.
pub const CRM_APP_TOKEN_ENV: &str = "SCIM_GATEWAY_CRM_APP_TOKEN";

/// `scim-gateway tenant crm ...`
#[derive(Debug, Subcommand)]
pub enum CrmCommand {
    /// Show the tenant's CRM connection (credentials only as set or not).
    Show {
        /// The tenant (id or name).
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Point the tenant at a CRM. Credentials come from standard input (`--token-stdin`),
    /// or the variables SCIM_GATEWAY_CRM_TOKEN and SCIM_GATEWAY_CRM_APP_TOKEN, or (visible
    /// to other local users in the process list) `--token`/`--app-token`; left out, the
    /// stored ones are kept.
    Set {
        /// The tenant (id or name).
        name: String,
        /// `embedded` or `superoffice`.
        #[arg(long = "crm", value_enum)]
        kind: CrmChoice,
        /// SuperOffice: the environment's base URL, e.g. `https://online.superoffice.com`.
        #[arg(long)]
        url: Option<String>,
        /// SuperOffice: the customer id, e.g. Cust12345.
        #[arg(long)]
        customer_id: Option<String>,
        /// SuperOffice: `bearer` (default), `soticket`, `system-user` or `oauth`.
        #[arg(long, value_enum)]
        auth: Option<crate::crm::connections::AuthKind>,
        /// SuperOffice: where users sign in [default: URL/login/].
        #[arg(long)]
        sign_in_url: Option<String>,
        /// The access token (bearer), the system user ticket (soticket), the system user
        /// token (system-user) or the refresh token (oauth).
        #[arg(long)]
        token: Option<String>,
        /// Read the access token or ticket from the first line of standard input.
        #[arg(long, conflicts_with = "token")]
        token_stdin: bool,
        /// The application token, or client secret (soticket, system-user, oauth).
        #[arg(long)]
        app_token: Option<String>,
        /// The system user and OAuth flows' settings.
        #[command(flatten)]
        sign_in: Box<SignInArgs>,
    },
    /// Test Connection: reach SuperOffice and read the catalogue; says what is wrong.
    Test {
        /// The tenant (id or name).
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `tenant crm set`: the system user and OAuth flows' settings.
#[derive(Debug, Default, clap::Args)]
pub struct SignInArgs {
    /// system-user: the application's RSA private key file (.NET XML or PEM).
    #[arg(long)]
    pub private_key_file: Option<std::path::PathBuf>,
    /// system-user, oauth: `sod`, `stage`, `online` or a URL [default: URL].
    #[arg(long)]
    pub environment: Option<String>,
    /// oauth: the application's client id.
    #[arg(long)]
    pub client_id: Option<String>,
    /// system-user: SuperOffice's certificate (PEM) to verify the sign-in with.
    #[arg(long)]
    pub jwt_certificate_file: Option<std::path::PathBuf>,
}

/// `scim-gateway tenant token ...`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Revoke the tenant's tokens and print a new Secret Token (shown once).
    Rotate {
        /// The tenant (id or name).
        name: String,
        /// Print `{"tenant_url": "...", "token": "..."}` on one line.
        #[arg(long)]
        json: bool,
    },
    /// Revoke every token of the tenant (running gateways refuse them within seconds).
    Revoke {
        /// The tenant (id or name).
        name: String,
    },
}

/// `scim-gateway admin ...`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Admin API tokens.
    #[command(subcommand)]
    Token(AdminTokenCommand),
    /// Identity Manager accounts (`admin create|list|password|disable`).
    #[command(flatten)]
    Account(AccountCommand),
}

/// `scim-gateway admin create|list|password|disable`: the Identity Manager's administrator
/// accounts.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an Identity Manager account; without --password-stdin or --oidc-only a password
    /// is generated and printed once.
    Create {
        /// The sign-in name (for OpenID Connect: the value of the configured claim, e.g. the
        /// e-mail address).
        name: String,
        /// A tenant (id or name) it administers; repeat for more; none: every tenant.
        #[arg(long = "tenant")]
        tenants: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, conflicts_with = "oidc_only")]
        password_stdin: bool,
        /// No password: the account signs in only through OpenID Connect.
        #[arg(long)]
        oidc_only: bool,
    },
    /// List the accounts (names, tenants, sign-in methods, disabled; never passwords).
    List {
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set an account's password (generated and printed once without --password-stdin).
    Password {
        /// The sign-in name.
        name: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an account: it cannot sign in and its sessions end.
    Disable {
        /// The sign-in name.
        name: String,
    },
}

/// `scim-gateway admin token ...`
#[derive(Debug, Subcommand)]
pub enum AdminTokenCommand {
    /// Create an admin API token (shown once), for every tenant or only `--tenant`.
    Create {
        /// Limit the token to this tenant (id or name).
        #[arg(long)]
        tenant: Option<String>,
        /// Print `{"token": "...", "tenant": ...}` on one line.
        #[arg(long)]
        json: bool,
    },
    /// List the admin API tokens (ids, scopes, labels; never the tokens).
    List {
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke an admin API token by the id `admin token list` shows; it stops working at once.
    Revoke {
        /// The token's id (12 hex digits).
        id: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn parses() {
        Cli::command().debug_assert();
        let c = Cli::try_parse_from(["scim-gateway"]).unwrap();
        assert!(c.command.is_none());
        let c = Cli::try_parse_from(["scim-gateway", "serve", "--listen", "127.0.0.1:0"]).unwrap();
        assert!(matches!(c.command, Some(Command::Serve)));
        assert_eq!(c.global.listen.as_deref(), Some("127.0.0.1:0"));
        let c = Cli::try_parse_from([
            "scim-gateway",
            "tenant",
            "create",
            "acme",
            "--json",
            "--data-dir",
            "/d",
        ])
        .unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Tenant(TenantCommand::Create { ref name, json: true })) if name == "acme"
        ));
        assert_eq!(c.global.data_dir, Some(PathBuf::from("/d")));
        let c = Cli::try_parse_from(["scim-gateway", "admin", "token", "create", "--tenant", "x"])
            .unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Admin(AdminCommand::Token(
                AdminTokenCommand::Create {
                    tenant: Some(_),
                    ..
                }
            )))
        ));
        assert!(Cli::try_parse_from(["scim-gateway", "tenant", "token", "rotate"]).is_err());
        let c = Cli::try_parse_from([
            "scim-gateway",
            "tenant",
            "crm",
            "set",
            "acme",
            "--crm",
            "superoffice",
            "--url",
            "https://online.superoffice.com",
            "--customer-id",
            "Cust1",
            "--token-stdin",
        ])
        .unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Tenant(TenantCommand::Crm(CrmCommand::Set {
                kind: CrmChoice::Superoffice,
                token_stdin: true,
                ..
            })))
        ));
        assert!(
            Cli::try_parse_from(["scim-gateway", "tenant", "crm", "set", "a", "--crm", "sap"])
                .is_err()
        );
    }

    #[test]
    fn parses_the_mail_outbox_commands() {
        let c = Cli::try_parse_from([
            "scim-gateway",
            "mail",
            "outbox",
            "list",
            "--tenant",
            "acme",
            "--status",
            "failed",
        ])
        .unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Mail(MailCommand::Outbox(OutboxCommand::List {
                tenant: Some(ref t),
                status: Some(ref s),
                limit: 100,
                json: false,
            }))) if t == "acme" && s == "failed"
        ));
        let c = Cli::try_parse_from(["scim-gateway", "mail", "outbox", "retry", "42"]).unwrap();
        assert!(matches!(
            c.command,
            Some(Command::Mail(MailCommand::Outbox(OutboxCommand::Retry {
                id: 42
            })))
        ));
        let bad = ["scim-gateway", "mail", "outbox", "list", "--status", "lost"];
        assert!(Cli::try_parse_from(bad).is_err());
        assert!(Cli::try_parse_from(["scim-gateway", "mail", "outbox", "retry", "x"]).is_err());
    }
}
