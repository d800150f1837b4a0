//! The OIDC provider, at Logto's paths (node-oidc-provider mounted at `/oidc`).
//!
//! One module per endpoint, as node-oidc-provider is organised: [`discovery`], [`jwks`],
//! [`auth`] (the authorization endpoint, its checks in `auth/checks.rs`, and its resume),
//! [`token`] (one file per `grant_type`), [`userinfo`] (`/oidc/me`), [`revocation`],
//! [`introspection`], [`end_session`] (sign-out). [`error`] is Logto's error
//! shape; [`store`] what the provider remembers; [`claims`] which claims each scope releases.

pub(crate) mod auth;
pub(crate) mod claims;
pub(crate) mod client_auth;
pub(crate) mod discovery;
pub(crate) mod end_session;
pub mod error;
pub(crate) mod introspection;
pub(crate) mod jwks;
pub(crate) mod params;
pub(crate) mod revocation;
pub(crate) mod store;
pub(crate) mod token;
pub(crate) mod userinfo;

use axum::Router;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::state::IdpState;
use error::OidcError;

/// Cookie holding the IdP session id.
pub(crate) const SESSION_COOKIE: &str = "_session";

/// Lifetimes (Logto's defaults).
pub(crate) mod ttl {
    /// Authorization code: 60 s.
    pub const CODE: i64 = 60;
    /// Access token: 3600 s.
    pub const ACCESS_TOKEN: i64 = 3600;
    /// Interaction: 3600 s.
    pub const INTERACTION: i64 = 3600;
    /// Session: 14 days.
    pub const SESSION: i64 = 14 * 24 * 3600;
    /// Refresh token: 14 days.
    pub const REFRESH_TOKEN: i64 = 14 * 24 * 3600;

    pub(crate) use crate::clock::after;
}

/// The `/oidc` routes.
pub(crate) fn router() -> Router<IdpState> {
    Router::new()
        .route(
            "/oidc/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route(
            "/oidc/.well-known/oauth-authorization-server",
            get(discovery::openid_configuration),
        )
        .route("/oidc/jwks", get(jwks::jwks))
        .route(
            "/oidc/auth",
            get(auth::authorize_get).post(auth::authorize_post),
        )
        .route("/oidc/auth/{uid}", get(auth::resume))
        .route("/oidc/token", post(token::token))
        .route(
            "/oidc/me",
            get(userinfo::userinfo_get).post(userinfo::userinfo_post),
        )
        .route("/oidc/token/revocation", post(revocation::revocation))
        .route(
            "/oidc/token/introspection",
            post(introspection::introspection),
        )
        .route(
            "/oidc/session/end",
            get(end_session::end_session_get).post(end_session::end_session_post),
        )
        .route("/oidc/session/end/confirm", post(end_session::confirm))
        .route("/oidc/session/end/success", get(end_session::success))
}

/// node-oidc-provider's answer for an unknown route or method (404, `invalid_request`).
pub(crate) async fn invalid_route(method: Method, uri: Uri) -> Response {
    OidcError::unknown_route(format!(
        "unrecognized route or not allowed method ({method} on {})",
        uri.path()
    ))
    .into_response()
}
