//! Logto's `RequestError`: the `{code, message, data?}` body of Logto's own (non-OIDC) errors,
//! such as `session.not_found` and every error of the Experience API (built from
//! `experience::errors::ExperienceError`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

/// A Logto error with its i18n code, English message, status and optional data.
#[derive(Clone, Debug, PartialEq)]
pub struct RequestError {
    /// HTTP status.
    pub status: StatusCode,
    /// Logto's code, e.g. `session.not_found`.
    pub code: &'static str,
    /// Logto's English phrase.
    pub message: String,
    /// Extra data (e.g. `missingProfile`).
    pub data: Option<Box<Value>>,
    /// What only some errors carry (boxed: errors travel in `Result`s and stay small).
    pub(crate) extra: Option<Box<Extra>>,
}

/// The rarer parts of a Logto error.
#[derive(Clone, Debug, PartialEq, Default)]
pub(crate) struct Extra {
    /// What went wrong in detail (`guard.invalid_input`: one line per issue).
    pub details: Option<String>,
    /// For `session.not_found`, which node-oidc-provider raises as `invalid_request`: its
    /// `error_description`, which Logto's body keeps beside `error`.
    pub oidc_description: Option<&'static str>,
}

impl RequestError {
    /// `session.not_found` (400): what Logto answers when the interaction or its cookie is
    /// gone, with node-oidc-provider's `error_description` (`interaction session id cookie not
    /// found`, `interaction session not found`, `authorization request has expired`).
    pub(crate) fn session_not_found(description: &'static str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "session.not_found",
            message: "Session not found. Please go back and sign in again.".to_owned(),
            data: None,
            extra: Some(Box::new(Extra {
                details: None,
                oidc_description: Some(description),
            })),
        }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.code,
            self.status.as_u16(),
            self.message
        )
    }
}

impl std::error::Error for RequestError {}

/// Logto's `RequestError.body`: `pick(error, 'message', 'code', 'data', 'details')`.
#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a str>,
}

/// An oidc-provider error as Logto's OIDC error handler answers it: `{code, message, error,
/// error_description}`.
#[derive(Serialize)]
struct OidcBody<'a> {
    code: &'a str,
    message: &'a str,
    error: &'a str,
    error_description: &'a str,
}

impl IntoResponse for RequestError {
    fn into_response(self) -> Response {
        let extra = self.extra.as_deref();
        if let Some(error_description) = extra.and_then(|e| e.oidc_description) {
            let body = OidcBody {
                code: self.code,
                message: &self.message,
                error: "invalid_request",
                error_description,
            };
            return (self.status, axum::Json(body)).into_response();
        }
        let body = Body {
            message: &self.message,
            code: self.code,
            data: self.data.as_deref(),
            details: extra.and_then(|e| e.details.as_deref()),
        };
        (self.status, axum::Json(body)).into_response()
    }
}
