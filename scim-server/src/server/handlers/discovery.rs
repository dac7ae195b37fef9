//! Discovery endpoints (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`.
//!
//! RFC 7644 §4: "When returning multiple ResourceTypes or Schemas, the message form described
//! by the "urn:ietf:params:scim:api:messages:2.0:ListResponse" (ListResponse) form SHALL be
//! used. ... Query parameters such as filtering, sorting, and pagination SHALL be ignored.
//! If a "filter" is provided, the service provider SHOULD respond with HTTP status code 403
//! (Forbidden) to ensure that clients cannot incorrectly assume that any matching conditions
//! specified in a filter are true."

use http::StatusCode;
use scim_core::ScimError;
use scim_core::messages::ListResponse;
use scim_core::schema::{
    AuthenticationScheme, BulkConfig, FilterConfig, Meta, PaginationConfig, PaginationMethod,
    RESOURCE_TYPE_SCHEMA, SCHEMA_SCHEMA, ServiceProviderConfig, Supported,
};
use serde_json::{Value, json};

use super::Ctx;
use crate::server::Inner;
use crate::server::request::query_param;
use crate::server::response::{self, ScimResponse};

fn refuse_filter(ctx: &Ctx) -> Result<(), ScimError> {
    if query_param(&ctx.query, "filter").is_some_and(|f| !f.trim().is_empty()) {
        return Err(ScimError::new(
            403,
            None,
            "filters are not supported on discovery endpoints (RFC 7644 §4)",
        ));
    }
    Ok(())
}

fn to_value<T: serde::Serialize>(v: &T) -> Result<Value, ScimError> {
    serde_json::to_value(v).map_err(|e| ScimError::internal(format!("serialisation failed: {e}")))
}

/// What this server supports, truthfully (RFC 7643 §5, RFC 9865 §4).
pub(crate) fn service_provider_config_value(
    inner: &Inner,
    base_url: &str,
) -> ServiceProviderConfig {
    ServiceProviderConfig {
        patch: Supported { supported: true },
        bulk: BulkConfig {
            supported: inner.bulk_max_operations > 0,
            max_operations: inner.bulk_max_operations as u64,
            max_payload_size: inner.bulk_max_payload_size as u64,
        },
        filter: FilterConfig {
            supported: true,
            max_results: inner.limits.max_page_size,
        },
        change_password: Supported { supported: false },
        sort: Supported { supported: true },
        etag: Supported { supported: true },
        authentication_schemes: vec![AuthenticationScheme::oauth_bearer_token()],
        pagination: Some(PaginationConfig {
            cursor: true,
            index: true,
            default_pagination_method: Some(PaginationMethod::Index),
            default_page_size: Some(inner.default_page_size),
            max_page_size: Some(inner.limits.max_page_size),
            cursor_timeout: None,
        }),
        meta: Some(Meta {
            resource_type: Some("ServiceProviderConfig".into()),
            location: Some(format!("{base_url}/ServiceProviderConfig")),
            ..Meta::default()
        }),
        ..ServiceProviderConfig::default()
    }
}

/// GET /ServiceProviderConfig.
pub(crate) fn service_provider_config(inner: &Inner, ctx: &Ctx) -> Result<ScimResponse, ScimError> {
    refuse_filter(ctx)?;
    let spc = service_provider_config_value(inner, &ctx.base_url);
    Ok(response::json(StatusCode::OK, &to_value(&spc)?))
}

fn with_meta(mut v: Value, resource_type: &str, location: String, schema: &str) -> Value {
    if let Value::Object(o) = &mut v {
        if !o.contains_key("schemas") || o["schemas"].as_array().is_none_or(Vec::is_empty) {
            o.insert("schemas".into(), json!([schema]));
        }
        o.insert(
            "meta".into(),
            json!({"resourceType": resource_type, "location": location}),
        );
    }
    v
}

fn list(items: Vec<Value>) -> Result<ScimResponse, ScimError> {
    let total = items.len();
    let list = ListResponse::page(total, 1, items);
    Ok(response::json(StatusCode::OK, &to_value(&list)?))
}

/// GET /ResourceTypes[/{name}] (RFC 7643 §6).
pub(crate) fn resource_types(
    inner: &Inner,
    ctx: &Ctx,
    name: Option<&str>,
) -> Result<ScimResponse, ScimError> {
    refuse_filter(ctx)?;
    let render = |rt: &scim_core::schema::ResourceType| -> Result<Value, ScimError> {
        let mut rt = rt.clone();
        if rt.id.is_none() {
            rt.id = Some(rt.name.clone());
        }
        let location = format!("{}/ResourceTypes/{}", ctx.base_url, rt.name);
        Ok(with_meta(
            to_value(&rt)?,
            "ResourceType",
            location,
            RESOURCE_TYPE_SCHEMA,
        ))
    };
    match name {
        Some(name) => {
            let rt = inner
                .registry
                .resource_types()
                .find(|rt| {
                    rt.name.eq_ignore_ascii_case(name)
                        || rt
                            .id
                            .as_deref()
                            .is_some_and(|i| i.eq_ignore_ascii_case(name))
                })
                .ok_or_else(|| ScimError::not_found(format!("no resource type {name:?}")))?;
            Ok(response::json(StatusCode::OK, &render(rt)?))
        }
        None => list(
            inner
                .registry
                .resource_types()
                .map(render)
                .collect::<Result<_, _>>()?,
        ),
    }
}

/// GET /Schemas[/{urn}] (RFC 7643 §7).
pub(crate) fn schemas(
    inner: &Inner,
    ctx: &Ctx,
    urn: Option<&str>,
) -> Result<ScimResponse, ScimError> {
    refuse_filter(ctx)?;
    let render = |s: &scim_core::schema::Schema| -> Result<Value, ScimError> {
        let location = format!("{}/Schemas/{}", ctx.base_url, s.id);
        Ok(with_meta(to_value(s)?, "Schema", location, SCHEMA_SCHEMA))
    };
    match urn {
        Some(urn) => {
            let s = inner
                .registry
                .schema(urn)
                .ok_or_else(|| ScimError::not_found(format!("no schema {urn:?}")))?;
            Ok(response::json(StatusCode::OK, &render(s)?))
        }
        None => list(
            inner
                .registry
                .schemas()
                .map(render)
                .collect::<Result<_, _>>()?,
        ),
    }
}
