//! Server-token authentication, shared by every Postmark API route.
//!
//! Postmark checks the token before anything else (after routing: a wrong method is a 405
//! whatever the token), so this is an extractor that runs before a handler reads its body.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::PostmarkState;
use super::error::ApiError;

/// The token Postmark accepts for validation-only sends.
pub const TEST_TOKEN: &str = "POSTMARK_API_TEST";
/// The header carrying the server token (matched without regard to case, like its value).
pub(crate) const SERVER_TOKEN_HEADER: &str = "x-postmark-server-token";

/// Who is calling: the server (a known token) or the validation-only test token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    Server,
    TestToken,
}

impl Caller {
    /// Routes other than sends need a real server token; the test token is not one.
    pub(crate) fn require_server(self) -> Result<(), ApiError> {
        match self {
            Self::Server => Ok(()),
            Self::TestToken => Err(ApiError::invalid_token()),
        }
    }
}

impl FromRequestParts<PostmarkState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &PostmarkState,
    ) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(SERVER_TOKEN_HEADER) else {
            return Err(ApiError::missing_token());
        };
        let token = value.to_str().map(str::trim).unwrap_or_default();
        if token.eq_ignore_ascii_case(TEST_TOKEN) {
            return Ok(Self::TestToken);
        }
        let known = state
            .server
            .tokens
            .iter()
            .any(|t| t.eq_ignore_ascii_case(token));
        if known {
            Ok(Self::Server)
        } else {
            Err(ApiError::invalid_token())
        }
    }
}
