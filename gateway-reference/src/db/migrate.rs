//! The schema of the gateway's tables and its migrations.
//!
//! Each [`Migration`] runs once, in one transaction, and the version it reached is recorded
//! in `gw_schema_version`. The DDL is written once: `{id}` stands for an auto-numbered
//! primary key (`INTEGER PRIMARY KEY AUTOINCREMENT` on SQLite, `BIGSERIAL PRIMARY KEY` on
//! PostgreSQL). On PostgreSQL an advisory lock makes concurrent starts of several gateway
//! processes wait for each other instead of racing.

use super::{Db, DbError, Dialect};

/// One step of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// The version this step brings the schema to (1, 2, ...).
    pub version: i64,
    /// What it is for.
    pub name: &'static str,
    /// The DDL (see the module docs for `{id}`).
    pub sql: &'static str,
}

/// Every step, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "tenants, tokens, settings, rules, directory mirror, sync state, provisioning log",
        sql: r#"
CREATE TABLE gw_tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
-- SCIM bearer tokens (Entra's "Secret Token"): SHA-256 of the token, never the token.
CREATE TABLE gw_tenant_tokens (
    hash        TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL REFERENCES gw_tenants (id) ON DELETE CASCADE,
    label       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX gw_tenant_tokens_tenant ON gw_tenant_tokens (tenant);
-- Admin API tokens: SHA-256 of the token; tenant NULL means every tenant.
CREATE TABLE gw_admin_tokens (
    hash        TEXT PRIMARY KEY,
    tenant      TEXT REFERENCES gw_tenants (id) ON DELETE CASCADE,
    label       TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
-- Per-tenant settings as one JSON document (settings::TenantSettings).
CREATE TABLE gw_settings (
    tenant      TEXT PRIMARY KEY REFERENCES gw_tenants (id) ON DELETE CASCADE,
    json        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);
-- Every saved version of a tenant's rule set; the highest version is the current one.
CREATE TABLE gw_rule_versions (
    tenant      TEXT NOT NULL REFERENCES gw_tenants (id) ON DELETE CASCADE,
    version     BIGINT NOT NULL,
    json        TEXT NOT NULL,
    saved_at    TEXT NOT NULL,
    saved_by    TEXT NOT NULL,
    comment     TEXT,
    PRIMARY KEY (tenant, version)
);
-- The directory mirror: what the tenant's SCIM side holds, as of gw_feed_positions.seq.
CREATE TABLE gw_users (
    tenant       TEXT NOT NULL,
    id           TEXT NOT NULL,
    user_name    TEXT NOT NULL,
    display_name TEXT,
    external_id  TEXT,
    active       BIGINT NOT NULL,
    json         TEXT NOT NULL,
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE gw_groups (
    tenant       TEXT NOT NULL,
    id           TEXT NOT NULL,
    display_name TEXT NOT NULL,
    external_id  TEXT,
    version      BIGINT NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE TABLE gw_members (
    tenant      TEXT NOT NULL,
    group_id    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    PRIMARY KEY (tenant, group_id, user_id)
);
CREATE INDEX gw_members_user ON gw_members (tenant, user_id);
-- How far the sync has read each tenant's change feed.
CREATE TABLE gw_feed_positions (
    tenant      TEXT PRIMARY KEY,
    seq         BIGINT NOT NULL,
    updated_at  TEXT NOT NULL
);
-- Users whose CRM state must be reconciled (a set: one row per user).
CREATE TABLE gw_dirty (
    tenant          TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    since_seq       BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_error      TEXT,
    PRIMARY KEY (tenant, user_id)
);
-- What the sync last wrote to the CRM for each user.
CREATE TABLE gw_sync_state (
    tenant        TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    associate_id  BIGINT,
    crm_user_name TEXT,
    state         TEXT NOT NULL,
    written_json  TEXT,
    error         TEXT,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (tenant, user_id)
);
-- The provisioning log.
CREATE TABLE gw_log (
    id          {id},
    tenant      TEXT NOT NULL,
    at          TEXT NOT NULL,
    user_id     TEXT,
    user_name   TEXT,
    source      TEXT NOT NULL,
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    reason      TEXT,
    detail      TEXT
);
CREATE INDEX gw_log_tenant_at ON gw_log (tenant, at);
CREATE INDEX gw_log_tenant_user ON gw_log (tenant, user_id, at);
"#,
    },
    Migration {
        version: 2,
        name: "embedded CRM directory: roles, user groups, owner companies, user plans, users",
        sql: r#"
-- The embedded CRM's catalogue, per tenant (one CRM customer per tenant).
CREATE TABLE crm_roles (
    tenant      TEXT NOT NULL,
    id          BIGINT NOT NULL,
    name        TEXT NOT NULL,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, name)
);
CREATE TABLE crm_user_groups (
    tenant      TEXT NOT NULL,
    id          BIGINT NOT NULL,
    name        TEXT NOT NULL,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, name)
);
CREATE TABLE crm_owner_companies (
    tenant      TEXT NOT NULL,
    id          BIGINT NOT NULL,
    name        TEXT NOT NULL,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, name)
);
-- User plans (module licences flagged as plans) and their seats; seats in use are counted
-- from crm_users.
CREATE TABLE crm_user_plans (
    tenant      TEXT NOT NULL,
    id          BIGINT NOT NULL,
    name        TEXT NOT NULL,
    seats       BIGINT NOT NULL,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, name)
);
-- CRM users; associate ids are numbered across tenants, user names are unique per tenant
-- ignoring case (user_name_folded is the lower-cased user name).
CREATE TABLE crm_users (
    tenant            TEXT NOT NULL,
    associate_id      {id},
    user_name         TEXT NOT NULL,
    user_name_folded  TEXT NOT NULL,
    first_name        TEXT NOT NULL,
    last_name         TEXT NOT NULL,
    email             TEXT,
    role              BIGINT,
    primary_group     BIGINT,
    secondary_groups  TEXT NOT NULL,
    owner_company     BIGINT,
    confidential      BIGINT NOT NULL,
    user_plan         BIGINT,
    retired           BIGINT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    UNIQUE (tenant, user_name_folded)
);
CREATE INDEX crm_users_tenant ON crm_users (tenant, associate_id);
CREATE INDEX crm_users_plan ON crm_users (tenant, user_plan);
"#,
    },
    Migration {
        version: 3,
        name: "embedded CRM: users' sign-in password hashes",
        sql: r#"
-- An argon2id PHC string, set from the welcome mail's activation page; never the password.
ALTER TABLE crm_users ADD COLUMN password_hash TEXT;
"#,
    },
    Migration {
        version: 4,
        name: "mail: the outbox, welcome links, notification state, per-tenant templates",
        sql: r#"
-- Every mail the gateway sends, durable: queued -> sending (claimed with a lease) -> sent, or
-- back to queued with a backoff, or failed after the last attempt.
CREATE TABLE gw_mail_outbox (
    id              {id},
    tenant          TEXT NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL,
    message_id      TEXT NOT NULL UNIQUE,
    from_addr       TEXT NOT NULL,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    -- A welcome link's token, in clear only until the mail is sent (then NULL); the bodies
    -- hold a placeholder instead of it.
    link_token      TEXT,
    created_at      TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claim           TEXT,
    lease_until     TEXT,
    last_error      TEXT,
    sent_at         TEXT
);
CREATE INDEX gw_mail_outbox_due ON gw_mail_outbox (status, next_attempt_at);
CREATE INDEX gw_mail_outbox_tenant ON gw_mail_outbox (tenant, id);
-- Welcome links: SHA-256 of the token, never the token.
CREATE TABLE gw_welcome_links (
    token_hash    TEXT PRIMARY KEY,
    tenant        TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    associate_id  BIGINT NOT NULL,
    user_name     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    used_at       TEXT
);
-- Critical conditions per tenant, for deduplicated notification mails.
CREATE TABLE gw_notify_state (
    tenant        TEXT NOT NULL,
    condition     TEXT NOT NULL,
    first_seen    TEXT NOT NULL,
    notified      BIGINT NOT NULL,
    last_mail_at  TEXT,
    suppressed    BIGINT NOT NULL,
    digest        TEXT NOT NULL,
    detail        TEXT NOT NULL,
    PRIMARY KEY (tenant, condition)
);
-- Per-tenant from-address and templates (mail::templates::MailTemplates as JSON).
CREATE TABLE gw_mail_templates (
    tenant      TEXT PRIMARY KEY,
    json        TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL
);
"#,
    },
    Migration {
        version: 5,
        name: "per-tenant CRM connections (embedded or SuperOffice), credentials encrypted",
        sql: r#"
-- Which CRM a tenant uses; no row: the embedded CRM. `secrets` is the ChaCha20-Poly1305
-- sealed JSON of the credentials (crm::connections), never plain text; `updated_at` is the
-- version running gateways compare to reload a changed connection.
CREATE TABLE gw_crm_connections (
    tenant       TEXT PRIMARY KEY REFERENCES gw_tenants (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    base_url     TEXT,
    customer_id  TEXT,
    auth         TEXT,
    sign_in_url  TEXT,
    secrets      TEXT,
    updated_at   TEXT NOT NULL,
    updated_by   TEXT NOT NULL
);
"#,
    },
    Migration {
        version: 6,
        name: "Identity Manager: admin accounts, the tenants they administer, sign-in sessions",
        sql: r#"
-- The web UI's administrators. `password_hash` is an argon2id PHC string (NULL: the account
-- signs in only through OpenID Connect); `user_name_folded` is the case-folded sign-in name.
CREATE TABLE gw_ui_accounts (
    id                {id},
    user_name         TEXT NOT NULL,
    user_name_folded  TEXT NOT NULL UNIQUE,
    password_hash     TEXT,
    all_tenants       BIGINT NOT NULL,
    created_at        TEXT NOT NULL,
    created_by        TEXT NOT NULL,
    disabled_at       TEXT
);
-- The tenants an account administers (accounts with all_tenants = 1 have no rows).
CREATE TABLE gw_ui_account_tenants (
    account  BIGINT NOT NULL REFERENCES gw_ui_accounts (id) ON DELETE CASCADE,
    tenant   TEXT NOT NULL REFERENCES gw_tenants (id) ON DELETE CASCADE,
    PRIMARY KEY (account, tenant)
);
-- Signed-in sessions: SHA-256 of the cookie's token, never the token.
CREATE TABLE gw_ui_sessions (
    token_hash   TEXT PRIMARY KEY,
    account      BIGINT NOT NULL REFERENCES gw_ui_accounts (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX gw_ui_sessions_account ON gw_ui_sessions (account);
"#,
    },
    Migration {
        version: 7,
        name: "Identity Manager: the rules being edited (a draft per tenant)",
        sql: r#"
-- The User Sync Rules an administrator is editing and has not saved yet (rules::drafts):
-- the whole RuleSet as JSON, and the saved version it started from.
CREATE TABLE gw_rule_drafts (
    tenant        TEXT PRIMARY KEY REFERENCES gw_tenants (id) ON DELETE CASCADE,
    json          TEXT NOT NULL,
    base_version  BIGINT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT NOT NULL
);
"#,
    },
];

/// The DDL of `sql` for `dialect`.
pub fn render(sql: &str, dialect: Dialect) -> String {
    let id = match dialect {
        Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        Dialect::Postgres => "BIGSERIAL PRIMARY KEY",
    };
    sql.replace("{id}", id)
}

/// The newest schema version this build knows.
pub fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Brings the schema of `db` to [`latest_version`]. A database of a newer version (written
/// by a newer gateway) is refused rather than misread.
pub async fn migrate(db: &Db) -> Result<(), DbError> {
    let mut tx = db.begin().await?;
    if db.dialect() == Dialect::Postgres {
        tx.execute("SELECT pg_advisory_xact_lock(7464209811)", &[])
            .await?;
    }
    tx.batch("CREATE TABLE IF NOT EXISTS gw_schema_version (version BIGINT NOT NULL)")
        .await?;
    let current = match tx
        .query_opt("SELECT version FROM gw_schema_version", &[])
        .await?
    {
        Some(row) => row.int(0)?,
        None => {
            tx.execute("INSERT INTO gw_schema_version (version) VALUES (0)", &[])
                .await?;
            0
        }
    };
    if current > latest_version() {
        return Err(DbError::Schema(format!(
            "the database is at schema version {current}, newer than this gateway knows ({}); \
             run a newer scim-gateway",
            latest_version()
        )));
    }
    for m in MIGRATIONS.iter().filter(|m| m.version > current) {
        tx.batch(&render(m.sql, db.dialect())).await?;
        tx.execute(
            "UPDATE gw_schema_version SET version = $1",
            &[m.version.into()],
        )
        .await?;
        tracing::info!(version = m.version, name = m.name, "gateway db: migrated");
    }
    tx.commit().await
}

/// The schema version of `db`.
pub async fn version(db: &Db) -> Result<i64, DbError> {
    Ok(db
        .query_opt("SELECT version FROM gw_schema_version", &[])
        .await?
        .map(|r| r.int(0))
        .transpose()?
        .unwrap_or(0))
}
