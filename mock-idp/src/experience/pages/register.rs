//! Registration with a password on the pages, as Logto's experience does it.
//!
//! A tenant that signs up with usernames takes one on `/register` and asks for the password on
//! `/register/password`; a tenant that signs up with an email and a password sends the code
//! first, then asks for the password on `/continue/password` (where Logto's experience goes on
//! `user.missing_profile`). Both pages ask for the password twice (`#password`,
//! `#confirm-password`) and say what the tenant's password policy refuses, in Logto's words.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::super::engine::{self, InteractionEvent};
use super::super::errors::ExperienceError;
use super::super::profile;
use super::{
    Mode, finish, form_status, form_value, html, identifier_page, root_href, see_other,
    session_lost,
};
use crate::interaction::Interaction;
use crate::state::IdpState;

/// A page that asks for a new password twice (registration, or a reset).
#[derive(Template)]
#[template(path = "experience/new_password.html")]
pub(super) struct NewPasswordPage<'a> {
    pub heading: &'a str,
    pub action: &'a str,
    /// Who the password is for (a username or an email).
    pub account: Option<String>,
    pub error: Option<String>,
    pub back_href: String,
    pub inbox_url: Option<&'a str>,
}

/// Whether the tenant signs up with usernames.
pub(super) fn signs_up_with_usernames(state: &IdpState) -> bool {
    state
        .tenant()
        .sign_in_experience
        .sign_up
        .identifiers
        .iter()
        .any(|i| i == "username")
}

/// `POST /register` with a username: into the profile, then on to the password (or, for a
/// tenant that asks for no password, the new account).
pub(super) fn register_username(
    state: &IdpState,
    uid: &str,
    interaction: &Interaction,
    username: &str,
) -> Response {
    let error_page = |message: String| {
        identifier_page(state, Mode::Register, interaction, username, Some(message))
    };
    engine::start(state, uid, InteractionEvent::Register);
    if let Err(error) = profile::update(state, uid, profile::Update::Username(username.into())) {
        return error_page(match error {
            ExperienceError::InvalidInput => "The username is invalid.".into(),
            other => other.message(),
        });
    }
    identify_or_ask(state, uid, interaction, "/register/password")
}

/// Identifies the registration (with its code, if it has one): the new account, or the page
/// that asks for what is missing.
pub(super) fn identify_or_ask(
    state: &IdpState,
    uid: &str,
    interaction: &Interaction,
    password_page: &str,
) -> Response {
    let code = state
        .experience
        .get(uid)
        .verifications
        .iter()
        .rev()
        .find(|v| v.verified)
        .map(|v| v.id.clone());
    match engine::identify(state, uid, interaction, code.as_deref()) {
        Ok(_) => finish(state, uid, Mode::Register, interaction),
        Err(ExperienceError::MissingProfile { fields }) if fields.contains(&"password") => {
            see_other(password_page)
        }
        Err(error) => new_password_page(
            state,
            uid,
            interaction,
            password_page,
            Some(error.message()),
        ),
    }
}

fn new_password_page(
    state: &IdpState,
    uid: &str,
    interaction: &Interaction,
    action: &str,
    error: Option<String>,
) -> Response {
    let current = state.experience.get(uid);
    let account = current.profile.username.clone().or_else(|| {
        current
            .verifications
            .iter()
            .rev()
            .find(|v| v.verified)
            .map(|v| v.email.clone())
    });
    let view = NewPasswordPage {
        heading: "Set password",
        action,
        account,
        back_href: root_href(Mode::Register, interaction),
        inbox_url: state.inbox_url.as_deref(),
        error: error.clone(),
    };
    html(form_status(&error), view.render())
}

async fn show(state: &IdpState, headers: &HeaderMap, action: &str) -> Response {
    match engine::interaction_of(state, headers) {
        Ok((uid, interaction)) if state.experience.get(&uid).event.is_some() => {
            new_password_page(state, &uid, &interaction, action, None)
        }
        Ok((_, interaction)) => see_other(&root_href(Mode::Register, &interaction)),
        Err(_) => session_lost(state),
    }
}

async fn submit(state: &IdpState, headers: &HeaderMap, body: &[u8], action: &str) -> Response {
    let Ok((uid, interaction)) = engine::interaction_of(state, headers) else {
        return session_lost(state);
    };
    if state.experience.get(&uid).event.is_none() {
        return see_other(&root_href(Mode::Register, &interaction));
    }
    let password = form_value(body, "password");
    let again = |message: &str| {
        new_password_page(state, &uid, &interaction, action, Some(message.to_owned()))
    };
    if password.is_empty() {
        return again("Password is required");
    }
    if password != form_value(body, "confirm-password") {
        return again("Your passwords don’t match. Please try again.");
    }
    if let Err(error) = profile::update(state, &uid, profile::Update::Password(password)) {
        return again(&error.message());
    }
    identify_or_ask(state, &uid, &interaction, action)
}

/// `GET /register/password`.
pub(crate) async fn register_password(State(s): State<IdpState>, h: HeaderMap) -> Response {
    show(&s, &h, "/register/password").await
}

/// `POST /register/password`.
pub(crate) async fn register_password_post(
    State(s): State<IdpState>,
    h: HeaderMap,
    b: Bytes,
) -> Response {
    submit(&s, &h, &b, "/register/password").await
}

/// `GET /continue/password`.
pub(crate) async fn continue_password(State(s): State<IdpState>, h: HeaderMap) -> Response {
    show(&s, &h, "/continue/password").await
}

/// `POST /continue/password`.
pub(crate) async fn continue_password_post(
    State(s): State<IdpState>,
    h: HeaderMap,
    b: Bytes,
) -> Response {
    submit(&s, &h, &b, "/continue/password").await
}
