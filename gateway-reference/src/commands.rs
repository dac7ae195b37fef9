//! The CLI's rule, preview, sync and mail outbox commands (`scim-gateway
//! rules|preview|sync|reset|mail`), run in the calling process on the gateway's database.

use std::path::Path;

use scim_server::TenantId;

use crate::admin::crm::{ConnectionInput, ConnectionView, merge, run_test};
use crate::app::{Gateway, with_causes};
use crate::crm::connections::{self, AuthKind, CrmKind};
use crate::directory;
use crate::preview::{PreviewQuery, preview};
use crate::rules::{RuleSet, versions};
use crate::tenants;

async fn tenant(gateway: &Gateway, name: &str) -> Result<TenantId, String> {
    tenants::find(gateway.db(), name)
        .await
        .map_err(|e| with_causes(&e))?
        .tenant_id()
        .ok_or_else(|| format!("invalid tenant id {name:?}"))
}

/// `rules export FILE`.
pub async fn rules_export(gateway: &Gateway, name: &str, file: &Path) -> Result<(), String> {
    let t = tenant(gateway, name).await?;
    let saved = versions::current(gateway.db(), &t)
        .await
        .map_err(|e| with_causes(&e))?;
    let (version, rules) = saved.map_or((0, RuleSet::default()), |s| (s.version, s.rules));
    let text = serde_json::to_string_pretty(&rules).map_err(|e| e.to_string())?;
    if file.as_os_str() == "-" {
        println!("{text}");
    } else {
        std::fs::write(file, text + "\n").map_err(|e| format!("{}: {e}", file.display()))?;
        eprintln!(
            "wrote version {version} ({} rules) to {}",
            rules.rules.len(),
            file.display()
        );
    }
    Ok(())
}

/// `rules import FILE`.
pub async fn rules_import(
    gateway: &Gateway,
    name: &str,
    file: &Path,
    comment: Option<&str>,
) -> Result<(), String> {
    let t = tenant(gateway, name).await?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let rules: RuleSet = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a rule set ({{\"rules\": [...]}}): {e}",
            file.display()
        )
    })?;
    gateway.seed_crm().await.map_err(|e| with_causes(&e))?;
    let saved = gateway
        .sync()
        .save_rules(&t, &rules, "cli", comment)
        .await
        .map_err(|e| with_causes(&e))?;
    let (version, queued) = (saved.version, saved.users_queued);
    println!(
        "saved version {version} ({} rules); {queued} user(s) queued for re-evaluation",
        rules.rules.len()
    );
    Ok(())
}

/// `preview`.
pub async fn preview_cmd(
    gateway: &Gateway,
    name: &str,
    search: Option<String>,
    json: bool,
) -> Result<(), String> {
    let t = tenant(gateway, name).await?;
    let rules = gateway
        .sync()
        .rules(&t)
        .await
        .map_err(|e| with_causes(&e))?;
    let users = directory::users(gateway.db(), &t, rules.needs_resource())
        .await
        .map_err(|e| with_causes(&e))?;
    let p = preview(&users, &rules);
    let page = p.page(&PreviewQuery {
        search,
        synced: None,
        start_index: 1,
        count: usize::MAX,
    });
    if json {
        let v = serde_json::json!({
            "usersReceived": p.users_received,
            "usersSynced": p.users_synced,
            "rows": page.rows,
        });
        println!("{v}");
        return Ok(());
    }
    println!(
        "users received: {}   users synced: {}",
        p.users_received, p.users_synced
    );
    println!(
        "{:<36} {:<24} {:<6} {:<10} {:<6} {:<8} rules",
        "userName", "name", "synced", "plan", "role", "primary"
    );
    for row in &page.rows {
        let s = row.settings.values();
        let get = |k: &str| {
            s.iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| match v {
                    serde_json::Value::Null => "-".to_string(),
                    serde_json::Value::Object(o) => o
                        .get("id")
                        .map(ToString::to_string)
                        .unwrap_or_else(|| "none".into()),
                    other => other.to_string(),
                })
                .unwrap_or_else(|| "-".into())
        };
        println!(
            "{:<36} {:<24} {:<6} {:<10} {:<6} {:<8} {}",
            row.user_name,
            row.display_name.as_deref().unwrap_or(""),
            if row.synced { "yes" } else { "no" },
            get("userPlan"),
            get("role"),
            get("primaryGroup"),
            row.matched.join(",")
        );
    }
    Ok(())
}

/// `sync USER|all`.
pub async fn sync_cmd(gateway: &Gateway, name: &str, user: &str) -> Result<(), String> {
    let t = tenant(gateway, name).await?;
    gateway.seed_crm().await.map_err(|e| with_causes(&e))?;
    let sync = gateway.sync();
    if user == "all" {
        let n = sync.sync_all(&t).await.map_err(|e| with_causes(&e))?;
        let pass = sync.run_tenant(&t).await.map_err(|e| with_causes(&e))?;
        println!("{n} user(s) queued; {} written to the CRM", pass.written);
        return Ok(());
    }
    let row = gateway
        .db()
        .query_opt(
            "SELECT id FROM gw_users WHERE tenant = $1 AND (id = $2 OR lower(user_name) = lower($2))",
            &[t.as_str().into(), user.into()],
        )
        .await
        .map_err(|e| with_causes(&e))?
        .ok_or_else(|| format!("no SCIM user {user:?} in tenant {t}"))?;
    let id = row.text(0).map_err(|e| e.to_string())?;
    let pass = sync.sync_user(&t, &id).await.map_err(|e| with_causes(&e))?;
    if pass.crm_unavailable {
        return Err("the CRM is unavailable; the user stays queued and is retried".into());
    }
    println!("synced {user}: {} CRM write(s)", pass.written);
    Ok(())
}

/// `reset`.
pub async fn reset_cmd(gateway: &Gateway, name: &str) -> Result<(), String> {
    let t = tenant(gateway, name).await?;
    gateway
        .sync()
        .reset(&t)
        .await
        .map_err(|e| with_causes(&e))?;
    println!("the synced state of {t} is cleared; the rules are kept");
    Ok(())
}

/// `tenant crm show NAME`.
pub async fn crm_show(gateway: &Gateway, name: &str, json: bool) -> Result<(), String> {
    let t = tenant(gateway, name).await?;
    let c = connections::load(gateway.db(), gateway.crm().keys(), &t)
        .await
        .map_err(|e| with_causes(&e))?;
    let view = ConnectionView::of(&c);
    if json {
        println!(
            "{}",
            serde_json::to_string(&view).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    println!("tenant:       {t}");
    println!("crm:          {}", view.kind);
    if view.kind == CrmKind::Superoffice {
        let set = |b: bool| if b { "set" } else { "not set" };
        println!("url:          {}", view.base_url.as_deref().unwrap_or("-"));
        println!(
            "customer id:  {}",
            view.customer_id.as_deref().unwrap_or("-")
        );
        println!("auth:         {:?}", view.auth);
        match view.auth {
            AuthKind::Bearer => println!("access token: {}", set(view.access_token_set)),
            AuthKind::Soticket => {
                println!("ticket:       {}", set(view.ticket_set));
                println!("app token:    {}", set(view.app_token_set));
            }
            AuthKind::SystemUser => {
                println!("system user token: {}", set(view.system_user_token_set));
                println!("app token:    {}", set(view.app_token_set));
                println!("private key:  {}", set(view.private_key_set));
                println!("certificate:  {}", set(view.jwt_certificate_set));
            }
            AuthKind::Oauth => {
                println!("client id:    {}", view.client_id.as_deref().unwrap_or("-"));
                println!("app token:    {}", set(view.app_token_set));
                println!("refresh token: {}", set(view.refresh_token_set));
            }
        }
        if let Some(env) = &view.environment {
            println!("environment:  {env}");
        }
    }
    Ok(())
}

/// `input` with `token` (`--token`) as the credential of the sign-in it is for: the one
/// `--auth` names, else the stored connection's (so a new token without `--auth` replaces
/// the stored one of that kind).
fn with_token(
    mut input: ConnectionInput,
    before: &connections::CrmConnection,
    token: Option<String>,
) -> ConnectionInput {
    if token.is_some() {
        let field = match input.auth.unwrap_or(before.auth) {
            AuthKind::Bearer => &mut input.access_token,
            AuthKind::Soticket => &mut input.ticket,
            AuthKind::SystemUser => &mut input.system_user_token,
            AuthKind::Oauth => &mut input.refresh_token,
        };
        *field = token;
    }
    input
}

/// `tenant crm set NAME ...`: `input`'s credentials as given, with `token` for the
/// effective sign-in (the caller reads stdin and the environment).
pub async fn crm_set(
    gateway: &Gateway,
    name: &str,
    input: ConnectionInput,
    token: Option<String>,
) -> Result<(), String> {
    let t = tenant(gateway, name).await?;
    let key = gateway.crm().keys();
    let before = connections::load(gateway.db(), key, &t)
        .await
        .unwrap_or_default();
    let new = merge(&before, with_token(input, &before, token));
    connections::save(gateway.db(), key, &t, &new, "cli")
        .await
        .map_err(|e| with_causes(&e))?;
    if new.kind == CrmKind::Embedded {
        gateway
            .embedded_crm()
            .seed_demo(&t)
            .await
            .map_err(|e| with_causes(&e))?;
    }
    gateway
        .sync()
        .sync_all(&t)
        .await
        .map_err(|e| with_causes(&e))?;
    println!(
        "{t} now provisions into the {} CRM; running gateways switch within {} s. \
         Check it: scim-gateway tenant crm test {t}",
        new.kind,
        crate::crm::router::RELOAD_EVERY.as_secs()
    );
    Ok(())
}

/// `tenant crm test NAME`: fails (exit code 1) when the connection does not work.
pub async fn crm_test(gateway: &Gateway, name: &str, json: bool) -> Result<(), String> {
    let t = tenant(gateway, name).await?;
    let result = run_test(gateway.crm(), &t)
        .await
        .map_err(|e| with_causes(&e))?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&result).map_err(|e| e.to_string())?
        );
    } else {
        println!("{} CRM of {t}: {}", result.kind, result.report.detail);
    }
    if result.report.ok {
        Ok(())
    } else {
        Err(format!("Test Connection failed: {}", result.report.detail))
    }
}

/// `mail outbox list|retry`.
pub async fn outbox_cmd(gateway: &Gateway, cmd: crate::cli::OutboxCommand) -> Result<(), String> {
    use crate::cli::OutboxCommand;
    match cmd {
        OutboxCommand::List {
            tenant,
            status,
            limit,
            json,
        } => outbox_list(gateway, tenant.as_deref(), status, limit, json).await,
        OutboxCommand::Retry { id } => outbox_retry(gateway, id).await,
    }
}

/// `mail outbox list`: the mails of one tenant or of all, newest first, welcome links masked.
async fn outbox_list(
    gateway: &Gateway,
    name: Option<&str>,
    status: Option<String>,
    limit: u32,
    json: bool,
) -> Result<(), String> {
    use crate::mail::outbox::{self, ListQuery};
    let ids = match name {
        Some(n) => vec![tenant(gateway, n).await?],
        None => tenants::ids(gateway.db())
            .await
            .map_err(|e| with_causes(&e))?,
    };
    let q = ListQuery {
        status,
        limit,
        ..ListQuery::default()
    };
    let mut all = Vec::new();
    for t in ids {
        let mails = outbox::list(gateway.db(), &t, &q)
            .await
            .map_err(|e| with_causes(&e))?;
        all.extend(mails.into_iter().map(|m| (t.clone(), m)));
    }
    if json {
        let rows: Vec<_> = all
            .iter()
            .map(|(t, m)| {
                let mut v = serde_json::to_value(m).unwrap_or_default();
                v["tenant"] = serde_json::Value::from(t.as_str());
                v
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    println!("ID\tTENANT\tKIND\tSTATUS\tATTEMPTS\tTO\tSUBJECT\tNEXT/SENT\tLAST ERROR");
    for (t, m) in &all {
        let when = m.sent_at.as_deref().or(m.next_attempt_at.as_deref());
        println!(
            "{}\t{t}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            m.id,
            m.kind,
            m.status,
            m.attempts,
            m.to,
            m.subject,
            when.unwrap_or("-"),
            m.last_error.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// `mail outbox retry ID`: a failed mail back into the queue; an error when there is no
/// failed mail with this id.
async fn outbox_retry(gateway: &Gateway, id: i64) -> Result<(), String> {
    match crate::mail::outbox::retry_any(gateway.db(), id)
        .await
        .map_err(|e| with_causes(&e))?
    {
        Some(t) => {
            println!("mail {id} of {t} queued again; the gateway sends it at its next poll");
            Ok(())
        }
        None => Err(format!(
            "no failed mail {id} (only a failed mail can be retried; see `mail outbox list \
             --status failed`)"
        )),
    }
}

/// A password for an account: the first line of standard input, or a generated one (96
/// random bits) that is printed once.
fn account_password(from_stdin: bool) -> Result<(String, bool), String> {
    if from_stdin {
        Ok((stdin_line("the password")?, false))
    } else {
        Ok((crate::ui::accounts::generate_password(), true))
    }
}

/// The first line of standard input without its line ending (`what` names it in the error).
pub fn stdin_line(what: &str) -> Result<String, String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("reading {what} from standard input: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// `admin create|list|password|disable`: the Identity Manager's accounts.
pub async fn account_cmd(gateway: &Gateway, cmd: crate::cli::AccountCommand) -> Result<(), String> {
    use crate::cli::AccountCommand;
    use crate::ui::accounts::{self, Access};
    let db = gateway.db();
    let err = |e: accounts::AccountError| with_causes(&e);
    match cmd {
        AccountCommand::Create {
            name,
            tenants: names,
            password_stdin,
            oidc_only,
        } => {
            let access = if names.is_empty() {
                Access::All
            } else {
                let mut ids = Vec::with_capacity(names.len());
                for n in &names {
                    ids.push(tenant(gateway, n).await?.as_str().to_string());
                }
                Access::Tenants(ids)
            };
            let password = if oidc_only {
                None
            } else {
                Some(account_password(password_stdin)?)
            };
            let a = accounts::create(
                db,
                &name,
                password.as_ref().map(|(p, _)| p.as_str()),
                access,
                "cli",
            )
            .await
            .map_err(err)?;
            println!("Created the Identity Manager account `{}`.", a.user_name);
            match &password {
                Some((p, true)) => {
                    println!("Password:  {p}");
                    println!("(shown once: only its argon2id hash is stored)");
                }
                Some((_, false)) => {}
                None => println!("It signs in only through OpenID Connect."),
            }
            Ok(())
        }
        AccountCommand::List { json } => {
            let list = accounts::list(db).await.map_err(|e| with_causes(&e))?;
            let access = |a: &Access| match a {
                Access::All => None,
                Access::Tenants(t) => Some(t.clone()),
            };
            if json {
                let items: Vec<_> = list
                    .iter()
                    .map(|a| {
                        serde_json::json!({
                            "user_name": a.user_name,
                            "tenants": access(&a.access),
                            "password": a.has_password,
                            "disabled": a.disabled,
                            "created_at": a.created_at,
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(items));
            } else {
                println!(
                    "{:<30}  {:<24}  {:<16}  disabled",
                    "name", "tenants", "sign-in"
                );
                for a in list {
                    println!(
                        "{:<30}  {:<24}  {:<16}  {}",
                        a.user_name,
                        access(&a.access).map_or_else(|| "(every tenant)".into(), |t| t.join(",")),
                        if a.has_password {
                            "password, OIDC"
                        } else {
                            "OIDC only"
                        },
                        if a.disabled { "yes" } else { "no" }
                    );
                }
            }
            Ok(())
        }
        AccountCommand::Password {
            name,
            password_stdin,
        } => {
            let (password, generated) = account_password(password_stdin)?;
            accounts::set_password(db, &name, &password)
                .await
                .map_err(err)?;
            println!("Set the password of `{}`.", name.trim());
            if generated {
                println!("Password:  {password}");
                println!("(shown once: only its argon2id hash is stored)");
            }
            Ok(())
        }
        AccountCommand::Disable { name } => {
            accounts::disable(db, &name).await.map_err(err)?;
            println!(
                "Disabled `{}`: it cannot sign in and its sessions have ended.",
                name.trim()
            );
            Ok(())
        }
    }
}
