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

use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard};

use axum::Router;
use axum::http::{HeaderMap, Method, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::clock::Clock;
use crate::connector::postmark::PostmarkConnector;
use crate::events::Events;
use crate::experience::engine::ExperienceStore;
use crate::keys::Keys;
use crate::rng::SeededRng;
use crate::tenant::Tenant;
use error::OidcError;
use store::OidcStore;

/// Cookie holding the interaction uid between `/oidc/auth` and its resume.
pub(crate) const INTERACTION_COOKIE: &str = "_interaction";
/// Cookie holding the IdP session id.
pub(crate) const SESSION_COOKIE: &str = "_session";
/// nanoid's alphabet: what oidc-provider's codes and tokens are made of.
pub(crate) const NANOID: &[u8] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-";

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

    /// `secs` seconds after `now`, saturating at the end of representable time instead of
    /// panicking (lifetimes come from the tenant; the clock from the test).
    pub fn after(now: time::OffsetDateTime, secs: i64) -> time::OffsetDateTime {
        now.saturating_add(time::Duration::seconds(secs))
    }
}

/// Everything the provider's handlers share.
#[derive(Clone)]
pub(crate) struct IdpState(Arc<Inner>);

pub(crate) struct Inner {
    pub tenant: RwLock<Tenant>,
    pub keys: Keys,
    pub store: OidcStore,
    /// The sign-in experience's state per interaction.
    pub experience: ExperienceStore,
    /// The Postmark email connector, when the tenant configures one.
    pub connector: Option<PostmarkConnector>,
    /// The inbox page of the IdP's own fake Postmark (linked from the code page).
    pub inbox_url: Option<String>,
    pub clock: Clock,
    pub rng: SeededRng,
    pub events: Events,
    /// The origin every URL is built from (`--public-url`, or the bound address).
    pub origin: String,
}

impl std::ops::Deref for IdpState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl IdpState {
    pub(crate) fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// `{origin}/oidc`, without a trailing slash (clients compare it byte for byte).
    pub(crate) fn issuer(&self) -> String {
        format!("{}/oidc", self.origin)
    }

    pub(crate) fn tenant(&self) -> RwLockReadGuard<'_, Tenant> {
        self.tenant.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// A random string of `len` nanoid characters (codes, tokens, ids of uids).
    pub(crate) fn nanoid(&self, len: usize) -> String {
        self.rng.string(len, NANOID)
    }
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

/// The value of cookie `name` in the request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` value: path `/`, HttpOnly, SameSite=Lax (Logto's cookie attributes), Secure
/// when the IdP is served over https.
pub(crate) fn set_cookie(state: &IdpState, name: &str, value: &str, max_age_secs: i64) -> String {
    cookie::Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(state.origin.starts_with("https://"))
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build()
        .to_string()
}
