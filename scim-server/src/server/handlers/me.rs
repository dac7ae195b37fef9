//! `/Me` (RFC 7644 §3.11): "a URI alias for the User or other resource associated with the
//! currently authenticated subject".
//!
//! When the authenticator names a subject ([`AuthContext::subject`](crate::auth::AuthContext)),
//! `/Me` is an alias of `/Users/{subject}` for GET, PUT, PATCH and DELETE. Without a subject
//! (bearer tokens of a provisioning client have none), and for POST, the answer is 501 Not
//! Implemented, as §3.11 allows: "If the service provider does not support the /Me
//! authentication alias, an HTTP status 501 (Not Implemented) SHOULD be returned".

use http::Method;
use scim_core::ScimError;

use super::Ctx;
use super::resource;
use crate::server::Inner;
use crate::server::response::ScimResponse;

pub(crate) async fn me(inner: &Inner, ctx: &Ctx, body: &[u8]) -> Result<ScimResponse, ScimError> {
    let Some(subject) = ctx.auth.subject.as_deref() else {
        return Err(ScimError::not_implemented(
            "/Me is not available: the credential is not associated with a resource",
        ));
    };
    if ctx.method == Method::POST {
        return Err(ScimError::not_implemented(
            "creating a resource through /Me is not supported",
        ));
    }
    let users = inner
        .registry
        .by_core_schema(scim_core::schema::USER_SCHEMA)
        .map(|s| s.name().to_string())
        .ok_or_else(|| ScimError::not_implemented("/Me is not available: no User resource type"))?;
    resource::dispatch(inner, ctx, &users, subject, body).await
}
