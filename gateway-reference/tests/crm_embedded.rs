//! The embedded CRM: the CRM contract suite on SQLite (in memory and a file) and on
//! PostgreSQL, and what only the embedded CRM has (demo seeding, catalogue helpers, seats
//! per tenant, persistence).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gateway_reference::crm::embedded::demo;
use gateway_reference::crm::{Crm, CrmError, EmbeddedCrm, Person, UserSettings};
use gateway_reference::db::{Db, migrate};
use scim_server::TenantId;

fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

async fn seeded(db: Db) -> (EmbeddedCrm, TenantId) {
    let crm = EmbeddedCrm::new(db);
    let t = tenant("contoso");
    crm.seed_demo(&t).await.unwrap();
    (crm, t)
}

async fn in_memory() -> (EmbeddedCrm, TenantId) {
    seeded(Db::open_sqlite_in_memory().await.unwrap()).await
}

/// A database file in a temporary directory, removed after the case.
async fn on_file() -> (EmbeddedCrm, TenantId, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let (crm, t) = seeded(
        Db::open_sqlite(&dir.path().join("gateway.db"))
            .await
            .unwrap(),
    )
    .await;
    (crm, t, dir)
}

async fn on_postgres() -> Option<(EmbeddedCrm, TenantId)> {
    let (_storage, db) = gateway_reference::testing::postgres("gw_crm").await?;
    Some(seeded(db).await)
}

gateway_reference::crm_backend_suite!(sqlite_in_memory, in_memory);
gateway_reference::crm_backend_suite!(sqlite_file, on_file);
gateway_reference::crm_backend_suite!(postgres, on_postgres);

fn person(name: &str) -> Person {
    Person {
        user_name: name.into(),
        first_name: "F".into(),
        last_name: "L".into(),
        email: None,
    }
}

fn plan_only(plan: i64) -> UserSettings {
    UserSettings {
        user_plan: Some(Some(plan)),
        ..UserSettings::default()
    }
}

#[tokio::test]
async fn demo_catalogue_is_seeded_once() {
    let (crm, t) = in_memory().await;
    let c = crm.catalog(&t).await.unwrap();
    let plans: Vec<_> = c
        .user_plans
        .iter()
        .map(|p| (p.name.as_str(), p.free))
        .collect();
    assert_eq!(
        plans,
        [
            ("Sales Premium", 50),
            ("Sales Essentials", 100),
            ("Service", 25),
            ("Marketing", 10)
        ]
    );
    let groups: Vec<_> = c.user_groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(groups, ["Sales", "Support", "Marketing", "Management"]);
    let companies: Vec<_> = c.owner_companies.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(companies, ["Contoso Ltd", "Contoso Norway AS"]);
    assert!(c.roles.iter().any(|r| r.name == "Administrator"));
    // Seeding again keeps the catalogue, including changed seats.
    crm.set_plan_seats(&t, demo::MARKETING, 3).await.unwrap();
    let changed = crm.catalog(&t).await.unwrap();
    crm.seed_demo(&t).await.unwrap();
    assert_eq!(crm.catalog(&t).await.unwrap(), changed);
    assert_eq!(changed.user_plans[3].free, 3);
    assert_eq!(
        migrate::version(crm.db()).await.unwrap(),
        migrate::latest_version()
    );
}

#[tokio::test]
async fn set_plan_seats_changes_free_seats() {
    let (crm, t) = in_memory().await;
    crm.set_plan_seats(&t, demo::MARKETING, 1).await.unwrap();
    crm.create_user(&t, &person("a@x"), &plan_only(demo::MARKETING))
        .await
        .unwrap();
    let err = crm
        .create_user(&t, &person("b@x"), &plan_only(demo::MARKETING))
        .await
        .unwrap_err();
    assert!(matches!(err, CrmError::SeatsExhausted { plan } if plan == demo::MARKETING));
    let p = crm.set_plan_seats(&t, demo::MARKETING, 2).await.unwrap();
    assert_eq!((p.in_use, p.free), (1, 1));
    crm.create_user(&t, &person("b@x"), &plan_only(demo::MARKETING))
        .await
        .unwrap();
    // Fewer seats than in use: nobody loses the plan, none is free.
    let p = crm.set_plan_seats(&t, demo::MARKETING, 0).await.unwrap();
    assert_eq!((p.in_use, p.free), (2, 0));
    assert_eq!(
        crm.find_user(&t, "a@x").await.unwrap().unwrap().user_plan,
        Some(demo::MARKETING)
    );
    assert!(matches!(
        crm.set_plan_seats(&t, 999, 5).await,
        Err(CrmError::Invalid(_))
    ));
    assert!(matches!(
        crm.set_plan_seats(&t, demo::MARKETING, -1).await,
        Err(CrmError::Invalid(_))
    ));
}

#[tokio::test]
async fn add_helpers_extend_the_catalogue() {
    let (crm, t) = in_memory().await;
    let role = crm.add_role(&t, "Auditor").await.unwrap();
    let group = crm.add_user_group(&t, "Finance").await.unwrap();
    let company = crm
        .add_owner_company(&t, "Contoso Sweden AB")
        .await
        .unwrap();
    let plan = crm.add_user_plan(&t, "Complete", 2).await.unwrap();
    assert_eq!(role.id, demo::ROLES.len() as i64 + 1);
    assert_eq!((plan.in_use, plan.free), (0, 2));
    let c = crm.catalog(&t).await.unwrap();
    assert!(c.roles.contains(&role));
    assert!(c.user_groups.contains(&group));
    assert!(c.owner_companies.contains(&company));
    assert!(c.user_plans.contains(&plan));
    let u = crm
        .create_user(
            &t,
            &person("new@x"),
            &UserSettings {
                role: Some(role.id),
                primary_group: Some(group.id),
                owner_company: Some(company.id),
                user_plan: Some(Some(plan.id)),
                ..UserSettings::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(u.user_plan, Some(plan.id));
    assert!(matches!(
        crm.add_role(&t, "Auditor").await,
        Err(CrmError::Invalid(_))
    ));
    // A fresh tenant numbers from 1.
    let other = tenant("fabrikam");
    assert_eq!(crm.add_role(&other, "Auditor").await.unwrap().id, 1);
}

#[tokio::test]
async fn tenants_have_their_own_names_and_seats() {
    let (crm, a) = in_memory().await;
    let b = tenant("fabrikam");
    crm.seed_demo(&b).await.unwrap();
    crm.set_plan_seats(&a, demo::MARKETING, 1).await.unwrap();
    let ua = crm
        .create_user(&a, &person("same@x"), &plan_only(demo::MARKETING))
        .await
        .unwrap();
    let ub = crm
        .create_user(&b, &person("SAME@x"), &plan_only(demo::MARKETING))
        .await
        .unwrap();
    assert_ne!(ua.associate_id, ub.associate_id);
    assert_eq!(crm.find_user(&a, "same@x").await.unwrap(), Some(ua));
    assert_eq!(crm.find_user(&b, "same@x").await.unwrap(), Some(ub));
    let pb = &crm.catalog(&b).await.unwrap().user_plans[3];
    assert_eq!((pb.in_use, pb.free), (1, 9));
    // An unseeded tenant has an empty catalogue: every id is unknown there.
    let empty = tenant("empty");
    assert_eq!(
        crm.catalog(&empty).await.unwrap(),
        gateway_reference::crm::Catalog::default()
    );
    assert!(matches!(
        crm.create_user(&empty, &person("x@x"), &plan_only(demo::MARKETING))
            .await,
        Err(CrmError::Invalid(_))
    ));
}

#[tokio::test]
async fn users_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.db");
    let t = tenant("contoso");
    let created = {
        let crm = EmbeddedCrm::new(Db::open_sqlite(&path).await.unwrap());
        crm.seed_demo(&t).await.unwrap();
        crm.create_user(&t, &person("kept@x"), &plan_only(demo::SERVICE))
            .await
            .unwrap()
    };
    let crm = EmbeddedCrm::new(Db::open_sqlite(&path).await.unwrap());
    assert_eq!(crm.find_user(&t, "KEPT@x").await.unwrap(), Some(created));
    assert_eq!(crm.catalog(&t).await.unwrap().user_plans[2].in_use, 1);
}

#[tokio::test]
async fn empty_user_name_is_invalid() {
    let (crm, t) = in_memory().await;
    assert!(matches!(
        crm.create_user(&t, &person("  "), &UserSettings::default())
            .await,
        Err(CrmError::Invalid(_))
    ));
}
