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
    pub data: Option<Value>,
}

impl RequestError {
    /// `session.not_found` (400): what Logto answers when the interaction or its cookie is gone.
    pub(crate) fn session_not_found() -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            code: "session.not_found",
            message: "Session not found. Please go back and sign in again.".to_owned(),
            data: None,
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

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
}

impl IntoResponse for RequestError {
    fn into_response(self) -> Response {
        let body = Body {
            code: self.code,
            message: &self.message,
            data: self.data.as_ref(),
        };
        (self.status, axum::Json(body)).into_response()
    }
}
