//! The Experience API (`/api/experience`), as Logto's experience app calls it. JSON bodies,
//! the `_interaction` cookie, Logto's statuses and `{code, message, data?}` errors.
//!
//! | step | request | success |
//! |---|---|---|
//! | start | `PUT /api/experience` `{"interactionEvent": "SignIn" \| "Register"}` | 204 |
//! | send code | `POST /api/experience/verification/verification-code` `{"identifier": {"type": "email", "value": …}, "interactionEvent": …}` | 200 `{"verificationId"}` |
//! | verify | `POST …/verification-code/verify` `{"identifier", "verificationId", "code"}` | 200 `{"verificationId"}` |
//! | password | `POST /api/experience/verification/password` `{"identifier": {"type": "username" \| "email" \| "phone", "value"}, "password"}` | 200 `{"verificationId"}` |
//! | new username | `POST /api/experience/verification/new-password-identity` `{"identifier": {"type": "username", "value"}, "password"}` | 200 `{"verificationId"}` |
//! | profile | `POST /api/experience/profile` `{"type": "username" \| "password", "value"}` or `{"type": "email", "verificationId"}` | 204 |
//! | identify | `POST /api/experience/identification` `{"verificationId"}` (a registration: `{}` goes by the profile) | 204 sign-in, 201 registration |
//! | switch | `PUT /api/experience/interaction-event` `{"interactionEvent"}` | 204 |
//! | reset | `PUT /api/experience/profile/password` `{"password"}` (a `ForgotPassword` interaction) | 204 |
//! | submit | `POST /api/experience/submit` | 200 `{"redirectTo"}`; 204 after a reset |
//! | read | `GET /api/experience/interaction` | 200 |

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::engine::{self, Identified, Identifier, IdentifierKind, InteractionEvent};
use super::errors::ExperienceError;
use super::profile;
use crate::guard::{self, Shape, optional, required};
use crate::interaction::Interaction;
use crate::request_error::RequestError;
use crate::state::IdpState;

type Answer = Result<Response, ExperienceError>;

const EVENTS: &[&str] = &["SignIn", "Register", "ForgotPassword"];
/// `verificationCodeIdentifierGuard`: an email or a phone.
const CODE_IDENTIFIER: Shape = Shape::Object(&[
    required("type", Shape::Enum(&["email", "phone"])),
    required("value", Shape::Str),
]);
const START: Shape = Shape::Object(&[
    required("interactionEvent", Shape::Enum(EVENTS)),
    optional("captchaToken", Shape::Str),
]);
const SWITCH: Shape = Shape::Object(&[required("interactionEvent", Shape::Enum(EVENTS))]);
const SEND: Shape = Shape::Object(&[
    required("identifier", CODE_IDENTIFIER),
    required("interactionEvent", Shape::Enum(EVENTS)),
]);
const VERIFY: Shape = Shape::Object(&[
    required("identifier", CODE_IDENTIFIER),
    required("verificationId", Shape::Str),
    required("code", Shape::Str),
]);
const PASSWORD: Shape = Shape::Object(&[
    required(
        "identifier",
        Shape::Object(&[
            required("type", Shape::Enum(&["username", "email", "phone"])),
            required("value", Shape::Str),
        ]),
    ),
    required("password", Shape::NonEmptyStr),
]);
const NEW_PASSWORD_IDENTITY: Shape = Shape::Object(&[
    required(
        "identifier",
        Shape::Object(&[
            required("type", Shape::Literal("username")),
            required("value", Shape::Str),
        ]),
    ),
    required("password", Shape::Str),
]);
const IDENTIFY: Shape = Shape::Object(&[optional("verificationId", Shape::Str)]);
const PROFILE: Shape = Shape::Union {
    tag: "type",
    variants: &[
        ("username", &[required("value", Shape::Str)]),
        ("password", &[required("value", Shape::Str)]),
        ("email", &[required("verificationId", Shape::Str)]),
    ],
};
const NEW_PASSWORD: Shape = Shape::Object(&[required("password", Shape::Str)]);

/// The body, read and checked as Logto's `koaGuard` does ([`guard`]), then typed.
fn body<T: DeserializeOwned>(
    headers: &HeaderMap,
    bytes: &[u8],
    schema: &Shape,
) -> Result<T, ExperienceError> {
    let value = guard::check(headers, bytes, schema)
        .map_err(|invalid| ExperienceError::InvalidBody(Box::new(invalid)))?;
    serde_json::from_value(value).map_err(|_| ExperienceError::InvalidInput)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventBody {
    interaction_event: InteractionEvent,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordBody {
    identifier: Identifier,
    password: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendBody {
    identifier: Identifier,
    interaction_event: InteractionEvent,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerifyBody {
    identifier: Identifier,
    verification_id: String,
    code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IdentifyBody {
    /// Left out, a registration goes by its profile.
    verification_id: Option<String>,
}

/// `POST /api/experience/profile`: one of Logto's profile updates.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum ProfileBody {
    Username {
        value: String,
    },
    Password {
        value: String,
    },
    #[serde(rename_all = "camelCase")]
    Email {
        verification_id: String,
    },
}

/// Email codes only: a phone has no SMS connector here; a username takes no code.
fn email_of(identifier: &Identifier) -> Result<&str, ExperienceError> {
    match identifier.kind {
        IdentifierKind::Email => Ok(&identifier.value),
        IdentifierKind::Phone => Err(ExperienceError::ConnectorNotFound { kind: "sms" }),
        IdentifierKind::Username => Err(ExperienceError::InvalidInput),
    }
}

fn respond(state: &IdpState, answer: Answer) -> Response {
    answer.unwrap_or_else(|error| {
        let error = RequestError::from(error);
        state.events.push(
            "experience.error",
            json!({"code": error.code, "status": error.status.as_u16()}),
        );
        error.into_response()
    })
}

/// The request's live interaction (else `session.not_found`) whose experience has started
/// (else `session.interaction_not_found`): Logto's middlewares check both before the body.
fn started(
    state: &IdpState,
    headers: &HeaderMap,
) -> Result<(String, Interaction), ExperienceError> {
    let (uid, interaction) = engine::interaction_of(state, headers)?;
    if state.experience.get(&uid).event.is_none() {
        return Err(ExperienceError::InteractionNotFound);
    }
    Ok((uid, interaction))
}

/// Runs `step` for the request's started interaction and answers what it returns, logging
/// errors.
fn run(
    state: &IdpState,
    headers: &HeaderMap,
    step: impl FnOnce(&str, &Interaction) -> Answer,
) -> Response {
    let answer = started(state, headers).and_then(|(uid, interaction)| step(&uid, &interaction));
    respond(state, answer)
}

pub(crate) async fn start(
    State(state): State<IdpState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let answer = engine::interaction_of(&state, &headers).and_then(|(uid, _)| {
        let EventBody { interaction_event } = body(&headers, &bytes, &START)?;
        engine::start(&state, &uid, interaction_event);
        Ok(StatusCode::NO_CONTENT.into_response())
    });
    respond(&state, answer)
}

pub(crate) async fn switch_event(
    State(state): State<IdpState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    run(&state, &headers, |uid, _| {
        let EventBody { interaction_event } = body(&headers, &bytes, &SWITCH)?;
        engine::switch_event(&state, uid, interaction_event)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

/// The one asynchronous step (it calls the connector), so it cannot go through [`run`].
pub(crate) async fn send_code(
    State(state): State<IdpState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let answer = async {
        let (uid, interaction) = started(&state, &headers)?;
        let request: SendBody = body(&headers, &bytes, &SEND)?;
        let email = email_of(&request.identifier)?;
        let id =
            engine::send_code(&state, &uid, &interaction, email, request.interaction_event).await?;
        Ok(Json(json!({ "verificationId": id })).into_response())
    }
    .await;
    respond(&state, answer)
}

pub(crate) async fn verify(
    State(state): State<IdpState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    run(&state, &headers, |uid, _| {
        let request: VerifyBody = body(&headers, &bytes, &VERIFY)?;
        let email = email_of(&request.identifier)?;
        let id = engine::verify(&state, uid, &request.verification_id, email, &request.code)?;
        Ok(Json(json!({ "verificationId": id })).into_response())
    })
}

pub(crate) async fn verify_password(
    State(state): State<IdpState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    run(&state, &headers, |uid, _| {
        let request: PasswordBody = body(&headers, &bytes, &PASSWORD)?;
        let id = engine::verify_password(&state, uid, &request.identifier, &request.password)?;
        Ok(Json(json!({ "verificationId": id })).into_response())
    })
}

pub(crate) async fn profile(
    State(state): State<IdpState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    run(&state, &headers, |uid, _| {
        let update = match body(&headers, &bytes, &PROFILE)? {
            ProfileBody::Username { value } => profile::Update::Username(value),
            ProfileBody::Password { value } if !value.is_empty() => {
                profile::Update::Password(value)
            }
            ProfileBody::Password { .. } => return Err(ExperienceError::InvalidInput),
            ProfileBody::Email { verification_id } => profile::Update::Email { verification_id },
        };
        profile::update(&state, uid, update)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

#[derive(Deserialize)]
struct NewPasswordBody {
    password: String,
}

pub(crate) async fn reset_password(
    State(state): State<IdpState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    run(&state, &headers, |uid, _| {
        let NewPasswordBody { password } = body(&headers, &bytes, &NEW_PASSWORD)?;
        if password.is_empty() {
            return Err(ExperienceError::InvalidInput);
        }
        engine::reset_password(&state, uid, &password)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
}

pub(crate) async fn new_password_identity(
    State(state): State<IdpState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    run(&state, &headers, |uid, _| {
        let request: PasswordBody = body(&headers, &bytes, &NEW_PASSWORD_IDENTITY)?;
        let id = profile::new_password_identity(
            &state,
            uid,
            request.identifier.kind,
            &request.identifier.value,
            &request.password,
        )?;
        Ok(Json(json!({ "verificationId": id })).into_response())
    })
}

pub(crate) async fn identify(
    State(state): State<IdpState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    run(&state, &headers, |uid, interaction| {
        // Logto's experience sends `{}` to identify a registration by its profile.
        let IdentifyBody { verification_id } = body(&headers, &bytes, &IDENTIFY)?;
        let status = match engine::identify(&state, uid, interaction, verification_id.as_deref())? {
            Identified::SignedIn => StatusCode::NO_CONTENT,
            Identified::Registered => StatusCode::CREATED,
        };
        Ok(status.into_response())
    })
}

pub(crate) async fn submit(State(state): State<IdpState>, headers: HeaderMap) -> Response {
    run(&state, &headers, |uid, _| {
        match engine::submit(&state, uid)? {
            engine::Submitted::SignedIn(redirect_to) => {
                Ok(Json(json!({ "redirectTo": redirect_to })).into_response())
            }
            // Logto answers a reset with no body.
            engine::Submitted::PasswordReset => Ok(StatusCode::NO_CONTENT.into_response()),
        }
    })
}

pub(crate) async fn interaction(State(state): State<IdpState>, headers: HeaderMap) -> Response {
    run(&state, &headers, |uid, _| {
        Ok(Json(engine::read(&state, uid)).into_response())
    })
}
