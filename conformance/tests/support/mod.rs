//! A small, mostly correct SCIM service provider on wiremock, built on scim-core, that can be
//! told to break one rule at a time ([`Break`]). It answers only what the checks ask: discovery,
//! Users and Groups with create, read, list (filter, paging, projection), replace, patch, delete
//! and ETags.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use scim_core::patch::{PatchOptions, PatchRequest, apply_patch};
use scim_core::projection::Projection;
use scim_core::schema::ResourceSchema;
use scim_core::{Filter, Resource, ScimError, builtin};
use serde_json::{Map, Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

mod rules;
use rules::{absent_member_replace, entra_value_path, now, unindexed};

/// One rule the fake breaks on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Break {
    // discovery
    SpcJsonContentType,
    SpcMissingEtag,
    SpcFlagString,
    ResourceTypesBareArray,
    ResourceTypeMissingEndpoint,
    SchemasMissingEnterprise,
    SchemaAttributeWithoutType,
    // users
    LocationMismatch,
    CreateNoSchemas,
    CreateJsonContentType,
    NoMeta,
    ReturnsPassword,
    UseClientId,
    NoUniqueness,
    UniquenessCaseSensitive,
    AcceptMissingUserName,
    ReadOmitsUserName,
    PutUnknownCreates,
    PutIgnored,
    PutChangesId,
    DeleteReturns200,
    DeleteKeeps,
    DeleteUnknown204,
    // errors
    ErrorWithoutSchema,
    ErrorStatusNumber,
    ErrorStatusWrong,
    MalformedJson500,
    // filters
    FilterIgnored,
    FilterCaseSensitive,
    NoMatch404,
    ListOmitsTotalResults,
    TotalBeforeFilter,
    FilterAttrCaseSensitive,
    FilterOpCaseSensitive,
    SwAsEq,
    CoAsSw,
    EwAsSw,
    NeAsEq,
    PrAlwaysTrue,
    NotIgnored,
    LeftToRightPrecedence,
    ParenthesesIgnored,
    ValuePathFilterIgnored,
    InvalidFilterAccepted,
    // paging
    IgnoreCount,
    IgnoreStartIndex,
    ItemsPerPageWrong,
    CountZeroReturnsAll,
    StartIndexZero400,
    NegativeCount400,
    CountOver50Rejected,
    // projection
    AttributesIgnored,
    AttributesDropId,
    ExcludedIgnored,
    ExcludedRemovesId,
    SubAttributeWholeComplex,
    AttributesIgnoredOnList,
    // patch
    PatchAddIgnored,
    PatchReplaceIgnored,
    PatchRemoveIgnored,
    PatchAddReplacesMulti,
    PatchValuePathNoop,
    PatchPathlessIgnored,
    RemoveNoPathOk,
    InvalidPathOk,
    NoTargetOk,
    PatchNotAtomic,
    // groups
    GroupDropsMembers,
    ExcludedMembersIgnored,
    AddMemberReplacesAll,
    RemoveMemberRemovesAll,
    // etag
    EtagHeaderMissing,
    IfNoneMatchIgnored,
    IfMatchIgnored,
    VersionNotBumped,
    // entra / okta
    DropExternalId,
    DropEnterprise,
    OpCaseSensitive,
    BooleanStringsRejected,
    ManagerShorthandRejected,
    FilterAddCreatesOff,
    RemoveByValueOff,
    RejectUnknownSchema,
    // second batch
    KeepClientMeta,
    CreateMinimalBody,
    MetaLocationWrong,
    ListRequiresFilter,
    CaseSensitiveInput,
    NoSearch,
    ErrorJsonContentType,
    GtAsGe,
    GeAsGt,
    LtAsLe,
    LeAsLt,
    BooleanFilterIgnored,
    DottedPathIgnored,
    OrAsAnd,
    AndAsOr,
    StartIndexZeroBased,
    TotalIsPageSize,
    AttributesOnlyFirst,
    ExcludedOnlyFirst,
    ExcludedIgnoredOnList,
    SubAttrAddReplacesComplex,
    ReplaceMultiAppends,
    Patch200EmptyBody,
    UnknownOpIgnored,
    PatchIdIgnored,
    PatchUnknown204,
    GetJsonContentType,
    IfMatchAlways412,
    AuthSchemeNoType,
    BulkNoLimits,
    ReplaceMembersAppends,
    // third batch
    ExtensionNoRequired,
    SortIgnored,
    SortOrderIgnored,
    SortCaseSensitive,
    SearchIgnoresAttributes,
    EtagUnquoted,
    BulkNoMaxOps,
    BulkIdNotResolved,
    BulkIgnoresFailOnErrors,
    BulkStatusMissing,
    SchemaUserNameCaseExact,
    // fourth batch
    RootSearchUsersOnly,
    RootSearchJsonContentType,
    SearchIgnoresCount,
    SearchInvalidFilterAccepted,
    Me404WithoutBody,
    CursorNoNext,
    CursorOverlaps,
    InvalidCursorAccepted,
    UserGroupsNotComputed,
    UserGroupsWritable,
    DeleteKeepsMemberships,
    BooleanTrueIgnored,
    DateFilterIgnored,
    ExternalIdCaseInsensitive,
    // fifth batch
    /// Answers 400 to a filter naming none of the attributes servers index (userName, id,
    /// externalId, displayName): a lone `title eq`, `active eq`, `meta.lastModified gt`, ...
    UnindexedFilter400,
    /// `members[value eq "..."]` in a filter is read as `members pr`.
    MemberFilterIgnored,
    /// Entra's `emails[type eq "work"].value eq "..."` (a value path, a sub-attribute, then a
    /// comparison) is refused with 400 invalidFilter.
    ValuePathSubAttrRejected,
    /// Refuses a User without displayName although /Schemas publishes it required: false.
    UserDisplayNameEnforced,
    /// Refuses a Group without displayName although /Schemas publishes it required: false.
    GroupDisplayNameEnforced,
    /// PATCH replace `members[value eq "x"].display` with no member x adds the member x.
    ReplaceNoMatchAddsMember,
    /// sortBy=password is accepted and orders by the stored password.
    SortByPasswordAccepted,
    // not a fault: the server announces it lacks a feature
    AnnounceNoPatch,
    AnnounceNoGroups,
    AnnounceNoCursor,
}

const BASE: &str = "/scim/v2";

/// The running fake.
pub struct FakeScim {
    server: MockServer,
    state: Arc<Mutex<Store>>,
}

impl FakeScim {
    /// A correct fake.
    pub async fn start() -> Self {
        Self::breaking(&[]).await
    }

    /// A fake that breaks the given rules.
    pub async fn breaking(breaks: &[Break]) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(Store::default()));
        let handler = Handler {
            origin: server.uri(),
            breaks: breaks.iter().copied().collect(),
            state: Arc::clone(&state),
            users: builtin::user_resource_schema(),
            groups: builtin::group_resource_schema(),
        };
        Mock::given(any())
            .respond_with(handler)
            .mount(&server)
            .await;
        FakeScim { server, state }
    }

    /// The SCIM base URL.
    pub fn url(&self) -> String {
        format!("{}{BASE}", self.server.uri())
    }

    /// How many resources are stored (to prove clean-up).
    pub fn resource_count(&self) -> usize {
        let s = self.state.lock().unwrap();
        s.users.len() + s.groups.len()
    }
}

#[derive(Default)]
struct Store {
    next: u64,
    users: Vec<Value>,
    groups: Vec<Value>,
}

struct Handler {
    origin: String,
    breaks: HashSet<Break>,
    state: Arc<Mutex<Store>>,
    users: ResourceSchema,
    groups: ResourceSchema,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Group,
}

fn scim(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_raw(serde_json::to_vec(body).unwrap(), "application/scim+json")
}

fn get_ci<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

impl Respond for Handler {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let path = req.url.path().to_string();
        let Some(rest) = path.strip_prefix(BASE) else {
            return self.error(&ScimError::not_found("no such endpoint"));
        };
        let query: Vec<(String, String)> = req
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let q = |name: &str| {
            query
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let header = |name: &str| {
            req.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let method = req.method.as_str().to_string();
        let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["ServiceProviderConfig"]) => self.spc(),
            ("GET", ["ResourceTypes"]) => self.resource_types(),
            ("GET", ["Schemas"]) => self.schemas(),
            ("GET", ["Me"]) => {
                if self.has(Break::Me404WithoutBody) {
                    return ResponseTemplate::new(404);
                }
                // The fake's credentials name no subject: /Me is not implemented.
                self.error(&ScimError::not_implemented("/Me is not supported"))
            }
            ("POST", [".search"]) => match serde_json::from_slice::<Value>(&req.body) {
                Ok(body) => self.root_search(&body),
                Err(e) => self.error(&ScimError::invalid_syntax(e.to_string())),
            },
            ("POST", ["Bulk"]) => match serde_json::from_slice::<Value>(&req.body) {
                Ok(body) => self.bulk(&body),
                Err(e) => self.error(&ScimError::invalid_syntax(e.to_string())),
            },
            (m, [coll, rest @ ..]) => {
                let kind = match *coll {
                    "Users" => Kind::User,
                    "Groups" => Kind::Group,
                    _ => return self.error(&ScimError::not_found("no such endpoint")),
                };
                let body: Option<Result<Value, String>> = if req.body.is_empty() {
                    None
                } else {
                    Some(serde_json::from_slice(&req.body).map_err(|e| e.to_string()))
                };
                let body = match body {
                    Some(Err(e)) => {
                        if self.has(Break::MalformedJson500) {
                            return scim(500, &json!({"detail": "oops"}));
                        }
                        return self
                            .error(&ScimError::invalid_syntax(format!("invalid JSON: {e}")));
                    }
                    Some(Ok(v)) => Some(v),
                    None => None,
                };
                match (m, rest) {
                    ("POST", []) => self.create(kind, body.unwrap_or(Value::Null)),
                    ("POST", [".search"]) => {
                        if self.has(Break::NoSearch) {
                            return self.error(&ScimError::not_found("no such endpoint"));
                        }
                        let b = body.unwrap_or(Value::Null);
                        let text = |k: &str| search_param(&b, k);
                        let mut filter = text("filter");
                        if self.has(Break::SearchInvalidFilterAccepted)
                            && filter
                                .as_deref()
                                .is_some_and(|f| f.parse::<Filter>().is_err())
                        {
                            filter = None;
                        }
                        self.list(
                            kind,
                            filter,
                            text("startIndex"),
                            text("count").filter(|_| !self.has(Break::SearchIgnoresCount)),
                            if self.has(Break::SearchIgnoresAttributes) {
                                None
                            } else {
                                text("attributes")
                            },
                            if self.has(Break::SearchIgnoresAttributes) {
                                None
                            } else {
                                text("excludedAttributes")
                            },
                            (text("sortBy"), text("sortOrder")),
                            text("cursor"),
                        )
                    }
                    ("GET", []) => self.list(
                        kind,
                        q("filter"),
                        q("startIndex"),
                        q("count"),
                        q("attributes"),
                        q("excludedAttributes"),
                        (q("sortBy"), q("sortOrder")),
                        q("cursor"),
                    ),
                    ("GET", [id]) => self.read(
                        kind,
                        id,
                        q("attributes"),
                        q("excludedAttributes"),
                        header("if-none-match"),
                    ),
                    ("PUT", [id]) => {
                        self.replace(kind, id, body.unwrap_or(Value::Null), header("if-match"))
                    }
                    ("PATCH", [id]) => {
                        self.patch(kind, id, body.unwrap_or(Value::Null), header("if-match"))
                    }
                    ("DELETE", [id]) => self.delete(kind, id),
                    _ => self.error(&ScimError::not_found("no such endpoint")),
                }
            }
            _ => self.error(&ScimError::not_found("no such endpoint")),
        }
    }
}

impl Handler {
    fn has(&self, b: Break) -> bool {
        self.breaks.contains(&b)
    }

    fn error(&self, e: &ScimError) -> ResponseTemplate {
        let mut body = e.to_json();
        let obj = body.as_object_mut().unwrap();
        if self.has(Break::ErrorWithoutSchema) {
            obj.remove("schemas");
        }
        if self.has(Break::ErrorStatusNumber) {
            obj.insert("status".into(), json!(e.status()));
        }
        if self.has(Break::ErrorStatusWrong) {
            obj.insert("status".into(), json!("400"));
        }
        if self.has(Break::ErrorJsonContentType) {
            return ResponseTemplate::new(e.status())
                .set_body_raw(serde_json::to_vec(&body).unwrap(), "application/json");
        }
        scim(e.status(), &body)
    }

    fn schema(&self, kind: Kind) -> &ResourceSchema {
        match kind {
            Kind::User => &self.users,
            Kind::Group => &self.groups,
        }
    }

    fn endpoint(kind: Kind) -> &'static str {
        match kind {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }

    fn spc(&self) -> ResponseTemplate {
        let mut body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": true, "maxOperations": 10, "maxPayloadSize": 1048576},
            "filter": {"supported": true, "maxResults": 200},
            "changePassword": {"supported": false},
            "sort": {"supported": true},
            "etag": {"supported": true},
            "pagination": {"cursor": true, "index": true, "defaultPaginationMethod": "index"},
            "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token",
                "description": "Bearer token"}],
            "meta": {"resourceType": "ServiceProviderConfig",
                "location": format!("{}{BASE}/ServiceProviderConfig", self.origin)}
        });
        if self.has(Break::AnnounceNoPatch) {
            body["patch"]["supported"] = json!(false);
        }
        if self.has(Break::AnnounceNoCursor) {
            body.as_object_mut().unwrap().remove("pagination");
        }
        if self.has(Break::AuthSchemeNoType) {
            body["authenticationSchemes"][0]
                .as_object_mut()
                .unwrap()
                .remove("type");
        }
        if self.has(Break::BulkNoLimits) {
            body["bulk"] = json!({"supported": false});
        }
        if self.has(Break::SpcMissingEtag) {
            body.as_object_mut().unwrap().remove("etag");
        }
        if self.has(Break::SpcFlagString) {
            body["sort"]["supported"] = json!("false");
        }
        if self.has(Break::SpcJsonContentType) {
            return ResponseTemplate::new(200)
                .set_body_raw(serde_json::to_vec(&body).unwrap(), "application/json");
        }
        scim(200, &body)
    }

    fn resource_types(&self) -> ResponseTemplate {
        let mut items = vec![
            serde_json::to_value(builtin::user_resource_type()).unwrap(),
            serde_json::to_value(builtin::group_resource_type()).unwrap(),
        ];
        if self.has(Break::ResourceTypeMissingEndpoint) {
            items[1].as_object_mut().unwrap().remove("endpoint");
        }
        if self.has(Break::AnnounceNoGroups) {
            items.truncate(1);
        }
        if self.has(Break::ExtensionNoRequired) {
            items[0]["schemaExtensions"][0]
                .as_object_mut()
                .unwrap()
                .remove("required");
        }
        if self.has(Break::ResourceTypesBareArray) {
            return scim(200, &Value::Array(items));
        }
        scim(200, &list_response(items.len(), 1, items))
    }

    fn schemas(&self) -> ResponseTemplate {
        let mut items: Vec<Value> = vec![
            serde_json::to_value(builtin::user_schema()).unwrap(),
            serde_json::to_value(builtin::group_schema()).unwrap(),
        ];
        if !self.has(Break::SchemasMissingEnterprise) {
            items.push(serde_json::to_value(builtin::enterprise_user_schema()).unwrap());
        }
        // The fake enforces no more than it publishes: displayName is optional on both
        // (RFC 7643 §8.7.1 prints it "required": false), whatever the built-in says.
        for item in items.iter_mut().take(2) {
            for a in item["attributes"].as_array_mut().unwrap() {
                if a["name"] == "displayName" {
                    a["required"] = json!(false);
                }
            }
        }
        if self.has(Break::SchemaUserNameCaseExact) {
            for a in items[0]["attributes"].as_array_mut().unwrap() {
                if a["name"] == "userName" {
                    a["caseExact"] = json!(true);
                }
            }
        }
        if self.has(Break::SchemaAttributeWithoutType) {
            items[0]["attributes"][0]
                .as_object_mut()
                .unwrap()
                .remove("type");
        }
        scim(200, &list_response(items.len(), 1, items))
    }

    fn location(&self, kind: Kind, id: &str) -> String {
        format!("{}{BASE}/{}/{id}", self.origin, Self::endpoint(kind))
    }

    /// The stored form of a resource, ready to be projected for output.
    fn output(
        &self,
        kind: Kind,
        stored: &Value,
        attributes: Option<String>,
        excluded: Option<String>,
        list: bool,
    ) -> Result<Value, ScimError> {
        let mut attributes = attributes;
        let mut excluded = excluded;
        if self.has(Break::AttributesIgnored) || (list && self.has(Break::AttributesIgnoredOnList))
        {
            attributes = None;
        }
        if self.has(Break::ExcludedIgnored) || (list && self.has(Break::ExcludedIgnoredOnList)) {
            excluded = None;
        }
        if self.has(Break::AttributesOnlyFirst) {
            attributes = attributes.map(|a| a.split(',').next().unwrap_or_default().to_string());
        }
        if self.has(Break::ExcludedOnlyFirst) {
            excluded = excluded.map(|a| a.split(',').next().unwrap_or_default().to_string());
        }
        if kind == Kind::Group && self.has(Break::ExcludedMembersIgnored) {
            excluded = None;
        }
        if self.has(Break::SubAttributeWholeComplex) {
            attributes = attributes.map(|a| a.replace("name.givenName", "name"));
        }
        let projection = Projection::from_params(attributes.as_deref(), excluded.as_deref())?;
        let stored = &self.with_groups(kind, stored);
        let resource = Resource::from_value(stored.clone())?;
        let mut out = projection.apply(&resource, self.schema(kind)).into_value();
        let obj = out.as_object_mut().unwrap();
        if self.has(Break::ReturnsPassword)
            && let Some(p) = get_ci(stored, "password")
        {
            obj.insert("password".into(), p.clone());
        }
        if self.has(Break::AttributesDropId) && attributes_requested(&projection) {
            obj.remove("id");
        }
        if self.has(Break::ExcludedRemovesId)
            && excluded
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case("id"))
        {
            obj.remove("id");
        }
        if self.has(Break::NoMeta) {
            obj.remove("meta");
        }
        Ok(out)
    }

    /// A User with its readOnly `groups` computed from the groups' members (RFC 7643 §4.1.2).
    fn with_groups(&self, kind: Kind, stored: &Value) -> Value {
        let mut stored = stored.clone();
        if kind != Kind::User {
            return stored;
        }
        let id = stored["id"].as_str().unwrap_or_default().to_string();
        let obj = stored.as_object_mut().unwrap();
        obj.retain(|k, _| !k.eq_ignore_ascii_case("groups"));
        if !self.has(Break::UserGroupsNotComputed) {
            let groups: Vec<Value> = self
                .state
                .lock()
                .unwrap()
                .groups
                .iter()
                .filter(|g| {
                    g["members"]
                        .as_array()
                        .is_some_and(|m| m.iter().any(|m| m["value"].as_str() == Some(&id)))
                })
                .map(|g| {
                    json!({"value": g["id"].clone(), "display": g["displayName"].clone(),
                        "type": "direct"})
                })
                .collect();
            if !groups.is_empty() {
                obj.insert("groups".into(), Value::Array(groups));
            }
        }
        stored
    }

    fn single(&self, status: u16, kind: Kind, stored: &Value) -> ResponseTemplate {
        let out = match self.output(kind, stored, None, None, false) {
            Ok(v) => v,
            Err(e) => return self.error(&e),
        };
        self.single_out(status, kind, stored, out)
    }

    fn single_out(&self, status: u16, kind: Kind, stored: &Value, out: Value) -> ResponseTemplate {
        let id = stored["id"].as_str().unwrap_or_default().to_string();
        let version = stored["meta"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let out = if status == 201 && self.has(Break::CreateMinimalBody) {
            json!({"schemas": out["schemas"].clone(), "id": out["id"].clone(), "meta": out["meta"].clone()})
        } else {
            out
        };
        let mut t = scim(status, &out);
        if status == 200 && self.has(Break::GetJsonContentType) {
            t = ResponseTemplate::new(200)
                .set_body_raw(serde_json::to_vec(&out).unwrap(), "application/json");
        }
        if status == 201 && self.has(Break::CreateJsonContentType) {
            t = ResponseTemplate::new(201)
                .set_body_raw(serde_json::to_vec(&out).unwrap(), "application/json");
        }
        let mut location = self.location(kind, &id);
        if self.has(Break::LocationMismatch) {
            location = format!("{location}/");
        }
        t = t.insert_header("Location", location.as_str());
        if self.has(Break::EtagUnquoted) {
            t = t.insert_header("ETag", version.trim_start_matches("W/").trim_matches('"'));
        } else if !self.has(Break::EtagHeaderMissing) {
            t = t.insert_header("ETag", version.as_str());
        }
        t
    }

    fn validate(
        &self,
        kind: Kind,
        body: &Value,
        own_id: Option<&str>,
        store: &Store,
    ) -> Result<(), ScimError> {
        if !body.is_object() {
            return Err(ScimError::invalid_syntax("the body is not a JSON object"));
        }
        let schemas = get_ci(body, "schemas").and_then(Value::as_array);
        if self.has(Break::RejectUnknownSchema)
            && schemas.is_some_and(|s| {
                s.iter().any(|u| {
                    u.as_str()
                        .is_some_and(|u| !u.starts_with("urn:ietf:params:scim:"))
                })
            })
        {
            return Err(ScimError::invalid_value("unknown schema"));
        }
        let display_name = get_ci(body, "displayName").and_then(Value::as_str);
        if display_name.is_none()
            && ((kind == Kind::User && self.has(Break::UserDisplayNameEnforced))
                || (kind == Kind::Group && self.has(Break::GroupDisplayNameEnforced)))
        {
            return Err(ScimError::invalid_value("displayName is required"));
        }
        if kind == Kind::User {
            let name = if self.has(Break::CaseSensitiveInput) {
                body.get("userName").and_then(Value::as_str)
            } else {
                get_ci(body, "userName").and_then(Value::as_str)
            };
            let Some(name) = name else {
                if self.has(Break::AcceptMissingUserName) {
                    return Ok(());
                }
                return Err(ScimError::invalid_value("userName is required"));
            };
            if !self.has(Break::NoUniqueness) {
                let clash = store.users.iter().any(|u| {
                    let other = u["userName"].as_str().unwrap_or_default();
                    let same = if self.has(Break::UniquenessCaseSensitive) {
                        other == name
                    } else {
                        other.eq_ignore_ascii_case(name)
                    };
                    same && Some(u["id"].as_str().unwrap_or_default()) != own_id
                });
                if clash {
                    return Err(ScimError::uniqueness(format!("userName {name} is taken")));
                }
            }
        }
        Ok(())
    }

    fn store_form(&self, kind: Kind, body: &Value, id: &str, created: &str, version: u64) -> Value {
        let mut obj: Map<String, Value> = body.as_object().cloned().unwrap_or_default();
        obj.retain(|k, _| !k.eq_ignore_ascii_case("id") && !k.eq_ignore_ascii_case("meta"));
        if self.has(Break::DropExternalId) {
            obj.retain(|k, _| !k.eq_ignore_ascii_case("externalId"));
        }
        if self.has(Break::DropEnterprise) {
            obj.retain(|k, _| !k.starts_with("urn:ietf:params:scim:schemas:extension"));
        }
        if kind == Kind::User {
            obj.retain(|k, _| !k.eq_ignore_ascii_case("groups"));
        }
        if kind == Kind::Group && self.has(Break::GroupDropsMembers) {
            obj.remove("members");
        }
        if self.has(Break::CreateNoSchemas) {
            obj.remove("schemas");
        }
        // Normalise the key case of userName so the fake's own lookups are simple.
        if let Some(k) = obj
            .keys()
            .find(|k| k.eq_ignore_ascii_case("userName") && *k != "userName")
            .cloned()
            && let Some(v) = obj.remove(&k)
        {
            obj.insert("userName".into(), v);
        }
        obj.insert("id".into(), json!(id));
        obj.insert(
            "meta".into(),
            json!({
                "resourceType": if kind == Kind::User { "User" } else { "Group" },
                "created": created,
                "lastModified": now(),
                "location": if self.has(Break::MetaLocationWrong) {
                    format!("{}/wrong", self.location(kind, id))
                } else {
                    self.location(kind, id)
                },
                "version": format!("W/\"{version}\"")
            }),
        );
        if self.has(Break::KeepClientMeta)
            && let Some(created) = body.get("meta").and_then(|m| m.get("created"))
        {
            obj["meta"]["created"] = created.clone();
        }
        Value::Object(obj)
    }

    fn create(&self, kind: Kind, body: Value) -> ResponseTemplate {
        match self.create_stored(kind, &body) {
            Ok(stored) => self.single(201, kind, &stored),
            Err(e) => self.error(&e),
        }
    }

    fn create_stored(&self, kind: Kind, body: &Value) -> Result<Value, ScimError> {
        let body = body.clone();
        let mut store = self.state.lock().unwrap();
        self.validate(kind, &body, None, &store)?;
        store.next += 1;
        let id = match get_ci(&body, "id").and_then(Value::as_str) {
            Some(client) if self.has(Break::UseClientId) => client.to_string(),
            _ => format!("{:08x}-0000-4000-8000-{:012x}", store.next, store.next),
        };
        let stored = self.store_form(kind, &body, &id, &now(), 1);
        match kind {
            Kind::User => store.users.push(stored.clone()),
            Kind::Group => store.groups.push(stored.clone()),
        }
        Ok(stored)
    }

    /// POST /Bulk (RFC 7644 §3.7), for POST and DELETE operations.
    fn bulk(&self, body: &Value) -> ResponseTemplate {
        let ops = body
            .get("Operations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if ops.len() > 10 && !self.has(Break::BulkNoMaxOps) {
            return self.error(&ScimError::payload_too_large(
                "more than maxOperations (10)",
            ));
        }
        let fail_on_errors = body.get("failOnErrors").and_then(Value::as_u64);
        let mut ids: Vec<(String, String)> = Vec::new();
        let mut results = Vec::new();
        let mut errors = 0;
        for op in ops {
            let method = op["method"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let path = op["path"]
                .as_str()
                .unwrap_or_default()
                .trim_start_matches('/')
                .to_string();
            let bulk_id = op["bulkId"].as_str().map(str::to_string);
            let mut data = op.get("data").cloned().unwrap_or(Value::Null);
            if !self.has(Break::BulkIdNotResolved) {
                resolve_bulk_ids(&mut data, &ids);
            }
            let mut segs = path.split('/');
            let kind = match segs.next() {
                Some("Users") => Kind::User,
                Some("Groups") => Kind::Group,
                _ => continue,
            };
            let mut result = json!({"method": method});
            if let Some(b) = &bulk_id {
                result["bulkId"] = json!(b);
            }
            let outcome: Result<(u16, Option<String>), ScimError> = match method.as_str() {
                "POST" => self.create_stored(kind, &data).map(|stored| {
                    let id = stored["id"].as_str().unwrap_or_default().to_string();
                    if let Some(b) = &bulk_id {
                        ids.push((b.clone(), id.clone()));
                    }
                    (201, Some(self.location(kind, &id)))
                }),
                "DELETE" => {
                    let id = segs.next().unwrap_or_default().to_string();
                    let mut store = self.state.lock().unwrap();
                    match Self::find(&store, kind, &id) {
                        Some(i) => {
                            match kind {
                                Kind::User => store.users.remove(i),
                                Kind::Group => store.groups.remove(i),
                            };
                            Ok((204, None))
                        }
                        None => Err(ScimError::not_found(format!("{id} not found"))),
                    }
                }
                _ => Err(ScimError::bad_request("unsupported bulk method")),
            };
            match outcome {
                Ok((status, location)) => {
                    if !self.has(Break::BulkStatusMissing) {
                        result["status"] = json!(status.to_string());
                    }
                    if let Some(l) = location {
                        result["location"] = json!(l);
                    }
                }
                Err(e) => {
                    errors += 1;
                    result["status"] = json!(e.status().to_string());
                    result["response"] = e.to_json();
                }
            }
            results.push(result);
            if let Some(max) = fail_on_errors
                && errors >= max
                && !self.has(Break::BulkIgnoresFailOnErrors)
            {
                break;
            }
        }
        scim(
            200,
            &json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
                "Operations": results
            }),
        )
    }

    fn find(store: &Store, kind: Kind, id: &str) -> Option<usize> {
        let coll = match kind {
            Kind::User => &store.users,
            Kind::Group => &store.groups,
        };
        coll.iter().position(|r| r["id"].as_str() == Some(id))
    }

    fn read(
        &self,
        kind: Kind,
        id: &str,
        attributes: Option<String>,
        excluded: Option<String>,
        if_none_match: Option<String>,
    ) -> ResponseTemplate {
        let store = self.state.lock().unwrap();
        let Some(i) = Self::find(&store, kind, id) else {
            return self.error(&ScimError::not_found(format!("{id} not found")));
        };
        let stored = match kind {
            Kind::User => store.users[i].clone(),
            Kind::Group => store.groups[i].clone(),
        };
        drop(store);
        if let Some(tag) = if_none_match
            && !self.has(Break::IfNoneMatchIgnored)
            && stored["meta"]["version"].as_str() == Some(tag.as_str())
        {
            return ResponseTemplate::new(304);
        }
        let mut out = match self.output(kind, &stored, attributes, excluded, false) {
            Ok(v) => v,
            Err(e) => return self.error(&e),
        };
        if self.has(Break::ReadOmitsUserName) {
            out.as_object_mut().unwrap().remove("userName");
            out.as_object_mut().unwrap().remove("displayName");
        }
        self.single_out(200, kind, &stored, out)
    }

    fn precondition(&self, stored: &Value, if_match: Option<String>) -> Result<(), ScimError> {
        if if_match.is_some() && self.has(Break::IfMatchAlways412) {
            return Err(ScimError::precondition_failed("version mismatch"));
        }
        if let Some(tag) = if_match
            && !self.has(Break::IfMatchIgnored)
            && tag != "*"
            && stored["meta"]["version"].as_str() != Some(tag.as_str())
        {
            return Err(ScimError::precondition_failed("version mismatch"));
        }
        Ok(())
    }

    fn bump(&self, stored: &Value) -> u64 {
        let current: u64 = stored["meta"]["version"]
            .as_str()
            .unwrap_or("W/\"1\"")
            .trim_start_matches("W/\"")
            .trim_end_matches('"')
            .parse()
            .unwrap_or(1);
        if self.has(Break::VersionNotBumped) {
            current
        } else {
            current + 1
        }
    }

    fn replace(
        &self,
        kind: Kind,
        id: &str,
        body: Value,
        if_match: Option<String>,
    ) -> ResponseTemplate {
        let mut store = self.state.lock().unwrap();
        let Some(i) = Self::find(&store, kind, id) else {
            if self.has(Break::PutUnknownCreates) {
                drop(store);
                return self.create(kind, body);
            }
            return self.error(&ScimError::not_found(format!("{id} not found")));
        };
        let old = match kind {
            Kind::User => store.users[i].clone(),
            Kind::Group => store.groups[i].clone(),
        };
        if let Err(e) = self.precondition(&old, if_match) {
            return self.error(&e);
        }
        if let Err(e) = self.validate(kind, &body, Some(id), &store) {
            return self.error(&e);
        }
        if kind == Kind::User && self.has(Break::UserGroupsWritable) {
            let ids = get_ci(&body, "groups").cloned().unwrap_or_default();
            join_groups(&mut store, id, &ids);
        }
        let new_id = match get_ci(&body, "id").and_then(Value::as_str) {
            Some(other) if self.has(Break::PutChangesId) => other.to_string(),
            _ => id.to_string(),
        };
        let created = old["meta"]["created"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let stored = if self.has(Break::PutIgnored) {
            old
        } else {
            self.store_form(kind, &body, &new_id, &created, self.bump(&old))
        };
        match kind {
            Kind::User => store.users[i] = stored.clone(),
            Kind::Group => store.groups[i] = stored.clone(),
        }
        drop(store);
        self.single(200, kind, &stored)
    }

    fn patch(
        &self,
        kind: Kind,
        id: &str,
        body: Value,
        if_match: Option<String>,
    ) -> ResponseTemplate {
        let mut store = self.state.lock().unwrap();
        let Some(i) = Self::find(&store, kind, id) else {
            if self.has(Break::PatchUnknown204) {
                return ResponseTemplate::new(204);
            }
            return self.error(&ScimError::not_found(format!("{id} not found")));
        };
        let old = match kind {
            Kind::User => store.users[i].clone(),
            Kind::Group => store.groups[i].clone(),
        };
        if let Err(e) = self.precondition(&old, if_match) {
            return self.error(&e);
        }
        if kind == Kind::User && self.has(Break::UserGroupsWritable) {
            for op in body["Operations"].as_array().cloned().unwrap_or_default() {
                if op["path"]
                    .as_str()
                    .is_some_and(|p| p.eq_ignore_ascii_case("groups"))
                {
                    join_groups(&mut store, id, &op["value"]);
                }
            }
        }
        if kind == Kind::Group
            && let Some((missing, member)) = absent_member_replace(&old, &body)
        {
            if !self.has(Break::ReplaceNoMatchAddsMember) {
                return self.error(&ScimError::no_target(format!(
                    "no member matches value eq \"{missing}\" (RFC 7644 §3.5.2.3)"
                )));
            }
            // What a server that treats the value filter as a template does.
            let mut patched = old.clone();
            match patched.get_mut("members").and_then(Value::as_array_mut) {
                Some(m) => m.push(member),
                None => patched["members"] = json!([member]),
            }
            patched["meta"]["version"] = json!(format!("W/\"{}\"", self.bump(&old)));
            store.groups[i] = patched.clone();
            drop(store);
            return self.single(200, kind, &patched);
        }
        let body = self.break_patch(kind, body);
        let options = PatchOptions {
            op_any_case: !self.has(Break::OpCaseSensitive),
            boolean_strings: !self.has(Break::BooleanStringsRejected),
            manager_shorthand: !self.has(Break::ManagerShorthandRejected),
            filter_add_creates: !self.has(Break::FilterAddCreatesOff),
            remove_by_value: !self.has(Break::RemoveByValueOff),
            ..PatchOptions::default()
        };
        let mut resource = match Resource::from_value(old.clone()) {
            Ok(r) => r,
            Err(e) => return self.error(&e),
        };
        let ops: Vec<Value> = body
            .get("Operations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let result = if self.has(Break::PatchNotAtomic) {
            // Applies operations one at a time and keeps what succeeded.
            let mut last = Ok(());
            for op in ops {
                let one = json!({"schemas": body["schemas"].clone(), "Operations": [op]});
                let applied = PatchRequest::from_json(one)
                    .and_then(|req| apply_patch(&mut resource, self.schema(kind), &req, &options));
                if let Err(e) = applied {
                    last = Err(e);
                    break;
                }
            }
            last
        } else {
            PatchRequest::from_json(body)
                .and_then(|req| apply_patch(&mut resource, self.schema(kind), &req, &options))
                .map(|_| ())
        };
        let mut patched = resource.into_value();
        let version = self.bump(&old);
        patched["meta"]["version"] = json!(format!("W/\"{version}\""));
        patched["meta"]["lastModified"] = json!(now());
        if self.has(Break::PatchNotAtomic) || result.is_ok() {
            match kind {
                Kind::User => store.users[i] = patched.clone(),
                Kind::Group => store.groups[i] = patched.clone(),
            }
        }
        drop(store);
        match result {
            Ok(()) if self.has(Break::Patch200EmptyBody) => scim(200, &json!({})),
            Ok(()) => self.single(200, kind, &patched),
            Err(e) => {
                if (self.has(Break::RemoveNoPathOk)
                    || self.has(Break::InvalidPathOk)
                    || self.has(Break::NoTargetOk))
                    && e.scim_type().is_some()
                {
                    return ResponseTemplate::new(204);
                }
                self.error(&e)
            }
        }
    }

    /// Rewrites a PATCH body to simulate a broken server.
    fn break_patch(&self, kind: Kind, body: Value) -> Value {
        let Some(ops) = body.get("Operations").and_then(Value::as_array) else {
            return body;
        };
        let mut out = Vec::new();
        for op in ops {
            let name = op["op"].as_str().unwrap_or_default().to_ascii_lowercase();
            let path = op["path"].as_str().unwrap_or_default().to_string();
            let mut op = op.clone();
            if self.has(Break::UnknownOpIgnored)
                && !["add", "replace", "remove"].contains(&name.as_str())
            {
                op["op"] = json!("replace");
            }
            if self.has(Break::PatchIdIgnored) && path.eq_ignore_ascii_case("id") {
                continue;
            }
            if self.has(Break::SubAttrAddReplacesComplex) && path == "name.givenName" {
                // Overwrites the whole complex attribute instead of the one sub-attribute.
                out.push(json!({"op": "remove", "path": "name"}));
                op = json!({"op": "add", "path": "name", "value": {"givenName": op["value"].clone()}});
            }
            if self.has(Break::ReplaceMultiAppends)
                && name == "replace"
                && path.eq_ignore_ascii_case("emails")
            {
                op["op"] = json!("add");
            }
            if kind == Kind::Group
                && self.has(Break::ReplaceMembersAppends)
                && name == "replace"
                && path.eq_ignore_ascii_case("members")
            {
                op["op"] = json!("add");
            }
            if self.has(Break::PatchAddIgnored) && name == "add" && !path.is_empty() {
                continue;
            }
            if self.has(Break::PatchReplaceIgnored) && name == "replace" && !path.is_empty() {
                continue;
            }
            if self.has(Break::PatchRemoveIgnored) && name == "remove" && !path.contains('[') {
                continue;
            }
            if self.has(Break::PatchPathlessIgnored) && path.is_empty() && name != "remove" {
                continue;
            }
            if self.has(Break::PatchValuePathNoop) && path.contains('[') {
                continue;
            }
            if self.has(Break::PatchAddReplacesMulti)
                && name == "add"
                && path.eq_ignore_ascii_case("emails")
            {
                op["op"] = json!("replace");
            }
            if kind == Kind::Group
                && self.has(Break::AddMemberReplacesAll)
                && name == "add"
                && path.eq_ignore_ascii_case("members")
            {
                op["op"] = json!("replace");
            }
            if kind == Kind::Group
                && self.has(Break::RemoveMemberRemovesAll)
                && name == "remove"
                && path.to_ascii_lowercase().starts_with("members")
            {
                op = json!({"op": "remove", "path": "members"});
            }
            out.push(op);
        }
        let mut body = body.clone();
        body["Operations"] = Value::Array(out);
        body
    }

    fn delete(&self, kind: Kind, id: &str) -> ResponseTemplate {
        let mut store = self.state.lock().unwrap();
        let Some(i) = Self::find(&store, kind, id) else {
            if self.has(Break::DeleteUnknown204) {
                return ResponseTemplate::new(204);
            }
            return self.error(&ScimError::not_found(format!("{id} not found")));
        };
        if !self.has(Break::DeleteKeeps) {
            match kind {
                Kind::User => store.users.remove(i),
                Kind::Group => store.groups.remove(i),
            };
            // Deleting a user removes it from groups.
            if kind == Kind::User && !self.has(Break::DeleteKeepsMemberships) {
                for g in &mut store.groups {
                    if let Some(members) = g.get_mut("members").and_then(Value::as_array_mut) {
                        members.retain(|m| m["value"].as_str() != Some(id));
                    }
                }
            }
        }
        if self.has(Break::DeleteReturns200) {
            return scim(200, &json!({}));
        }
        ResponseTemplate::new(204)
    }

    fn break_filter(&self, f: &str) -> String {
        let mut f = f.to_string();
        if self.has(Break::SwAsEq) {
            f = f.replace(" sw ", " eq ");
        }
        if self.has(Break::CoAsSw) {
            f = f.replace(" co ", " sw ");
        }
        if self.has(Break::EwAsSw) {
            f = f.replace(" ew ", " sw ");
        }
        if self.has(Break::NeAsEq) {
            f = f.replace(" ne ", " eq ");
        }
        for (b, from, to) in [
            (Break::GtAsGe, " gt ", " ge "),
            (Break::GeAsGt, " ge ", " gt "),
            (Break::LtAsLe, " lt ", " le "),
            (Break::LeAsLt, " le ", " lt "),
            (Break::BooleanFilterIgnored, "active eq false", "active pr"),
            (Break::BooleanTrueIgnored, "active eq true", "active pr"),
            (
                Break::DateFilterIgnored,
                "meta.lastModified gt",
                "meta.lastModified pr and userName gt",
            ),
            (Break::DottedPathIgnored, "emails.value", "userName"),
            (Break::OrAsAnd, " or ", " and "),
            (Break::AndAsOr, " and ", " or "),
        ] {
            if self.has(b) {
                f = f.replace(from, to);
            }
        }
        if self.has(Break::PrAlwaysTrue) {
            f = f.replace("title pr", "id pr");
        }
        if self.has(Break::MemberFilterIgnored)
            && let Some(a) = f.find("members[")
            && let Some(b) = f[a..].find(']')
        {
            f = format!("{}members pr{}", &f[..a], &f[a + b + 1..]);
        }
        if self.has(Break::NotIgnored) {
            f = f.replace("not (", "(");
        }
        if self.has(Break::ParenthesesIgnored) {
            f = f.replace(['(', ')'], "");
        }
        if self.has(Break::LeftToRightPrecedence)
            && !f.contains('(')
            && let Some(i) = f.find(" and ")
            && f[..i].contains(" or ")
        {
            f = format!("({}){}", &f[..i], &f[i..]);
        }
        if self.has(Break::ValuePathFilterIgnored)
            && let (Some(a), Some(b)) = (f.find("emails["), f.find(']'))
        {
            f = format!("{}emails pr{}", &f[..a], &f[b + 1..]);
        }
        f
    }

    #[allow(clippy::too_many_arguments)]
    fn list(
        &self,
        kind: Kind,
        filter: Option<String>,
        start: Option<String>,
        count: Option<String>,
        attributes: Option<String>,
        excluded: Option<String>,
        sort: (Option<String>, Option<String>),
        cursor: Option<String>,
    ) -> ResponseTemplate {
        let all: Vec<Value> = {
            let store = self.state.lock().unwrap();
            match kind {
                Kind::User => store.users.clone(),
                Kind::Group => store.groups.clone(),
            }
        };
        // Filters see the computed User.groups (RFC 7643 §4.1.2) as clients do.
        let all: Vec<Value> = all.iter().map(|r| self.with_groups(kind, r)).collect();
        let schema = self.schema(kind);
        if filter.is_none() && self.has(Break::ListRequiresFilter) {
            return self.error(&ScimError::invalid_filter("a filter is required"));
        }
        if let Some(by) = &sort.0
            && by.eq_ignore_ascii_case("password")
            && !self.has(Break::SortByPasswordAccepted)
        {
            return self.error(&ScimError::invalid_value(
                "password is returned never (RFC 7643 §4.1.1); it cannot order results",
            ));
        }
        if let Some(f) = &filter {
            if self.has(Break::UnindexedFilter400) && unindexed(f) {
                return self.error(&ScimError::invalid_filter(
                    "the filter cannot be evaluated efficiently",
                ));
            }
            if self.has(Break::ValuePathSubAttrRejected) && f.contains("].") {
                return self.error(&ScimError::invalid_filter(
                    "a value path cannot be followed by a sub-attribute",
                ));
            }
        }
        let filter = filter.map(|f| entra_value_path(&f));
        let mut matched: Vec<Value> = all.clone();
        if let Some(f) = filter.clone().filter(|_| !self.has(Break::FilterIgnored)) {
            if self.has(Break::FilterAttrCaseSensitive) && f.contains("USERNAME") {
                return self.error(&ScimError::invalid_filter("unknown attribute USERNAME"));
            }
            if self.has(Break::FilterOpCaseSensitive) && f.contains(" EQ ") {
                return self.error(&ScimError::invalid_filter("unknown operator EQ"));
            }
            let f = self.break_filter(&f);
            let parsed = f.parse::<Filter>().and_then(|p| p.compile(schema));
            match parsed {
                Ok(compiled) => {
                    matched.retain(|r| {
                        let Ok(res) = Resource::from_value(r.clone()) else {
                            return false;
                        };
                        if self.has(Break::ExternalIdCaseInsensitive)
                            && let Some(rest) = f.strip_prefix("externalId eq \"")
                        {
                            return r["externalId"].as_str().is_some_and(|x| {
                                x.eq_ignore_ascii_case(rest.trim_end_matches('"'))
                            });
                        }
                        if self.has(Break::FilterCaseSensitive)
                            && let Some(rest) = f.strip_prefix("userName eq \"")
                        {
                            return r["userName"].as_str() == Some(rest.trim_end_matches('"'));
                        }
                        compiled.matches(&res)
                    });
                }
                Err(e) => {
                    if self.has(Break::InvalidFilterAccepted) {
                        matched.clear();
                    } else {
                        return self.error(&e);
                    }
                }
            }
        }
        if matched.is_empty() && filter.is_some() && self.has(Break::NoMatch404) {
            return self.error(&ScimError::not_found("no such user"));
        }
        let total = if self.has(Break::TotalBeforeFilter) {
            all.len()
        } else {
            matched.len()
        };
        let mut start_index: i64 = start.and_then(|s| s.parse().ok()).unwrap_or(1);
        if start_index < 1 {
            if self.has(Break::StartIndexZero400) {
                return self.error(&ScimError::bad_request("startIndex must be 1 or more"));
            }
            start_index = 1;
        }
        if self.has(Break::IgnoreStartIndex) {
            start_index = 1;
        }
        let mut count: Option<i64> = count.and_then(|c| c.parse().ok());
        if let Some(c) = count {
            if c < 0 {
                if self.has(Break::NegativeCount400) {
                    return self.error(&ScimError::bad_request("count must not be negative"));
                }
                count = Some(0);
            }
            if c > 50 && self.has(Break::CountOver50Rejected) {
                return self.error(&ScimError::too_many("count above 50"));
            }
            if c == 0 && self.has(Break::CountZeroReturnsAll) {
                count = None;
            }
        }
        if self.has(Break::IgnoreCount) {
            count = None;
        }
        let (sort_by, sort_order) = sort;
        let descending = sort_order.is_some_and(|o| o.eq_ignore_ascii_case("descending"))
            && !self.has(Break::SortOrderIgnored);
        let sort_key = |r: &Value, by: &str| -> String {
            let v = by
                .split('.')
                .try_fold(r, |v, name| get_ci(v, name))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if self.has(Break::SortCaseSensitive) {
                v.to_string()
            } else {
                v.to_lowercase()
            }
        };
        if let Some(by) = sort_by.as_deref().filter(|_| !self.has(Break::SortIgnored)) {
            matched.sort_by(|a, b| {
                let o = sort_key(a, by).cmp(&sort_key(b, by));
                if descending { o.reverse() } else { o }
            });
        }
        let mut skip = usize::try_from(start_index - 1).unwrap_or(0);
        // Cursor paging (RFC 9865 §2): the fake's cursors are "off<offset>".
        if let Some(c) = &cursor {
            skip = if c.is_empty() {
                0
            } else if let Some(off) = c.strip_prefix("off").and_then(|o| o.parse().ok()) {
                off
            } else if self.has(Break::InvalidCursorAccepted) {
                0
            } else {
                return self.error(&ScimError::with_type(
                    scim_core::error::ScimType::InvalidCursor,
                    format!("cursor {c} was not issued by this server"),
                ));
            };
        }
        let page: Vec<Value> = matched
            .iter()
            .skip(skip)
            .take(count.map_or(usize::MAX, |c| usize::try_from(c).unwrap_or(0)))
            .cloned()
            .collect();
        let mut out = Vec::new();
        for r in &page {
            match self.output(kind, r, attributes.clone(), excluded.clone(), true) {
                Ok(v) => out.push(v),
                Err(e) => return self.error(&e),
            }
        }
        let total = if self.has(Break::TotalIsPageSize) {
            out.len()
        } else {
            total
        };
        let shown_start = if self.has(Break::StartIndexZeroBased) {
            start_index - 1
        } else {
            start_index
        };
        let end = skip + out.len();
        let mut body = list_response(total, usize::try_from(shown_start).unwrap_or(1), out);
        if cursor.is_some() {
            body.as_object_mut().unwrap().remove("startIndex");
            if end < matched.len() && !self.has(Break::CursorNoNext) {
                let next = if self.has(Break::CursorOverlaps) {
                    end - 1
                } else {
                    end
                };
                body["nextCursor"] = json!(format!("off{next}"));
            }
        }
        if self.has(Break::ItemsPerPageWrong) {
            body["itemsPerPage"] = json!(total);
        }
        if self.has(Break::ListOmitsTotalResults) {
            body.as_object_mut().unwrap().remove("totalResults");
        }
        scim(200, &body)
    }
}

/// Adds user `id` to the members of each group in `groups` (`[{"value": group id}]`): what a
/// server that wrongly treats User.groups as writable does.
fn join_groups(store: &mut Store, id: &str, groups: &Value) {
    for g in groups.as_array().into_iter().flatten() {
        let Some(gid) = g["value"].as_str() else {
            continue;
        };
        for group in store
            .groups
            .iter_mut()
            .filter(|x| x["id"].as_str() == Some(gid))
        {
            match group.get_mut("members").and_then(Value::as_array_mut) {
                Some(m) => m.push(json!({"value": id})),
                None => group["members"] = json!([{"value": id}]),
            }
        }
    }
}

/// A SearchRequest parameter (RFC 7644 §3.4.3) as the query-string text it stands for.
fn search_param(b: &Value, k: &str) -> Option<String> {
    get_ci(b, k).and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(a) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => None,
    })
}

impl Handler {
    /// POST /.search at the root (RFC 7644 §3.4.3): the search applies to all resource types.
    fn root_search(&self, body: &Value) -> ResponseTemplate {
        let filter = search_param(body, "filter");
        let kinds: &[Kind] = if self.has(Break::RootSearchUsersOnly) {
            &[Kind::User]
        } else {
            &[Kind::User, Kind::Group]
        };
        let mut matched: Vec<(Kind, Value)> = Vec::new();
        let mut failures = Vec::new();
        for &kind in kinds {
            let all = {
                let store = self.state.lock().unwrap();
                match kind {
                    Kind::User => store.users.clone(),
                    Kind::Group => store.groups.clone(),
                }
            };
            match &filter {
                None => matched.extend(all.into_iter().map(|r| (kind, r))),
                Some(f) => match f
                    .parse::<Filter>()
                    .and_then(|p| p.compile(self.schema(kind)))
                {
                    Ok(c) => matched.extend(
                        all.into_iter()
                            .filter(|r| {
                                Resource::from_value(r.clone()).is_ok_and(|res| c.matches(&res))
                            })
                            .map(|r| (kind, r)),
                    ),
                    Err(e) => failures.push(e),
                },
            }
        }
        if failures.len() == kinds.len()
            && let Some(e) = failures.pop()
        {
            return self.error(&e);
        }
        let total = matched.len();
        let start: usize = search_param(body, "startIndex")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
            .max(1);
        let count: usize = search_param(body, "count")
            .and_then(|s| s.parse().ok())
            .unwrap_or(usize::MAX);
        let mut out = Vec::new();
        for (kind, r) in matched.iter().skip(start - 1).take(count) {
            match self.output(
                *kind,
                r,
                search_param(body, "attributes"),
                search_param(body, "excludedAttributes"),
                true,
            ) {
                Ok(v) => out.push(v),
                Err(e) => return self.error(&e),
            }
        }
        let body = list_response(total, start, out);
        if self.has(Break::RootSearchJsonContentType) {
            return ResponseTemplate::new(200)
                .set_body_raw(serde_json::to_vec(&body).unwrap(), "application/json");
        }
        scim(200, &body)
    }
}

fn resolve_bulk_ids(v: &mut Value, ids: &[(String, String)]) {
    match v {
        Value::String(s) => {
            if let Some(b) = s.strip_prefix("bulkId:")
                && let Some((_, id)) = ids.iter().find(|(k, _)| k == b)
            {
                *s = id.clone();
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| resolve_bulk_ids(x, ids)),
        Value::Object(o) => o.values_mut().for_each(|x| resolve_bulk_ids(x, ids)),
        _ => {}
    }
}

fn attributes_requested(p: &Projection) -> bool {
    !p.attributes.is_empty()
}

fn list_response(total: usize, start: usize, items: Vec<Value>) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": items.len(),
        "Resources": items
    })
}
