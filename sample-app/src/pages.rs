//! The app's pages (askama templates under `templates/`, HTML-escaped) and its error answers:
//! a page with the message in `[role=alert]`, or JSON `{error, message}` for the `.json` routes.

use askama::Template;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::logto::LogtoError;

#[derive(Template)]
#[template(path = "home.html")]
pub(crate) struct Home {
    pub authenticated: bool,
    pub display_name: String,
    pub email: Option<String>,
    pub has_api_resource: bool,
}

#[derive(Template)]
#[template(path = "profile.html")]
pub(crate) struct Profile {
    pub id_token_claims: String,
    pub userinfo: String,
    /// The `roles` claim, when the app asked for the `roles` scope.
    pub roles: Option<Vec<String>>,
    /// The user's organizations, when the app asked for the organizations scope.
    pub organizations: Option<Vec<OrganizationView>>,
}

/// An organization on the profile page: its name (from userinfo's `organization_data`) and
/// the user's roles there (from `organization_roles`).
pub(crate) struct OrganizationView {
    pub id: String,
    pub name: String,
    pub roles: String,
}

#[derive(Template)]
#[template(path = "api_token.html")]
pub(crate) struct ApiToken {
    pub resource: String,
    pub scope: String,
    pub claims: String,
    pub token: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    offer_sign_in: bool,
    offer_retry: bool,
}

/// A rendered page (never cached: it shows who is signed in).
pub(crate) fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => {
            let mut response = (status, Html(body)).into_response();
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(error) => {
            tracing::error!(%error, "a page failed to render");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered.",
            )
                .into_response()
        }
    }
}

/// What an error page offers besides going home.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Offer {
    /// Nothing: trying again will not help (a configuration or clock problem).
    Nothing,
    /// `#sign-in`: a new sign-in fixes it.
    SignIn,
    /// `#retry` (reloads the page): Logto failed for a moment; the same request may work.
    Retry,
}

/// How a failure is answered: its status, a short title and what may fix it.
fn classify(error: &LogtoError) -> (StatusCode, &'static str, Offer) {
    match error {
        LogtoError::Callback { .. } => (StatusCode::BAD_REQUEST, "Sign-in failed", Offer::SignIn),
        LogtoError::SignInSessionNotFound
        | LogtoError::CallbackUriMismatch
        | LogtoError::InvalidState
        | LogtoError::CodeNotFound
        | LogtoError::CodeExchange(_) => (
            StatusCode::BAD_REQUEST,
            "Invalid sign-in callback",
            Offer::SignIn,
        ),
        LogtoError::IdToken(_) => (StatusCode::BAD_REQUEST, "Invalid ID token", Offer::SignIn),
        LogtoError::NotAuthenticated => (StatusCode::UNAUTHORIZED, "Not signed in", Offer::SignIn),
        LogtoError::SessionEnded(_) => (
            StatusCode::UNAUTHORIZED,
            "Your sign-in has ended",
            Offer::SignIn,
        ),
        LogtoError::Token(_) => (
            StatusCode::UNAUTHORIZED,
            "Logto refused the token request",
            Offer::SignIn,
        ),
        LogtoError::Unavailable(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Logto is unavailable",
            Offer::Retry,
        ),
        LogtoError::Unreachable(_) => (
            StatusCode::BAD_GATEWAY,
            "Logto could not be reached",
            Offer::Retry,
        ),
        LogtoError::Discovery(_) | LogtoError::UserInfo(_) | LogtoError::UnexpectedToken(_) => (
            StatusCode::BAD_GATEWAY,
            "Logto did not answer as expected",
            Offer::Nothing,
        ),
        LogtoError::ClockSkew { .. } => (
            StatusCode::BAD_GATEWAY,
            "Logto's clock and this server's disagree",
            Offer::Nothing,
        ),
        LogtoError::Config(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Configuration error",
            Offer::Nothing,
        ),
        LogtoError::Storage(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Session error",
            Offer::Nothing,
        ),
    }
}

/// `error` as a page.
pub(crate) fn error_page(error: &LogtoError) -> Response {
    let (status, title, offer) = classify(error);
    error_page_offering(status, title, &error.to_string(), offer)
}

/// `error` at the callback: its URL carries a code that is used up, so reloading it cannot
/// work; a new sign-in is the retry.
pub(crate) fn callback_error_page(error: &LogtoError) -> Response {
    let (status, title, offer) = classify(error);
    let offer = if offer == Offer::Retry {
        Offer::SignIn
    } else {
        offer
    };
    error_page_offering(status, title, &error.to_string(), offer)
}

fn error_page_offering(status: StatusCode, title: &str, message: &str, offer: Offer) -> Response {
    page(
        status,
        &ErrorPage {
            title,
            message,
            offer_sign_in: offer == Offer::SignIn,
            offer_retry: offer == Offer::Retry,
        },
    )
}

/// `error` as JSON `{error, message}`.
pub(crate) fn error_json(error: &LogtoError) -> Response {
    let (status, _, _) = classify(error);
    let body = json!({ "error": error.code(), "message": error.to_string() });
    (status, Json(body)).into_response()
}

/// A page for an app route that does not exist.
pub(crate) fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        &ErrorPage {
            title: "Not found",
            message: "There is no such page in this app.",
            offer_sign_in: false,
            offer_retry: false,
        },
    )
}

/// A page for a route asked with a method it does not take (every route here is `GET`).
pub(crate) fn method_not_allowed() -> Response {
    let mut response = page(
        StatusCode::METHOD_NOT_ALLOWED,
        &ErrorPage {
            title: "Method not allowed",
            message: "This page only answers GET.",
            offer_sign_in: false,
            offer_retry: false,
        },
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// What the API-token routes say when no API resource is configured.
const NO_API_RESOURCE: &str = "No API resource is configured (set LOGTO_RESOURCES).";

/// The API-token page when no API resource is configured.
pub(crate) fn no_api_resource() -> Response {
    page(
        StatusCode::NOT_FOUND,
        &ErrorPage {
            title: "No API resource",
            message: NO_API_RESOURCE,
            offer_sign_in: false,
            offer_retry: false,
        },
    )
}

/// The same as JSON.
pub(crate) fn no_api_resource_json() -> Response {
    let body = json!({ "error": "no_api_resource", "message": NO_API_RESOURCE });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}
