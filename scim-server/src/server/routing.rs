//! Routing: from a path below the tenant to an endpoint (RFC 7644 §3.2).

use http::Method;
use scim_core::ScimError;
use scim_core::schema::{ResourceSchema, SchemaRegistry};

use super::request::decode_segment;

/// An endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/ServiceProviderConfig`.
    ServiceProviderConfig,
    /// `/ResourceTypes` or `/ResourceTypes/{name}`.
    ResourceTypes(Option<String>),
    /// `/Schemas` or `/Schemas/{urn}`.
    Schemas(Option<String>),
    /// `/Me`.
    Me,
    /// `POST /.search`.
    RootSearch,
    /// `/Bulk`.
    Bulk,
    /// `/{endpoint}` of a resource type (its name).
    Collection(String),
    /// `POST /{endpoint}/.search`.
    Search(String),
    /// `/{endpoint}/{id}`.
    Resource(String, String),
}

impl Route {
    /// The methods the endpoint answers.
    pub(crate) fn allowed(&self) -> &'static [&'static str] {
        match self {
            Route::ServiceProviderConfig | Route::ResourceTypes(_) | Route::Schemas(_) => &["GET"],
            Route::RootSearch | Route::Search(_) | Route::Bulk => &["POST"],
            Route::Collection(_) => &["GET", "POST"],
            Route::Resource(..) => &["GET", "PUT", "PATCH", "DELETE"],
            Route::Me => &["GET", "POST", "PUT", "PATCH", "DELETE"],
        }
    }

    /// Is `method` allowed (HEAD counts as GET)?
    pub(crate) fn allows(&self, method: &Method) -> bool {
        let m = if method == Method::HEAD {
            "GET"
        } else {
            method.as_str()
        };
        self.allowed().contains(&m)
    }
}

fn not_found(path: &str) -> ScimError {
    ScimError::not_found(format!("no SCIM endpoint at {path:?}"))
}

fn resource_type(registry: &SchemaRegistry, segment: &str) -> Option<String> {
    registry
        .by_endpoint(segment)
        .map(|s: &ResourceSchema| s.name().to_string())
}

/// Routes `path` (below the tenant, e.g. `/Users/42`); unknown endpoints are 404.
pub(crate) fn route(registry: &SchemaRegistry, path: &str) -> Result<Route, ScimError> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    let raw: Vec<&str> = if trimmed.is_empty() {
        Vec::new()
    } else {
        trimmed.split('/').collect()
    };
    let mut segments = Vec::with_capacity(raw.len());
    for s in raw {
        if s.is_empty() {
            return Err(not_found(path));
        }
        segments.push(decode_segment(s).ok_or_else(|| not_found(path))?);
    }
    let is = |s: &String, name: &str| s.eq_ignore_ascii_case(name);
    let route = match segments.as_slice() {
        [a] if is(a, "ServiceProviderConfig") || is(a, "ServiceProviderConfigs") => {
            Route::ServiceProviderConfig
        }
        [a] if is(a, "ResourceTypes") => Route::ResourceTypes(None),
        [a, name] if is(a, "ResourceTypes") => Route::ResourceTypes(Some(name.clone())),
        [a] if is(a, "Schemas") => Route::Schemas(None),
        [a, urn] if is(a, "Schemas") => Route::Schemas(Some(urn.clone())),
        [a] if is(a, "Me") => Route::Me,
        [a] if a == ".search" => Route::RootSearch,
        [a] if is(a, "Bulk") => Route::Bulk,
        [a] => Route::Collection(resource_type(registry, a).ok_or_else(|| not_found(path))?),
        [a, b] if b == ".search" => {
            Route::Search(resource_type(registry, a).ok_or_else(|| not_found(path))?)
        }
        [a, id] => Route::Resource(
            resource_type(registry, a).ok_or_else(|| not_found(path))?,
            id.clone(),
        ),
        _ => return Err(not_found(path)),
    };
    Ok(route)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let r = SchemaRegistry::with_builtins();
        assert_eq!(
            route(&r, "/Users").unwrap(),
            Route::Collection("User".into())
        );
        assert_eq!(
            route(&r, "/Users/").unwrap(),
            Route::Collection("User".into())
        );
        assert_eq!(
            route(&r, "/groups/abc").unwrap(),
            Route::Resource("Group".into(), "abc".into())
        );
        assert_eq!(
            route(&r, "/Groups/.search").unwrap(),
            Route::Search("Group".into())
        );
        assert_eq!(route(&r, "/.search").unwrap(), Route::RootSearch);
        assert_eq!(
            route(&r, "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").unwrap(),
            Route::Schemas(Some("urn:ietf:params:scim:schemas:core:2.0:User".into()))
        );
        assert_eq!(
            route(&r, "/ResourceTypes").unwrap(),
            Route::ResourceTypes(None)
        );
        for bad in ["", "/", "/Nope", "/Users/a/b", "/Users//x", "/Users/%zz"] {
            assert_eq!(route(&r, bad).unwrap_err().status(), 404, "{bad}");
        }
        assert!(Route::Collection("User".into()).allows(&Method::POST));
        assert!(!Route::Collection("User".into()).allows(&Method::DELETE));
        assert!(Route::ServiceProviderConfig.allows(&Method::HEAD));
    }
}
