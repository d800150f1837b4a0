//! The control plane: a test (or a person with `curl`, or `mock-idp ctl`) changes a running
//! mock Logto over HTTP, under the reserved prefix `/_mock/` of the IdP's own port. Logto has
//! no such routes; nothing of Logto's is hidden by them.
//!
//! | route | what it does |
//! |---|---|
//! | `GET /_mock/users`, `POST /_mock/users` | list, add (Logto's user shape) |
//! | `GET`, `PATCH`, `DELETE /_mock/users/{id-email-or-username}` | read, change fields, delete (grants revoked, sessions ended) |
//! | `GET /_mock/applications`, `POST /_mock/applications` | list, add (Logto's application shape; id and secret drawn when absent) |
//! | `GET`, `PATCH`, `DELETE /_mock/applications/{id}` | read, change fields, delete |
//! | `GET /_mock/clock`, `POST /_mock/clock` | read; `{"set": "2026-01-01T00:00:00Z"}` or `{"advance": "1h30m"}` |
//! | `GET /_mock/faults`, `POST /_mock/faults`, `DELETE /_mock/faults[/{id}]` | list, add one or an array ([`crate::faults`]), remove |
//! | `GET /_mock/events?after=N` | the event log: JSON, or JSON Lines with `Accept: application/x-ndjson` or `format=jsonl` |
//! | `GET /_mock/events/stream?after=N` | the event log as JSON Lines, then each new event as it happens |
//! | `DELETE /_mock/inbox` | empties the inbox of the fake Postmark the IdP sends to |
//! | `POST /_mock/reset` | the whole instance back to how it started (tenant, keys, clock, seed, faults, sessions, log, inbox) |
//!
//! Bodies are JSON (whatever the `Content-Type`, so `curl -d` works); errors are
//! `{"code": "control.…", "message": …}`. Access: open when the IdP listens on a loopback
//! address; bound anywhere else, the control plane answers 403 unless the IdP was given a
//! control token (`--control-token`, [`MockIdpBuilder::control_token`]), and with a token every
//! request must carry `Authorization: Bearer <token>`.
//!
//! [`MockIdpBuilder::control_token`]: crate::MockIdpBuilder::control_token

pub(crate) mod duration;
pub(crate) mod ops;
mod routes;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub(crate) use routes::router;

/// The reserved prefix.
pub const PREFIX: &str = "/_mock";

/// Who may use the control plane.
#[derive(Clone, Debug)]
pub(crate) struct Access {
    /// The token every request must carry, when one was given.
    pub token: Option<String>,
    /// The IdP listens on a loopback address: open without a token.
    pub loopback: bool,
}

/// A control-plane failure, answered as `{code, message}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ControlError {
    /// The HTTP status.
    pub status: u16,
    /// `control.invalid_input`, `control.not_found`, ...
    pub code: &'static str,
    /// What went wrong, for a person.
    pub message: String,
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ControlError {}

impl ControlError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: status.as_u16(),
            code,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "control.invalid_input", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "control.not_found", message)
    }

    pub(crate) fn no_user(key: &str) -> Self {
        Self::not_found(format!("no user has the id, email or username {key:?}"))
    }

    pub(crate) fn no_application(id: &str) -> Self {
        Self::not_found(format!("no application has the id {id:?}"))
    }

    pub(crate) fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "control.method_not_allowed",
            message,
        )
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "control.conflict", message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "control.internal",
            message,
        )
    }

    fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "control.unauthorized",
            "the control plane needs `Authorization: Bearer <control token>`",
        )
    }

    fn disabled() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "control.disabled",
            "the control plane is off: this IdP listens on a non-loopback address and was \
             given no control token (start it with --control-token T, and send \
             `Authorization: Bearer T`)",
        )
    }
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let body = Body {
            code: self.code,
            message: &self.message,
        };
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"mock-idp control plane\""),
            );
        }
        response
    }
}

impl Access {
    /// Checks a request's `Authorization` header against the access rule.
    pub(crate) fn check(&self, authorization: Option<&str>) -> Result<(), ControlError> {
        match &self.token {
            Some(token) => {
                let given = authorization
                    .and_then(|v| v.split_once(' '))
                    .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                    .map(|(_, t)| t.trim());
                if given.is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes())) {
                    Ok(())
                } else {
                    Err(ControlError::unauthorized())
                }
            }
            None if self.loopback => Ok(()),
            None => Err(ControlError::disabled()),
        }
    }
}

/// Compares without stopping at the first difference (the token guards a network port).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_open_a_token_is_required_when_given_and_elsewhere_it_is_off() {
        let open = Access {
            token: None,
            loopback: true,
        };
        assert!(open.check(None).is_ok());
        let off = Access {
            token: None,
            loopback: false,
        };
        assert_eq!(
            off.check(Some("Bearer x")).unwrap_err().code,
            "control.disabled"
        );
        let guarded = Access {
            token: Some("s3cret".into()),
            loopback: false,
        };
        assert!(guarded.check(Some("Bearer s3cret")).is_ok());
        assert!(guarded.check(Some("bearer s3cret")).is_ok());
        for bad in [
            None,
            Some("Bearer s3cre"),
            Some("Basic s3cret"),
            Some("s3cret"),
        ] {
            assert_eq!(
                guarded.check(bad).unwrap_err().code,
                "control.unauthorized",
                "{bad:?}"
            );
        }
    }
}
