//! Password sign-in on the pages, as Logto's experience does it.
//!
//! The first screen takes an identifier (`#identifier`: an email, or a username where the
//! tenant signs in with usernames). An email whose method is the code (and the code not second
//! to the password) gets a code, as before; anything signed in with a password goes on to
//! `/sign-in/password` (`#password`). When every method is password-only, the first screen
//! asks for both at once. A wrong password says Logto's "Incorrect account or password"
//! whatever was wrong; too many wrong ones lock the identifier out for a while.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;

use super::super::engine::{self, Identifier, IdentifierKind, InteractionEvent};
use super::{
    Mode, finish, form_status, form_value, html, identifier_page, password_only, root_href,
    see_other, session_lost,
};
use crate::interaction::Interaction;
use crate::state::IdpState;
use crate::tenant::SignInMethod;

#[derive(Template)]
#[template(path = "experience/password.html")]
struct PasswordPage<'a> {
    kind: &'a str,
    value: &'a str,
    error: Option<String>,
    /// The identifier is an email that can also sign in with a code.
    code_switch: bool,
    /// `#forgot-password`: the tenant resets passwords by email code.
    forgot_password: bool,
    back_href: String,
    inbox_url: Option<&'a str>,
}

/// The tenant's sign-in method for this kind of identifier.
fn method(state: &IdpState, kind: IdentifierKind) -> Option<SignInMethod> {
    state
        .tenant()
        .sign_in_experience
        .sign_in
        .methods
        .iter()
        .find(|m| m.identifier == kind.as_str())
        .cloned()
}

/// What the user typed, read as Logto's experience reads it: an `@` makes it an email, a
/// leading `+` or digits only a phone number, anything else a username.
fn identifier_of(value: &str) -> Identifier {
    let value = value.trim();
    let digits = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    let kind = if value.contains('@') {
        IdentifierKind::Email
    } else if value.strip_prefix('+').is_some_and(digits) || digits(value) {
        IdentifierKind::Phone
    } else {
        IdentifierKind::Username
    };
    Identifier {
        kind,
        value: value.to_owned(),
    }
}

/// Logto's "The {types} is invalid." for what the first screen takes.
fn invalid_message(state: &IdpState) -> String {
    let names: Vec<&str> = super::sign_in_kinds(state)
        .iter()
        .map(|kind| match kind {
            IdentifierKind::Username => "username",
            IdentifierKind::Email => "email",
            IdentifierKind::Phone => "phone number",
        })
        .collect();
    let types = match names.as_slice() {
        [] => "email".to_owned(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    };
    format!("The {types} is invalid.")
}

/// `POST /sign-in`: a code for an email signed in by code, else the password page (or, on a
/// password-only first screen, the password checked at once).
pub(super) async fn route_sign_in(
    state: &IdpState,
    uid: &str,
    interaction: &Interaction,
    body: &[u8],
) -> Response {
    let typed = form_value(body, "identifier");
    let error_page =
        |message: String| identifier_page(state, Mode::SignIn, interaction, &typed, Some(message));
    let identifier = identifier_of(&typed);
    let valid = match identifier.kind {
        IdentifierKind::Email => engine::valid_email(&identifier.value),
        IdentifierKind::Username => engine::valid_username(&identifier.value),
        IdentifierKind::Phone => true,
    };
    if !valid {
        return error_page(invalid_message(state));
    }
    let Some(method) = method(state, identifier.kind) else {
        return error_page(format!(
            "Signing in with a {} is not enabled.",
            match identifier.kind {
                IdentifierKind::Username => "username",
                IdentifierKind::Email => "email",
                IdentifierKind::Phone => "phone number",
            }
        ));
    };
    engine::start(state, uid, InteractionEvent::SignIn);
    state.experience.set_pending(uid, identifier.clone());
    if password_only(state) {
        let password = form_value(body, "password");
        return match sign_in(state, uid, interaction, &identifier, &password) {
            Ok(response) => response,
            Err(message) => error_page(message),
        };
    }
    let by_code = method.verification_code && !(method.password && method.is_password_primary)
        || form_value(body, "method") == "code";
    if by_code && method.verification_code {
        return match engine::send_code(
            state,
            uid,
            interaction,
            &identifier.value,
            InteractionEvent::SignIn,
        )
        .await
        {
            Ok(_) => see_other("/sign-in/verification-code"),
            Err(error) => error_page(error.message()),
        };
    }
    if method.password {
        return see_other("/sign-in/password");
    }
    error_page("This sign-in method is not enabled.".into())
}

/// Checks the password, identifies and signs in; Logto's message when any step refuses.
fn sign_in(
    state: &IdpState,
    uid: &str,
    interaction: &Interaction,
    identifier: &Identifier,
    password: &str,
) -> Result<Response, String> {
    if password.is_empty() {
        return Err("Password is required".into());
    }
    let verification = engine::verify_password(state, uid, identifier, password)
        .map_err(|error| error.message())?;
    engine::identify(state, uid, interaction, Some(&verification))
        .map_err(|error| error.message())?;
    Ok(finish(state, uid, Mode::SignIn, interaction))
}

fn password_page(
    state: &IdpState,
    interaction: &Interaction,
    identifier: &Identifier,
    error: Option<String>,
) -> Response {
    let code_switch = identifier.kind == IdentifierKind::Email
        && method(state, IdentifierKind::Email).is_some_and(|m| m.verification_code);
    let view = PasswordPage {
        kind: identifier.kind.as_str(),
        value: &identifier.value,
        code_switch,
        forgot_password: super::can_reset(state),
        back_href: root_href(Mode::SignIn, interaction),
        inbox_url: state.inbox_url.as_deref(),
        error: error.clone(),
    };
    html(form_status(&error), view.render())
}

/// `GET /sign-in/password`: the password for the identifier typed on the first screen.
pub(crate) async fn sign_in_password(
    State(state): State<IdpState>,
    headers: HeaderMap,
) -> Response {
    let Ok((uid, interaction)) = engine::interaction_of(&state, &headers) else {
        return session_lost(&state);
    };
    match state.experience.get(&uid).pending {
        Some(identifier) => password_page(&state, &interaction, &identifier, None),
        None => see_other(&root_href(Mode::SignIn, &interaction)),
    }
}

/// `POST /sign-in/password`: checks it and signs in.
pub(crate) async fn sign_in_password_post(
    State(state): State<IdpState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok((uid, interaction)) = engine::interaction_of(&state, &headers) else {
        return session_lost(&state);
    };
    let current = state.experience.get(&uid);
    let Some(identifier) = current.pending else {
        return see_other(&root_href(Mode::SignIn, &interaction));
    };
    if current.event.is_none() {
        engine::start(&state, &uid, InteractionEvent::SignIn);
        state.experience.set_pending(&uid, identifier.clone());
    }
    let password = form_value(&body, "password");
    match sign_in(&state, &uid, &interaction, &identifier, &password) {
        Ok(response) => response,
        Err(message) => password_page(&state, &interaction, &identifier, Some(message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_typed_is_read_as_logtos_experience_reads_it() {
        let kind = |v: &str| identifier_of(v).kind;
        assert_eq!(kind("alice@example.com"), IdentifierKind::Email);
        assert_eq!(kind(" bob "), IdentifierKind::Username);
        assert_eq!(identifier_of(" bob ").value, "bob");
        assert_eq!(kind("+15551234567"), IdentifierKind::Phone);
        assert_eq!(kind("15551234567"), IdentifierKind::Phone);
        assert_eq!(kind("bob2"), IdentifierKind::Username);
    }
}
