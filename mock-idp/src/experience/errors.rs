//! The sign-in experience's errors, with Logto's codes, statuses and English phrases
//! (packages/phrases/src/locales/en/errors).

use axum::http::StatusCode;

use crate::request_error::RequestError;

fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> RequestError {
    RequestError {
        status,
        code,
        message: message.into(),
        data: None,
    }
}

pub(crate) fn invalid_input() -> RequestError {
    error(
        StatusCode::BAD_REQUEST,
        "guard.invalid_input",
        "The request body is invalid.",
    )
}

pub(crate) fn code_mismatch() -> RequestError {
    error(
        StatusCode::BAD_REQUEST,
        "verification_code.code_mismatch",
        "Invalid verification code.",
    )
}

pub(crate) fn code_expired() -> RequestError {
    error(
        StatusCode::BAD_REQUEST,
        "verification_code.expired",
        "Verification code has expired. Please request a new verification code.",
    )
}

pub(crate) fn exceed_max_try() -> RequestError {
    error(
        StatusCode::BAD_REQUEST,
        "verification_code.exceed_max_try",
        "Verification code retries limitation exceeded. Please request a new verification code.",
    )
}

pub(crate) fn code_not_found() -> RequestError {
    error(
        StatusCode::BAD_REQUEST,
        "verification_code.not_found",
        "Verification code not found. Please send verification code first.",
    )
}

pub(crate) fn email_mismatch() -> RequestError {
    error(
        StatusCode::BAD_REQUEST,
        "verification_code.email_mismatch",
        "Email mismatch. Please request a new verification code.",
    )
}

pub(crate) fn user_not_exist(identifier: &str) -> RequestError {
    error(
        StatusCode::NOT_FOUND,
        "user.user_not_exist",
        format!("User with {identifier} does not exist."),
    )
}

pub(crate) fn email_already_in_use() -> RequestError {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "user.email_already_in_use",
        "This email is associated with an existing account.",
    )
}

pub(crate) fn missing_profile(fields: &[&str]) -> RequestError {
    let mut e = error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "user.missing_profile",
        "You need to provide additional info before signing-in.",
    );
    e.data = Some(serde_json::json!({ "missingProfile": fields }));
    e
}

pub(crate) fn method_not_enabled() -> RequestError {
    error(
        StatusCode::UNPROCESSABLE_ENTITY,
        "user.sign_in_method_not_enabled",
        "This sign-in method is not enabled.",
    )
}

pub(crate) fn suspended() -> RequestError {
    error(
        StatusCode::UNAUTHORIZED,
        "user.suspended",
        "This account is suspended.",
    )
}

pub(crate) fn verification_failed() -> RequestError {
    error(
        StatusCode::BAD_REQUEST,
        "session.verification_failed",
        "The verification was not successful. Restart the verification flow and try again.",
    )
}

pub(crate) fn verification_session_not_found() -> RequestError {
    error(
        StatusCode::NOT_FOUND,
        "session.verification_session_not_found",
        "The verification was not successful. Restart the verification flow and try again.",
    )
}

pub(crate) fn identifier_not_found() -> RequestError {
    error(
        StatusCode::NOT_FOUND,
        "session.identifier_not_found",
        "User identifier not found. Please go back and sign in again.",
    )
}

pub(crate) fn rate_limited() -> RequestError {
    error(
        StatusCode::TOO_MANY_REQUESTS,
        "request.message_rate_limited",
        "Too many messages sent to this recipient. Please try again later.",
    )
}

pub(crate) fn connector_not_found(kind: &str) -> RequestError {
    error(
        StatusCode::NOT_IMPLEMENTED,
        "connector.not_found",
        format!("Cannot find any available connector for type: {kind}."),
    )
}
