//! `POST /Bulk` (RFC 7644 §3.7).
//!
//! Each operation runs through the same handlers as a single request
//! ([`resource::create`] for POST, [`resource::dispatch`] for PUT, PATCH and DELETE), with a
//! request context built from the operation (method, `version` as `If-Match`) instead of an
//! HTTP request; the handlers' answers become the operation's `status`, `location`,
//! `version` and, on failure, `response`.
//!
//! - Limits (RFC 7644 §3.7.4): more than `maxOperations` operations, or a body larger than
//!   `maxPayloadSize` bytes, is 413 with both limits in `detail`, as the RFC's example.
//! - Order (RFC 7644 §3.7.2): operations run in the order of
//!   [`BulkRequest::plan`](scim_core::messages::BulkRequest::plan): request order, except
//!   that an operation runs after the POSTs whose `bulkId`s it references; each
//!   `bulkId:xyz` is replaced with the id the POST created.
//! - Circular references (RFC 7644 §3.7.1: "The service provider MUST try to resolve
//!   circular cross-references between resources in a single bulk job but MAY stop after a
//!   failed attempt and instead return HTTP status code 409 (Conflict)"): the POSTs on a
//!   cycle are created without the top-level attributes that name a not yet created
//!   `bulkId`, then each is replaced (PUT) with its complete data; the operation reports
//!   the POST's 201 and the final version. When that fails, the resource is deleted again
//!   and the operation fails with 409. Operations that depend on a cycle run after it.
//! - An operation whose reference cannot be resolved (an undefined `bulkId`, or one whose
//!   POST failed) fails with 409 Conflict, the error of scim-core's
//!   [`UnresolvedOperation::error`](scim_core::messages::UnresolvedOperation::error).
//! - `failOnErrors` (RFC 7644 §3.7.3): after that many failed operations, processing stops
//!   and the response lists the operations performed so far.
//! - `status` is a string (`"201"`), as in the RFC's examples. A successful PUT or PATCH
//!   reports `"200"` (the RFC's examples) and carries no `response`: RFC 7644 §3.7 "For
//!   normal completion, the server MAY elect to omit the response body."

use std::collections::HashMap;

use http::header::{ETAG, IF_MATCH, LOCATION};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_body_util::BodyExt;
use scim_core::ScimError;
use scim_core::messages::{
    BulkMethod, BulkOperation, BulkOperationResponse, BulkRequest, BulkResponse,
};
use serde_json::Value;

use super::{Ctx, resource};
use crate::server::Inner;
use crate::server::request::parse_json;
use crate::server::response::{self, ScimResponse};
use crate::server::routing::{self, Route};

/// The 413 of RFC 7644 §3.7.4; `detail` carries both limits as the RFC's example does
/// (`{"maxOperations": 1000,"maxPayloadSize": 1048576}`).
pub(crate) fn too_large(inner: &Inner, what: &str) -> ScimError {
    crate::server::layers::bulk_too_large(
        what,
        inner.bulk_max_operations,
        inner.bulk_max_payload_size,
    )
}

/// POST /Bulk.
pub(crate) async fn bulk(inner: &Inner, ctx: &Ctx, body: &[u8]) -> Result<ScimResponse, ScimError> {
    if inner.bulk_max_operations == 0 {
        return Err(ScimError::not_implemented(
            "bulk operations are not supported (see /ServiceProviderConfig: bulk.supported is false)",
        ));
    }
    let value = parse_json(body)?;
    // Count before reading the operations, so that an oversized request is refused cheaply.
    let count = scim_core::resource::get_ci(
        value
            .as_object()
            .ok_or_else(|| ScimError::invalid_syntax("a BulkRequest must be a JSON object"))?,
        "Operations",
    )
    .and_then(Value::as_array)
    .map_or(0, Vec::len);
    if count > inner.bulk_max_operations {
        return Err(too_large(
            inner,
            &format!(
                "the bulk request has {count} operations, more than maxOperations ({})",
                inner.bulk_max_operations
            ),
        ));
    }
    let req = BulkRequest::from_value(value)?;
    req.validate()?;
    let plan = req.plan();
    let mut run_state = Progress {
        created: HashMap::new(),
        results: Vec::with_capacity(req.operations.len()),
        errors: 0,
        limit: req.fail_on_errors.map(|n| n.max(1) as usize),
    };
    'run: {
        for &index in &plan.order {
            let Some(op) = req.operations.get(index) else {
                continue;
            };
            let result = run(inner, ctx, op, &run_state.created).await;
            if run_state.push(op, result) {
                break 'run;
            }
        }
        if plan.unresolved.is_empty() {
            break 'run;
        }
        // RFC 7644 §3.7.1: "The service provider MUST try to resolve circular
        // cross-references between resources in a single bulk job". Each POST on a cycle
        // is created without the attributes that name unresolved bulkIds, then, once all
        // of them exist, replaced (PUT) with its complete data.
        let mut pending: Vec<usize> = Vec::new();
        let mut fix_up: Vec<(usize, BulkOperationResponse)> = Vec::new();
        let mut stopped = false;
        for u in &plan.unresolved {
            let Some(op) = req.operations.get(u.index) else {
                continue;
            };
            if !(u.circular && u.undefined.is_empty() && op.method == BulkMethod::Post) {
                pending.push(u.index);
                continue;
            }
            let created = &run_state.created;
            let mut first = op.clone();
            if let Some(Value::Object(data)) = first.data.as_mut() {
                data.retain(|_, v| {
                    scim_core::messages::bulk_id_refs(v)
                        .iter()
                        .all(|b| created.contains_key(*b))
                });
            }
            let result = run(inner, ctx, &first, created).await;
            match result.location.as_deref().and_then(last_segment) {
                Some(id) if result.is_success() => {
                    if let Some(b) = &op.bulk_id {
                        run_state.created.insert(b.clone(), id);
                    }
                    fix_up.push((u.index, result));
                }
                _ => {
                    if run_state.push(op, result) {
                        stopped = true;
                        break;
                    }
                }
            }
        }
        for (index, created) in fix_up {
            let Some(op) = req.operations.get(index) else {
                continue;
            };
            if stopped {
                // failOnErrors was reached: nothing half-made stays behind.
                discard(inner, ctx, op, &created).await;
                continue;
            }
            let result = complete_cycle(inner, ctx, op, created, &run_state.created).await;
            if !result.is_success() {
                if let Some(b) = &op.bulk_id {
                    run_state.created.remove(b);
                }
            }
            stopped = run_state.push(op, result);
        }
        if stopped {
            break 'run;
        }
        // What depended on the cycles can run now, in dependency order.
        loop {
            let ready = pending.iter().position(|&i| {
                req.operations.get(i).is_some_and(|op| {
                    op.bulk_id_refs()
                        .iter()
                        .all(|b| run_state.created.contains_key(*b))
                })
            });
            let Some(at) = ready else { break };
            let index = pending.remove(at);
            let Some(op) = req.operations.get(index) else {
                continue;
            };
            let result = run(inner, ctx, op, &run_state.created).await;
            if run_state.push(op, result) {
                break 'run;
            }
        }
        for u in plan
            .unresolved
            .iter()
            .filter(|u| pending.contains(&u.index))
        {
            let Some(op) = req.operations.get(u.index) else {
                continue;
            };
            let result = failure(inner, ctx, op, &u.error());
            if run_state.push(op, result) {
                break 'run;
            }
        }
    }
    let body = serde_json::to_value(BulkResponse::new(run_state.results))
        .map_err(|e| ScimError::internal(format!("serialisation failed: {e}")))?;
    Ok(response::json(StatusCode::OK, &body))
}

/// The results so far, the ids created per `bulkId`, and the `failOnErrors` count.
struct Progress {
    created: HashMap<String, String>,
    results: Vec<BulkOperationResponse>,
    errors: usize,
    limit: Option<usize>,
}

impl Progress {
    /// Records a result; `true` when `failOnErrors` is reached (RFC 7644 §3.7.3).
    fn push(&mut self, op: &BulkOperation, result: BulkOperationResponse) -> bool {
        if result.is_success() {
            if let (BulkMethod::Post, Some(bulk_id), Some(id)) = (
                op.method,
                &op.bulk_id,
                result.location.as_deref().and_then(last_segment),
            ) {
                self.created.insert(bulk_id.clone(), id);
            }
        } else {
            self.errors += 1;
        }
        self.results.push(result);
        self.limit.is_some_and(|n| self.errors >= n)
    }
}

/// Deletes a resource created for a cycle that will not be completed.
async fn discard(inner: &Inner, ctx: &Ctx, op: &BulkOperation, created: &BulkOperationResponse) {
    if let Some(id) = created.location.as_deref().and_then(last_segment) {
        let path = format!("{}/{id}", op.path.trim_end_matches('/'));
        let delete = BulkOperation::new(BulkMethod::Delete, path);
        if let Err(e) = execute(inner, ctx, &delete).await {
            tracing::warn!(
                detail = e.detail(),
                "a bulk resource of an unresolved cycle could not be deleted"
            );
        }
    }
}

/// The second step for a POST on a circular reference, created without its references:
/// a PUT of its complete data. On failure the resource is deleted again and the operation
/// fails with 409 (RFC 7644 §3.7.1).
async fn complete_cycle(
    inner: &Inner,
    ctx: &Ctx,
    op: &BulkOperation,
    created: BulkOperationResponse,
    ids: &HashMap<String, String>,
) -> BulkOperationResponse {
    let Some(id) = created.location.as_deref().and_then(last_segment) else {
        return created;
    };
    let path = format!("{}/{id}", op.path.trim_end_matches('/'));
    let mut put = op.clone();
    put.method = BulkMethod::Put;
    put.bulk_id = None;
    put.path = path.clone();
    let replaced = run(inner, ctx, &put, ids).await;
    if replaced.is_success() {
        let mut r = created;
        r.version = replaced.version;
        return r;
    }
    let detail = replaced
        .response
        .as_ref()
        .and_then(|r| r.get("detail"))
        .and_then(Value::as_str)
        .unwrap_or("the resource could not be completed")
        .to_string();
    discard(inner, ctx, op, &created).await;
    failure(
        inner,
        ctx,
        op,
        &ScimError::conflict(format!(
            "the circular bulkId reference could not be resolved: {detail}"
        )),
    )
}

/// The id at the end of a resource URL.
fn last_segment(location: &str) -> Option<String> {
    location
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The failed result of `op`; `location` is given except for a POST (RFC 7644 §3.7:
/// "REQUIRED in a response, except in the event of a POST failure").
fn failure(inner: &Inner, ctx: &Ctx, op: &BulkOperation, e: &ScimError) -> BulkOperationResponse {
    let mut r = BulkOperationResponse::failure(op.method, e);
    if let Some(b) = &op.bulk_id {
        r = r.with_bulk_id(b.clone());
    }
    if op.method != BulkMethod::Post {
        if let Ok(Route::Resource(rt, id)) = route_of(inner, ctx, &op.path) {
            if let Ok(schema) = inner.schema(rt) {
                r = r.with_location(ctx.location(schema, &id));
            }
        }
    }
    r
}

/// Routes an operation's `path`: relative to the tenant's SCIM root (`/Users/42`), or the
/// absolute URL of it.
fn route_of<'r>(inner: &'r Inner, ctx: &Ctx, path: &str) -> Result<Route<'r>, ScimError> {
    let relative = path.strip_prefix(ctx.base_url.as_str()).unwrap_or(path);
    routing::route(&inner.registry, relative)
}

/// Runs one operation after replacing its `bulkId` references.
async fn run(
    inner: &Inner,
    ctx: &Ctx,
    op: &BulkOperation,
    created: &HashMap<String, String>,
) -> BulkOperationResponse {
    let mut resolved = op.clone();
    if let Err(e) = resolved.substitute_bulk_ids(|b| created.get(b).cloned()) {
        return failure(inner, ctx, op, &e);
    }
    match execute(inner, ctx, &resolved).await {
        Ok(mut r) => {
            if let Some(b) = &op.bulk_id {
                r = r.with_bulk_id(b.clone());
            }
            r
        }
        Err(e) => failure(inner, ctx, &resolved, &e),
    }
}

/// Runs a resolved operation through the single-resource handlers.
async fn execute(
    inner: &Inner,
    ctx: &Ctx,
    op: &BulkOperation,
) -> Result<BulkOperationResponse, ScimError> {
    let route = route_of(inner, ctx, &op.path)?;
    let mut headers = HeaderMap::new();
    if let Some(version) = op.version.as_deref() {
        let v = HeaderValue::from_str(version.trim()).map_err(|_| {
            ScimError::invalid_value(format!("version {version:?} is not a valid ETag"))
        })?;
        headers.insert(IF_MATCH, v);
    }
    let method = match op.method {
        BulkMethod::Post => Method::POST,
        BulkMethod::Put => Method::PUT,
        BulkMethod::Patch => Method::PATCH,
        BulkMethod::Delete => Method::DELETE,
    };
    if matches!(op.method, BulkMethod::Put | BulkMethod::Patch) {
        // No body is returned for a successful operation, so none is rendered.
        headers.insert("prefer", HeaderValue::from_static("return=minimal"));
    }
    let sub = Ctx {
        tenant: ctx.tenant.clone(),
        auth: ctx.auth.clone(),
        base_url: ctx.base_url.clone(),
        method,
        headers,
        query: Vec::new(),
    };
    let body = match &op.data {
        Some(d) => serde_json::to_vec(d)
            .map_err(|e| ScimError::internal(format!("serialisation failed: {e}")))?,
        None => Vec::new(),
    };
    let (res, location) = match (op.method, route) {
        (BulkMethod::Post, Route::Collection(rt)) => {
            (resource::create(inner, &sub, rt, &body).await?, None)
        }
        (BulkMethod::Put | BulkMethod::Patch | BulkMethod::Delete, Route::Resource(rt, id)) => {
            let location = ctx.location(inner.schema(rt)?, &id);
            let res = resource::dispatch(inner, &sub, rt, &id, &body).await?;
            (res, Some(location))
        }
        (BulkMethod::Post, _) => {
            return Err(ScimError::invalid_path(format!(
                "a bulk POST must target a resource type endpoint such as /Users, not {:?}",
                op.path
            )));
        }
        (_, _) => {
            return Err(ScimError::invalid_path(format!(
                "a bulk {} must target a resource such as /Users/{{id}}, not {:?}",
                op.method, op.path
            )));
        }
    };
    Ok(outcome(op.method, res, location).await)
}

/// A handler's answer as an operation result.
async fn outcome(
    method: BulkMethod,
    res: ScimResponse,
    location: Option<String>,
) -> BulkOperationResponse {
    let (parts, body) = res.into_parts();
    let header = |name| {
        parts
            .headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let location = location.or_else(|| header(LOCATION));
    let mut status = parts.status.as_u16();
    let mut r = if parts.status.is_success() {
        if matches!(method, BulkMethod::Put | BulkMethod::Patch) && status == 204 {
            status = 200;
        }
        BulkOperationResponse::success(method, status)
    } else {
        let bytes = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let mut r = BulkOperationResponse::success(method, status);
        r.response = serde_json::from_slice(&bytes).ok();
        r
    };
    if let Some(l) = location {
        r = r.with_location(l);
    }
    if let Some(v) = header(ETAG) {
        r = r.with_version(v);
    }
    r
}
