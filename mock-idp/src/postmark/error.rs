//! Postmark's error answers: an HTTP status plus a JSON body `{ErrorCode, Message}`.
//!
//! Every error the fake sends goes through [`ApiError`], including unknown routes (404), wrong
//! methods (405) and oversized bodies (413): official clients read `ErrorCode` from every non-2xx
//! body (postmarker even crashes without it), so nothing here may answer plain text.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One Postmark API error: the status it travels with, its `ErrorCode` and its `Message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status of the answer (422 for almost every validation error, as Postmark does).
    pub status: StatusCode,
    /// Postmark's `ErrorCode`.
    pub code: u32,
    /// Postmark's `Message`.
    pub message: String,
}

/// The body of every error answer, keys in Postmark's order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ErrorBody<'a> {
    pub error_code: u32,
    pub message: &'a str,
}

impl ApiError {
    /// An error with any status and code (used by fault injection, too).
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 422 with the given `ErrorCode`: how Postmark reports every input problem.
    pub fn unprocessable(code: u32, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// 401 / 10: no server token header at all.
    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            codes::BAD_TOKEN,
            "No Account or Server API tokens were supplied in the HTTP headers. Please add a \
             header for either X-Postmark-Server-Token or X-Postmark-Account-Token.",
        )
    }

    /// 401 / 10: a token this fake does not know.
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            codes::BAD_TOKEN,
            "Request does not contain a valid Server token.",
        )
    }

    /// 422 / 409: the request is not declared as JSON.
    pub fn json_required() -> Self {
        Self::unprocessable(
            codes::JSON_REQUIRED,
            "JSON required: your HTTP request doesn't have the Accept and Content-Type headers \
             set to application/json.",
        )
    }

    /// 413 / 300: the body is over Postmark's size limit.
    pub fn too_large(limit_mb: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            codes::INVALID_EMAIL_REQUEST,
            format!("The request body is too large: the limit for this endpoint is {limit_mb} MB."),
        )
    }

    /// 422 / 402: not JSON at all.
    pub fn invalid_json(detail: impl std::fmt::Display) -> Self {
        Self::unprocessable(
            codes::INVALID_JSON,
            format!(
                "Invalid JSON: the JSON input you provided is syntactically incorrect ({detail})."
            ),
        )
    }

    /// 422 / 403: JSON, but not the shape this endpoint expects.
    pub fn incompatible_json(detail: impl std::fmt::Display) -> Self {
        Self::unprocessable(
            codes::INCOMPATIBLE_JSON,
            format!("Incompatible JSON: {detail}"),
        )
    }

    /// 422 / 300: the message itself is invalid (addresses, recipients, bodies...).
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::unprocessable(codes::INVALID_EMAIL_REQUEST, message)
    }

    /// 404 for a path the fake does not serve (Postmark's API answers 404 there too).
    pub fn not_found(method: &str, path: &str) -> Self {
        let path = if path.is_empty() { "(no path)" } else { path };
        Self::new(
            StatusCode::NOT_FOUND,
            404,
            format!("There is no endpoint {method} {path} in Postmark's API (or this fake)."),
        )
    }

    /// 405 for a known path called with the wrong method.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        let path = if path.is_empty() { "(no path)" } else { path };
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            405,
            format!("The method {method} is not allowed on {path}."),
        )
    }

    /// The JSON body alone (batch items carry it without a status of their own).
    pub(crate) fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            error_code: self.code,
            message: &self.message,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HTTP {} ErrorCode {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

/// Postmark `ErrorCode`s the fake uses (postmarkapp.com/developer/api/overview#error-codes).
pub mod codes {
    /// Bad or missing API token.
    pub const BAD_TOKEN: u32 = 10;
    /// Invalid email request: validation failed.
    pub const INVALID_EMAIL_REQUEST: u32 = 300;
    /// Sender signature not found.
    pub const SENDER_SIGNATURE_NOT_FOUND: u32 = 400;
    /// Invalid JSON (syntax).
    pub const INVALID_JSON: u32 = 402;
    /// Incompatible JSON (valid JSON, wrong shape).
    pub const INCOMPATIBLE_JSON: u32 = 403;
    /// Inactive (suppressed) recipient.
    pub const INACTIVE_RECIPIENT: u32 = 406;
    /// JSON required (Content-Type / Accept).
    pub const JSON_REQUIRED: u32 = 409;
    /// Too many batch messages.
    pub const TOO_MANY_BATCH_MESSAGES: u32 = 410;
    /// Messages query exception (bad or missing query parameter).
    pub const MESSAGES_QUERY: u32 = 700;
    /// The message does not exist.
    pub const MESSAGE_NOT_FOUND: u32 = 701;
    /// Template query exception (bad or missing query parameter).
    pub const TEMPLATE_QUERY: u32 = 1100;
    /// Template not found.
    pub const TEMPLATE_NOT_FOUND: u32 = 1101;
    /// The server's template limit would be exceeded.
    pub const TEMPLATE_LIMIT: u32 = 1105;
    /// No template data (TemplateModel) received.
    pub const NO_TEMPLATE_DATA: u32 = 1109;
    /// A required template field is missing.
    pub const TEMPLATE_FIELD_MISSING: u32 = 1120;
    /// A template field is too large.
    pub const TEMPLATE_FIELD_TOO_LARGE: u32 = 1121;
    /// A template field is invalid (syntax, alias format, a taken alias).
    pub const TEMPLATE_FIELD_INVALID: u32 = 1122;
    /// A template field is not allowed here (e.g. a Subject on a layout).
    pub const TEMPLATE_FIELD_NOT_ALLOWED: u32 = 1123;
    /// The layout is used by other templates.
    pub const LAYOUT_HAS_DEPENDENTS: u32 = 1130;
    /// A layout needs exactly one `{{{@content}}}`.
    pub const LAYOUT_CONTENT_PLACEHOLDER: u32 = 1131;
    /// The message stream does not exist on this server.
    pub const UNKNOWN_STREAM: u32 = 1235;
    /// The stream does not support sending (an inbound stream).
    pub const STREAM_CANNOT_SEND: u32 = 1236;
}
