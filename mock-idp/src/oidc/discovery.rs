//! `GET /oidc/.well-known/openid-configuration` (and `/oauth-authorization-server`).
//!
//! Logto's discovery document, keys in the order of Logto's own snapshot test, listing only
//! what this mock implements (the README lists every difference from Logto's document).

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::claims;
use crate::state::IdpState;

#[derive(Serialize)]
struct Discovery {
    authorization_endpoint: String,
    authorization_response_iss_parameter_supported: bool,
    claim_types_supported: [&'static str; 1],
    claims_parameter_supported: bool,
    claims_supported: &'static [&'static str],
    code_challenge_methods_supported: [&'static str; 1],
    end_session_endpoint: String,
    grant_types_supported: &'static [&'static str],
    id_token_signing_alg_values_supported: [&'static str; 1],
    introspection_endpoint: String,
    issuer: String,
    jwks_uri: String,
    request_uri_parameter_supported: bool,
    response_modes_supported: [&'static str; 1],
    response_types_supported: [&'static str; 1],
    revocation_endpoint: String,
    scopes_supported: &'static [&'static str],
    subject_types_supported: [&'static str; 1],
    token_endpoint: String,
    token_endpoint_auth_methods_supported: [&'static str; 3],
    userinfo_endpoint: String,
}

/// The grant types the token endpoint serves.
pub(crate) const GRANT_TYPES: &[&str] =
    &["authorization_code", "refresh_token", "client_credentials"];

pub(crate) async fn openid_configuration(State(state): State<IdpState>) -> Response {
    let issuer = state.issuer();
    let document = Discovery {
        authorization_endpoint: format!("{issuer}/auth"),
        authorization_response_iss_parameter_supported: true,
        claim_types_supported: ["normal"],
        claims_parameter_supported: false,
        claims_supported: claims::CLAIMS,
        code_challenge_methods_supported: ["S256"],
        end_session_endpoint: format!("{issuer}/session/end"),
        grant_types_supported: GRANT_TYPES,
        id_token_signing_alg_values_supported: [state.keys().alg().as_str()],
        introspection_endpoint: format!("{issuer}/token/introspection"),
        jwks_uri: format!("{issuer}/jwks"),
        request_uri_parameter_supported: false,
        response_modes_supported: ["query"],
        response_types_supported: ["code"],
        revocation_endpoint: format!("{issuer}/token/revocation"),
        scopes_supported: claims::SCOPES,
        subject_types_supported: ["public"],
        token_endpoint: format!("{issuer}/token"),
        token_endpoint_auth_methods_supported: [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        userinfo_endpoint: format!("{issuer}/me"),
        issuer,
    };
    let mut response = axum::Json(document).into_response();
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}
