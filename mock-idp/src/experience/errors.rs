//! The sign-in experience's errors: one variant per Logto error the experience can answer, each
//! with Logto's code, status and English phrase (packages/phrases/src/locales/en/errors). The
//! engine returns them, the Experience API answers them as `{code, message, data?}`, and the
//! pages match on the variants (an unknown email at sign-in becomes an offer to register, not
//! an error).

use axum::http::StatusCode;
use serde_json::json;

use crate::request_error::{Extra, RequestError};

/// Why a step of the sign-in experience failed.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ExperienceError {
    /// `session.not_found`: no live interaction for the request's cookie (node-oidc-provider's
    /// `error_description` says which).
    SessionNotFound { description: &'static str },
    /// `session.interaction_not_found` (404): the interaction exists but its experience was
    /// never started (`PUT /api/experience`).
    InteractionNotFound,
    /// `guard.invalid_input`: an identifier or value the step cannot take.
    InvalidInput,
    /// `guard.invalid_input` from the body guard: zod's issues and Logto's details.
    InvalidBody(Box<crate::guard::Invalid>),
    /// `guard.invalid_input` without a type: identification of a sign-in or reset without a
    /// `verificationId` (Logto's message keeps its `{{type}}` placeholder).
    VerificationIdMissing,
    /// `verification_code.code_mismatch`.
    CodeMismatch,
    /// `verification_code.expired`.
    CodeExpired,
    /// `verification_code.exceed_max_try`.
    ExceedMaxTry,
    /// `verification_code.not_found`: superseded by a newer code, or already used.
    CodeNotFound,
    /// `verification_code.email_mismatch`.
    EmailMismatch,
    /// `user.user_not_exist`: sign-in of an unknown email (the pages offer to register).
    UserNotExist { identifier: String },
    /// `user.email_already_in_use`: registration of a known email (the pages offer to sign in).
    EmailAlreadyInUse,
    /// `user.missing_profile`: the tenant asks for more than an email.
    MissingProfile { fields: Vec<&'static str> },
    /// `user.sign_in_method_not_enabled`.
    MethodNotEnabled,
    /// `user.suspended`.
    Suspended,
    /// `session.verification_failed`: identification with a code not verified yet.
    VerificationFailed,
    /// `session.verification_session_not_found`: an unknown verification id.
    VerificationSessionNotFound,
    /// `session.identifier_not_found`: submit before identification.
    IdentifierNotFound,
    /// `request.message_rate_limited`: too many codes to one recipient.
    RateLimited,
    /// `session.invalid_interaction_type` (400): a password reset step outside a reset.
    InvalidInteractionType,
    /// `user.same_password` (422): the new password is the old one.
    SamePassword,
    /// `user.new_password_required_in_profile` (422): a reset submitted without a new password.
    NewPasswordRequired,
    /// `user.username_already_in_use` (422).
    UsernameAlreadyInUse,
    /// `password.rejected` (422): the issues of the tenant's password policy.
    PasswordRejected {
        issues: Vec<super::password_policy::Issue>,
    },
    /// `user.password_exists_in_profile` (422): the user has a password already.
    PasswordExistsInProfile,
    /// `session.invalid_credentials` (422): a wrong password, an unknown identifier, or a user
    /// without a password; the three are not told apart.
    InvalidCredentials,
    /// `session.verification_blocked_too_many_attempts` (400): the sentinel's lockout.
    Blocked { minutes: i64 },
    /// `auth.forbidden` (403): the sign-in mode does not allow this event.
    Forbidden,
    /// `session.not_supported_for_forgot_password`: 400 when switching to or from a password
    /// reset, 422 when a reset is identified by a password.
    NotSupportedForForgotPassword { status: u16 },
    /// `connector.not_found`: no connector of this kind (`email`, `sms`).
    ConnectorNotFound { kind: &'static str },
    /// What the Postmark connector answered (`connector.general`, ...), as it answered it.
    Connector(RequestError),
}

impl ExperienceError {
    /// Logto's error code, e.g. `verification_code.code_mismatch`.
    pub(crate) fn code(&self) -> &'static str {
        self.status_code_message().1
    }

    /// Logto's English phrase, as the pages show it (for a rejected password, the issue
    /// Logto's experience shows).
    pub(crate) fn message(&self) -> String {
        if let Self::PasswordRejected { issues } = self {
            return super::password_policy::message(issues);
        }
        self.status_code_message().2
    }

    fn status_code_message(&self) -> (StatusCode, &'static str, String) {
        use StatusCode as S;
        let (status, code, message): (StatusCode, &'static str, &str) = match self {
            Self::SessionNotFound { description } => {
                let error = RequestError::session_not_found(description);
                return (error.status, error.code, error.message);
            }
            Self::Connector(error) => return (error.status, error.code, error.message.clone()),
            // Logto passes the identifier as data, not to the phrase, so the placeholder stays
            // in the message (the pages word it themselves).
            Self::UserNotExist { .. } => {
                return (
                    S::NOT_FOUND,
                    "user.user_not_exist",
                    "User with {{ identifier }} does not exist.".to_owned(),
                );
            }
            Self::Blocked { minutes } => {
                let unit = if *minutes == 1 { "minute" } else { "minutes" };
                return (
                    S::BAD_REQUEST,
                    "session.verification_blocked_too_many_attempts",
                    format!(
                        "Too many attempts in a short time. Please try again in {minutes} {unit}."
                    ),
                );
            }
            Self::NotSupportedForForgotPassword { status } => {
                return (
                    S::from_u16(*status).unwrap_or(S::BAD_REQUEST),
                    "session.not_supported_for_forgot_password",
                    "This operation is not supported for forgot password.".to_owned(),
                );
            }
            Self::ConnectorNotFound { kind } => {
                return (
                    S::NOT_IMPLEMENTED,
                    "connector.not_found",
                    format!("Cannot find any available connector for type: {kind}."),
                );
            }
            Self::InvalidInput | Self::InvalidBody(_) => (
                S::BAD_REQUEST,
                "guard.invalid_input",
                "The request body is invalid.",
            ),
            Self::VerificationIdMissing => (
                S::BAD_REQUEST,
                "guard.invalid_input",
                "The request {{type}} is invalid.",
            ),
            Self::InteractionNotFound => (
                S::NOT_FOUND,
                "session.interaction_not_found",
                "Interaction session not found. Please go back and start the session again.",
            ),
            Self::InvalidInteractionType => (
                S::BAD_REQUEST,
                "session.invalid_interaction_type",
                "This operation is not supported for the current interaction. Please initiate a new session.",
            ),
            Self::SamePassword => (
                S::UNPROCESSABLE_ENTITY,
                "user.same_password",
                "New password cannot be the same as your old password.",
            ),
            Self::NewPasswordRequired => (
                S::UNPROCESSABLE_ENTITY,
                "user.new_password_required_in_profile",
                "You need to set a new password.",
            ),
            Self::UsernameAlreadyInUse => (
                S::UNPROCESSABLE_ENTITY,
                "user.username_already_in_use",
                "This username is already in use.",
            ),
            Self::PasswordRejected { .. } => (
                S::UNPROCESSABLE_ENTITY,
                "password.rejected",
                "Password rejected. Please check if your password meets the requirements.",
            ),
            Self::PasswordExistsInProfile => (
                S::UNPROCESSABLE_ENTITY,
                "user.password_exists_in_profile",
                "Password already exists in your profile.",
            ),
            Self::InvalidCredentials => (
                S::UNPROCESSABLE_ENTITY,
                "session.invalid_credentials",
                "Incorrect account or password. Please check your input.",
            ),
            Self::Forbidden => (
                S::FORBIDDEN,
                "auth.forbidden",
                "Forbidden. Please check your user roles and permissions.",
            ),
            Self::CodeMismatch => (
                S::BAD_REQUEST,
                "verification_code.code_mismatch",
                "Invalid verification code.",
            ),
            Self::CodeExpired => (
                S::BAD_REQUEST,
                "verification_code.expired",
                "Verification code has expired. Please request a new verification code.",
            ),
            Self::ExceedMaxTry => (
                S::BAD_REQUEST,
                "verification_code.exceed_max_try",
                "Verification code retries limitation exceeded. Please request a new verification code.",
            ),
            Self::CodeNotFound => (
                S::BAD_REQUEST,
                "verification_code.not_found",
                "Verification code not found. Please send verification code first.",
            ),
            Self::EmailMismatch => (
                S::BAD_REQUEST,
                "verification_code.email_mismatch",
                "Email mismatch. Please request a new verification code.",
            ),
            Self::EmailAlreadyInUse => (
                S::UNPROCESSABLE_ENTITY,
                "user.email_already_in_use",
                "This email is associated with an existing account.",
            ),
            Self::MissingProfile { .. } => (
                S::UNPROCESSABLE_ENTITY,
                "user.missing_profile",
                "You need to provide additional info before signing-in.",
            ),
            Self::MethodNotEnabled => (
                S::UNPROCESSABLE_ENTITY,
                "user.sign_in_method_not_enabled",
                "This sign-in method is not enabled.",
            ),
            Self::Suspended => (
                S::UNAUTHORIZED,
                "user.suspended",
                "This account is suspended.",
            ),
            Self::VerificationFailed => (
                S::BAD_REQUEST,
                "session.verification_failed",
                "The verification was not successful. Restart the verification flow and try again.",
            ),
            Self::VerificationSessionNotFound => (
                S::NOT_FOUND,
                "session.verification_session_not_found",
                "The verification was not successful. Restart the verification flow and try again.",
            ),
            Self::IdentifierNotFound => (
                S::NOT_FOUND,
                "session.identifier_not_found",
                "User identifier not found. Please go back and sign in again.",
            ),
            Self::RateLimited => (
                S::TOO_MANY_REQUESTS,
                "request.message_rate_limited",
                "Too many messages sent to this recipient. Please try again later.",
            ),
        };
        (status, code, message.to_owned())
    }
}

impl From<ExperienceError> for RequestError {
    fn from(error: ExperienceError) -> Self {
        let data: Option<serde_json::Value> = match &error {
            ExperienceError::MissingProfile { fields } => Some(json!({ "missingProfile": fields })),
            ExperienceError::PasswordRejected { issues } => Some(serde_json::Value::Array(
                issues.iter().map(|i| i.to_json()).collect(),
            )),
            ExperienceError::UserNotExist { identifier } => {
                Some(json!({ "identifier": identifier }))
            }
            ExperienceError::InvalidBody(invalid) => invalid.data.clone(),
            ExperienceError::Connector(inner) => inner.data.as_deref().cloned(),
            _ => None,
        };
        let extra = match &error {
            ExperienceError::InvalidBody(invalid) => Some(Box::new(Extra {
                details: Some(invalid.details.clone()),
                oidc_description: None,
            })),
            ExperienceError::SessionNotFound { description } => Some(Box::new(Extra {
                details: None,
                oidc_description: Some(description),
            })),
            _ => None,
        };
        let (status, code, message) = error.status_code_message();
        RequestError {
            status,
            code,
            message,
            data: data.map(Box::new),
            extra,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_answers_logtos_code_status_and_data() {
        let error = RequestError::from(ExperienceError::UserNotExist {
            identifier: "erin@example.com".into(),
        });
        assert_eq!(error.status, StatusCode::NOT_FOUND);
        assert_eq!(error.code, "user.user_not_exist");
        assert_eq!(error.message, "User with {{ identifier }} does not exist.");
        assert_eq!(
            error.data.as_deref(),
            Some(&json!({"identifier": "erin@example.com"}))
        );
        let error = RequestError::from(ExperienceError::MissingProfile {
            fields: vec!["password"],
        });
        assert_eq!(error.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            error.data.as_deref(),
            Some(&json!({"missingProfile": ["password"]}))
        );
        let lost = RequestError::from(ExperienceError::SessionNotFound {
            description: "interaction session not found",
        });
        assert_eq!(lost.code, "session.not_found");
        assert_eq!(
            lost.extra.and_then(|e| e.oidc_description),
            Some("interaction session not found")
        );
    }
}
