//! The computed `User.groups` (RFC 7643 §4.1.2: "A list of groups to which the user belongs,
//! either through direct membership, through nested groups, or dynamically calculated") of a
//! list page is read with ONE storage call (`Storage::query_with_groups`, the page and its
//! groups together), not one per user on the page (not "one query per group member"), and
//! with none when the projection leaves `groups` out. A spy storage counts the calls.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod http_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Method, StatusCode};
use http_support::{Call, TOKEN, create_group, create_user};
use scim_server::ScimServer;
use scim_server::auth::BearerTokens;
use scim_server::storage::memory::MemoryStorage;
use scim_server::storage::testing::{self, Delegating, Hooks};
use serde_json::{Value, json};

/// Counts the calls of a [`Spy`] that read computed groups: `groups_of` or
/// `get_with_groups` (one resource's groups), `groups_of_many` (a page's) and
/// `query_with_groups` (a page with its groups).
#[derive(Default)]
struct Counts {
    one: AtomicUsize,
    many: AtomicUsize,
    many_ids: AtomicUsize,
    pages: AtomicUsize,
}

impl Counts {
    /// (groups_of + get_with_groups calls, groups_of_many calls, ids asked through
    /// groups_of_many, query_with_groups calls), then reset.
    fn take(&self) -> (usize, usize, usize, usize) {
        (
            self.one.swap(0, Ordering::SeqCst),
            self.many.swap(0, Ordering::SeqCst),
            self.many_ids.swap(0, Ordering::SeqCst),
            self.pages.swap(0, Ordering::SeqCst),
        )
    }
}

impl Hooks for Counts {
    fn before(&self, call: &testing::Call<'_>) {
        match call {
            testing::Call::GroupsOf { .. } | testing::Call::GetWithGroups { .. } => {
                self.one.fetch_add(1, Ordering::SeqCst);
            }
            testing::Call::GroupsOfMany { member_ids, .. } => {
                self.many.fetch_add(1, Ordering::SeqCst);
                self.many_ids.fetch_add(member_ids.len(), Ordering::SeqCst);
            }
            testing::Call::QueryWithGroups { .. } => {
                self.pages.fetch_add(1, Ordering::SeqCst);
            }
            _ => {}
        }
    }
}

type Spy = Delegating<MemoryStorage, Counts>;

fn spy_server() -> (Arc<Spy>, ScimServer) {
    let spy = Arc::new(Spy::default());
    let server = ScimServer::builder()
        .storage(spy.clone())
        .authenticator(BearerTokens::single(TOKEN).unwrap())
        .build()
        .unwrap();
    (spy, server)
}

/// The `value`s of a rendered user's `groups`, sorted.
fn group_values(user: &Value) -> Vec<String> {
    let mut v: Vec<String> = user["groups"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|g| g["value"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn by_user_name<'a>(list: &'a Value, user_name: &str) -> &'a Value {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["userName"] == user_name)
        .unwrap_or_else(|| panic!("{user_name} not in {list}"))
}

#[tokio::test]
async fn a_list_page_reads_groups_once() {
    let (spy, s) = spy_server();
    let u1 = create_user(&s, "u1").await;
    let u2 = create_user(&s, "u2").await;
    create_user(&s, "u3").await;
    let ga = create_group(&s, "Group A", &[&u1, &u2]).await;
    let gb = create_group(&s, "Group B", &[&u1]).await;
    spy.hooks.take();

    let r = Call::new(&s, Method::GET, "/Users").send().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        spy.hooks.take(),
        (0, 0, 0, 1),
        "one query_with_groups for the page of 3 and its groups"
    );
    let mut both = vec![ga.clone(), gb.clone()];
    both.sort();
    assert_eq!(group_values(by_user_name(&r.body, "u1")), both);
    assert_eq!(group_values(by_user_name(&r.body, "u2")), [ga.as_str()]);
    assert!(
        by_user_name(&r.body, "u3").get("groups").is_none(),
        "a user in no group has no groups"
    );
    let g = &by_user_name(&r.body, "u2")["groups"][0];
    assert_eq!(g["display"], "Group A");
    assert_eq!(g["type"], "direct");
    assert!(
        g["$ref"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Groups/{ga}")),
        "{g}"
    );

    // Paged: one call for the page and its groups.
    let r = Call::new(&s, Method::GET, "/Users?startIndex=2&count=1")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(spy.hooks.take(), (0, 0, 0, 1));

    // The same through POST /Users/.search.
    let r = Call::new(&s, Method::POST, "/Users/.search")
        .json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "attributes": ["groups", "userName"]
        }))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(spy.hooks.take(), (0, 0, 0, 1));
    assert_eq!(group_values(by_user_name(&r.body, "u1")), both);

    // And at the root: one call for the Users part (Groups have no `groups`).
    let r = Call::new(&s, Method::POST, "/.search")
        .json(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]
        }))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["totalResults"], 5, "{}", r.body);
    assert_eq!(spy.hooks.take(), (0, 0, 0, 1));

    // One resource: its groups read with it, in one get_with_groups.
    let r = Call::new(&s, Method::GET, &format!("/Users/{u1}"))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(group_values(&r.body), both);
    assert_eq!(spy.hooks.take(), (1, 0, 0, 0));
}

#[tokio::test]
async fn no_groups_call_when_the_projection_leaves_groups_out() {
    let (spy, s) = spy_server();
    let u1 = create_user(&s, "u1").await;
    create_group(&s, "Group A", &[&u1]).await;
    spy.hooks.take();
    for uri in [
        "/Users?excludedAttributes=groups",
        "/Users?attributes=userName",
        "/Users?filter=userName%20eq%20%22nobody%22",
        "/Groups",
    ] {
        let r = Call::new(&s, Method::GET, uri).send().await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        if let Some(resources) = r.body["Resources"].as_array() {
            assert!(
                resources.iter().all(|u| u.get("groups").is_none()),
                "{uri}: {}",
                r.body
            );
        }
        let (one, many, _, pages) = spy.hooks.take();
        assert_eq!((one, many), (0, 0), "{uri}: no groups lookup");
        // A filter that finds nobody still asks for the page's groups, with the page.
        assert_eq!(pages, usize::from(uri.contains("filter")), "{uri}");
    }
}
