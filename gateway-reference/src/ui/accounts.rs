//! The Identity Manager's administrator accounts: a sign-in name, an argon2id password hash
//! (or none, for accounts that sign in only through OpenID Connect) and the tenants the
//! account administers (every tenant, or a list).
//!
//! Sign-in names compare case-insensitively with the same folding as SCIM `userName`
//! ([`scim_core::casefold::fold`]).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use gateway_reference::db::Db;
//! use gateway_reference::ui::accounts::{self, Access};
//!
//! let db = Db::open_sqlite_in_memory().await.unwrap();
//! let admin = accounts::create(&db, "Ada@Example.com", Some("correct horse battery"), Access::All, "cli")
//!     .await
//!     .unwrap();
//! let signed_in = accounts::verify(&db, "ada@example.com", "correct horse battery").await.unwrap();
//! assert_eq!(signed_in.map(|a| a.id), Some(admin.id));
//! assert!(accounts::verify(&db, "ada@example.com", "wrong").await.unwrap().is_none());
//! # });
//! ```

use scim_core::casefold::fold;
use scim_server::server::password::{hash_password, verify_password};

use crate::db::{Db, DbError, now};
use crate::tenants;

/// The shortest password an account may have (NIST SP 800-63B §5.1.1.2 asks for at least 8).
pub const MIN_PASSWORD: usize = 12;
/// The longest (argon2 takes any length; this bounds the work a sign-in can ask for).
pub const MAX_PASSWORD: usize = 256;
/// The longest sign-in name.
pub const MAX_USER_NAME: usize = 254;

/// The tenants an account administers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// Every tenant, present and future.
    All,
    /// These tenants (ids).
    Tenants(Vec<String>),
}

impl Access {
    /// May the account see `tenant`?
    pub fn allows(&self, tenant: &str) -> bool {
        match self {
            Access::All => true,
            Access::Tenants(list) => list.iter().any(|t| t == tenant),
        }
    }
}

/// An administrator account (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The account's number.
    pub id: i64,
    /// The sign-in name as created.
    pub user_name: String,
    /// Whether it can sign in with a password (otherwise only through OpenID Connect).
    pub has_password: bool,
    /// The tenants it administers.
    pub access: Access,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// Disabled accounts cannot sign in and their sessions end.
    pub disabled: bool,
}

/// Why an account could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The sign-in name is empty, too long or has control characters.
    #[error(
        "the sign-in name must be 1 to {MAX_USER_NAME} characters without spaces or control characters"
    )]
    InvalidUserName,
    /// An account with this name (case-insensitively) exists.
    #[error("an account named {0:?} exists already")]
    Exists(String),
    /// The password is too short or too long.
    #[error("the password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long")]
    WeakPassword,
    /// A tenant in the access list does not exist.
    #[error("no tenant is named {0:?}")]
    UnknownTenant(String),
    /// No account has this name.
    #[error("no account is named {0:?}")]
    NotFound(String),
    /// Hashing the password failed.
    #[error("hashing the password failed: {0}")]
    Hash(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

fn check_user_name(name: &str) -> Result<&str, AccountError> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_USER_NAME
        && !name.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        Ok(name)
    } else {
        Err(AccountError::InvalidUserName)
    }
}

/// Checks a new password's length (in characters).
pub fn check_password(password: &str) -> Result<(), AccountError> {
    let n = password.chars().count();
    if (MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        Ok(())
    } else {
        Err(AccountError::WeakPassword)
    }
}

/// argon2id costs tens of milliseconds of CPU: it runs off the async workers.
async fn hash(password: &str) -> Result<String, AccountError> {
    let plain = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&plain))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// A new random password (24 characters, 144 random bits), shown once to whoever asked.
pub fn generate_password() -> String {
    tenants::generate_token().chars().take(24).collect()
}

/// `$first, $first+1, …` for `n` parameters.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The first tenant of `list` that does not exist (one query for the whole list).
async fn first_unknown_tenant(db: &Db, list: &[String]) -> Result<Option<String>, DbError> {
    if list.is_empty() {
        return Ok(None);
    }
    let params: Vec<crate::db::Value> = list.iter().map(|t| t.as_str().into()).collect();
    let rows = db
        .query(
            &format!(
                "SELECT id FROM gw_tenants WHERE id IN ({})",
                placeholders(1, list.len())
            ),
            &params,
        )
        .await?;
    let found = rows
        .iter()
        .map(|r| r.text(0))
        .collect::<Result<std::collections::HashSet<_>, _>>()?;
    Ok(list.iter().find(|t| !found.contains(*t)).cloned())
}

/// Creates an account. `password` `None`: it signs in only through OpenID Connect. Every
/// tenant in `access` must exist.
pub async fn create(
    db: &Db,
    user_name: &str,
    password: Option<&str>,
    access: Access,
    created_by: &str,
) -> Result<Account, AccountError> {
    let user_name = check_user_name(user_name)?;
    let password_hash = match password {
        Some(p) => {
            check_password(p)?;
            Some(hash(p).await?)
        }
        None => None,
    };
    if let Access::Tenants(list) = &access
        && let Some(unknown) = first_unknown_tenant(db, list).await?
    {
        return Err(AccountError::UnknownTenant(unknown));
    }
    let created_at = now();
    let mut tx = db.begin().await?;
    let inserted = tx
        .query_opt(
            "INSERT INTO gw_ui_accounts \
             (user_name, user_name_folded, password_hash, all_tenants, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                user_name.into(),
                fold(user_name).as_ref().into(),
                password_hash.clone().into(),
                matches!(access, Access::All).into(),
                created_at.clone().into(),
                created_by.into(),
            ],
        )
        .await;
    let id = match inserted {
        Ok(Some(row)) => row.int(0)?,
        Ok(None) => {
            return Err(AccountError::Db(DbError::Decode(
                "INSERT returned no id".into(),
            )));
        }
        Err(e) if e.is_unique_violation() => {
            return Err(AccountError::Exists(user_name.to_string()));
        }
        Err(e) => return Err(e.into()),
    };
    if let Access::Tenants(list) = &access {
        for t in list {
            tx.execute(
                "INSERT INTO gw_ui_account_tenants (account, tenant) VALUES ($1, $2)",
                &[id.into(), t.as_str().into()],
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Account {
        id,
        user_name: user_name.to_string(),
        has_password: password_hash.is_some(),
        access,
        created_at,
        disabled: false,
    })
}

/// Sets (or replaces) an account's password.
pub async fn set_password(db: &Db, user_name: &str, password: &str) -> Result<(), AccountError> {
    check_password(password)?;
    let hashed = hash(password).await?;
    let changed = db
        .execute(
            "UPDATE gw_ui_accounts SET password_hash = $2 WHERE user_name_folded = $1",
            &[fold(user_name.trim()).as_ref().into(), hashed.into()],
        )
        .await?;
    if changed == 0 {
        return Err(AccountError::NotFound(user_name.to_string()));
    }
    Ok(())
}

/// Disables an account (it cannot sign in; its sessions end at their next request).
pub async fn disable(db: &Db, user_name: &str) -> Result<(), AccountError> {
    let changed = db
        .execute(
            "UPDATE gw_ui_accounts SET disabled_at = $2 \
             WHERE user_name_folded = $1 AND disabled_at IS NULL",
            &[fold(user_name.trim()).as_ref().into(), now().into()],
        )
        .await?;
    if changed == 0 {
        return Err(AccountError::NotFound(user_name.to_string()));
    }
    db.execute(
        "DELETE FROM gw_ui_sessions WHERE account IN \
         (SELECT id FROM gw_ui_accounts WHERE user_name_folded = $1)",
        &[fold(user_name.trim()).as_ref().into()],
    )
    .await?;
    Ok(())
}

/// The account columns [`from_row`] reads, in its order, of the table aliased `a`
/// (`FROM gw_ui_accounts a`, so that they also name the account's columns in a join).
pub(super) const COLUMNS: &str = "a.id, a.user_name, a.password_hash IS NOT NULL, \
                                  a.all_tenants, a.created_at, a.disabled_at IS NOT NULL";

/// The tenants of the accounts `ids` that do not administer every tenant, by account (one
/// query for all of them).
async fn tenants_of(
    db: &Db,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Vec<String>>, DbError> {
    let mut out = std::collections::HashMap::<i64, Vec<String>>::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let params: Vec<crate::db::Value> = ids.iter().map(|&id| id.into()).collect();
    let rows = db
        .query(
            &format!(
                "SELECT account, tenant FROM gw_ui_account_tenants WHERE account IN ({}) \
                 ORDER BY account, tenant",
                placeholders(1, ids.len())
            ),
            &params,
        )
        .await?;
    for r in &rows {
        out.entry(r.int(0)?).or_default().push(r.text(1)?);
    }
    Ok(out)
}

/// The account whose [`COLUMNS`] start at column `at` of `row`, with its tenants from
/// `tenants` (see [`tenants_of`]).
fn build(
    row: &crate::db::Row,
    at: usize,
    tenants: &mut std::collections::HashMap<i64, Vec<String>>,
) -> Result<Account, DbError> {
    let id = row.int(at)?;
    let access = if row.int(at + 3)? != 0 {
        Access::All
    } else {
        Access::Tenants(tenants.remove(&id).unwrap_or_default())
    };
    Ok(Account {
        id,
        user_name: row.text(at + 1)?,
        has_password: row.int(at + 2)? != 0,
        access,
        created_at: row.text(at + 4)?,
        disabled: row.int(at + 5)? != 0,
    })
}

/// The account whose [`COLUMNS`] start at column `at` of `row` (one more query for its
/// tenants when it does not administer every tenant).
pub(super) async fn from_row(db: &Db, row: &crate::db::Row, at: usize) -> Result<Account, DbError> {
    let id = row.int(at)?;
    let mut tenants = if row.int(at + 3)? != 0 {
        std::collections::HashMap::new()
    } else {
        tenants_of(db, &[id]).await?
    };
    build(row, at, &mut tenants)
}

/// The account numbered `id`.
pub async fn get(db: &Db, id: i64) -> Result<Option<Account>, DbError> {
    let row = db
        .query_opt(
            &format!("SELECT {COLUMNS} FROM gw_ui_accounts a WHERE id = $1"),
            &[id.into()],
        )
        .await?;
    match row {
        Some(row) => Ok(Some(from_row(db, &row, 0).await?)),
        None => Ok(None),
    }
}

/// The account signing in as `user_name` (case-insensitively), enabled or not.
pub async fn find(db: &Db, user_name: &str) -> Result<Option<Account>, DbError> {
    let row = db
        .query_opt(
            &format!("SELECT {COLUMNS} FROM gw_ui_accounts a WHERE user_name_folded = $1"),
            &[fold(user_name.trim()).as_ref().into()],
        )
        .await?;
    match row {
        Some(row) => Ok(Some(from_row(db, &row, 0).await?)),
        None => Ok(None),
    }
}

/// Every account, by name.
pub async fn list(db: &Db) -> Result<Vec<Account>, DbError> {
    let rows = db
        .query(
            &format!("SELECT {COLUMNS} FROM gw_ui_accounts a ORDER BY user_name_folded"),
            &[],
        )
        .await?;
    let mut tenants = std::collections::HashMap::<i64, Vec<String>>::new();
    for r in db
        .query(
            "SELECT account, tenant FROM gw_ui_account_tenants ORDER BY account, tenant",
            &[],
        )
        .await?
    {
        tenants.entry(r.int(0)?).or_default().push(r.text(1)?);
    }
    rows.iter().map(|row| build(row, 0, &mut tenants)).collect()
}

/// Whether any account exists (the first start creates one when none does).
pub async fn any(db: &Db) -> Result<bool, DbError> {
    Ok(db
        .query_opt("SELECT 1 FROM gw_ui_accounts LIMIT 1", &[])
        .await?
        .is_some())
}

/// A hash of a password nobody has, verified when the name is unknown so that a wrong name
/// costs the same time as a wrong password (no account enumeration by timing).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&tenants::generate_token()).unwrap_or_default())
}

/// The enabled account `user_name` if `password` is its password.
pub async fn verify(db: &Db, user_name: &str, password: &str) -> Result<Option<Account>, DbError> {
    if password.chars().count() > MAX_PASSWORD {
        return Ok(None);
    }
    let row = db
        .query_opt(
            &format!(
                "SELECT {COLUMNS}, a.password_hash FROM gw_ui_accounts a \
                 WHERE user_name_folded = $1 AND disabled_at IS NULL"
            ),
            &[fold(user_name.trim()).as_ref().into()],
        )
        .await?;
    let stored = match &row {
        Some(row) => row.opt_text(6)?,
        None => None,
    };
    let candidate = password.to_string();
    let ok = tokio::task::spawn_blocking(move || match stored {
        Some(stored) => verify_password(&stored, &candidate),
        None => {
            let _ = verify_password(decoy_hash(), &candidate);
            false
        }
    })
    .await
    .unwrap_or(false);
    match (ok, row) {
        (true, Some(row)) => Ok(Some(from_row(db, &row, 0).await?)),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    async fn db() -> Db {
        Db::open_sqlite_in_memory().await.unwrap()
    }

    #[tokio::test]
    async fn names_fold_like_scim_user_names() {
        let db = db().await;
        create(&db, "ΟΔΟΣ", Some("twelve chars!"), Access::All, "t")
            .await
            .unwrap();
        assert!(
            verify(&db, "οδος", "twelve chars!")
                .await
                .unwrap()
                .is_some()
        );
        let again = create(&db, "οδος", Some("twelve chars!"), Access::All, "t").await;
        assert!(matches!(again, Err(AccountError::Exists(_))), "{again:?}");
    }

    #[tokio::test]
    async fn the_password_is_stored_only_as_an_argon2id_hash() {
        let db = db().await;
        create(&db, "ada", Some("correct horse battery"), Access::All, "t")
            .await
            .unwrap();
        let row = db
            .query_opt("SELECT password_hash FROM gw_ui_accounts", &[])
            .await
            .unwrap()
            .unwrap();
        let stored = row.text(0).unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains("correct horse"));
    }

    #[tokio::test]
    async fn short_passwords_unknown_tenants_and_bad_names_are_refused() {
        let db = db().await;
        let short = create(&db, "ada", Some("short"), Access::All, "t").await;
        assert!(
            matches!(short, Err(AccountError::WeakPassword)),
            "{short:?}"
        );
        let tenant = create(
            &db,
            "ada",
            Some("correct horse battery"),
            Access::Tenants(vec!["nope".into()]),
            "t",
        )
        .await;
        assert!(
            matches!(tenant, Err(AccountError::UnknownTenant(_))),
            "{tenant:?}"
        );
        let name = create(&db, "a b", None, Access::All, "t").await;
        assert!(
            matches!(name, Err(AccountError::InvalidUserName)),
            "{name:?}"
        );
    }

    #[tokio::test]
    async fn access_lists_the_tenants_and_disabled_accounts_cannot_sign_in() {
        let db = db().await;
        tenants::create(&db, "acme").await.unwrap();
        tenants::create(&db, "globex").await.unwrap();
        let a = create(
            &db,
            "ops",
            Some("correct horse battery"),
            Access::Tenants(vec!["acme".into()]),
            "t",
        )
        .await
        .unwrap();
        let read = get(&db, a.id).await.unwrap().unwrap();
        assert!(read.access.allows("acme"));
        assert!(!read.access.allows("globex"));
        disable(&db, "OPS").await.unwrap();
        assert!(
            verify(&db, "ops", "correct horse battery")
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn list_and_get_read_each_accounts_own_tenants() {
        let db = db().await;
        for t in ["acme", "globex", "initech"] {
            tenants::create(&db, t).await.unwrap();
        }
        let tenants = |list: &[&str]| Access::Tenants(list.iter().map(|t| t.to_string()).collect());
        let pw = Some("correct horse battery");
        create(&db, "b", pw, tenants(&["initech", "acme"]), "t")
            .await
            .unwrap();
        create(&db, "a", pw, Access::All, "t").await.unwrap();
        let c = create(&db, "c", pw, tenants(&["globex"]), "t")
            .await
            .unwrap();
        let unknown = create(&db, "d", pw, tenants(&["acme", "nope", "globex"]), "t").await;
        assert!(
            matches!(&unknown, Err(AccountError::UnknownTenant(t)) if t == "nope"),
            "{unknown:?}"
        );
        let listed: Vec<_> = list(&db)
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.user_name, a.access))
            .collect();
        assert_eq!(
            listed,
            vec![
                ("a".to_string(), Access::All),
                ("b".to_string(), tenants(&["acme", "initech"])),
                ("c".to_string(), tenants(&["globex"])),
            ]
        );
        assert_eq!(
            get(&db, c.id).await.unwrap().unwrap().access,
            tenants(&["globex"])
        );
        let signed_in = verify(&db, "B", "correct horse battery")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(signed_in.access, tenants(&["acme", "initech"]));
        assert!(signed_in.has_password && !signed_in.disabled);
    }

    #[tokio::test]
    async fn oidc_only_accounts_have_no_password_to_guess() {
        let db = db().await;
        create(&db, "sso@example.com", None, Access::All, "t")
            .await
            .unwrap();
        assert!(verify(&db, "sso@example.com", "").await.unwrap().is_none());
        assert!(
            !find(&db, "SSO@example.com")
                .await
                .unwrap()
                .unwrap()
                .has_password
        );
    }
}
