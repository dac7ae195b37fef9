//! The per-check [`CheckContext`]: the recording client, what discovery found, a generator of
//! unique names, and the clean-up registry (everything a check creates is deleted when the
//! check ends, whether it passed or not).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::client::{Exchange, Response, ScimClient, TransportError};
use crate::discovery::{GROUP_SCHEMA, ServerFeatures, USER_SCHEMA};
use crate::json::str_at;
use crate::outcome::Stop;

/// Generates names no other run or check uses: `scimconf<run>x<n>`.
#[derive(Debug)]
pub struct NameGen {
    run: String,
    counter: AtomicU64,
}

impl NameGen {
    /// A generator with a random run tag.
    pub fn new() -> Self {
        NameGen {
            run: format!("{:08x}", random_u64() & 0xffff_ffff),
            counter: AtomicU64::new(0),
        }
    }

    /// The next unique name with a readable stem (`scimconf1a2b3c4dx7-alice`).
    pub fn next(&self, stem: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("scimconf{}x{n}-{stem}", self.run)
    }
}

impl Default for NameGen {
    fn default() -> Self {
        Self::new()
    }
}

fn random_u64() -> u64 {
    static SALT: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(SALT.fetch_add(1, Ordering::Relaxed));
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.finish()
}

/// A random version-4 GUID in the lower-case 8-4-4-4-12 form, as Entra ID sends in its
/// Test Connection filter.
pub fn random_guid() -> String {
    let a = random_u64();
    let b = random_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48 & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// What a check runs with.
#[derive(Debug)]
pub struct CheckContext {
    /// The recording HTTP client (its log holds this check's exchanges).
    pub client: ScimClient,
    /// What discovery found.
    pub features: Arc<ServerFeatures>,
    names: Arc<NameGen>,
    cleanup: Vec<String>,
}

impl CheckContext {
    /// A context for one check.
    pub fn new(client: ScimClient, features: Arc<ServerFeatures>, names: Arc<NameGen>) -> Self {
        CheckContext {
            client,
            features,
            names,
            cleanup: Vec::new(),
        }
    }

    /// A unique name with a readable stem.
    pub fn unique(&self, stem: &str) -> String {
        self.names.next(stem)
    }

    /// The Users endpoint.
    pub fn users(&self) -> String {
        self.features.users_endpoint()
    }

    /// The Groups endpoint.
    pub fn groups(&self) -> String {
        self.features.groups_endpoint()
    }

    /// Registers a resource URL to delete when the check ends (latest first).
    pub fn cleanup_later(&mut self, url: impl Into<String>) {
        self.cleanup.push(url.into());
    }

    /// Forgets a registered URL (the check deleted it itself).
    pub fn forget_cleanup(&mut self, url: &str) {
        self.cleanup.retain(|u| u != url);
    }

    /// Deletes everything registered, newest first, and returns the URLs whose deletion
    /// failed. The deletions are not part of the check's exchanges.
    pub async fn run_cleanup(&mut self) -> Vec<String> {
        let urls: Vec<String> = self.cleanup.drain(..).rev().collect();
        let client = self.client.fork();
        let mut failed = Vec::new();
        for url in urls {
            match client.delete(&url).await {
                Ok(r) if r.status < 300 || r.status == 404 => {}
                _ => failed.push(url),
            }
        }
        failed
    }

    /// Takes the exchanges made so far.
    pub fn take_exchanges(&self) -> Vec<Exchange> {
        self.client.take_exchanges()
    }

    /// A request result as a check sees it: a transport error fails the check.
    pub fn answered(result: Result<Response, TransportError>) -> Result<Response, Stop> {
        result.map_err(|e| Stop::fail(format!("the request got no response: {e}")))
    }

    /// `GET path`; no response fails the check.
    pub async fn get(&self, path: &str) -> Result<Response, Stop> {
        Self::answered(self.client.get(path).await)
    }

    /// `POST path`; no response fails the check.
    pub async fn post(&self, path: &str, body: &Value) -> Result<Response, Stop> {
        Self::answered(self.client.post(path, body).await)
    }

    /// `PUT path`; no response fails the check.
    pub async fn put(&self, path: &str, body: &Value) -> Result<Response, Stop> {
        Self::answered(self.client.put(path, body).await)
    }

    /// `PATCH path`; no response fails the check.
    pub async fn patch(&self, path: &str, body: &Value) -> Result<Response, Stop> {
        Self::answered(self.client.patch(path, body).await)
    }

    /// `DELETE path`; no response fails the check.
    pub async fn delete(&self, path: &str) -> Result<Response, Stop> {
        Self::answered(self.client.delete(path).await)
    }

    /// A minimal valid User body with a unique `userName`.
    pub fn user_body(&self, stem: &str) -> Value {
        let name = self.unique(stem);
        json!({
            "schemas": [USER_SCHEMA],
            "userName": name,
            "name": {"givenName": "Conformance", "familyName": stem},
            "displayName": format!("Conformance {stem}"),
            "emails": [{"value": format!("{name}@example.com"), "type": "work", "primary": true}],
            "active": true
        })
    }

    /// Creates a resource at `endpoint` and registers it for clean-up. Fails the check unless
    /// the server answers 201 with an `id`. Returns the response and the resource's URL.
    pub async fn create(&mut self, endpoint: &str, body: &Value) -> Result<Created, Stop> {
        let resp = self.post(endpoint, body).await?;
        if resp.status != 201 {
            return Err(Stop::fail(format!(
                "POST {endpoint} answered {} instead of 201 Created, so the check cannot go on",
                resp.status
            )));
        }
        let id = str_at(resp.body_json(), "id")
            .ok_or_else(|| Stop::fail(format!("POST {endpoint} answered 201 without an id")))?
            .to_string();
        let url = format!("{endpoint}/{id}");
        self.cleanup_later(url.clone());
        Ok(Created {
            id,
            url,
            response: resp,
        })
    }

    /// Creates a user from [`CheckContext::user_body`].
    pub async fn create_user(&mut self, stem: &str) -> Result<Created, Stop> {
        let body = self.user_body(stem);
        let users = self.users();
        self.create(&users, &body).await
    }

    /// Creates a group with the given members (user ids).
    pub async fn create_group(&mut self, stem: &str, members: &[&str]) -> Result<Created, Stop> {
        let body = self.group_body(stem, members);
        let groups = self.groups();
        self.create(&groups, &body).await
    }

    /// A Group body with a unique `displayName` and the given member ids.
    pub fn group_body(&self, stem: &str, members: &[&str]) -> Value {
        let members: Vec<Value> = members.iter().map(|id| json!({"value": id})).collect();
        json!({
            "schemas": [GROUP_SCHEMA],
            "displayName": self.unique(stem),
            "members": members
        })
    }
}

/// A resource a check created.
#[derive(Debug, Clone)]
pub struct Created {
    /// Its `id`.
    pub id: String,
    /// Its URL relative to the base (`/Users/{id}`).
    pub url: String,
    /// The 201 response.
    pub response: Response,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let g = NameGen::new();
        assert_ne!(g.next("a"), g.next("a"));
        assert_ne!(NameGen::new().next("a"), NameGen::new().next("a"));
    }

    #[test]
    fn guid_has_the_8_4_4_4_12_form() {
        let g = random_guid();
        let parts: Vec<usize> = g.split('-').map(str::len).collect();
        assert_eq!(parts, vec![8, 4, 4, 4, 12]);
        assert_ne!(random_guid(), g);
    }
}
