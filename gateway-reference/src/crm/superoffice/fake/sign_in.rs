//! The fake's sign-in side: the system user sign-in service and the OAuth token endpoint.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::{APP_TOKEN, CLIENT_ID, CUSTOMER_ID, REFRESH_TOKEN, SYSTEM_USER_TOKEN, Shared, lock};
use super::{
    OAuthCredentials, PartnerKey, PublicKey, SuperOfficeAuth, SuperOfficeConfig,
    SystemUserCredentials, TICKET_CLAIM, WEBAPI_URL_CLAIM, sign_jwt,
};

impl super::FakeSuperOffice {
    /// Enables the sign-in service and token endpoint: `partner_public_key` (PEM) verifies
    /// the signed system user tokens, `signer` (a PEM private key) signs the JWTs.
    pub fn enable_sign_in(&self, partner_public_key: &str, signer: &str) {
        let mut s = lock(&self.state);
        s.sign_in.partner_key = Some(
            PublicKey::parse(partner_public_key)
                .unwrap_or_else(|e| panic!("fake SuperOffice: the partner key: {e}")),
        );
        s.sign_in.signer = Some(
            PartnerKey::parse(signer)
                .unwrap_or_else(|e| panic!("fake SuperOffice: the signing key: {e}")),
        );
    }

    /// A system user flow configuration with `private_key` (and, to verify the JWT,
    /// `certificate`).
    pub fn system_user_config(
        &self,
        private_key: &str,
        certificate: Option<&str>,
    ) -> SuperOfficeConfig {
        let mut c = self.config();
        c.auth = SuperOfficeAuth::SystemUser(SystemUserCredentials {
            login_url: self.base_url(),
            system_user_token: SYSTEM_USER_TOKEN.into(),
            app_token: APP_TOKEN.into(),
            private_key: private_key.into(),
            context_identifier: CUSTOMER_ID.into(),
            jwt_certificate: certificate.map(str::to_string),
        });
        c
    }

    /// An OAuth refresh-token flow configuration.
    pub fn oauth_config(&self) -> SuperOfficeConfig {
        let mut c = self.config();
        c.auth = SuperOfficeAuth::OAuth(OAuthCredentials {
            login_url: self.base_url(),
            client_id: CLIENT_ID.into(),
            client_secret: APP_TOKEN.into(),
            refresh_token: REFRESH_TOKEN.into(),
        });
        c
    }

    /// Refuses (`true`) or accepts every sign-in from now on.
    pub fn refuse_sign_in(&self, refuse: bool) {
        lock(&self.state).sign_in.refuse = refuse;
    }

    /// The `expires_in` of the access tokens it issues (default 3600).
    pub fn set_expires_in(&self, secs: u64) {
        lock(&self.state).sign_in.expires_in = secs;
    }

    /// Every ticket and access token it issued stops working (they expired): the Web API
    /// answers 401 to them.
    pub fn expire_issued(&self) {
        lock(&self.state).sign_in.issued.clear();
    }

    /// System user sign-ins received (accepted or not).
    pub fn system_user_sign_ins(&self) -> u64 {
        lock(&self.state).sign_in.system_user_sign_ins
    }

    /// Refresh-token grants received (accepted or not).
    pub fn refreshes(&self) -> u64 {
        lock(&self.state).sign_in.refreshes
    }

    /// The last `SignedSystemToken` it was sent.
    pub fn last_signed_token(&self) -> Option<String> {
        lock(&self.state).sign_in.last_signed_token.clone()
    }
}

/// How far the signed token's timestamp may be from the fake's clock.
const CLOCK_SKEW_MINUTES: i64 = 5;

fn refused(message: impl Into<String>) -> Response {
    Json(serde_json::json!({
        "IsSuccessful": false, "ErrorMessage": message.into(), "Token": null,
    }))
    .into_response()
}

/// Why the signed system user token is refused, if it is.
fn check_signed_token(signed: &str, key: &super::PublicKey) -> Result<(), String> {
    let (data, sig) = signed
        .rsplit_once('.')
        .ok_or("the signed token has no signature")?;
    let (token, stamp) = data
        .rsplit_once('.')
        .ok_or("the signed token has no timestamp")?;
    if token != SYSTEM_USER_TOKEN {
        return Err("unknown system user token".into());
    }
    if stamp.len() != 12 {
        return Err("the timestamp is not yyyyMMddHHmm".into());
    }
    let at = chrono::NaiveDateTime::parse_from_str(&format!("{stamp}00"), "%Y%m%d%H%M%S")
        .map_err(|_| "the timestamp is not yyyyMMddHHmm")?
        .and_utc();
    if (chrono::Utc::now() - at).num_minutes().abs() > CLOCK_SKEW_MINUTES {
        return Err("the timestamp is not the current UTC time".into());
    }
    let sig = B64.decode(sig).map_err(|_| "the signature is not base64")?;
    if !key.verify(data.as_bytes(), &sig) {
        return Err("the signature does not verify with the application's public key".into());
    }
    Ok(())
}

/// `POST /Login/api/PartnerSystemUser/Authenticate`.
pub(super) async fn system_user(
    State(state): State<Shared>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let mut s = lock(&state);
    s.sign_in.system_user_sign_ins += 1;
    let field = |name: &str| body.get(name).and_then(|v| v.as_str()).unwrap_or("");
    s.sign_in.last_signed_token = Some(field("SignedSystemToken").to_string());
    let (Some(key), Some(signer)) = (&s.sign_in.partner_key, &s.sign_in.signer) else {
        return refused("the sign-in service is not enabled");
    };
    if s.sign_in.refuse {
        return refused("the application's access to this customer was revoked");
    }
    if field("ApplicationToken") != APP_TOKEN {
        return refused("unknown application token");
    }
    if field("ContextIdentifier") != CUSTOMER_ID {
        return refused("unknown context identifier");
    }
    if !field("ReturnTokenType").eq_ignore_ascii_case("jwt") {
        return refused("only JWT is served");
    }
    if let Err(why) = check_signed_token(field("SignedSystemToken"), key) {
        return refused(why);
    }
    let ticket = format!("7T:fake-ticket-{}", s.sign_in.system_user_sign_ins);
    let claims = serde_json::json!({
        TICKET_CLAIM: ticket,
        WEBAPI_URL_CLAIM: format!("{}/{CUSTOMER_ID}/api/", s.base_url),
        "http://schemes.superoffice.net/identity/ctx": CUSTOMER_ID,
    });
    let jwt = match sign_jwt(&claims, signer) {
        Ok(j) => j,
        Err(e) => return super::error(StatusCode::INTERNAL_SERVER_ERROR, "Error", e.0),
    };
    s.sign_in.issued.push(ticket);
    Json(serde_json::json!({"IsSuccessful": true, "ErrorMessage": "", "Token": jwt}))
        .into_response()
}

/// `POST /login/common/oauth/tokens` (the refresh-token grant).
pub(super) async fn tokens(State(state): State<Shared>, body: String) -> Response {
    let mut s = lock(&state);
    s.sign_in.refreshes += 1;
    let form: std::collections::HashMap<String, String> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let grant_error = |error: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": error, "error_description": "refused by the fake"})),
        )
            .into_response()
    };
    if get("grant_type") != "refresh_token" {
        return grant_error("unsupported_grant_type");
    }
    if get("client_id") != CLIENT_ID || get("client_secret") != APP_TOKEN {
        return grant_error("invalid_client");
    }
    if s.sign_in.refuse || get("refresh_token") != REFRESH_TOKEN {
        return grant_error("invalid_grant");
    }
    let access = format!("8A:{CUSTOMER_ID}.fake-access-{}", s.sign_in.refreshes);
    s.sign_in.issued.push(access.clone());
    Json(serde_json::json!({
        "access_token": access, "token_type": "Bearer", "expires_in": s.sign_in.expires_in,
    }))
    .into_response()
}
