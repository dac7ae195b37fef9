//! Routing: from a path below the tenant to an endpoint (RFC 7644 §3.2).

use http::Method;
use scim_core::ScimError;
use scim_core::schema::{ResourceSchema, SchemaRegistry};

use super::request::decode_segment;

/// An endpoint; a resource type is named by its name in the registry (`'r`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route<'r> {
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
    Collection(&'r str),
    /// `POST /{endpoint}/.search`.
    Search(&'r str),
    /// `/{endpoint}/{id}`.
    Resource(&'r str, String),
}

impl Route<'_> {
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

fn resource_type<'r>(registry: &'r SchemaRegistry, segment: &str) -> Option<&'r str> {
    registry.by_endpoint(segment).map(ResourceSchema::name)
}

/// Routes `path` (below the tenant, e.g. `/Users/42`); unknown endpoints are 404. No
/// endpoint has more than two segments, so a path is read without collecting its segments.
pub(crate) fn route<'r>(registry: &'r SchemaRegistry, path: &str) -> Result<Route<'r>, ScimError> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let trimmed = trimmed.strip_suffix('/').unwrap_or(trimmed);
    let mut segments = [None, None];
    if !trimmed.is_empty() {
        let mut split = trimmed.split('/');
        for slot in &mut segments {
            if let Some(s) = split.next() {
                // An empty segment (`//`) names no endpoint.
                let decoded = decode_segment(s).filter(|d| !d.is_empty());
                *slot = Some(decoded.ok_or_else(|| not_found(path))?);
            }
        }
        if split.next().is_some() {
            return Err(not_found(path));
        }
    }
    let is = |s: &str, name: &str| s.eq_ignore_ascii_case(name);
    let route = match segments {
        [Some(a), None] if is(&a, "ServiceProviderConfig") || is(&a, "ServiceProviderConfigs") => {
            Route::ServiceProviderConfig
        }
        [Some(a), None] if is(&a, "ResourceTypes") => Route::ResourceTypes(None),
        [Some(a), Some(name)] if is(&a, "ResourceTypes") => {
            Route::ResourceTypes(Some(name.into_owned()))
        }
        [Some(a), None] if is(&a, "Schemas") => Route::Schemas(None),
        [Some(a), Some(urn)] if is(&a, "Schemas") => Route::Schemas(Some(urn.into_owned())),
        [Some(a), None] if is(&a, "Me") => Route::Me,
        [Some(a), None] if a == ".search" => Route::RootSearch,
        [Some(a), None] if is(&a, "Bulk") => Route::Bulk,
        [Some(a), None] => {
            Route::Collection(resource_type(registry, &a).ok_or_else(|| not_found(path))?)
        }
        [Some(a), Some(b)] if b == ".search" => {
            Route::Search(resource_type(registry, &a).ok_or_else(|| not_found(path))?)
        }
        [Some(a), Some(id)] => Route::Resource(
            resource_type(registry, &a).ok_or_else(|| not_found(path))?,
            id.into_owned(),
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
        assert_eq!(route(&r, "/Users").unwrap(), Route::Collection("User"));
        assert_eq!(route(&r, "/Users/").unwrap(), Route::Collection("User"));
        assert_eq!(
            route(&r, "/groups/abc").unwrap(),
            Route::Resource("Group", "abc".into())
        );
        assert_eq!(
            route(&r, "/Groups/.search").unwrap(),
            Route::Search("Group")
        );
        assert_eq!(
            route(&r, "/Users/a%20b%2Fc").unwrap(),
            Route::Resource("User", "a b/c".into())
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
        for bad in [
            "",
            "/",
            "/Nope",
            "/Users/a/b",
            "/Users//x",
            "/Users/%zz",
            "/Users/%+f",
        ] {
            assert_eq!(route(&r, bad).unwrap_err().status(), 404, "{bad}");
        }
        assert!(Route::Collection("User").allows(&Method::POST));
        assert!(!Route::Collection("User").allows(&Method::DELETE));
        assert!(Route::ServiceProviderConfig.allows(&Method::HEAD));
    }
}
