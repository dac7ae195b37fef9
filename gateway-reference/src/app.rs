//! The gateway as a program: [`Gateway::open`] opens its storage from a [`Config`],
//! [`Gateway::first_start`] creates the demo tenant on an empty database, and [`serve`]
//! serves SCIM at `/scim/{tenant}`, the admin API at `/admin`, `/healthz`, `/readyz` and
//! `/metrics` with hyper until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use scim_server::{PathPrefixTenants, ScimServer, Storage};
use tokio::net::TcpListener;

use crate::admin::{self, AdminState};
use crate::config::Config;
use crate::crm::connections::{self, CrmKind, KEY_ENV, Keys};
use crate::crm::{CrmRouter, EmbeddedCrm};
use crate::db::{Db, DbError};
use crate::metrics::{Metrics, route_class};
use crate::sync::{SyncEngine, WakeOnChange};
use crate::tenants::{self, TenantError, TenantTokens};
use scim_core::schema::SchemaRegistry;

/// How often the sync looks for work when nothing wakes it.
pub const SYNC_POLL: Duration = Duration::from_millis(500);

/// How often the mail worker looks for due mails and notification conditions.
pub const MAIL_POLL: Duration = Duration::from_secs(2);

/// How often the provisioning log is pruned to each tenant's retention.
pub const LOG_PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How often the SCIM change feed is pruned through the position the sync has consumed.
const FEED_PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The path the SCIM endpoints live under.
pub const SCIM_BASE: &str = "/scim";

/// The Tenant URL of `tenant` (what Entra ID's provisioning "Tenant URL" field takes).
pub fn tenant_url(public_url: &str, tenant: &str) -> String {
    format!("{}{SCIM_BASE}/{tenant}", public_url.trim_end_matches('/'))
}

/// What keeps the gateway from starting.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The SCIM storage could not be opened (the message never holds a database URL).
    #[error("cannot open the SCIM storage: {0}")]
    Storage(String),
    /// The gateway's database failed.
    #[error("the gateway database: {0}")]
    Db(#[from] DbError),
    /// A tenant operation failed.
    #[error(transparent)]
    Tenant(#[from] TenantError),
    /// The SCIM server could not be built.
    #[error("cannot build the SCIM server: {0}")]
    Build(#[from] scim_server::BuildError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// This build has no PostgreSQL support.
    #[error("this scim-gateway was built without the `postgres` feature")]
    NoPostgres,
}

/// An error and its causes on one line.
pub fn with_causes(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let s = cause.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        next = cause.source();
    }
    out
}

/// The opened gateway: its database and its SCIM storage.
#[derive(Clone)]
pub struct Gateway {
    db: Db,
    storage: Arc<dyn Storage>,
    config: Config,
    metrics: Arc<Metrics>,
    crm: Arc<CrmRouter>,
    sync: SyncEngine,
    /// Tenants whose demo catalogue this process has seeded (seeding is idempotent; this
    /// keeps it off every sync pass).
    seeded: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("dialect", &self.db.dialect())
            .finish_non_exhaustive()
    }
}

/// What the first start created (shown once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstStart {
    /// The demo tenant's id.
    pub tenant: String,
    /// Its SCIM Secret Token.
    pub token: String,
    /// An admin token for every tenant.
    pub admin_token: String,
}

impl Gateway {
    /// Opens the storage `config` names: SQLite files `scim.db` and `gateway.db` in the data
    /// directory, or the PostgreSQL database of `database_url` (the SCIM tables and the
    /// gateway's in one schema).
    pub async fn open(config: &Config) -> Result<Gateway, AppError> {
        let (storage, db) = match &config.database_url {
            Some(url) => open_postgres(config, url).await?,
            None => {
                let dir = &config.data_dir;
                std::fs::create_dir_all(dir).map_err(|e| AppError::DataDir {
                    path: dir.clone(),
                    source: e,
                })?;
                let spec = format!("sqlite:{}", dir.join("scim.db").display());
                let storage = scim_server::storage::OpenOptions::new()
                    .sqlite_mmap_size(config.sqlite_mmap_bytes)
                    .sqlite_substring_indexes(config.sqlite_substring_indexes)
                    .open(&spec)
                    .await
                    .map_err(|e| AppError::Storage(with_causes(&e)))?;
                let db = Db::open_sqlite(&dir.join("gateway.db")).await?;
                (storage, db)
            }
        };
        // Loaded (or generated in the data directory) when a credential is first sealed or
        // opened.
        let keys = Keys::lazy(&config.data_dir, std::env::var(KEY_ENV).ok());
        let crm = Arc::new(CrmRouter::new(
            db.clone(),
            Arc::new(EmbeddedCrm::new(db.clone())),
            keys,
        ));
        let public_url = config.public_url_for(config.listen);
        let sync = SyncEngine::with_mail(
            db.clone(),
            storage.clone(),
            SchemaRegistry::with_builtins(),
            crm.clone(),
            config.mail_config(&public_url),
            crm.shared_keys(),
        );
        Ok(Gateway {
            db,
            storage,
            config: config.clone(),
            metrics: Arc::new(Metrics::new()),
            crm,
            sync,
            seeded: Arc::default(),
        })
    }

    /// The gateway's database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The SCIM storage.
    pub fn storage(&self) -> &Arc<dyn Storage> {
        &self.storage
    }

    /// The sync engine.
    pub fn sync(&self) -> &SyncEngine {
        &self.sync
    }

    /// The CRM of each tenant (the embedded CRM by default, or SuperOffice).
    pub fn crm(&self) -> &Arc<CrmRouter> {
        &self.crm
    }

    /// The embedded CRM directory (the default CRM backend).
    pub fn embedded_crm(&self) -> &Arc<EmbeddedCrm> {
        self.crm.embedded()
    }

    /// Seeds the embedded CRM's demo catalogue (plans with seats, roles, user groups, owner
    /// companies) for every tenant on the embedded CRM that lacks it (tenants on SuperOffice
    /// have SuperOffice's catalogue); idempotent, and done once per tenant per process.
    pub async fn seed_crm(&self) -> Result<(), AppError> {
        for id in tenants::ids(&self.db).await? {
            let done = self
                .seeded
                .lock()
                .map(|s| s.contains(id.as_str()))
                .unwrap_or(false);
            if done || connections::kind(&self.db, &id).await? != CrmKind::Embedded {
                continue;
            }
            self.crm
                .embedded()
                .seed_demo(&id)
                .await
                .map_err(|e| AppError::Storage(with_causes(&e)))?;
            if let Ok(mut seeded) = self.seeded.lock() {
                seeded.insert(id.as_str().to_string());
            }
        }
        Ok(())
    }

    /// Removes every tenant's provisioning log entries older than its `logRetentionDays`.
    pub async fn prune_logs(&self) -> Result<u64, AppError> {
        let mut removed = 0;
        for id in tenants::ids(&self.db).await? {
            let days = crate::settings::load(&self.db, &id)
                .await?
                .log_retention_days;
            removed += crate::log::prune(&self.db, &id, days).await?;
        }
        Ok(removed)
    }

    /// Runs the sync until `shutdown` resolves: a pass over every tenant whenever a SCIM
    /// write wakes it, and at least every `poll` (changes written by other processes
    /// sharing the database, retries whose backoff expired).
    pub async fn run_sync(&self, poll: Duration, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut last_prune: Option<Instant> = None;
        let mut last_feed_prune: Option<Instant> = None;
        loop {
            if last_feed_prune.is_none_or(|t| t.elapsed() >= FEED_PRUNE_EVERY) {
                last_feed_prune = Some(Instant::now());
                match self.sync.prune_all_consumed_changes().await {
                    Ok(0) => {}
                    Ok(n) => tracing::debug!(removed = n, "pruned the consumed SCIM change feed"),
                    Err(e) => tracing::warn!(error = %e, "pruning the SCIM change feed failed"),
                }
            }
            if last_prune.is_none_or(|t| t.elapsed() >= LOG_PRUNE_EVERY) {
                last_prune = Some(Instant::now());
                if let Err(e) = self.prune_logs().await {
                    tracing::warn!(error = %e, "pruning the provisioning log failed");
                }
                match crate::ui::session::prune(&self.db).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::debug!(removed = n, "deleted ended Identity Manager sessions")
                    }
                    Err(e) => tracing::warn!(error = %e, "deleting ended sessions failed"),
                }
            }
            if let Err(e) = self.seed_crm().await {
                tracing::warn!(error = %e, "seeding the embedded CRM failed");
            }
            if let Err(e) = self.sync.run_once().await {
                tracing::warn!(error = %e, "sync pass failed");
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = self.sync.wait_for_work(poll) => {}
            }
        }
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// On a database without tenants: creates the tenant `demo`, a SCIM token for it and an
    /// admin token for every tenant. `None` when there are tenants already (or another
    /// process sharing the database just created `demo`).
    pub async fn first_start(&self) -> Result<Option<FirstStart>, AppError> {
        if !tenants::list(&self.db).await?.is_empty() {
            return Ok(None);
        }
        let tenant = match tenants::create(&self.db, "demo").await {
            Ok(t) => t,
            Err(TenantError::Exists(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let id = tenant
            .tenant_id()
            .ok_or_else(|| TenantError::InvalidName(tenant.id.clone()))?;
        let token = tenants::add_token(&self.db, &id, "first-start").await?;
        let admin_token = tenants::create_admin_token(&self.db, None, "first-start").await?;
        Ok(Some(FirstStart {
            tenant: tenant.id,
            token,
            admin_token,
        }))
    }

    /// On a database without Identity Manager accounts: creates the account `admin` for
    /// every tenant with a random password and returns the name and the password (shown
    /// once; stored as an argon2id hash). `None` when an account exists.
    pub async fn first_admin(&self) -> Result<Option<(String, String)>, AppError> {
        use crate::ui::accounts::{self, Access, AccountError};
        if accounts::any(&self.db).await? {
            return Ok(None);
        }
        let password = accounts::generate_password();
        match accounts::create(
            &self.db,
            "admin",
            Some(&password),
            Access::All,
            "first-start",
        )
        .await
        {
            Ok(a) => Ok(Some((a.user_name, password))),
            // Another process sharing the database created it first.
            Err(AccountError::Exists(_)) => Ok(None),
            Err(AccountError::Db(e)) => Err(e.into()),
            Err(e) => Err(AppError::Storage(e.to_string())),
        }
    }

    /// The SCIM server's builder as the gateway configures it: the storage, the
    /// [`TenantTokens`] authenticator, [`PathPrefixTenants`] under [`SCIM_BASE`] and the
    /// public URL. Add provisioning hooks to it and pass the built server to
    /// [`Gateway::router_with`].
    pub fn scim_builder(&self, public_url: &str) -> scim_server::ScimServerBuilder {
        ScimServer::builder()
            .storage(self.storage.clone())
            .authenticator(TenantTokens::new(self.db.clone()))
            .tenant_resolver(PathPrefixTenants)
            .base_path(SCIM_BASE)
            .provisioning(WakeOnChange(self.sync.clone()))
            .public_url(format!("{}{SCIM_BASE}", public_url.trim_end_matches('/')))
            .rendered_cache_bytes(self.config.rendered_cache_bytes)
    }

    /// The whole HTTP service for clients that reach it at `public_url`.
    pub fn router(&self, public_url: &str) -> Result<Router, AppError> {
        Ok(self.router_with(public_url, self.scim_builder(public_url).build()?))
    }

    /// The whole HTTP service around the SCIM server `scim` (see [`Gateway::scim_builder`]).
    pub fn router_with(&self, public_url: &str, scim: ScimServer) -> Router {
        let admin_state = AdminState {
            db: self.db.clone(),
            storage: self.storage.clone(),
            crm: self.crm.clone(),
            sync: self.sync.clone(),
            public_url: public_url.trim_end_matches('/').to_string(),
            mail: self.config.mail_config(public_url),
        };
        let ui = crate::ui::router(
            crate::ui::UiState::new(admin_state.clone()).with_oidc(self.config.oidc.clone()),
        );
        let admin = admin::router(admin_state);
        let activate = crate::mail::activate::router(crate::mail::activate::ActivateState {
            db: self.db.clone(),
            crm: self.crm.clone(),
        });
        let metrics = self.metrics.clone();
        let db = self.db.clone();
        Router::new()
            .route("/healthz", get(|| async { "ok\n" }))
            .route("/readyz", get(readyz).with_state(self.db.clone()))
            .route(
                "/metrics",
                get(move || {
                    let m = metrics.clone();
                    let db = db.clone();
                    async move {
                        let mut text = m.render();
                        text.push_str(&crate::metrics::render_db_gauges(&db).await);
                        (
                            [(
                                axum::http::header::CONTENT_TYPE,
                                "text/plain; version=0.0.4; charset=utf-8",
                            )],
                            text,
                        )
                    }
                }),
            )
            .route_service(&format!("{SCIM_BASE}/{{*rest}}"), scim)
            .nest("/admin", admin)
            .merge(activate)
            .merge(ui)
            .layer(axum::middleware::from_fn_with_state(
                self.metrics.clone(),
                measure,
            ))
    }
}

#[cfg(feature = "postgres")]
async fn open_postgres(config: &Config, url: &str) -> Result<(Arc<dyn Storage>, Db), AppError> {
    use scim_server::storage::postgres::{PostgresConfig, PostgresStorage};
    let mut pg = PostgresConfig::new(url);
    if let Some(schema) = &config.database_schema {
        pg = pg.schema(schema.clone());
    }
    if let Some(ca) = &config.postgres_ca_file {
        pg = pg.ca_file(ca.clone());
    }
    let storage = PostgresStorage::connect_with(pg)
        .await
        .map_err(|e| AppError::Storage(with_causes(&e)))?
        .substring_indexes(config.postgres_substring_indexes);
    let db = Db::from_postgres_pool(storage.pool().clone()).await?;
    Ok((Arc::new(storage), db))
}

#[cfg(not(feature = "postgres"))]
async fn open_postgres(_: &Config, _: &str) -> Result<(Arc<dyn Storage>, Db), AppError> {
    Err(AppError::NoPostgres)
}

async fn readyz(State(db): State<Db>) -> Response {
    match db.query_opt("SELECT 1", &[]).await {
        Ok(_) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readyz: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the database is unreachable\n",
            )
                .into_response()
        }
    }
}

async fn measure(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let class = route_class(req.uri().path());
    let start = Instant::now();
    let response = next.run(req).await;
    metrics.observe(class, response.status().as_u16(), start.elapsed());
    response
}

/// The first-start message: what was created and what to do next.
pub fn first_start_message(public_url: &str, first: &FirstStart) -> String {
    let url = tenant_url(public_url, &first.tenant);
    let admin = format!("{}/admin", public_url.trim_end_matches('/'));
    let tenant = &first.tenant;
    let token = &first.token;
    let admin_token = &first.admin_token;
    [
        String::new(),
        "=== scim-gateway: first start ===========================================".into(),
        format!("Created the tenant `{tenant}`."),
        String::new(),
        format!("  Tenant URL:    {url}"),
        format!("  Secret Token:  {token}"),
        String::new(),
        format!("  Admin API:     {admin}"),
        format!("  Admin token:   {admin_token}"),
        String::new(),
        "Both tokens are shown only now (only their SHA-256 hashes are stored). Lost them?".into(),
        format!("`scim-gateway tenant token rotate {tenant}`, `scim-gateway admin token create`."),
        String::new(),
        "Next:".into(),
        "  1. In Microsoft Entra ID: Enterprise applications > your application >".into(),
        "     Provisioning > Admin Credentials: paste the Tenant URL and the Secret Token,".into(),
        "     then Test Connection. Entra must reach the URL: serve with".into(),
        "     --listen 0.0.0.0:8080 --public-url https://your-host behind TLS.".into(),
        "  2. Try it here:".into(),
        format!(
            "     curl -H 'Authorization: Bearer {token}' '{url}/Users?filter=userName%20eq%20%22x%22'"
        ),
        format!("     curl -H 'Authorization: Bearer {admin_token}' {admin}/tenants"),
        "==========================================================================".into(),
    ]
    .join("\n")
}

/// The message that shows the first Identity Manager account.
pub fn first_admin_message(public_url: &str, name: &str, password: &str) -> String {
    let ui = format!("{}/ui/", public_url.trim_end_matches('/'));
    [
        String::new(),
        "=== Identity Manager: first administrator ===============================".into(),
        format!("  Sign in at:  {ui}"),
        format!("  Name:        {name}"),
        format!("  Password:    {password}"),
        String::new(),
        "Shown only now (stored as an argon2id hash). Lost it?".into(),
        format!(
            "`scim-gateway admin password {name}`; more accounts: `scim-gateway admin create`."
        ),
        "==========================================================================".into(),
    ]
    .join("\n")
}

/// Serves until Ctrl-C or SIGTERM, then lets open requests finish (at most 10 s).
pub async fn serve(mut config: Config) -> Result<(), AppError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| AppError::Listen {
            addr: config.listen,
            source: e,
        })?;
    let bound = listener.local_addr().unwrap_or(config.listen);
    let public_url = config.public_url_for(bound);
    // Welcome links point here (the bound port when the listen port was 0).
    config.public_url = Some(public_url.clone());
    let gateway = Gateway::open(&config).await?;
    if let Some(first) = gateway.first_start().await? {
        println!("{}", first_start_message(&public_url, &first));
    }
    if let Some((name, password)) = gateway.first_admin().await? {
        println!("{}", first_admin_message(&public_url, &name, &password));
    }
    let storage = match config.database_url {
        Some(_) => "postgres".to_string(),
        None => config.data_dir.display().to_string(),
    };
    match &config.mail.smtp {
        Some(smtp) => println!(
            "Mail: SMTP {}:{} ({:?}); outbox at /admin/tenants/{{tenant}}/mail/outbox",
            smtp.host, smtp.port, smtp.tls
        ),
        None => println!(
            "Mail: no SMTP server configured: mails stay queued in the outbox \
             (/admin/tenants/{{tenant}}/mail/outbox)"
        ),
    }
    println!("scim-gateway listening on http://{bound} (data: {storage})");
    println!("  SCIM:      {public_url}{SCIM_BASE}/{{tenant}}");
    println!("  Identity Manager: {public_url}/ui/");
    println!("  Admin API: {public_url}/admin   (GET /admin/schema lists the bodies)");
    println!("  Health:    {public_url}/healthz, {public_url}/readyz, {public_url}/metrics");
    let router = gateway.router(&public_url)?;
    gateway.seed_crm().await?;
    let (stop_sync, sync_stopped) = tokio::sync::oneshot::channel::<()>();
    let sync_task = {
        let gateway = gateway.clone();
        tokio::spawn(async move {
            gateway
                .run_sync(SYNC_POLL, async {
                    let _ = sync_stopped.await;
                })
                .await;
        })
    };
    let (stop_mail, mail_stopped) = tokio::sync::oneshot::channel::<()>();
    let mail_task = tokio::spawn(crate::mail::worker::run(
        gateway.db().clone(),
        config.mail_config(&public_url),
        gateway.crm().shared_keys(),
        MAIL_POLL,
        async {
            let _ = mail_stopped.await;
        },
    ));
    let builder = hyper::server::conn::http1::Builder::new();
    let graceful = GracefulShutdown::new();
    let mut stop = std::pin::pin!(shutdown_signal());
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                // The peer's address for the handlers that count per client (sign-in).
                let svc = TowerToHyperService::new(tower::ServiceExt::map_request(
                    router.clone(),
                    move |mut req: http::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
                        req
                    },
                ));
                let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), svc));
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            () = &mut stop => {
                println!("shutting down: finishing open requests (at most 10 s)");
                break;
            }
        }
    }
    drop(listener);
    let _ = stop_sync.send(());
    let _ = sync_task.await;
    let _ = stop_mail.send(());
    let _ = mail_task.await;
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => {
            eprintln!("some connections did not finish in time");
        }
    }
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
