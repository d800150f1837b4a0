//! A forgotten password, reset on the pages as Logto's experience does it: `/forgot-password`
//! (the email) → `/forgot-password/verification-code` (the code Logto mails with the
//! `ForgotPassword` template) → `/forgot-password/reset` (the new password, twice) → back to
//! `/sign-in`, which says "Password changed".
//!
//! As Logto, an address with no account gets the same answer and no mail, so the page cannot
//! be used to find accounts; `/reset-password` (the `first_screen=reset_password` landing)
//! starts here too.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::super::engine;
use super::register::NewPasswordPage;
use super::{
    Mode, finish, first_screen, form_status, form_value, html, resend, root_href, see_other,
    session_lost, show_code, submit_code, submit_identifier,
};
use crate::interaction::Interaction;
use crate::state::IdpState;

const ACTION: &str = "/forgot-password/reset";

fn reset_page(
    state: &IdpState,
    uid: &str,
    interaction: &Interaction,
    error: Option<String>,
) -> Response {
    let account = state
        .experience
        .get(uid)
        .verifications
        .iter()
        .rev()
        .find(|v| v.verified)
        .map(|v| v.email.clone());
    let view = NewPasswordPage {
        heading: "New password",
        action: ACTION,
        account,
        back_href: root_href(Mode::SignIn, interaction),
        inbox_url: state.inbox_url.as_deref(),
        error: error.clone(),
    };
    html(form_status(&error), view.render())
}

/// Whether this interaction is a reset with its user identified (by the code).
fn identified(state: &IdpState, uid: &str) -> bool {
    let current = state.experience.get(uid);
    current.event == Some(engine::InteractionEvent::ForgotPassword) && current.user_id.is_some()
}

/// `GET /forgot-password/reset`.
pub(crate) async fn reset(State(state): State<IdpState>, headers: HeaderMap) -> Response {
    match engine::interaction_of(&state, &headers) {
        Ok((uid, interaction)) if identified(&state, &uid) => {
            reset_page(&state, &uid, &interaction, None)
        }
        Ok((_, interaction)) => see_other(&root_href(Mode::ForgotPassword, &interaction)),
        Err(_) => session_lost(&state),
    }
}

/// `POST /forgot-password/reset`: the new password, then the submit that stores it.
pub(crate) async fn reset_post(
    State(state): State<IdpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok((uid, interaction)) = engine::interaction_of(&state, &headers) else {
        return session_lost(&state);
    };
    if !identified(&state, &uid) {
        return see_other(&root_href(Mode::ForgotPassword, &interaction));
    }
    let password = form_value(&body, "password");
    let again = |message: String| reset_page(&state, &uid, &interaction, Some(message));
    if password.is_empty() {
        return again("Password is required".into());
    }
    if password != form_value(&body, "confirm-password") {
        return again("Your passwords don’t match. Please try again.".into());
    }
    if let Err(error) = engine::reset_password(&state, &uid, &password) {
        return again(error.message());
    }
    finish(&state, &uid, Mode::ForgotPassword, &interaction)
}

// The email and code steps are the sign-in's, in the reset's mode.

/// `GET /forgot-password`.
pub(crate) async fn forgot_password(State(s): State<IdpState>, h: HeaderMap) -> Response {
    first_screen(&s, &h, Mode::ForgotPassword).await
}

/// `POST /forgot-password`.
pub(crate) async fn forgot_password_post(
    State(s): State<IdpState>,
    h: HeaderMap,
    b: Bytes,
) -> Response {
    submit_identifier(&s, &h, &b, Mode::ForgotPassword).await
}

/// `GET /forgot-password/verification-code`.
pub(crate) async fn forgot_password_code(State(s): State<IdpState>, h: HeaderMap) -> Response {
    show_code(&s, &h, Mode::ForgotPassword).await
}

/// `POST /forgot-password/verification-code`.
pub(crate) async fn forgot_password_code_post(
    State(s): State<IdpState>,
    h: HeaderMap,
    b: Bytes,
) -> Response {
    submit_code(&s, &h, &b, Mode::ForgotPassword).await
}

/// `POST /forgot-password/verification-code/resend`.
pub(crate) async fn forgot_password_resend(State(s): State<IdpState>, h: HeaderMap) -> Response {
    resend(&s, &h, Mode::ForgotPassword).await
}
