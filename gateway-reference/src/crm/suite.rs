//! The CRM contract suite: the cases every [`Crm`] implementation must pass (the embedded
//! CRM on SQLite and PostgreSQL, the SuperOffice Web API client against its test double).
//!
//! [`crm_backend_suite!`](crate::crm_backend_suite) expands to one `#[test]` per case. Give
//! it a module name and an `async fn` that builds a FRESH CRM and a tenant whose catalogue
//! is seeded (at least two roles, two user groups, one owner company and two user plans,
//! one of them with at most 100 free seats) and which has no users yet. The function
//! returns `(crm, tenant)`, or `(crm, tenant, guard)` where the guard (a temporary
//! directory) is dropped after the case, or an `Option` of these where `None` skips the case
//! (no test database configured):
//!
//! ```ignore
//! async fn fresh() -> (EmbeddedCrm, TenantId) { ... }
//! gateway_reference::crm_backend_suite!(embedded_in_memory, fresh);
//! ```
//!
//! The cases are also public functions, to be called on their own.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;

use scim_server::TenantId;

use super::{Activation, Catalog, Crm, CrmError, CrmUser, Person, UserPlan, UserSettings};

/// Expands to `mod $name` with one `#[test]` per case of [`crm::suite`](crate::crm::suite),
/// each on a fresh CRM made by `$make` (an `async fn` returning an [`IntoFixture`]: see
/// the module docs).
#[macro_export]
macro_rules! crm_backend_suite {
    ($name:ident, $make:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $crate::crm_backend_suite!(@cases ($make)
                catalog_lists_the_catalogue
                create_find_get
                duplicate_user_name_is_taken
                concurrent_creates_of_one_name
                update_sets_only_some_fields
                rename_keeps_names_unique
                plan_seats_follow_assignments
                exhausted_seats_change_nothing
                not_selected_frees_the_seat
                retire_frees_the_plan_and_keeps_the_user
                reactivate
                invalid_ids_are_refused
                list_users_pages
                tenants_are_isolated
                concurrent_creates_never_over_assign
                activation_of_a_new_user
            );
        }
    };
    (@cases ($make:expr) $($case:ident)*) => {
        $(
            #[test]
            fn $case() {
                $crate::crm::suite::block_on(async {
                    let fixture = ($make)().await;
                    if let Some(f) = $crate::crm::suite::IntoFixture::into_fixture(fixture) {
                        let _guard = f.guard;
                        $crate::crm::suite::$case(f.crm, f.tenant).await;
                    }
                });
            }
        )*
    };
}

/// A CRM under test, its tenant, and whatever must live as long as the case (a temporary
/// directory, a database guard).
pub struct Fixture<C> {
    /// The CRM.
    pub crm: C,
    /// The tenant with the seeded catalogue.
    pub tenant: TenantId,
    /// Dropped after the case.
    pub guard: Option<Box<dyn std::any::Any + Send>>,
}

/// What a fixture function may return: `(crm, tenant)`, `(crm, tenant, guard)` (the guard
/// lives until the case ends), or an `Option` of either, where `None` skips the case.
pub trait IntoFixture {
    /// The CRM under test.
    type Crm: Crm;
    /// The fixture, or `None` to skip the case.
    fn into_fixture(self) -> Option<Fixture<Self::Crm>>;
}

impl<C: Crm> IntoFixture for (C, TenantId) {
    type Crm = C;
    fn into_fixture(self) -> Option<Fixture<C>> {
        Some(Fixture {
            crm: self.0,
            tenant: self.1,
            guard: None,
        })
    }
}

impl<C: Crm, G: Send + 'static> IntoFixture for (C, TenantId, G) {
    type Crm = C;
    fn into_fixture(self) -> Option<Fixture<C>> {
        Some(Fixture {
            crm: self.0,
            tenant: self.1,
            guard: Some(Box::new(self.2)),
        })
    }
}

impl<T: IntoFixture> IntoFixture for Option<T> {
    type Crm = T::Crm;
    fn into_fixture(self) -> Option<Fixture<T::Crm>> {
        self.and_then(IntoFixture::into_fixture)
    }
}

/// Runs a future on a fresh multi-thread tokio runtime (used by [`crm_backend_suite!`]).
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

// ---------------------------------------------------------------------------------------
// Fixtures

fn person(user_name: &str) -> Person {
    Person {
        user_name: user_name.to_string(),
        first_name: format!("First {user_name}"),
        last_name: format!("Last {user_name}"),
        email: Some(user_name.to_string()),
    }
}

fn plan_only(plan: i64) -> UserSettings {
    UserSettings {
        user_plan: Some(Some(plan)),
        ..UserSettings::default()
    }
}

/// Every setting, from the first entries of the catalogue.
fn full_settings(c: &Catalog) -> UserSettings {
    UserSettings {
        role: Some(c.roles[0].id),
        primary_group: Some(c.user_groups[0].id),
        secondary_groups: Some(vec![c.user_groups[1].id]),
        owner_company: Some(c.owner_companies[0].id),
        confidential: Some(true),
        user_plan: Some(Some(c.user_plans[0].id)),
    }
}

fn plan(c: &Catalog, id: i64) -> UserPlan {
    c.user_plans
        .iter()
        .find(|p| p.id == id)
        .cloned()
        .unwrap_or_else(|| panic!("plan {id} not in the catalogue"))
}

async fn plan_now<C: Crm>(crm: &C, t: &TenantId, id: i64) -> UserPlan {
    plan(&crm.catalog(t).await.unwrap(), id)
}

/// The plan with the fewest free seats (to exhaust it).
fn scarce_plan(c: &Catalog) -> UserPlan {
    let p = c.user_plans.iter().min_by_key(|p| p.free).cloned().unwrap();
    assert!(
        (1..=100).contains(&p.free),
        "the suite needs a plan with 1 to 100 free seats: {p:?}"
    );
    p
}

/// An id no entry of `ids` has.
fn unknown_id(ids: impl Iterator<Item = i64>) -> i64 {
    ids.max().unwrap_or(0) + 1000
}

async fn all_users<C: Crm>(crm: &C, t: &TenantId) -> Vec<CrmUser> {
    crm.list_users(t, 0, 10_000).await.unwrap()
}

// ---------------------------------------------------------------------------------------
// Cases

/// The catalogue lists what the fixture seeded, with consistent seat counts, and no users.
pub async fn catalog_lists_the_catalogue<C: Crm>(crm: C, t: TenantId) {
    let c = crm.catalog(&t).await.unwrap();
    assert!(c.roles.len() >= 2, "{c:?}");
    assert!(c.user_groups.len() >= 2, "{c:?}");
    assert!(!c.owner_companies.is_empty(), "{c:?}");
    assert!(c.user_plans.len() >= 2, "{c:?}");
    let unique = |ids: Vec<i64>| ids.iter().collect::<BTreeSet<_>>().len() == ids.len();
    assert!(unique(c.roles.iter().map(|r| r.id).collect()));
    assert!(unique(c.user_groups.iter().map(|r| r.id).collect()));
    assert!(unique(c.owner_companies.iter().map(|r| r.id).collect()));
    assert!(unique(c.user_plans.iter().map(|r| r.id).collect()));
    assert!(c.roles.iter().all(|r| !r.name.is_empty()));
    assert!(c.user_plans.iter().all(|p| !p.name.is_empty()));
    assert!(
        c.user_plans.iter().all(|p| p.in_use == 0 && p.free > 0),
        "{c:?}"
    );
    assert_eq!(crm.catalog(&t).await.unwrap(), c);
    assert!(all_users(&crm, &t).await.is_empty());
}

/// A created user is found by its name in any case, and by its id, with every field.
pub async fn create_find_get<C: Crm>(crm: C, t: TenantId) {
    let c = crm.catalog(&t).await.unwrap();
    let settings = full_settings(&c);
    let p = person("Alice.Smith@Contoso.com");
    let u = crm.create_user(&t, &p, &settings).await.unwrap();
    assert_eq!(u.user_name, p.user_name);
    assert_eq!(u.first_name, p.first_name);
    assert_eq!(u.last_name, p.last_name);
    assert_eq!(u.email, p.email);
    assert_eq!(u.role, settings.role);
    assert_eq!(u.primary_group, settings.primary_group);
    assert_eq!(Some(u.secondary_groups.clone()), settings.secondary_groups);
    assert_eq!(u.owner_company, settings.owner_company);
    assert!(u.confidential);
    assert_eq!(u.user_plan, Some(c.user_plans[0].id));
    assert!(!u.retired);
    for spelling in [
        "alice.smith@contoso.com",
        "ALICE.SMITH@CONTOSO.COM",
        "Alice.Smith@Contoso.com",
    ] {
        assert_eq!(
            crm.find_user(&t, spelling).await.unwrap().as_ref(),
            Some(&u)
        );
    }
    assert_eq!(crm.get_user(&t, u.associate_id).await.unwrap(), u);
    assert_eq!(crm.find_user(&t, "bob@contoso.com").await.unwrap(), None);
    let missing = u.associate_id + 1000;
    assert!(matches!(
        crm.get_user(&t, missing).await,
        Err(CrmError::NotFound(id)) if id == missing
    ));
    // A user without settings holds nothing.
    let bare = crm
        .create_user(&t, &person("bare@contoso.com"), &UserSettings::default())
        .await
        .unwrap();
    assert_eq!(
        (bare.role, bare.user_plan, bare.confidential, bare.retired),
        (None, None, false, false)
    );
    assert!(bare.secondary_groups.is_empty());
    assert_ne!(bare.associate_id, u.associate_id);
}

/// A second user with the same name in another case is refused; nothing is created.
pub async fn duplicate_user_name_is_taken<C: Crm>(crm: C, t: TenantId) {
    let c = crm.catalog(&t).await.unwrap();
    let first = crm
        .create_user(&t, &person("dup@contoso.com"), &UserSettings::default())
        .await
        .unwrap();
    let pid = c.user_plans[0].id;
    let err = crm
        .create_user(&t, &person("DUP@Contoso.com"), &plan_only(pid))
        .await
        .unwrap_err();
    assert!(matches!(err, CrmError::UserNameTaken(_)), "{err:?}");
    assert_eq!(all_users(&crm, &t).await, vec![first]);
    assert_eq!(plan_now(&crm, &t, pid).await, plan(&c, pid));
}

/// Concurrent creates of one name (in different cases): exactly one wins.
pub async fn concurrent_creates_of_one_name<C: Crm>(crm: C, t: TenantId) {
    let crm = Arc::new(crm);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (crm, t) = (crm.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let name = if i % 2 == 0 {
                "race@contoso.com"
            } else {
                "RACE@contoso.com"
            };
            crm.create_user(&t, &person(name), &UserSettings::default())
                .await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => wins += 1,
            Err(e) => assert!(matches!(e, CrmError::UserNameTaken(_)), "{e:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(all_users(&crm, &t).await.len(), 1);
}

/// An update sets the person and only the `Some` settings.
pub async fn update_sets_only_some_fields<C: Crm>(crm: C, t: TenantId) {
    let c = crm.catalog(&t).await.unwrap();
    let u = crm
        .create_user(&t, &person("upd@contoso.com"), &full_settings(&c))
        .await
        .unwrap();
    let mut p = person("upd@contoso.com");
    p.first_name = "Changed".into();
    p.email = None;
    let only_role = UserSettings {
        role: Some(c.roles[1].id),
        ..UserSettings::default()
    };
    let v = crm
        .update_user(&t, u.associate_id, &p, &only_role)
        .await
        .unwrap();
    let mut expected = u.clone();
    expected.first_name = "Changed".into();
    expected.email = None;
    expected.role = Some(c.roles[1].id);
    assert_eq!(v, expected);
    assert_eq!(crm.get_user(&t, u.associate_id).await.unwrap(), expected);

    // Nothing set: nothing but the person changes.
    let v = crm
        .update_user(&t, u.associate_id, &p, &UserSettings::default())
        .await
        .unwrap();
    assert_eq!(v, expected);

    // Each of the other fields.
    let s = UserSettings {
        primary_group: Some(c.user_groups[1].id),
        secondary_groups: Some(vec![]),
        confidential: Some(false),
        ..UserSettings::default()
    };
    let v = crm.update_user(&t, u.associate_id, &p, &s).await.unwrap();
    expected.primary_group = Some(c.user_groups[1].id);
    expected.secondary_groups = vec![];
    expected.confidential = false;
    assert_eq!(v, expected);
    let groups = vec![c.user_groups[0].id, c.user_groups[1].id];
    let s = UserSettings {
        secondary_groups: Some(groups.clone()),
        owner_company: Some(c.owner_companies[c.owner_companies.len() - 1].id),
        ..UserSettings::default()
    };
    let v = crm.update_user(&t, u.associate_id, &p, &s).await.unwrap();
    expected.secondary_groups = groups;
    expected.owner_company = s.owner_company;
    assert_eq!(v, expected);
    assert_eq!(crm.get_user(&t, u.associate_id).await.unwrap(), expected);
    let missing = u.associate_id + 1000;
    assert!(matches!(
        crm.update_user(&t, missing, &p, &s).await,
        Err(CrmError::NotFound(id)) if id == missing
    ));
}

/// Renaming moves the name; a name held by another user is refused.
pub async fn rename_keeps_names_unique<C: Crm>(crm: C, t: TenantId) {
    let none = UserSettings::default();
    let a = crm
        .create_user(&t, &person("a@contoso.com"), &none)
        .await
        .unwrap();
    let b = crm
        .create_user(&t, &person("b@contoso.com"), &none)
        .await
        .unwrap();
    let renamed = crm
        .update_user(&t, a.associate_id, &person("a2@contoso.com"), &none)
        .await
        .unwrap();
    assert_eq!(renamed.user_name, "a2@contoso.com");
    assert_eq!(crm.find_user(&t, "a@contoso.com").await.unwrap(), None);
    assert_eq!(
        crm.find_user(&t, "A2@contoso.com").await.unwrap(),
        Some(renamed.clone())
    );
    let err = crm
        .update_user(&t, b.associate_id, &person("A2@CONTOSO.COM"), &none)
        .await
        .unwrap_err();
    assert!(matches!(err, CrmError::UserNameTaken(_)), "{err:?}");
    assert_eq!(crm.get_user(&t, b.associate_id).await.unwrap(), b);
    // A change of case of one's own name is no conflict.
    let v = crm
        .update_user(&t, b.associate_id, &person("B@contoso.com"), &none)
        .await
        .unwrap();
    assert_eq!(v.user_name, "B@contoso.com");
}

/// Seats in use and free follow assignments, moves and repeats.
pub async fn plan_seats_follow_assignments<C: Crm>(crm: C, t: TenantId) {
    let c = crm.catalog(&t).await.unwrap();
    let (a, b) = (c.user_plans[0].clone(), c.user_plans[1].clone());
    let u = crm
        .create_user(&t, &person("seat@contoso.com"), &plan_only(a.id))
        .await
        .unwrap();
    let now_a = plan_now(&crm, &t, a.id).await;
    assert_eq!((now_a.in_use, now_a.free), (a.in_use + 1, a.free - 1));
    // Moving to b frees a.
    crm.update_user(
        &t,
        u.associate_id,
        &person("seat@contoso.com"),
        &plan_only(b.id),
    )
    .await
    .unwrap();
    assert_eq!(plan_now(&crm, &t, a.id).await, a);
    let now_b = plan_now(&crm, &t, b.id).await;
    assert_eq!((now_b.in_use, now_b.free), (b.in_use + 1, b.free - 1));
    // Assigning the held plan again takes no second seat.
    let v = crm
        .update_user(
            &t,
            u.associate_id,
            &person("seat@contoso.com"),
            &plan_only(b.id),
        )
        .await
        .unwrap();
    assert_eq!(v.user_plan, Some(b.id));
    assert_eq!(plan_now(&crm, &t, b.id).await, now_b);
    // A user without a plan takes none.
    crm.create_user(&t, &person("noplan@contoso.com"), &UserSettings::default())
        .await
        .unwrap();
    assert_eq!(plan_now(&crm, &t, b.id).await, now_b);
    assert_eq!(plan_now(&crm, &t, a.id).await, a);
}

/// With no free seat, a create or an update that assigns the plan fails with
/// `SeatsExhausted` and changes nothing; freeing a seat makes it possible again.
pub async fn exhausted_seats_change_nothing<C: Crm>(crm: C, t: TenantId) {
    let c = crm.catalog(&t).await.unwrap();
    let p = scarce_plan(&c);
    let mut holders = Vec::new();
    for i in 0..p.free {
        let name = format!("holder{i}@contoso.com");
        holders.push(
            crm.create_user(&t, &person(&name), &plan_only(p.id))
                .await
                .unwrap(),
        );
    }
    let full = plan_now(&crm, &t, p.id).await;
    assert_eq!((full.in_use, full.free), (p.in_use + p.free, 0));

    let err = crm
        .create_user(&t, &person("one.too.many@contoso.com"), &plan_only(p.id))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CrmError::SeatsExhausted { plan } if plan == p.id),
        "{err:?}"
    );
    assert!(err.is_critical() && !err.is_transient());
    assert_eq!(
        crm.find_user(&t, "one.too.many@contoso.com").await.unwrap(),
        None
    );
    assert_eq!(plan_now(&crm, &t, p.id).await, full);

    // An update that would take a seat changes nothing else either.
    let other = crm
        .create_user(&t, &person("waiting@contoso.com"), &UserSettings::default())
        .await
        .unwrap();
    let mut s = plan_only(p.id);
    s.role = Some(c.roles[0].id);
    s.confidential = Some(true);
    let mut renamed = person("waiting2@contoso.com");
    renamed.first_name = "Renamed".into();
    let err = crm
        .update_user(&t, other.associate_id, &renamed, &s)
        .await
        .unwrap_err();
    assert!(
        matches!(err, CrmError::SeatsExhausted { plan } if plan == p.id),
        "{err:?}"
    );
    assert_eq!(crm.get_user(&t, other.associate_id).await.unwrap(), other);
    assert_eq!(plan_now(&crm, &t, p.id).await, full);
    // A holder keeps the plan through an update that names it again.
    crm.update_user(
        &t,
        holders[0].associate_id,
        &person("holder0@contoso.com"),
        &plan_only(p.id),
    )
    .await
    .unwrap();

    // Freeing one seat lets the update through.
    crm.update_user(
        &t,
        holders[0].associate_id,
        &person("holder0@contoso.com"),
        &UserSettings {
            user_plan: Some(None),
            ..UserSettings::default()
        },
    )
    .await
    .unwrap();
    let v = crm
        .update_user(&t, other.associate_id, &renamed, &s)
        .await
        .unwrap();
    assert_eq!(v.user_plan, Some(p.id));
    assert_eq!(plan_now(&crm, &t, p.id).await, full);
}

/// "Not selected" frees the seat and keeps the user active.
pub async fn not_selected_frees_the_seat<C: Crm>(crm: C, t: TenantId) {
    let c = crm.catalog(&t).await.unwrap();
    let p = c.user_plans[0].clone();
    let u = crm
        .create_user(&t, &person("ns@contoso.com"), &full_settings(&c))
        .await
        .unwrap();
    assert_eq!(plan_now(&crm, &t, p.id).await.in_use, p.in_use + 1);
    let s = UserSettings {
        user_plan: Some(None),
        ..UserSettings::default()
    };
    let v = crm
        .update_user(&t, u.associate_id, &person("ns@contoso.com"), &s)
        .await
        .unwrap();
    let mut expected = u.clone();
    expected.user_plan = None;
    assert_eq!(v, expected);
    assert!(!v.retired);
    assert_eq!(crm.get_user(&t, u.associate_id).await.unwrap(), expected);
    assert_eq!(plan_now(&crm, &t, p.id).await, p);
}

/// Retiring frees the plan and keeps the user (found, retired, other settings kept).
pub async fn retire_frees_the_plan_and_keeps_the_user<C: Crm>(crm: C, t: TenantId) {
    let c = crm.catalog(&t).await.unwrap();
    let p = c.user_plans[0].clone();
    let u = crm
        .create_user(&t, &person("ret@contoso.com"), &full_settings(&c))
        .await
        .unwrap();
    let r = crm.set_retired(&t, u.associate_id, true).await.unwrap();
    let mut expected = u.clone();
    expected.retired = true;
    expected.user_plan = None;
    assert_eq!(r, expected);
    assert_eq!(plan_now(&crm, &t, p.id).await, p);
    assert_eq!(
        crm.find_user(&t, "RET@contoso.com").await.unwrap(),
        Some(expected.clone())
    );
    assert_eq!(crm.get_user(&t, u.associate_id).await.unwrap(), expected);
    assert_eq!(all_users(&crm, &t).await, vec![expected.clone()]);
    // Retiring again changes nothing.
    assert_eq!(
        crm.set_retired(&t, u.associate_id, true).await.unwrap(),
        expected
    );
    // A retired user cannot hold a plan, and its name stays taken.
    let err = crm
        .update_user(
            &t,
            u.associate_id,
            &person("ret@contoso.com"),
            &plan_only(p.id),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CrmError::Invalid(_)), "{err:?}");
    assert_eq!(plan_now(&crm, &t, p.id).await, p);
    let err = crm
        .create_user(&t, &person("ret@contoso.com"), &UserSettings::default())
        .await
        .unwrap_err();
    assert!(matches!(err, CrmError::UserNameTaken(_)), "{err:?}");
    let missing = u.associate_id + 1000;
    assert!(matches!(
        crm.set_retired(&t, missing, true).await,
        Err(CrmError::NotFound(id)) if id == missing
    ));
}

/// Reactivating clears `retired`; the plan must be set again, and then takes a seat.
pub async fn reactivate<C: Crm>(crm: C, t: TenantId) {
    let c = crm.catalog(&t).await.unwrap();
    let p = c.user_plans[0].clone();
    let u = crm
        .create_user(&t, &person("back@contoso.com"), &full_settings(&c))
        .await
        .unwrap();
    crm.set_retired(&t, u.associate_id, true).await.unwrap();
    let v = crm.set_retired(&t, u.associate_id, false).await.unwrap();
    let mut expected = u.clone();
    expected.user_plan = None;
    assert_eq!(v, expected);
    assert_eq!(plan_now(&crm, &t, p.id).await, p);
    let v = crm
        .update_user(
            &t,
            u.associate_id,
            &person("back@contoso.com"),
            &plan_only(p.id),
        )
        .await
        .unwrap();
    assert_eq!(v, u);
    assert_eq!(plan_now(&crm, &t, p.id).await.in_use, p.in_use + 1);
    // Reactivating an active user changes nothing.
    assert_eq!(crm.set_retired(&t, u.associate_id, false).await.unwrap(), u);
}

/// Ids the catalogue does not hold are `Invalid`, on create and update, and change nothing.
pub async fn invalid_ids_are_refused<C: Crm>(crm: C, t: TenantId) {
    let c = crm.catalog(&t).await.unwrap();
    let role = unknown_id(c.roles.iter().map(|r| r.id));
    let group = unknown_id(c.user_groups.iter().map(|r| r.id));
    let company = unknown_id(c.owner_companies.iter().map(|r| r.id));
    let plan_id = unknown_id(c.user_plans.iter().map(|r| r.id));
    let base = UserSettings::default();
    let bad = [
        UserSettings {
            role: Some(role),
            ..base.clone()
        },
        UserSettings {
            primary_group: Some(group),
            ..base.clone()
        },
        UserSettings {
            secondary_groups: Some(vec![c.user_groups[0].id, group]),
            ..base.clone()
        },
        UserSettings {
            owner_company: Some(company),
            ..base.clone()
        },
        UserSettings {
            user_plan: Some(Some(plan_id)),
            ..base.clone()
        },
    ];
    let u = crm
        .create_user(&t, &person("valid@contoso.com"), &full_settings(&c))
        .await
        .unwrap();
    for s in &bad {
        let err = crm
            .create_user(&t, &person("invalid@contoso.com"), s)
            .await
            .unwrap_err();
        assert!(matches!(err, CrmError::Invalid(_)), "{s:?}: {err:?}");
        let err = crm
            .update_user(&t, u.associate_id, &person("valid2@contoso.com"), s)
            .await
            .unwrap_err();
        assert!(matches!(err, CrmError::Invalid(_)), "{s:?}: {err:?}");
    }
    assert_eq!(
        crm.find_user(&t, "invalid@contoso.com").await.unwrap(),
        None
    );
    assert_eq!(all_users(&crm, &t).await, vec![u]);
    assert_eq!(
        crm.catalog(&t).await.unwrap().user_plans[1..],
        c.user_plans[1..]
    );
}

/// `list_users` pages by associate id.
pub async fn list_users_pages<C: Crm>(crm: C, t: TenantId) {
    let mut created = Vec::new();
    for i in 0..7 {
        let name = format!("page{i}@contoso.com");
        created.push(
            crm.create_user(&t, &person(&name), &UserSettings::default())
                .await
                .unwrap(),
        );
    }
    created.sort_by_key(|u| u.associate_id);
    let mut walked = Vec::new();
    let mut after = 0;
    let mut sizes = Vec::new();
    loop {
        let page = crm.list_users(&t, after, 3).await.unwrap();
        sizes.push(page.len());
        let Some(last) = page.last() else { break };
        after = last.associate_id;
        walked.extend(page);
    }
    assert_eq!(sizes, vec![3, 3, 1, 0]);
    assert_eq!(walked, created);
    assert!(
        walked
            .windows(2)
            .all(|w| w[0].associate_id < w[1].associate_id)
    );
    assert!(crm.list_users(&t, 0, 0).await.unwrap().is_empty());
}

/// A user of one tenant is invisible to and untouchable from another.
pub async fn tenants_are_isolated<C: Crm>(crm: C, t: TenantId) {
    let c = crm.catalog(&t).await.unwrap();
    let u = crm
        .create_user(&t, &person("iso@contoso.com"), &full_settings(&c))
        .await
        .unwrap();
    let other = TenantId::new(&format!("{}-other", t.as_str())).unwrap();
    assert!(!matches!(
        crm.find_user(&other, "iso@contoso.com").await,
        Ok(Some(_))
    ));
    assert!(crm.get_user(&other, u.associate_id).await.is_err());
    if let Ok(users) = crm.list_users(&other, 0, 1000).await {
        assert!(
            users.iter().all(|x| x.associate_id != u.associate_id
                && !x.user_name.eq_ignore_ascii_case(&u.user_name))
        );
    }
    assert!(crm.set_retired(&other, u.associate_id, true).await.is_err());
    assert!(
        crm.update_user(
            &other,
            u.associate_id,
            &person("hijack@contoso.com"),
            &UserSettings::default()
        )
        .await
        .is_err()
    );
    assert_eq!(crm.get_user(&t, u.associate_id).await.unwrap(), u);
}

/// Concurrent creates that together want more seats than are free never over-assign.
pub async fn concurrent_creates_never_over_assign<C: Crm>(crm: C, t: TenantId) {
    let c = crm.catalog(&t).await.unwrap();
    let p = scarce_plan(&c);
    let crm = Arc::new(crm);
    let wanted = p.free + 5;
    let mut tasks = Vec::new();
    for i in 0..wanted {
        let (crm, t) = (crm.clone(), t.clone());
        tasks.push(tokio::spawn(async move {
            let name = format!("rush{i}@contoso.com");
            crm.create_user(&t, &person(&name), &plan_only(p.id)).await
        }));
    }
    let (mut ok, mut exhausted) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(u) => {
                assert_eq!(u.user_plan, Some(p.id));
                ok += 1;
            }
            Err(CrmError::SeatsExhausted { plan }) if plan == p.id => exhausted += 1,
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!((ok, exhausted), (p.free, 5));
    let after = plan_now(&crm, &t, p.id).await;
    assert_eq!((after.in_use, after.free), (p.in_use + p.free, 0));
    let users = all_users(&crm, &t).await;
    assert_eq!(users.len() as i64, p.free);
    assert!(users.iter().all(|u| u.user_plan == Some(p.id)));
}

/// A new user can activate the account the way the CRM says: a password is set (unknown
/// users are `NotFound`), or the CRM names the sign-in page it forwards to.
pub async fn activation_of_a_new_user<C: Crm>(crm: C, t: TenantId) {
    let user = crm
        .create_user(
            &t,
            &person("activate@example.com"),
            &UserSettings::default(),
        )
        .await
        .unwrap();
    match crm.activation(&t).await.unwrap() {
        Activation::SetPassword => {
            crm.set_password(&t, user.associate_id, "c0rrect horse battery")
                .await
                .unwrap();
            let missing = crm
                .set_password(&t, user.associate_id + 1_000_000, "x")
                .await;
            assert!(matches!(missing, Err(CrmError::NotFound(_))), "{missing:?}");
        }
        Activation::Redirect { url } => {
            assert!(
                url.starts_with("https://") || url.starts_with("http://"),
                "{url}"
            );
            let refused = crm.set_password(&t, user.associate_id, "x").await;
            assert!(matches!(refused, Err(CrmError::Invalid(_))), "{refused:?}");
        }
    }
}
