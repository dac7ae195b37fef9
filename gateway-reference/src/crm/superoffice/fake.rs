//! Test support: a stateful fake of a SuperOffice CRM Online tenant's Web API, served by
//! axum on `127.0.0.1:0`. It keeps users, persons, module licences and seat counts, answers
//! the documented payloads of the calls [`SuperOfficeCrm`](super::SuperOfficeCrm) makes,
//! enforces the credentials (Bearer access token, or `SOTICKET` with `SO-AppToken`), serves
//! the system user sign-in (`Login/api/PartnerSystemUser/Authenticate`: it verifies the
//! signed system user token against the partner's public key and answers with a JWT signed
//! by its own key) and the OAuth token endpoint (`login/common/oauth/tokens`, refresh-token
//! grant) once [`FakeSuperOffice::enable_sign_in`] gave it the keys, and can
//! be told to fail (the next N requests or for a while with a status, 429 with
//! `Retry-After`, a lost create answer, 403 on one call) so tests can simulate an outage.
//!
//! Not a product feature: it exists for the gateway's tests and demos, and models only what
//! the backend uses. The whole state sits behind one mutex, so each write is atomic (unique
//! user names, seat counts).
//!
//! ```
//! use gateway_reference::crm::superoffice::fake::FakeSuperOffice;
//! use gateway_reference::crm::superoffice::SuperOfficeCrm;
//! use gateway_reference::crm::Crm;
//! use scim_server::TenantId;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let fake = FakeSuperOffice::start().await;
//! let tenant = TenantId::new("contoso").unwrap();
//! let crm = SuperOfficeCrm::new(tenant.clone(), &fake.config()).unwrap();
//! assert_eq!(crm.catalog(&tenant).await.unwrap().user_plans.len(), 4);
//! # });
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::time::Instant;

use super::auth::{OAuthCredentials, SystemUserCredentials, TICKET_CLAIM, WEBAPI_URL_CLAIM};
use super::client::{SuperOfficeAuth, SuperOfficeConfig};
use super::keys::{PartnerKey, PublicKey, sign_jwt};
use super::model::{
    ArchivePage, ArchiveRow, AssociateRequest, ContactRef, ErrorBody, LicenseOwner, ListItem,
    MakeRetiredRequest, ModuleLicense, PLAN_FLAG, PersonEntity, RoleEntity, UserEntity,
    UserGroupEntity, UserNameRequest,
};
use super::retry::RetryPolicy;

mod sign_in;

/// The fake's customer id.
pub const CUSTOMER_ID: &str = "Cust12345";
/// The access token it accepts (`Authorization: Bearer ...`).
pub const ACCESS_TOKEN: &str = "fake-access-token";
/// The system user ticket it accepts (`Authorization: SOTICKET ...`).
pub const TICKET: &str = "fake-system-user-ticket";
/// The application token it wants with a ticket (`SO-AppToken`).
pub const APP_TOKEN: &str = "fake-app-token";
/// The system user token its sign-in service accepts (signed).
pub const SYSTEM_USER_TOKEN: &str = "Fake App-sut0123456789";
/// The OAuth client id its token endpoint accepts.
pub const CLIENT_ID: &str = "fake-client-id";
/// The refresh token its token endpoint accepts.
pub const REFRESH_TOKEN: &str = "fake-refresh-token";

/// The module licence ids of the fake's user plans (and one licence that is not a plan).
pub mod licences {
    /// "Sales Premium", 50 seats.
    pub const SALES_PREMIUM: i64 = 525;
    /// "Sales Essentials", 100 seats.
    pub const SALES_ESSENTIALS: i64 = 526;
    /// "Service", 25 seats.
    pub const SERVICE: i64 = 527;
    /// "Marketing", 10 seats.
    pub const MARKETING: i64 = 528;
    /// "Mailings add-on": a module licence that is not a user plan.
    pub const MAILINGS: i64 = 600;
}

#[derive(Debug, Clone)]
struct Licence {
    id: i64,
    name: String,
    seats: i64,
    flags: i64,
}

#[derive(Debug, Clone)]
struct FakeUser {
    entity: UserEntity,
    assigned: BTreeSet<i64>,
    modified: i64,
}

#[derive(Debug, Default)]
struct Faults {
    fail_next: u32,
    fail_next_status: u16,
    fail_until: Option<(Instant, u16)>,
    throttle_next: u32,
    retry_after: String,
    lose_next_create: bool,
    forbidden: Vec<String>,
}

/// The sign-in side: keys, what it issued, what it was sent.
#[derive(Debug, Default)]
struct SignIn {
    partner_key: Option<PublicKey>,
    signer: Option<PartnerKey>,
    refuse: bool,
    expires_in: u64,
    issued: Vec<String>,
    system_user_sign_ins: u64,
    refreshes: u64,
    last_signed_token: Option<String>,
}

#[derive(Debug)]
struct FakeState {
    base_url: String,
    sign_in: SignIn,
    roles: Vec<(i64, String)>,
    groups: Vec<(i64, String)>,
    owners: Vec<(i64, String)>,
    licences: Vec<Licence>,
    users: BTreeMap<i64, FakeUser>,
    next_associate: i64,
    next_person: i64,
    faults: Faults,
    requests: u64,
    unauthorized: u64,
    creates: u64,
}

type Shared = Arc<Mutex<FakeState>>;

/// A refused write: status, error type, message.
type Refusal = (StatusCode, &'static str, String);

fn lock(s: &Shared) -> MutexGuard<'_, FakeState> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// A running fake SuperOffice (see the module docs); stops when dropped.
#[derive(Debug)]
pub struct FakeSuperOffice {
    addr: SocketAddr,
    state: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSuperOffice {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn error(status: StatusCode, error_type: &str, message: impl Into<String>) -> Response {
    (
        status,
        Json(ErrorBody {
            error: Some(message.into()),
            error_type: Some(error_type.to_string()),
            message: None,
        }),
    )
        .into_response()
}

fn http_date(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

impl FakeSuperOffice {
    /// Starts a fake with a demo catalogue: roles 1-5, user groups 1-4, owner companies
    /// 101-102, the user plans of [`licences`] and a licence that is no plan; no users.
    pub async fn start() -> FakeSuperOffice {
        let names = |v: &[(i64, &str)]| -> Vec<(i64, String)> {
            v.iter().map(|(i, n)| (*i, n.to_string())).collect()
        };
        let licence = |id, name: &str, seats, flags| Licence {
            id,
            name: name.into(),
            seats,
            flags,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("fake SuperOffice: bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("fake SuperOffice: {e}"));
        let state = Arc::new(Mutex::new(FakeState {
            base_url: format!("http://{addr}"),
            sign_in: SignIn {
                expires_in: 3600,
                ..SignIn::default()
            },
            roles: names(&[
                (1, "User"),
                (2, "Sales Manager"),
                (3, "Administrator"),
                (4, "Support Agent"),
                (5, "Restricted User"),
            ]),
            groups: names(&[
                (1, "Sales"),
                (2, "Support"),
                (3, "Marketing"),
                (4, "Management"),
            ]),
            owners: names(&[(101, "Contoso Ltd"), (102, "Contoso Norway AS")]),
            licences: vec![
                licence(licences::SALES_PREMIUM, "Sales Premium", 50, PLAN_FLAG),
                licence(
                    licences::SALES_ESSENTIALS,
                    "Sales Essentials",
                    100,
                    PLAN_FLAG,
                ),
                licence(licences::SERVICE, "Service", 25, PLAN_FLAG),
                licence(licences::MARKETING, "Marketing", 10, PLAN_FLAG),
                licence(licences::MAILINGS, "Mailings add-on", 5, 0),
            ],
            users: BTreeMap::new(),
            next_associate: 10,
            next_person: 1000,
            faults: Faults::default(),
            requests: 0,
            unauthorized: 0,
            creates: 0,
        }));
        let api = Router::new()
            .route("/User/Default", get(default_user))
            .route("/User", post(create_user).get(list_users))
            .route("/User/{id}", get(get_user).put(put_user))
            .route("/Agents/User/GetUserFromName", post(user_from_name))
            .route("/Agents/User/MakeRetired", post(make_retired))
            .route("/Agents/User/RemoveLicenses", post(remove_licenses))
            .route("/Agents/User/GetAllRoles", post(all_roles))
            .route("/Agents/User/GetAllUserGroups", post(all_groups))
            .route("/Agents/User/GetOwnerContacts", post(owner_contacts))
            .route("/Agents/License/GetUserLicenses", post(user_licences));
        let gated = Router::new()
            .nest(&format!("/{CUSTOMER_ID}/api/v1"), api)
            .fallback(|| async { error(StatusCode::NOT_FOUND, "NotFound", "no such endpoint") })
            .layer(axum::middleware::from_fn_with_state(state.clone(), gate));
        let app = Router::new()
            .route(
                "/Login/api/PartnerSystemUser/Authenticate",
                post(sign_in::system_user),
            )
            .route("/login/common/oauth/tokens", post(sign_in::tokens))
            .merge(gated)
            .with_state(state.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeSuperOffice { addr, state, task }
    }

    /// `http://127.0.0.1:PORT` (the environment's base URL).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A configuration with the Bearer access token, short timeouts and quick retries.
    pub fn config(&self) -> SuperOfficeConfig {
        let mut c = SuperOfficeConfig::new(
            self.base_url(),
            CUSTOMER_ID,
            SuperOfficeAuth::Bearer {
                access_token: ACCESS_TOKEN.into(),
            },
        );
        c.timeout = Duration::from_secs(5);
        c.connect_timeout = Duration::from_secs(2);
        c.retry = RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(200),
            max_retry_after: Duration::from_secs(5),
        };
        c
    }

    /// A tenant connection to this fake (access token), to save with
    /// [`connections::save`](crate::crm::connections::save).
    pub fn connection(&self) -> crate::crm::connections::CrmConnection {
        use crate::crm::connections::{CrmConnection, CrmKind, Secrets};
        CrmConnection {
            kind: CrmKind::Superoffice,
            base_url: Some(self.base_url()),
            customer_id: Some(CUSTOMER_ID.into()),
            secrets: Secrets {
                access_token: Some(ACCESS_TOKEN.into()),
                ..Secrets::default()
            },
            ..CrmConnection::default()
        }
    }

    /// The same with the system user ticket and application token.
    pub fn soticket_config(&self) -> SuperOfficeConfig {
        let mut c = self.config();
        c.auth = SuperOfficeAuth::SoTicket {
            ticket: TICKET.into(),
            app_token: APP_TOKEN.into(),
        };
        c
    }

    /// The next `n` requests are answered with `status` (and change nothing).
    pub fn fail_next(&self, n: u32, status: u16) {
        let mut s = lock(&self.state);
        s.faults.fail_next = n;
        s.faults.fail_next_status = status;
    }

    /// Every request for `duration` from now is answered with `status`.
    pub fn fail_for(&self, duration: Duration, status: u16) {
        lock(&self.state).faults.fail_until = Some((Instant::now() + duration, status));
    }

    /// The next `n` requests get 429 with `Retry-After: retry_after`.
    pub fn throttle_next(&self, n: u32, retry_after: &str) {
        let mut s = lock(&self.state);
        s.faults.throttle_next = n;
        s.faults.retry_after = retry_after.to_string();
    }

    /// The next `POST User` creates the user but its answer is lost (504 from a proxy).
    pub fn lose_next_create(&self) {
        lock(&self.state).faults.lose_next_create = true;
    }

    /// Requests whose path ends with `call` (e.g. `Agents/User/GetAllRoles`) get 403.
    pub fn forbid(&self, call: &str) {
        lock(&self.state).faults.forbidden.push(call.to_string());
    }

    /// Clears every fault.
    pub fn recover(&self) {
        lock(&self.state).faults = Faults::default();
    }

    /// Sets the seats of a licence.
    pub fn set_seats(&self, licence: i64, seats: i64) {
        let mut s = lock(&self.state);
        if let Some(l) = s.licences.iter_mut().find(|l| l.id == licence) {
            l.seats = seats;
        }
    }

    /// Every user as the API shows it.
    pub fn users(&self) -> Vec<UserEntity> {
        let s = lock(&self.state);
        s.users.values().map(|u| s.render(u)).collect()
    }

    /// `POST User` requests that created a user.
    pub fn creates(&self) -> u64 {
        lock(&self.state).creates
    }

    /// Requests received (authenticated or not, failed or not).
    pub fn requests(&self) -> u64 {
        lock(&self.state).requests
    }

    /// Web API requests answered 401 (their credential was unknown or expired).
    pub fn unauthorized(&self) -> u64 {
        lock(&self.state).unauthorized
    }
}

impl FakeState {
    fn in_use(&self, licence: i64, except: Option<i64>) -> i64 {
        self.users
            .values()
            .filter(|u| {
                !u.entity.deleted
                    && Some(u.entity.associate_id) != except
                    && u.assigned.contains(&licence)
            })
            .count() as i64
    }

    fn licence_list(&self, assigned: Option<&BTreeSet<i64>>) -> Vec<LicenseOwner> {
        vec![LicenseOwner {
            name: "SuperOffice".into(),
            restricted_module_licenses: self
                .licences
                .iter()
                .map(|l| {
                    let in_use = self.in_use(l.id, None);
                    ModuleLicense {
                        module_license_id: l.id,
                        name: l.name.clone(),
                        assigned: assigned.is_some_and(|a| a.contains(&l.id)),
                        free: (l.seats - in_use).max(0),
                        in_use,
                        extra_flags: l.flags,
                    }
                })
                .collect(),
        }]
    }

    fn render(&self, u: &FakeUser) -> UserEntity {
        let mut e = u.entity.clone();
        e.license_owners = self.licence_list(Some(&u.assigned));
        e.is_person_retired = e.deleted;
        e
    }

    fn find_name(&self, name: &str) -> Option<&FakeUser> {
        let folded = scim_core::casefold::fold(name.trim());
        self.users
            .values()
            .find(|u| scim_core::casefold::fold(u.entity.user_name.trim()) == folded)
    }

    /// Validates a written entity against the catalogue, the names and the seats; returns
    /// the licences it assigns.
    fn check_write(
        &self,
        e: &UserEntity,
        existing: Option<&FakeUser>,
    ) -> Result<BTreeSet<i64>, Refusal> {
        let bad = |m: String| (StatusCode::BAD_REQUEST, "ArgumentException", m);
        if e.user_name.trim().is_empty() {
            return Err(bad("UserName is required".into()));
        }
        let id = existing.map(|u| u.entity.associate_id);
        if let Some(other) = self.find_name(&e.user_name)
            && Some(other.entity.associate_id) != id
        {
            return Err((
                StatusCode::CONFLICT,
                "DuplicateKeyException",
                format!("the user name {} is in use", e.user_name),
            ));
        }
        let known = |list: &[(i64, String)], item: &Option<ListItem>| {
            item.as_ref()
                .is_none_or(|i| i.id == 0 || list.iter().any(|(k, _)| *k == i.id))
        };
        if !known(&self.roles, &e.role) {
            return Err(bad("unknown role".into()));
        }
        if !known(&self.groups, &e.user_group)
            || !e
                .other_groups
                .iter()
                .all(|g| self.groups.iter().any(|(k, _)| *k == g.id))
        {
            return Err(bad("unknown user group".into()));
        }
        let contact = e
            .person
            .as_ref()
            .and_then(|p| p.contact.as_ref())
            .map(|c| c.contact_id)
            .filter(|id| *id != 0);
        if let Some(c) = contact
            && !self.owners.iter().any(|(k, _)| *k == c)
        {
            return Err(bad(format!("contact {c} is not an owner contact")));
        }
        let assigned: BTreeSet<i64> = e.assigned().map(|l| l.module_license_id).collect();
        let before = existing.map(|u| u.assigned.clone()).unwrap_or_default();
        let deleted = existing.is_some_and(|u| u.entity.deleted);
        for l in assigned.difference(&before) {
            let Some(licence) = self.licences.iter().find(|x| x.id == *l) else {
                return Err(bad(format!("unknown module {l}")));
            };
            if deleted {
                return Err(bad("the user is retired".into()));
            }
            if self.in_use(*l, id) >= licence.seats {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "LicenseException",
                    format!("no free licenses of the module {}", licence.name),
                ));
            }
        }
        Ok(assigned)
    }
}

/// Counts, injects faults, checks the credentials and the forbidden calls.
async fn gate(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    {
        let mut guard = lock(&state);
        let s = &mut *guard;
        s.requests += 1;
        let f = &mut s.faults;
        if let Some((until, status)) = f.fail_until {
            if Instant::now() < until {
                return failure(status);
            }
            f.fail_until = None;
        }
        if f.fail_next > 0 {
            f.fail_next -= 1;
            return failure(f.fail_next_status);
        }
        if f.throttle_next > 0 {
            f.throttle_next -= 1;
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                "Throttled",
                "too many requests",
            );
            if let Ok(v) = HeaderValue::from_str(&f.retry_after) {
                r.headers_mut().insert("retry-after", v);
            }
            return r;
        }
        if !authorized(req.headers(), &s.sign_in.issued) {
            s.unauthorized += 1;
            return error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "invalid credentials",
            );
        }
        if f.forbidden.iter().any(|c| path.ends_with(c.as_str())) {
            return error(
                StatusCode::FORBIDDEN,
                "SoSecurityException",
                "access denied",
            );
        }
    }
    next.run(req).await
}

fn failure(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    error(status, "Unavailable", "injected failure")
}

fn authorized(h: &HeaderMap, issued: &[String]) -> bool {
    let auth = h
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let app = h.get("so-apptoken").and_then(|v| v.to_str().ok());
    match auth.split_once(' ') {
        Some((scheme, v)) if scheme.eq_ignore_ascii_case("bearer") => {
            v == ACCESS_TOKEN || issued.iter().any(|t| t == v)
        }
        Some((scheme, v)) if scheme.eq_ignore_ascii_case("soticket") => {
            (v == TICKET || issued.iter().any(|t| t == v)) && app == Some(APP_TOKEN)
        }
        _ => false,
    }
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn default_user(State(state): State<Shared>) -> Response {
    let s = lock(&state);
    Json(UserEntity {
        user_type: "InternalAssociate".into(),
        person: Some(PersonEntity::default()),
        license_owners: s.licence_list(None),
        ..UserEntity::default()
    })
    .into_response()
}

async fn create_user(State(state): State<Shared>, Json(mut e): Json<UserEntity>) -> Response {
    let mut s = lock(&state);
    let assigned = match s.check_write(&e, None) {
        Ok(a) => a,
        Err((status, kind, message)) => return error(status, kind, message),
    };
    e.associate_id = s.next_associate;
    s.next_associate += 1;
    let person = e.person.get_or_insert_with(PersonEntity::default);
    if person.person_id == 0 {
        person.person_id = s.next_person;
        s.next_person += 1;
    }
    e.deleted = false;
    let user = FakeUser {
        entity: e.clone(),
        assigned,
        modified: now_secs(),
    };
    let shown = s.render(&user);
    s.users.insert(e.associate_id, user);
    s.creates += 1;
    if std::mem::take(&mut s.faults.lose_next_create) {
        return error(
            StatusCode::GATEWAY_TIMEOUT,
            "GatewayTimeout",
            "upstream timed out",
        );
    }
    Json(shown).into_response()
}

fn not_found(id: i64) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("no associate {id}"),
    )
}

async fn get_user(State(state): State<Shared>, Path(id): Path<i64>) -> Response {
    let s = lock(&state);
    let Some(u) = s.users.get(&id) else {
        return not_found(id);
    };
    let mut r = Json(s.render(u)).into_response();
    if let Ok(v) = HeaderValue::from_str(&http_date(u.modified)) {
        r.headers_mut().insert("last-modified", v);
    }
    r
}

async fn put_user(
    State(state): State<Shared>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(mut e): Json<UserEntity>,
) -> Response {
    let mut s = lock(&state);
    let Some(existing) = s.users.get(&id).cloned() else {
        return not_found(id);
    };
    let since = headers
        .get("if-unmodified-since")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok());
    if let Some(since) = since
        && existing.modified > since.timestamp()
    {
        return error(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailed",
            "modified since",
        );
    }
    let assigned = match s.check_write(&e, Some(&existing)) {
        Ok(a) => a,
        Err((status, kind, message)) => return error(status, kind, message),
    };
    e.associate_id = id;
    e.deleted = existing.entity.deleted;
    if let (Some(p), Some(old)) = (e.person.as_mut(), existing.entity.person.as_ref()) {
        p.person_id = old.person_id;
    }
    let user = FakeUser {
        entity: e,
        assigned,
        modified: now_secs(),
    };
    let shown = s.render(&user);
    s.users.insert(id, user);
    Json(shown).into_response()
}

async fn list_users(
    State(state): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let after = q
        .get("$filter")
        .and_then(|f| f.trim().strip_prefix("associateId gt "))
        .and_then(|n| n.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let top = q
        .get("$top")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(usize::MAX);
    let s = lock(&state);
    let value = s
        .users
        .range(after + 1..)
        .take(top)
        .map(|(id, _)| ArchiveRow { primary_key: *id })
        .collect();
    Json(ArchivePage { value }).into_response()
}

async fn user_from_name(State(state): State<Shared>, Json(r): Json<UserNameRequest>) -> Response {
    let s = lock(&state);
    Json(s.find_name(&r.user_name).map(|u| s.render(u))).into_response()
}

async fn make_retired(State(state): State<Shared>, Json(r): Json<MakeRetiredRequest>) -> Response {
    let mut s = lock(&state);
    let Some(u) = s.users.get_mut(&r.associate_id) else {
        return not_found(r.associate_id);
    };
    u.entity.deleted = r.retired;
    if r.retired {
        u.assigned.clear();
    }
    u.modified = now_secs();
    StatusCode::NO_CONTENT.into_response()
}

async fn remove_licenses(State(state): State<Shared>, Json(r): Json<AssociateRequest>) -> Response {
    let mut s = lock(&state);
    let Some(u) = s.users.get_mut(&r.associate_id) else {
        return not_found(r.associate_id);
    };
    u.assigned.clear();
    u.modified = now_secs();
    StatusCode::NO_CONTENT.into_response()
}

async fn all_roles(State(state): State<Shared>) -> Response {
    let s = lock(&state);
    let roles: Vec<RoleEntity> = s
        .roles
        .iter()
        .map(|(id, name)| RoleEntity {
            role_id: *id,
            name: name.clone(),
        })
        .collect();
    Json(roles).into_response()
}

async fn all_groups(State(state): State<Shared>) -> Response {
    let s = lock(&state);
    let groups: Vec<UserGroupEntity> = s
        .groups
        .iter()
        .map(|(id, name)| UserGroupEntity {
            id: *id,
            value: name.clone(),
            deleted: false,
        })
        .collect();
    Json(groups).into_response()
}

async fn owner_contacts(State(state): State<Shared>) -> Response {
    let s = lock(&state);
    let owners: Vec<ContactRef> = s
        .owners
        .iter()
        .map(|(id, name)| ContactRef {
            contact_id: *id,
            name: name.clone(),
        })
        .collect();
    Json(owners).into_response()
}

async fn user_licences(State(state): State<Shared>) -> Response {
    Json(lock(&state).licence_list(None)).into_response()
}
