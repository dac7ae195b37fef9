//! A small, mostly correct SCIM service provider on wiremock, built on scim-core, that can be
//! told to break one rule at a time ([`Break`]). It answers only what the checks ask: discovery,
//! Users and Groups with create, read, list (filter, paging, projection), replace, patch, delete
//! and ETags.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use scim_core::schema::ResourceSchema;
use scim_core::{Filter, ScimError, builtin};
use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

mod discovery;
mod list;
mod render;
mod rules;
mod writes;
use list::{attributes_requested, list_response, search_param};
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
    pub(super) fn has(&self, b: Break) -> bool {
        self.breaks.contains(&b)
    }

    pub(super) fn error(&self, e: &ScimError) -> ResponseTemplate {
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

    pub(super) fn schema(&self, kind: Kind) -> &ResourceSchema {
        match kind {
            Kind::User => &self.users,
            Kind::Group => &self.groups,
        }
    }

    pub(super) fn endpoint(kind: Kind) -> &'static str {
        match kind {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }
}
