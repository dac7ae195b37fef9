//! [`CrmRouter`]: the [`Crm`] the gateway writes through. It holds the embedded CRM and one
//! [`SuperOfficeCrm`] per tenant that uses SuperOffice (kept, with its circuit breaker,
//! while the tenant's connection is unchanged), and sends each call to the tenant's
//! backend. A changed connection is picked up within [`RELOAD_EVERY`] (at once in the
//! process that saved it, through [`CrmRouter::invalidate`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use scim_server::TenantId;
use tokio::time::Instant;

use super::connections::{self, ConnectionError, CrmKind, Keys};
use super::superoffice::SuperOfficeConfig;
use super::{
    Activation, Catalog, Crm, CrmError, CrmUser, EmbeddedCrm, Person, SuperOfficeCrm, UserSettings,
};
use crate::db::Db;

/// How long a tenant's backend is used before its connection's version is checked again.
pub const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// A tenant's backend.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The embedded CRM.
    Embedded(Arc<EmbeddedCrm>),
    /// SuperOffice.
    SuperOffice(Arc<SuperOfficeCrm>),
}

impl Backend {
    /// The backend as a [`Crm`].
    pub fn crm(&self) -> &dyn Crm {
        match self {
            Backend::Embedded(c) => &**c,
            Backend::SuperOffice(c) => &**c,
        }
    }

    /// Which kind it is.
    pub fn kind(&self) -> CrmKind {
        match self {
            Backend::Embedded(_) => CrmKind::Embedded,
            Backend::SuperOffice(_) => CrmKind::Superoffice,
        }
    }
}

struct Entry {
    version: Option<String>,
    checked: Instant,
    backend: Backend,
}

type Tuning = Arc<dyn Fn(&mut SuperOfficeConfig) + Send + Sync>;

/// Dispatches each [`Crm`] call to the tenant's backend (see the module docs).
pub struct CrmRouter {
    db: Db,
    embedded: Arc<EmbeddedCrm>,
    keys: Arc<Keys>,
    tuning: Option<Tuning>,
    cache: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for CrmRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrmRouter").finish_non_exhaustive()
    }
}

impl From<ConnectionError> for CrmError {
    /// A connection that cannot be used is critical (like refused credentials): the
    /// operator must fix it; a database failure keeps its transience.
    fn from(e: ConnectionError) -> Self {
        match e {
            ConnectionError::Db(db) => db.into(),
            other => CrmError::Unauthorized(other.to_string()),
        }
    }
}

impl CrmRouter {
    /// A router over `db`'s connections, with the embedded CRM and the deployment's `keys`.
    pub fn new(db: Db, embedded: Arc<EmbeddedCrm>, keys: Keys) -> Self {
        CrmRouter {
            db,
            embedded,
            keys: Arc::new(keys),
            tuning: None,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Adjusts every SuperOffice configuration it builds (timeouts, retries, breaker; tests
    /// shorten them).
    pub fn with_tuning(
        mut self,
        f: impl Fn(&mut SuperOfficeConfig) + Send + Sync + 'static,
    ) -> Self {
        self.tuning = Some(Arc::new(f));
        self
    }

    /// The embedded CRM.
    pub fn embedded(&self) -> &Arc<EmbeddedCrm> {
        &self.embedded
    }

    /// The key the credentials are sealed with.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The same key, to share with the mail worker and the sync (welcome links are sealed
    /// with it while they wait in the outbox).
    pub fn shared_keys(&self) -> Arc<Keys> {
        self.keys.clone()
    }

    /// The database of the connections.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Forgets the tenant's backend: the next call loads its connection again.
    pub fn invalidate(&self, tenant: &TenantId) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(tenant.as_str());
        }
    }

    /// The SuperOffice configuration of a connection, tuned.
    pub fn tuned(&self, mut config: SuperOfficeConfig) -> SuperOfficeConfig {
        if let Some(t) = &self.tuning {
            t(&mut config);
        }
        config
    }

    /// The tenant's backend, loaded or reloaded as needed.
    pub async fn backend(&self, tenant: &TenantId) -> Result<Backend, CrmError> {
        let cached = self.cache.lock().ok().and_then(|c| {
            c.get(tenant.as_str())
                .map(|e| (e.version.clone(), e.checked, e.backend.clone()))
        });
        if let Some((_, checked, backend)) = &cached
            && checked.elapsed() < RELOAD_EVERY
        {
            return Ok(backend.clone());
        }
        let version = connections::version(&self.db, tenant).await?;
        let backend = match cached {
            Some((v, _, backend)) if v == version => backend,
            _ => {
                let conn = connections::load(&self.db, &self.keys, tenant).await?;
                match conn.kind {
                    CrmKind::Embedded => Backend::Embedded(self.embedded.clone()),
                    CrmKind::Superoffice => {
                        let config = self.tuned(conn.superoffice_config()?);
                        Backend::SuperOffice(Arc::new(SuperOfficeCrm::new(
                            tenant.clone(),
                            &config,
                        )?))
                    }
                }
            }
        };
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(
                tenant.as_str().to_string(),
                Entry {
                    version,
                    checked: Instant::now(),
                    backend: backend.clone(),
                },
            );
        }
        Ok(backend)
    }

    /// Which CRM the tenant uses.
    pub async fn kind(&self, tenant: &TenantId) -> Result<CrmKind, CrmError> {
        Ok(self.backend(tenant).await?.kind())
    }
}

#[async_trait]
impl Crm for CrmRouter {
    async fn catalog(&self, tenant: &TenantId) -> Result<Catalog, CrmError> {
        self.backend(tenant).await?.crm().catalog(tenant).await
    }

    async fn find_user(
        &self,
        tenant: &TenantId,
        user_name: &str,
    ) -> Result<Option<CrmUser>, CrmError> {
        self.backend(tenant)
            .await?
            .crm()
            .find_user(tenant, user_name)
            .await
    }

    async fn get_user(&self, tenant: &TenantId, associate_id: i64) -> Result<CrmUser, CrmError> {
        self.backend(tenant)
            .await?
            .crm()
            .get_user(tenant, associate_id)
            .await
    }

    async fn create_user(
        &self,
        tenant: &TenantId,
        person: &Person,
        settings: &UserSettings,
    ) -> Result<CrmUser, CrmError> {
        self.backend(tenant)
            .await?
            .crm()
            .create_user(tenant, person, settings)
            .await
    }

    async fn update_user(
        &self,
        tenant: &TenantId,
        associate_id: i64,
        person: &Person,
        settings: &UserSettings,
    ) -> Result<CrmUser, CrmError> {
        self.backend(tenant)
            .await?
            .crm()
            .update_user(tenant, associate_id, person, settings)
            .await
    }

    async fn set_retired(
        &self,
        tenant: &TenantId,
        associate_id: i64,
        retired: bool,
    ) -> Result<CrmUser, CrmError> {
        self.backend(tenant)
            .await?
            .crm()
            .set_retired(tenant, associate_id, retired)
            .await
    }

    async fn list_users(
        &self,
        tenant: &TenantId,
        after: i64,
        limit: usize,
    ) -> Result<Vec<CrmUser>, CrmError> {
        self.backend(tenant)
            .await?
            .crm()
            .list_users(tenant, after, limit)
            .await
    }

    async fn activation(&self, tenant: &TenantId) -> Result<Activation, CrmError> {
        self.backend(tenant).await?.crm().activation(tenant).await
    }

    async fn set_password(
        &self,
        tenant: &TenantId,
        associate_id: i64,
        password: &str,
    ) -> Result<(), CrmError> {
        self.backend(tenant)
            .await?
            .crm()
            .set_password(tenant, associate_id, password)
            .await
    }
}
