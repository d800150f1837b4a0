//! OIDC errors, named after their RFC error codes, answered in Logto's shape:
//! `{"code": "oidc.<error>", "message": <Logto's English phrase>, "error": <error>,
//! "error_description": <description>}` (plus `error_uri` for `invalid_grant`).
//!
//! Each error knows its status. Whether it may be sent to the client's `redirect_uri` is not
//! the error's business: `/oidc/auth` decides that from whether the client and its
//! `redirect_uri` checked out (an unvalidated redirect_uri is never redirected to).
//! The `detail` is what went wrong, for the event log; clients see only the description, as
//! node-oidc-provider v9 exposes it.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// One OIDC error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcError {
    /// HTTP status.
    pub status: StatusCode,
    /// The RFC error code (`invalid_request`, `invalid_grant`, ...).
    pub error: &'static str,
    /// The `error_description` clients see.
    pub description: String,
    /// What exactly failed (event log only).
    pub detail: Option<String>,
    /// For `invalid_token` at the userinfo endpoint: the `WWW-Authenticate` realm (issuer).
    pub(crate) realm: Option<Box<str>>,
    /// For `insufficient_scope`: the missing scope (a `scope` key in the body).
    pub(crate) scope: Option<Box<str>>,
}

impl OidcError {
    /// Records the error as event `kind` (`{error, error_description, detail}`) and answers it:
    /// how every OIDC endpoint ends a failed request.
    pub(crate) fn logged(self, events: &crate::events::Events, kind: &str) -> Response {
        events.push(
            kind,
            serde_json::json!({
                "error": self.error,
                "error_description": self.description,
                "detail": self.detail,
            }),
        );
        self.into_response()
    }

    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            detail: None,
            realm: None,
            scope: None,
        }
    }

    /// Adds what exactly went wrong (logged, never sent).
    #[must_use]
    pub(crate) fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub(crate) fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub(crate) fn missing(param: &str) -> Self {
        Self::invalid_request(format!("missing required parameter '{param}'"))
    }

    /// An unknown client at the authorization endpoint (400; the token endpoint's failed
    /// authentication is [`OidcError::client_auth_failed`], 401).
    pub(crate) fn invalid_client() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "client is invalid",
        )
    }

    /// A client id Logto's adapter does not know (its `InvalidClient`, 400).
    pub(crate) fn unknown_client(id: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            format!("invalid client {id}"),
        )
    }

    pub(crate) fn client_auth_failed(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        )
        .detail(detail)
    }

    pub(crate) fn invalid_redirect_uri() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_redirect_uri",
            "redirect_uri did not match any of the client's registered redirect_uris",
        )
    }

    pub(crate) fn invalid_grant(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "grant request is invalid",
        )
        .detail(detail)
    }

    pub(crate) fn invalid_token(detail: impl Into<String>, realm: &str) -> Self {
        let mut error = Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "invalid token provided",
        )
        .detail(detail);
        error.realm = Some(realm.into());
        error
    }

    pub(crate) fn insufficient_scope(scope: &str) -> Self {
        let mut error = Self::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "access token missing scope",
        )
        .detail(format!("missing scope {scope}"));
        error.scope = Some(scope.into());
        error
    }

    /// `insufficient_scope` (403) with its description and the missing scope in `scope`.
    pub(crate) fn insufficient_scope_described(scope: &str, description: &str) -> Self {
        Self::insufficient_or_invalid_scope("insufficient_scope", scope, description)
    }

    /// `insufficient_scope` (403) or `invalid_scope` (400), naming the scope(s) in the body's
    /// `scope`.
    pub(crate) fn insufficient_or_invalid_scope(
        error: &'static str,
        scope: &str,
        description: &str,
    ) -> Self {
        let status = if error == "insufficient_scope" {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::BAD_REQUEST
        };
        let mut error = Self::new(status, error, description).detail(format!("scope {scope}"));
        error.scope = Some(scope.into());
        error
    }

    pub(crate) fn invalid_target(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_target", description)
    }

    pub(crate) fn unsupported_grant_type() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unsupported grant_type requested",
        )
    }

    pub(crate) fn unsupported_response_type() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "unsupported response_type requested",
        )
    }

    pub(crate) fn unsupported_response_mode() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_response_mode",
            "unsupported response_mode requested",
        )
    }

    pub(crate) fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    pub(crate) fn unsupported_token_type(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_token_type",
            description,
        )
    }

    /// node-oidc-provider's answer for an unknown route or method.
    pub(crate) fn unknown_route(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "invalid_request", description)
    }

    /// Something that should not happen: the detail goes to the log, the client sees
    /// `server_error`.
    pub(crate) fn server_error(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "oops! something went wrong",
        )
        .detail(detail)
    }

    /// An error a fault injects ([`crate::faults`]): its own status and description.
    pub(crate) fn injected(
        status: u16,
        error: crate::faults::OAuthError,
        description: Option<&str>,
    ) -> Self {
        Self::new(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            error.as_str(),
            description.unwrap_or(error.description()),
        )
        .detail("injected by a fault")
    }

    /// A parameter this provider does not support (`request_not_supported`, ...).
    pub(crate) fn unsupported(error: &'static str, description: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }

    /// `access_denied` with Logto's 403 (set by hand in its organization checks).
    pub(crate) fn access_denied(description: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "access_denied", description)
    }

    pub(crate) fn login_required() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "login_required",
            "End-User authentication is required",
        )
    }

    /// Logto's English phrase for this error (packages/phrases, `errors.oidc`), built as
    /// Logto builds it: only `{{code}}` (`oidc.<error>`) is interpolated, so the placeholders
    /// of `invalid_scope` and `insufficient_scope` stay as written, and errors without a
    /// phrase of their own get the fallback naming the code.
    pub fn message(&self) -> String {
        let phrase = match self.error {
            "invalid_scope" => "Invalid scope: {{error_description}}.",
            "invalid_token" => "Invalid token provided.",
            "invalid_client_metadata" => "Invalid client metadata provided.",
            "insufficient_scope" => "Token missing scope `{{scope}}`.",
            "invalid_request" => "Request is invalid.",
            "invalid_grant" => "Grant request is invalid.",
            "invalid_issuer" => "Invalid issuer.",
            "invalid_redirect_uri" => {
                "`redirect_uri` did not match any of the client's registered `redirect_uris`."
            }
            "access_denied" => "Access denied.",
            "invalid_target" => "Invalid resource indicator.",
            "unsupported_grant_type" => "Unsupported `grant_type` requested.",
            "unsupported_response_mode" => "Unsupported `response_mode` requested.",
            "unsupported_response_type" => "Unsupported `response_type` requested.",
            "server_error" => "An unknown OIDC error occurred. Please try again later.",
            other => return format!("An OIDC error occurred: oidc.{other}."),
        };
        phrase.to_owned()
    }
}

impl std::fmt::Display for OidcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.error, self.description)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for OidcError {}

/// Logto's error body.
#[derive(Serialize)]
struct Body<'a> {
    code: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error_uri: Option<&'static str>,
    error: &'a str,
    error_description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
}

impl IntoResponse for OidcError {
    fn into_response(self) -> Response {
        let body = Body {
            code: format!("oidc.{}", self.error),
            message: self.message(),
            error_uri: (self.error == "invalid_grant")
                .then_some("https://openid.sh/debug/invalid_grant"),
            error: self.error,
            error_description: &self.description,
            scope: self.scope.as_deref(),
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(realm) = &self.realm {
            let challenge = format!(
                "Bearer realm=\"{realm}\", error=\"{}\", error_description=\"{}\"",
                self.error, self.description
            );
            if let Ok(value) = HeaderValue::from_str(&challenge) {
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn errors_have_logtos_shape() {
        let response = OidcError::invalid_grant("code expired").into_response();
        assert_eq!(response.status(), 400);
        let body = axum::body::to_bytes(response.into_body(), 10_000)
            .await
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"code":"oidc.invalid_grant","message":"Grant request is invalid.","error_uri":"https://openid.sh/debug/invalid_grant","error":"invalid_grant","error_description":"grant request is invalid"}"#
        );
    }

    #[tokio::test]
    async fn invalid_token_carries_a_bearer_challenge() {
        let response =
            OidcError::invalid_token("unknown", "http://127.0.0.1:1/oidc").into_response();
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer realm="http://127.0.0.1:1/oidc", error="invalid_token", error_description="invalid token provided""#
        );
    }

    #[test]
    fn messages_interpolate_only_the_code_as_logto_does() {
        assert_eq!(
            OidcError::invalid_client().message(),
            "An OIDC error occurred: oidc.invalid_client."
        );
        assert_eq!(
            OidcError::insufficient_scope("openid").message(),
            "Token missing scope `{{scope}}`."
        );
        assert_eq!(
            OidcError::insufficient_or_invalid_scope(
                "invalid_scope",
                "email",
                "refresh token missing requested scope"
            )
            .message(),
            "Invalid scope: {{error_description}}."
        );
    }
}
