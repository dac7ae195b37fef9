//! `scim-gateway`: the command-line entry point (see `scim-gateway --help`).

use std::process::ExitCode;

use clap::Parser;
use gateway_reference::admin::crm::ConnectionInput;
use gateway_reference::app::{self, Gateway, tenant_url, with_causes};
use gateway_reference::cli::{
    AdminCommand, AdminTokenCommand, CRM_APP_TOKEN_ENV, CRM_TOKEN_ENV, Cli, Command, CrmChoice,
    CrmCommand, MailCommand, RulesCommand, SignInArgs, TenantCommand, TokenCommand,
};
use gateway_reference::commands;
use gateway_reference::config::Config;
use gateway_reference::crm::connections::CrmKind;
use gateway_reference::tenants;

/// mimalloc as the global allocator: 9-23 % more requests per second than glibc's malloc on
/// the SCIM read paths in the load harness (`loadtest/README.md`), for about 70 MiB more
/// resident memory.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = Config::resolve(cli.global.partial(), cli.global.config.as_deref(), |k| {
        std::env::var(k).ok()
    })
    .map_err(|e| with_causes(&e))?;
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Serve = command {
        return app::serve(config).await.map_err(|e| with_causes(&e));
    }
    let gateway = Gateway::open(&config).await.map_err(|e| with_causes(&e))?;
    let db = gateway.db();
    let public_url = config.public_url_for(config.listen);
    let err = |e: tenants::TenantError| with_causes(&e);
    let print_token = |tenant: &str, token: &str, json: bool| {
        let url = tenant_url(&public_url, tenant);
        if json {
            println!(
                "{}",
                serde_json::json!({ "tenant_url": url, "token": token })
            );
        } else {
            println!("Tenant URL:    {url}");
            println!("Secret Token:  {token}");
            println!("(shown once: only its SHA-256 hash is stored)");
        }
    };
    match command {
        Command::Serve => Ok(()),
        Command::Rules(RulesCommand::Export { file, tenant }) => {
            commands::rules_export(&gateway, &tenant, &file).await
        }
        Command::Rules(RulesCommand::Import {
            file,
            tenant,
            comment,
        }) => commands::rules_import(&gateway, &tenant, &file, comment.as_deref()).await,
        Command::Preview {
            tenant,
            search,
            json,
        } => commands::preview_cmd(&gateway, &tenant, search, json).await,
        Command::Sync { user, tenant } => commands::sync_cmd(&gateway, &tenant, &user).await,
        Command::Reset { tenant } => commands::reset_cmd(&gateway, &tenant).await,
        Command::Mail(MailCommand::Outbox(c)) => commands::outbox_cmd(&gateway, c).await,
        Command::Tenant(TenantCommand::Create { name, json }) => {
            let t = tenants::create(db, &name).await.map_err(err)?;
            let id = t.tenant_id().ok_or("invalid tenant id")?;
            let token = tenants::add_token(db, &id, "cli").await.map_err(err)?;
            print_token(&t.id, &token, json);
            Ok(())
        }
        Command::Tenant(TenantCommand::Crm(CrmCommand::Show { name, json })) => {
            commands::crm_show(&gateway, &name, json).await
        }
        Command::Tenant(TenantCommand::Crm(CrmCommand::Test { name, json })) => {
            commands::crm_test(&gateway, &name, json).await
        }
        Command::Tenant(TenantCommand::Crm(CrmCommand::Set {
            name,
            kind,
            url,
            customer_id,
            auth,
            sign_in_url,
            token,
            token_stdin,
            app_token,
            sign_in,
        })) => {
            let SignInArgs {
                private_key_file,
                environment,
                client_id,
                jwt_certificate_file,
            } = *sign_in;
            let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
            let token = if token_stdin {
                Some(commands::stdin_line("the token")?.trim().to_string())
                    .filter(|t| !t.is_empty())
            } else {
                token.or_else(|| env(CRM_TOKEN_ENV))
            };
            let read = |p: Option<std::path::PathBuf>| {
                p.map(|p| std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display())))
                    .transpose()
            };
            let input = ConnectionInput {
                kind: match kind {
                    CrmChoice::Embedded => CrmKind::Embedded,
                    CrmChoice::Superoffice => CrmKind::Superoffice,
                },
                base_url: url,
                customer_id,
                auth,
                sign_in_url,
                // crm_set puts the token where the effective sign-in wants it.
                access_token: None,
                ticket: None,
                system_user_token: None,
                refresh_token: None,
                app_token: app_token.or_else(|| env(CRM_APP_TOKEN_ENV)),
                private_key: read(private_key_file)?,
                environment,
                client_id,
                jwt_certificate: read(jwt_certificate_file)?,
            };
            commands::crm_set(&gateway, &name, input, token).await
        }
        Command::Tenant(TenantCommand::List { json }) => {
            let list = tenants::list(db).await.map_err(|e| with_causes(&e))?;
            if json {
                let items: Vec<_> = list
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "id": t.id, "name": t.name, "created_at": t.created_at,
                            "tenant_url": tenant_url(&public_url, &t.id),
                        })
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(items));
            } else if list.is_empty() {
                println!("no tenants (create one: scim-gateway tenant create NAME)");
            } else {
                for t in list {
                    println!("{}\t{}\t{}", t.id, t.name, tenant_url(&public_url, &t.id));
                }
            }
            Ok(())
        }
        Command::Tenant(TenantCommand::Token(TokenCommand::Rotate { name, json })) => {
            let t = tenants::find(db, &name).await.map_err(err)?;
            let id = t.tenant_id().ok_or("invalid tenant id")?;
            let token = tenants::rotate_token(db, &id, "cli").await.map_err(err)?;
            if !json {
                println!("Every earlier token of `{}` is revoked.", t.id);
            }
            print_token(&t.id, &token, json);
            Ok(())
        }
        Command::Tenant(TenantCommand::Token(TokenCommand::Revoke { name })) => {
            let t = tenants::find(db, &name).await.map_err(err)?;
            let id = t.tenant_id().ok_or("invalid tenant id")?;
            let n = tenants::revoke_tokens(db, &id, "cli").await.map_err(err)?;
            println!(
                "Revoked {n} token(s) of `{}`; running gateways refuse them within {} s.",
                t.id,
                tenants::TOKEN_CACHE_TTL.as_secs()
            );
            Ok(())
        }
        Command::Admin(AdminCommand::Account(cmd)) => commands::account_cmd(&gateway, cmd).await,
        Command::Admin(AdminCommand::Token(AdminTokenCommand::Create { tenant, json })) => {
            let scope = match &tenant {
                Some(name) => Some(
                    tenants::find(db, name)
                        .await
                        .map_err(err)?
                        .tenant_id()
                        .ok_or("invalid tenant id")?,
                ),
                None => None,
            };
            let token = tenants::create_admin_token(db, scope.as_ref(), "cli")
                .await
                .map_err(err)?;
            let admin = format!("{}/admin", public_url.trim_end_matches('/'));
            if json {
                let t = scope.as_ref().map(|t| t.as_str());
                println!(
                    "{}",
                    serde_json::json!({ "admin_url": admin, "token": token, "tenant": t })
                );
            } else {
                println!("Admin API:    {admin}");
                println!("Admin token:  {token}");
                match &scope {
                    Some(t) => println!("(for the tenant `{t}` only; shown once, stored hashed)"),
                    None => println!("(for every tenant; shown once, stored hashed)"),
                }
            }
            Ok(())
        }
        Command::Admin(AdminCommand::Token(AdminTokenCommand::List { json })) => {
            let list = tenants::list_admin_tokens(db, &tenants::AdminScope::All)
                .await
                .map_err(|e| with_causes(&e))?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string(&list).map_err(|e| with_causes(&e))?
                );
            } else {
                println!(
                    "{:<12}  {:<20}  {:<12}  {:<25}  revoked",
                    "id", "tenant", "label", "created"
                );
                for t in list {
                    println!(
                        "{:<12}  {:<20}  {:<12}  {:<25}  {}",
                        t.id,
                        t.tenant.as_deref().unwrap_or("(every tenant)"),
                        t.label,
                        t.created_at,
                        t.revoked_at.as_deref().unwrap_or("-")
                    );
                }
            }
            Ok(())
        }
        Command::Admin(AdminCommand::Token(AdminTokenCommand::Revoke { id })) => {
            let t = tenants::revoke_admin_token(db, &tenants::AdminScope::All, &id)
                .await
                .map_err(|e| with_causes(&e))?;
            println!(
                "revoked admin token {} ({}); it no longer opens the admin API",
                t.id,
                t.tenant.as_deref().unwrap_or("every tenant")
            );
            Ok(())
        }
    }
}
