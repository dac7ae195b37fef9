//! The SuperOffice Web API backend: the CRM contract suite against the fake SuperOffice,
//! and each failure (401, 403, 404, 409, 412, 429 with `Retry-After`, 500, 503, a timeout, a
//! reset connection) against wiremock or the fake: what is retried, what is not, the
//! circuit breaker, and no duplicate user when a create's answer is lost.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use gateway_reference::crm::superoffice::fake::{self, FakeSuperOffice, licences};
use gateway_reference::crm::superoffice::{
    BreakerConfig, BreakerState, ConnectionProblem, RetryPolicy, SuperOfficeAuth,
    SuperOfficeConfig, SuperOfficeCrm,
};
use gateway_reference::crm::{Crm, CrmError, Person, UserSettings};
use scim_server::TenantId;
use serde_json::{Value, json};
use wiremock::matchers::{header, header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn tenant() -> TenantId {
    TenantId::new("contoso").unwrap()
}

async fn on_fake() -> (SuperOfficeCrm, TenantId, FakeSuperOffice) {
    let fake = FakeSuperOffice::start().await;
    let crm = SuperOfficeCrm::new(tenant(), &fake.config()).unwrap();
    (crm, tenant(), fake)
}

async fn on_fake_with_ticket() -> (SuperOfficeCrm, TenantId, FakeSuperOffice) {
    let fake = FakeSuperOffice::start().await;
    let crm = SuperOfficeCrm::new(tenant(), &fake.soticket_config()).unwrap();
    (crm, tenant(), fake)
}

gateway_reference::crm_backend_suite!(superoffice_fake, on_fake);
gateway_reference::crm_backend_suite!(superoffice_fake_soticket, on_fake_with_ticket);

fn person(name: &str) -> Person {
    Person {
        user_name: name.into(),
        first_name: "Alice".into(),
        last_name: "Smith".into(),
        email: Some(name.into()),
    }
}

fn plan_only(plan: i64) -> UserSettings {
    UserSettings {
        user_plan: Some(Some(plan)),
        ..UserSettings::default()
    }
}

// ---------------------------------------------------------------------------------------
// wiremock: one failure at a time

const API: &str = "/Cust1/api/v1";

fn config(server: &MockServer) -> SuperOfficeConfig {
    let mut c = SuperOfficeConfig::new(
        server.uri(),
        "Cust1",
        SuperOfficeAuth::Bearer {
            access_token: "tok".into(),
        },
    );
    c.timeout = Duration::from_millis(500);
    c.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(3),
    };
    c.breaker = BreakerConfig {
        failure_threshold: 100,
        cool_down: Duration::from_secs(30),
    };
    c
}

fn crm(c: &SuperOfficeConfig) -> SuperOfficeCrm {
    SuperOfficeCrm::new(tenant(), c).unwrap()
}

fn user_json(id: i64, name: &str) -> Value {
    json!({
        "AssociateId": id, "UserName": name, "Name": "AS", "Type": "InternalAssociate",
        "Person": {"PersonId": 900, "Firstname": "Alice", "Lastname": "Smith",
                   "Emails": [{"Value": name}]},
        "Role": {"Id": 1, "Value": "User"},
        "UserGroup": {"Id": 1, "Value": "Sales"},
        "OtherGroups": [],
        "LicenseOwners": [{"Name": "SuperOffice", "RestrictedModuleLicenses": [
            {"ModuleLicenseId": 525, "Name": "Sales Premium", "Assigned": false,
             "Free": 5, "InUse": 45, "ExtraFlags": 1}]}],
        "Deleted": false, "IsPersonRetired": false,
        "CustomFields": {}, "SomethingElse": {"Kept": true}
    })
}

async fn mount_catalog(server: &MockServer) {
    let answers = [
        (
            "Agents/User/GetAllRoles",
            json!([{"RoleId": 1, "Name": "User"}]),
        ),
        (
            "Agents/User/GetAllUserGroups",
            json!([{"Id": 1, "Value": "Sales", "Deleted": false}]),
        ),
        (
            "Agents/User/GetOwnerContacts",
            json!([{"ContactId": 101, "Name": "Contoso Ltd"}]),
        ),
        (
            "Agents/License/GetUserLicenses",
            json!([{"Name": "SuperOffice", "RestrictedModuleLicenses": [
                {"ModuleLicenseId": 525, "Name": "Sales Premium", "Assigned": false,
                 "Free": 5, "InUse": 45, "ExtraFlags": 1},
                {"ModuleLicenseId": 600, "Name": "Mailings", "Assigned": false,
                 "Free": 1, "InUse": 0, "ExtraFlags": 0}]}]),
        ),
    ];
    for (call, body) in answers {
        Mock::given(method("POST"))
            .and(path(format!("{API}/{call}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(server)
            .await;
    }
}

async fn requests_to(server: &MockServer, m: &str, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == m && r.url.path() == format!("{API}/{p}"))
        .count()
}

fn error_body(kind: &str) -> Value {
    json!({"Error": format!("{kind} happened"), "ErrorType": kind})
}

#[tokio::test]
async fn catalogue_reads_plans_only_and_sends_the_bearer_token() {
    let server = MockServer::start().await;
    mount_catalog(&server).await;
    let c = crm(&config(&server)).catalog(&tenant()).await.unwrap();
    assert_eq!(
        c.user_plans.len(),
        1,
        "a module licence without the plan flag is no plan"
    );
    assert_eq!(
        (
            c.user_plans[0].id,
            c.user_plans[0].free,
            c.user_plans[0].in_use
        ),
        (525, 5, 45)
    );
    for r in server.received_requests().await.unwrap() {
        assert_eq!(r.headers.get("authorization").unwrap(), "Bearer tok");
        assert!(r.headers.get("so-apptoken").is_none());
    }
}

#[tokio::test]
async fn soticket_sends_the_ticket_and_the_app_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/User/12")))
        .and(header("authorization", "SOTICKET 7T:abc"))
        .and(header("so-apptoken", "app-secret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json(12, "a@x.com")))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.auth = SuperOfficeAuth::SoTicket {
        ticket: "7T:abc".into(),
        app_token: "app-secret".into(),
    };
    assert!(!format!("{c:?}").contains("app-secret"));
    let u = crm(&c).get_user(&tenant(), 12).await.unwrap();
    assert_eq!((u.associate_id, u.user_name.as_str()), (12, "a@x.com"));
    assert_eq!(
        (u.role, u.primary_group, u.user_plan),
        (Some(1), Some(1), None)
    );
}

#[tokio::test]
async fn status_401_is_unauthorized_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(error_body("Unauthorized")))
        .mount(&server)
        .await;
    let err = crm(&config(&server))
        .get_user(&tenant(), 12)
        .await
        .unwrap_err();
    assert!(matches!(err, CrmError::Unauthorized(_)), "{err:?}");
    assert!(err.is_critical() && !err.is_transient());
    assert_eq!(requests_to(&server, "GET", "User/12").await, 1);
    assert!(!err.to_string().contains("tok"), "{err}");
}

#[tokio::test]
async fn status_403_is_unauthorized_and_test_connection_names_the_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/Agents/User/GetAllUserGroups")))
        .respond_with(ResponseTemplate::new(403).set_body_json(error_body("SoSecurityException")))
        .mount(&server)
        .await;
    mount_catalog(&server).await;
    let so = crm(&config(&server));
    let err = so.catalog(&tenant()).await.unwrap_err();
    assert!(matches!(err, CrmError::Unauthorized(_)), "{err:?}");
    let report = so.test_connection().await;
    assert!(!report.ok);
    assert_eq!(report.problem, Some(ConnectionProblem::MissingRights));
    assert_eq!(
        report.failed_call.as_deref(),
        Some("POST Agents/User/GetAllUserGroups")
    );
    assert!(
        report.detail.contains("GetAllUserGroups"),
        "{}",
        report.detail
    );
}

#[tokio::test]
async fn status_404_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/User/77")))
        .respond_with(ResponseTemplate::new(404).set_body_json(error_body("NotFound")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/Agents/User/MakeRetired")))
        .respond_with(ResponseTemplate::new(404))
        .expect(0)
        .mount(&server)
        .await;
    let so = crm(&config(&server));
    assert!(matches!(
        so.get_user(&tenant(), 77).await,
        Err(CrmError::NotFound(77))
    ));
    assert!(matches!(
        so.set_retired(&tenant(), 77, true).await,
        Err(CrmError::NotFound(77))
    ));
    assert_eq!(requests_to(&server, "GET", "User/77").await, 2);
}

#[tokio::test]
async fn status_409_on_create_is_user_name_taken() {
    let server = MockServer::start().await;
    mount_catalog(&server).await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/Agents/User/GetUserFromName")))
        .respond_with(ResponseTemplate::new(200).set_body_string("null"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/User/Default")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json(0, "")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/User")))
        .respond_with(ResponseTemplate::new(409).set_body_json(error_body("DuplicateKeyException")))
        .expect(1)
        .mount(&server)
        .await;
    let err = crm(&config(&server))
        .create_user(&tenant(), &person("race@x.com"), &UserSettings::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, CrmError::UserNameTaken(ref n) if n == "race@x.com"),
        "{err:?}"
    );
    // The create sent the template back with the person filled in, unknown properties kept.
    let posted: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.method.as_str() == "POST" && r.url.path() == format!("{API}/User"))
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(posted[0]["UserName"], "race@x.com");
    assert_eq!(posted[0]["Person"]["Lastname"], "Smith");
    assert_eq!(posted[0]["Type"], "InternalAssociate");
    assert_eq!(posted[0]["SomethingElse"]["Kept"], true);
}

#[tokio::test]
async fn status_412_rereads_and_applies_again() {
    let server = MockServer::start().await;
    mount_catalog(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/User/12")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(user_json(12, "a@x.com"))
                .insert_header("Last-Modified", "Wed, 21 Oct 2026 07:28:00 GMT"),
        )
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{API}/User/12")))
        .respond_with(ResponseTemplate::new(412).set_body_json(error_body("PreconditionFailed")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let mut updated = user_json(12, "a@x.com");
    updated["Person"]["Firstname"] = json!("Changed");
    Mock::given(method("PUT"))
        .and(path(format!("{API}/User/12")))
        .and(header_exists("if-unmodified-since"))
        .respond_with(ResponseTemplate::new(200).set_body_json(updated))
        .mount(&server)
        .await;
    let mut p = person("a@x.com");
    p.first_name = "Changed".into();
    let u = crm(&config(&server))
        .update_user(&tenant(), 12, &p, &UserSettings::default())
        .await
        .unwrap();
    assert_eq!(u.first_name, "Changed");
    assert_eq!(
        requests_to(&server, "GET", "User/12").await,
        2,
        "re-read after the 412"
    );
    assert_eq!(requests_to(&server, "PUT", "User/12").await, 2);
    for r in server.received_requests().await.unwrap() {
        if r.method.as_str() == "PUT" {
            assert_eq!(
                r.headers.get("if-unmodified-since").unwrap(),
                "Wed, 21 Oct 2026 07:28:00 GMT"
            );
        }
    }
}

#[tokio::test]
async fn status_412_that_persists_gives_up() {
    let server = MockServer::start().await;
    mount_catalog(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/User/12")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json(12, "a@x.com")))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{API}/User/12")))
        .respond_with(ResponseTemplate::new(412))
        .mount(&server)
        .await;
    let err = crm(&config(&server))
        .update_user(&tenant(), 12, &person("a@x.com"), &UserSettings::default())
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err:?}");
    assert_eq!(requests_to(&server, "PUT", "User/12").await, 4);
}

async fn get_with_first(server: &MockServer, first: ResponseTemplate) {
    Mock::given(method("GET"))
        .and(path(format!("{API}/User/12")))
        .respond_with(first)
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/User/12")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json(12, "a@x.com")))
        .mount(server)
        .await;
}

#[tokio::test]
async fn status_429_waits_out_retry_after_seconds() {
    let server = MockServer::start().await;
    get_with_first(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
    )
    .await;
    let started = Instant::now();
    let u = crm(&config(&server)).get_user(&tenant(), 12).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(u.associate_id, 12);
    assert!(
        waited >= Duration::from_millis(1000) && waited < Duration::from_millis(1600),
        "{waited:?}"
    );
    assert_eq!(requests_to(&server, "GET", "User/12").await, 2);
}

#[tokio::test]
async fn status_429_waits_out_a_retry_after_date() {
    let server = MockServer::start().await;
    let at = chrono::Utc::now() + chrono::Duration::seconds(2);
    let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    get_with_first(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", date.as_str()),
    )
    .await;
    let started = Instant::now();
    crm(&config(&server)).get_user(&tenant(), 12).await.unwrap();
    let waited = started.elapsed();
    // The date has whole seconds: between 1 and 2 s from now.
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(2600),
        "{waited:?}"
    );
}

#[tokio::test]
async fn status_429_asking_too_long_a_wait_gives_up_at_once() {
    let server = MockServer::start().await;
    get_with_first(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", "3600"),
    )
    .await;
    let started = Instant::now();
    let err = crm(&config(&server))
        .get_user(&tenant(), 12)
        .await
        .unwrap_err();
    assert!(matches!(err, CrmError::Unavailable(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(requests_to(&server, "GET", "User/12").await, 1);
}

#[tokio::test]
async fn status_500_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    get_with_first(&server, ResponseTemplate::new(500).set_body_string("boom")).await;
    let u = crm(&config(&server)).get_user(&tenant(), 12).await.unwrap();
    assert_eq!(u.associate_id, 12);
    assert_eq!(requests_to(&server, "GET", "User/12").await, 2);
}

#[tokio::test]
async fn status_503_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    get_with_first(&server, ResponseTemplate::new(503)).await;
    crm(&config(&server)).get_user(&tenant(), 12).await.unwrap();
    assert_eq!(requests_to(&server, "GET", "User/12").await, 2);
}

#[tokio::test]
async fn status_503_that_persists_is_unavailable_after_the_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = crm(&config(&server))
        .get_user(&tenant(), 12)
        .await
        .unwrap_err();
    assert!(matches!(err, CrmError::Unavailable(_)), "{err:?}");
    assert!(err.is_transient() && !err.is_critical());
    assert_eq!(requests_to(&server, "GET", "User/12").await, 3);
}

#[tokio::test]
async fn a_timeout_is_unavailable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(user_json(12, "a@x.com"))
                .set_delay(Duration::from_secs(3)),
        )
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.timeout = Duration::from_millis(200);
    c.retry.max_attempts = 2;
    let started = Instant::now();
    let err = crm(&c).get_user(&tenant(), 12).await.unwrap_err();
    assert!(
        matches!(err, CrmError::Unavailable(ref m) if m.contains("no answer in time")),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(requests_to(&server, "GET", "User/12").await, 2);
}

/// A server that accepts connections, reads one byte of the request and closes: closing a
/// socket with unread data sends a TCP reset.
async fn resetting_server() -> (
    String,
    tokio::task::JoinHandle<()>,
    std::sync::Arc<std::sync::atomic::AtomicU32>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let seen = count.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            use tokio::io::AsyncReadExt;
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut one = [0_u8; 1];
            let _ = stream.read(&mut one).await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(stream);
        }
    });
    (format!("http://{addr}"), task, count)
}

#[tokio::test]
async fn a_reset_connection_is_unavailable_and_retried() {
    let (url, task, count) = resetting_server().await;
    let mut c = SuperOfficeConfig::new(
        url,
        "Cust1",
        SuperOfficeAuth::Bearer {
            access_token: "tok".into(),
        },
    );
    c.retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(10),
        max_retry_after: Duration::from_secs(1),
    };
    let so = crm(&c);
    let err = so.get_user(&tenant(), 12).await.unwrap_err();
    assert!(matches!(err, CrmError::Unavailable(_)), "{err:?}");
    assert!(count.load(std::sync::atomic::Ordering::SeqCst) >= 3);
    let report = so.test_connection().await;
    assert_eq!(
        report.problem,
        Some(ConnectionProblem::Unreachable),
        "{report:?}"
    );
    task.abort();
}

#[tokio::test]
async fn test_connection_tells_refused_connections_dns_and_credentials_apart() {
    // Nothing listens on a port just freed.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let auth = SuperOfficeAuth::Bearer {
        access_token: "tok".into(),
    };
    let c = SuperOfficeConfig::new(format!("http://127.0.0.1:{port}"), "Cust1", auth.clone());
    let r = crm(&c).test_connection().await;
    assert_eq!(r.problem, Some(ConnectionProblem::Unreachable), "{r:?}");
    let c = SuperOfficeConfig::new("http://no-such-host.invalid", "Cust1", auth);
    let r = crm(&c).test_connection().await;
    assert_eq!(r.problem, Some(ConnectionProblem::Dns), "{r:?}");

    let fake = FakeSuperOffice::start().await;
    let mut c = fake.config();
    c.auth = SuperOfficeAuth::Bearer {
        access_token: "wrong".into(),
    };
    let r = crm(&c).test_connection().await;
    assert_eq!(
        r.problem,
        Some(ConnectionProblem::CredentialsRefused),
        "{r:?}"
    );
    assert!(!r.ok && r.detail.contains("401"), "{r:?}");
    fake.forbid("Agents/License/GetUserLicenses");
    let r = crm(&fake.config()).test_connection().await;
    assert_eq!(r.problem, Some(ConnectionProblem::MissingRights), "{r:?}");
    fake.recover();
    let r = crm(&fake.config()).test_connection().await;
    assert!(r.ok, "{r:?}");
    let counts = r.counts.unwrap();
    assert_eq!(
        (
            counts.roles,
            counts.user_groups,
            counts.owner_companies,
            counts.user_plans
        ),
        (5, 4, 2, 4)
    );
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_and_closes_after_a_probe() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.retry = RetryPolicy::none();
    c.breaker = BreakerConfig {
        failure_threshold: 3,
        cool_down: Duration::from_millis(300),
    };
    let so = crm(&c);
    for _ in 0..3 {
        assert!(matches!(
            so.get_user(&tenant(), 12).await,
            Err(CrmError::Unavailable(_))
        ));
    }
    assert_eq!(so.breaker_state(), BreakerState::Open);
    let started = Instant::now();
    let err = so.get_user(&tenant(), 12).await.unwrap_err();
    assert!(
        matches!(err, CrmError::Unavailable(ref m) if m.contains("circuit breaker")),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(50));
    assert_eq!(
        requests_to(&server, "GET", "User/12").await,
        3,
        "open: no request made"
    );
    // SuperOffice is back; after the cool-down one probe closes the breaker.
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json(12, "a@x.com")))
        .mount(&server)
        .await;
    tokio::time::sleep(Duration::from_millis(320)).await;
    so.get_user(&tenant(), 12).await.unwrap();
    assert_eq!(so.breaker_state(), BreakerState::Closed(0));
}

#[tokio::test]
async fn a_failed_probe_opens_the_breaker_again() {
    let fake = FakeSuperOffice::start().await;
    let mut c = fake.config();
    c.retry = RetryPolicy::none();
    c.breaker = BreakerConfig {
        failure_threshold: 2,
        cool_down: Duration::from_millis(200),
    };
    let so = crm(&c);
    fake.fail_for(Duration::from_millis(600), 503);
    for _ in 0..2 {
        assert!(so.catalog(&tenant()).await.is_err());
    }
    assert_eq!(so.breaker_state(), BreakerState::Open);
    let before = fake.requests();
    tokio::time::sleep(Duration::from_millis(220)).await;
    assert!(so.catalog(&tenant()).await.is_err());
    assert_eq!(fake.requests(), before + 1, "one probe");
    assert_eq!(so.breaker_state(), BreakerState::Open);
    tokio::time::sleep(Duration::from_millis(450)).await;
    so.catalog(&tenant()).await.unwrap();
    assert_eq!(so.breaker_state(), BreakerState::Closed(0));
}

#[tokio::test]
async fn the_servers_seat_refusal_is_seats_exhausted() {
    let server = MockServer::start().await;
    mount_catalog(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/User/12")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json(12, "a@x.com")))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{API}/User/12")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "Error": "No free licenses of the module Sales Premium", "ErrorType": "LicenseException"})))
        .expect(1)
        .mount(&server)
        .await;
    let err = crm(&config(&server))
        .update_user(&tenant(), 12, &person("a@x.com"), &plan_only(525))
        .await
        .unwrap_err();
    assert!(
        matches!(err, CrmError::SeatsExhausted { plan: 525 }),
        "{err:?}"
    );
    assert!(err.is_critical());
}

#[tokio::test]
async fn writes_reuse_the_catalogue_but_read_seats_fresh() {
    let server = MockServer::start().await;
    mount_catalog(&server).await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/User/12")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json(12, "a@x.com")))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{API}/User/12")))
        .respond_with(ResponseTemplate::new(200).set_body_json(user_json(12, "a@x.com")))
        .mount(&server)
        .await;
    let so = crm(&config(&server));
    for _ in 0..2 {
        so.update_user(&tenant(), 12, &person("a@x.com"), &plan_only(525))
            .await
            .unwrap();
    }
    assert_eq!(
        requests_to(&server, "POST", "Agents/User/GetAllRoles").await,
        1
    );
    assert_eq!(
        requests_to(&server, "POST", "Agents/License/GetUserLicenses").await,
        3,
        "the catalogue once, then the seats before each assignment"
    );
    // An id the kept catalogue lacks is checked against a fresh one before it is refused.
    let err = so
        .update_user(
            &tenant(),
            12,
            &person("a@x.com"),
            &UserSettings {
                role: Some(99),
                ..UserSettings::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(err, CrmError::Invalid(_)), "{err:?}");
    assert_eq!(
        requests_to(&server, "POST", "Agents/User/GetAllRoles").await,
        2
    );
}

// ---------------------------------------------------------------------------------------
// The fake: outages, lost answers, seats

#[tokio::test]
async fn a_lost_create_answer_makes_no_duplicate() {
    let (so, t, fake) = on_fake().await;
    fake.lose_next_create();
    let u = so
        .create_user(
            &t,
            &person("lost@contoso.com"),
            &plan_only(licences::SERVICE),
        )
        .await
        .unwrap();
    assert_eq!(
        fake.creates(),
        1,
        "the retry found the user instead of creating another"
    );
    let users = fake.users();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].associate_id, u.associate_id);
    assert_eq!(u.user_plan, Some(licences::SERVICE));
    let plan = so
        .catalog(&t)
        .await
        .unwrap()
        .user_plans
        .into_iter()
        .find(|p| p.id == licences::SERVICE)
        .unwrap();
    assert_eq!((plan.in_use, plan.free), (1, 24));
}

#[tokio::test]
async fn an_outage_shorter_than_the_retries_is_ridden_out() {
    let (so, t, fake) = on_fake().await;
    fake.fail_next(2, 503);
    let u = so
        .create_user(&t, &person("patient@contoso.com"), &UserSettings::default())
        .await
        .unwrap();
    assert_eq!(so.get_user(&t, u.associate_id).await.unwrap(), u);
    fake.throttle_next(1, "0");
    assert_eq!(
        so.find_user(&t, "PATIENT@contoso.com").await.unwrap(),
        Some(u)
    );
    fake.fail_for(Duration::from_secs(5), 503);
    let err = so.catalog(&t).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    fake.recover();
    so.catalog(&t).await.unwrap();
}

#[tokio::test]
async fn retired_users_hold_no_licence_and_reactivate_without_one() {
    let (so, t, fake) = on_fake().await;
    let u = so
        .create_user(
            &t,
            &person("r@contoso.com"),
            &plan_only(licences::MARKETING),
        )
        .await
        .unwrap();
    let r = so.set_retired(&t, u.associate_id, true).await.unwrap();
    assert!(r.retired && r.user_plan.is_none());
    let shown = fake.users().pop().unwrap();
    assert!(shown.deleted && shown.is_person_retired);
    assert_eq!(shown.assigned().count(), 0);
    let back = so.set_retired(&t, u.associate_id, false).await.unwrap();
    assert!(!back.retired && back.user_plan.is_none());
}

#[tokio::test]
async fn remove_licenses_frees_the_plan_and_keeps_the_user_active() {
    let (so, t, _fake) = on_fake().await;
    let u = so
        .create_user(
            &t,
            &person("lic@contoso.com"),
            &plan_only(licences::SERVICE),
        )
        .await
        .unwrap();
    gateway_reference::crm::superoffice::remove_licenses(&so, u.associate_id)
        .await
        .unwrap();
    let after = so.get_user(&t, u.associate_id).await.unwrap();
    assert_eq!((after.user_plan, after.retired), (None, false));
    assert!(matches!(
        gateway_reference::crm::superoffice::remove_licenses(&so, u.associate_id + 1000).await,
        Err(CrmError::NotFound(_))
    ));
}

#[tokio::test]
async fn activation_redirects_to_the_sign_in_page() {
    let fake = FakeSuperOffice::start().await;
    let mut c = fake.config();
    c.sign_in_url = Some("https://online.superoffice.com/login/?cust=Cust12345".into());
    let so = crm(&c);
    assert_eq!(
        so.activation(&tenant()).await.unwrap(),
        gateway_reference::crm::Activation::Redirect {
            url: "https://online.superoffice.com/login/?cust=Cust12345".into()
        }
    );
    assert_eq!(fake::CUSTOMER_ID, "Cust12345");
    let default = crm(&fake.config());
    assert!(matches!(
        default.activation(&tenant()).await.unwrap(),
        gateway_reference::crm::Activation::Redirect { url } if url == format!("{}/login/", fake.base_url())
    ));
}
