//! Logto's Management API, the part apps call in practice, at Logto's paths under `/api` and
//! in its JSON shapes: users (`users.rs`), their custom data and roles (`user_roles.rs`), and
//! organizations' members (`organizations.rs`).
//!
//! Every route needs a JWT access token for the Management API resource
//! (`https://default.logto.app/api`, Logto OSS's default tenant) with the scope `all`, as a
//! machine-to-machine app gets it from the `client_credentials` grant ([`auth`]). What it
//! changes is the tenant the next sign-in reads.
//!
//! Beyond the routes: an unknown path under `/api` is Koa's plain-text `404 Not Found`, and a
//! known path with another method `405 Method Not Allowed` with `Allow`, neither behind the
//! token check, as Logto's routers answer.

pub(crate) mod auth;
mod organizations;
mod search;
mod user_roles;
mod users;

pub(crate) use users::user_json;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use crate::request_error::RequestError;
use crate::state::IdpState;

/// The Management API's resource indicator (Logto OSS's default tenant).
pub(crate) const RESOURCE: &str = "https://default.logto.app/api";

pub(crate) fn router(state: IdpState) -> Router<IdpState> {
    Router::new()
        .route("/api/users", get(users::list).post(users::create))
        .route(
            "/api/users/{id}",
            get(users::read).patch(users::update).delete(users::delete),
        )
        .route(
            "/api/users/{id}/custom-data",
            get(users::read_custom_data).patch(users::update_custom_data),
        )
        .route(
            "/api/users/{id}/is-suspended",
            axum::routing::patch(users::update_suspension),
        )
        .route(
            "/api/users/{id}/password",
            axum::routing::patch(users::update_password),
        )
        .route(
            "/api/users/{id}/password/verify",
            axum::routing::post(users::verify_password),
        )
        .route("/api/users/{id}/has-password", get(users::has_password))
        .route(
            "/api/users/{id}/roles",
            get(user_roles::list).post(user_roles::assign),
        )
        .route(
            "/api/users/{id}/roles/{role_id}",
            axum::routing::delete(user_roles::remove),
        )
        .route("/api/users/{id}/organizations", get(organizations::of_user))
        .route(
            "/api/organizations/{id}/users",
            get(organizations::members).post(organizations::add_members),
        )
        .route(
            "/api/organizations/{id}/users/{user_id}",
            axum::routing::delete(organizations::remove_member),
        )
        .route_layer(axum::middleware::from_fn_with_state(state, auth::require))
}

/// Koa's answers for what no route serves: `404 Not Found` and `405 Method Not Allowed`
/// (axum adds `Allow`), as plain text.
pub(crate) fn not_routed(status: StatusCode) -> Response {
    let text = if status == StatusCode::METHOD_NOT_ALLOWED {
        "Method Not Allowed"
    } else {
        "Not Found"
    };
    let mut response = (status, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A Logto `RequestError` with no data.
fn error(status: StatusCode, code: &'static str, message: &str) -> RequestError {
    RequestError {
        status,
        code,
        message: message.to_owned(),
        data: None,
        extra: None,
    }
}

/// `entity.not_found` (404): an unknown user, or a relation that is not there.
fn not_found() -> RequestError {
    error(
        StatusCode::NOT_FOUND,
        "entity.not_found",
        "The resource does not exist.",
    )
}

/// A body that failed the guard: `guard.invalid_input` with zod's issues.
fn invalid_body(invalid: crate::guard::Invalid) -> RequestError {
    RequestError {
        status: StatusCode::BAD_REQUEST,
        code: "guard.invalid_input",
        message: "The request body is invalid.".to_owned(),
        data: invalid.data.map(Box::new),
        extra: Some(Box::new(crate::request_error::Extra {
            details: Some(invalid.details),
            oidc_description: None,
        })),
    }
}

/// The route's answer, or its error, logged as `management.error`.
fn answer(state: &IdpState, answer: Result<Response, RequestError>) -> Response {
    answer.unwrap_or_else(|error| {
        state.events.push(
            "management.error",
            serde_json::json!({"code": error.code, "status": error.status.as_u16()}),
        );
        error.into_response()
    })
}

/// The query's parameters, in order.
fn query_params(query: Option<String>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// 200 with a JSON body.
fn json(value: Value) -> Response {
    axum::Json(value).into_response()
}
