//! A provisioning hook that wakes the sync after every SCIM change, so a change reaches the
//! CRM at once instead of at the next poll. It carries no data: what must not be lost is
//! read from the change feed, never from this hook.

use async_trait::async_trait;
use scim_server::provisioning::{Change, Provisioning};

use super::SyncEngine;

/// Wakes a [`SyncEngine`] after each change; add it with
/// `ScimServerBuilder::provisioning(WakeOnChange(engine.clone()))`.
#[derive(Debug, Clone)]
pub struct WakeOnChange(pub SyncEngine);

#[async_trait]
impl Provisioning for WakeOnChange {
    async fn after_change(&self, _change: &Change<'_>) {
        self.0.wake();
    }
}
