//! The sign-in experience's pages: server-rendered HTML forms that work without JavaScript,
//! at Logto's routes, with the stable ids tests rely on (`#identifier`, `#code`, `#submit`,
//! `#resend`, `#create-account`, the offers in `#offer`, errors in `[role=alert]`).
//!
//! Every step calls the same [`engine`](super::engine) as the Experience API. The flow:
//! `/sign-in` (email) → code sent → `/sign-in/verification-code` → verified → signed in → the
//! browser goes to `/oidc/auth/{uid}`, which sends it back to the app. An unknown email at
//! sign-in offers "Create a new one?" (`#create-account`); a known email at `/register`
//! offers to sign in instead (`#sign-in-instead`). The resend link counts down 59 s by the
//! mock's clock, as Logto's UI does; the API has only the send rate limit.
//!
//! The countdown has two halves. The server renders the seconds left by the injected clock and
//! refuses an early resend by it; `experience.js` then counts the rendered number down in real
//! seconds. With the system clock the two agree. With [`Clock::fixed`](crate::Clock::fixed)
//! they do not: the page's countdown runs out after 59 real seconds while the server's clock
//! stands still, so a resend then is refused ("Please wait … seconds") until the test calls
//! `clock().advance(…)`; after an advance, a reload shows the server's count. Tests that drive
//! the resend go by the server (advance the clock, then post or reload), not by the script.

use askama::Template;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::engine::{self, Identified, InteractionEvent};
use super::errors::ExperienceError;
use crate::http;
use crate::interaction::Interaction;
use crate::request_error::RequestError;
use crate::state::IdpState;

mod password;
mod register;
mod reset;

pub(crate) use password::{sign_in_password, sign_in_password_post};
pub(crate) use register::{
    continue_password, continue_password_post, register_password, register_password_post,
};
pub(crate) use reset::{
    forgot_password, forgot_password_code, forgot_password_code_post, forgot_password_post,
    forgot_password_resend, reset, reset_post,
};

const SCRIPT: &str = include_str!("../../../assets/experience.js");
/// The pages' Content-Security-Policy. No `form-action`: browsers apply it to the redirects that follow a submit too, and these
/// forms end in a redirect to the app's callback on another origin.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
                   img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'";
/// Logto's UI lets the user ask for a new code after 59 seconds.
const RESEND_AFTER: i64 = 59;

/// Sign-in or registration: which routes and words a page uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    SignIn,
    Register,
    ForgotPassword,
}

impl Mode {
    fn root(self) -> &'static str {
        match self {
            Self::SignIn => "/sign-in",
            Self::Register => "/register",
            Self::ForgotPassword => "/forgot-password",
        }
    }

    fn event(self) -> InteractionEvent {
        match self {
            Self::SignIn => InteractionEvent::SignIn,
            Self::Register => InteractionEvent::Register,
            Self::ForgotPassword => InteractionEvent::ForgotPassword,
        }
    }

    /// The screen its first screen's link goes to.
    fn other(self) -> Self {
        match self {
            Self::SignIn => Self::Register,
            Self::Register | Self::ForgotPassword => Self::SignIn,
        }
    }
}

#[derive(Template)]
#[template(path = "experience/identifier.html")]
struct IdentifierPage<'a> {
    heading: &'a str,
    /// What the screen is for, under the heading (the password reset's).
    description: Option<&'a str>,
    /// A success to report ("Password changed").
    notice: Option<&'static str>,
    /// `#forgot-password` under a one-page password form.
    forgot_password: bool,
    app_name: &'a str,
    error: Option<String>,
    action: &'a str,
    /// "Email", "Username / Email", …: the identifiers this screen takes.
    label: String,
    /// `email` when only emails are taken, else `text`.
    input_type: &'static str,
    /// Password sign-in only: the password is asked on this page too.
    with_password: bool,
    identifier: &'a str,
    button: &'a str,
    switch_prompt: &'a str,
    switch_href: String,
    switch_label: &'a str,
    inbox_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "experience/code.html")]
struct CodePage<'a> {
    email: &'a str,
    notice: Option<&'a str>,
    error: Option<String>,
    action: String,
    resend_action: String,
    resend_in: i64,
    back_href: String,
    /// At sign-in, when the email can also sign in with a password.
    password_switch: bool,
    inbox_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "experience/confirm.html")]
struct ConfirmPage<'a> {
    heading: &'a str,
    message: String,
    action: String,
    button_id: &'a str,
    button: &'a str,
    back_href: String,
    inbox_url: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "experience/message.html")]
struct MessagePage<'a> {
    heading: &'a str,
    message: &'a str,
    inbox_url: Option<&'a str>,
}

fn html(status: StatusCode, rendered: Result<String, askama::Error>) -> Response {
    http::page(status, rendered, CSP)
}

/// A form page answers 400 when it shows an error, as Logto's API would have.
fn form_status(error: &Option<String>) -> StatusCode {
    if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}

fn see_other(location: &str) -> Response {
    http::see_other(location, &[])
}

/// A page saying what went wrong, for an interaction that is gone (or never was).
fn message_page(state: &IdpState, status: StatusCode, heading: &str, message: &str) -> Response {
    let view = MessagePage {
        heading,
        message,
        inbox_url: state.inbox_url.as_deref(),
    };
    html(status, view.render())
}

fn session_lost(state: &IdpState) -> Response {
    let error = RequestError::from(ExperienceError::SessionNotFound {
        description: "interaction session not found",
    });
    message_page(state, error.status, "Something went wrong", &error.message)
}

fn app_name(state: &IdpState, interaction: &Interaction) -> String {
    state
        .tenant()
        .application(&interaction.request.client_id)
        .map(|a| a.name.clone())
        .unwrap_or_default()
}

/// `?app_id=…` back to the first screen of `mode`.
fn root_href(mode: Mode, interaction: &Interaction) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("app_id", &interaction.request.client_id);
    format!("{}?{}", mode.root(), query.finish())
}

fn identifier_page(
    state: &IdpState,
    mode: Mode,
    interaction: &Interaction,
    identifier: &str,
    error: Option<String>,
) -> Response {
    let app = app_name(state, interaction);
    let other = mode.other();
    let kinds = match mode {
        Mode::SignIn => sign_in_kinds(state),
        Mode::Register => sign_up_kinds(state),
        Mode::ForgotPassword => vec![engine::IdentifierKind::Email],
    };
    let label: Vec<&str> = kinds
        .iter()
        .map(|kind| match kind {
            engine::IdentifierKind::Username => "Username",
            engine::IdentifierKind::Email => "Email",
            engine::IdentifierKind::Phone => "Phone number",
        })
        .collect();
    let view = IdentifierPage {
        heading: match mode {
            Mode::SignIn => "Sign in",
            Mode::Register => "Create your account",
            Mode::ForgotPassword => "Reset password",
        },
        description: (mode == Mode::ForgotPassword).then_some(
            "Enter the email associated with your account, and we’ll send you the verification \
             code to reset your password.",
        ),
        notice: (mode == Mode::SignIn)
            .then(|| state.experience.take_notice(&interaction.uid))
            .flatten(),
        forgot_password: mode == Mode::SignIn && password_only(state) && can_reset(state),
        app_name: &app,
        action: mode.root(),
        label: label.join(" / "),
        input_type: if kinds == [engine::IdentifierKind::Email] {
            "email"
        } else {
            "text"
        },
        with_password: mode == Mode::SignIn && password_only(state),
        identifier,
        button: match mode {
            Mode::SignIn => "Sign in",
            Mode::Register => "Create account",
            Mode::ForgotPassword => "Continue",
        },
        switch_prompt: match mode {
            Mode::SignIn => "Don't have an account?",
            Mode::Register => "Already have an account?",
            Mode::ForgotPassword => "Remember it?",
        },
        switch_href: root_href(other, interaction),
        switch_label: match mode {
            Mode::SignIn => "Create account",
            Mode::Register | Mode::ForgotPassword => "Sign in",
        },
        inbox_url: state.inbox_url.as_deref(),
        error: error.clone(),
    };
    html(form_status(&error), view.render())
}

/// `GET /sign-in`, `/identifier-sign-in`, `/register`, `/identifier-register`.
pub(crate) async fn first_screen(state: &IdpState, headers: &HeaderMap, mode: Mode) -> Response {
    match engine::interaction_of(state, headers) {
        Ok((_, interaction)) => {
            let hint = interaction.request.login_hint.clone().unwrap_or_default();
            identifier_page(state, mode, &interaction, &hint, None)
        }
        Err(_) => session_lost(state),
    }
}

/// The value of `name` in a form body.
fn form_value(body: &[u8], name: &str) -> String {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// The kinds of identifier the sign-in screen takes, in Logto's order (username, email, phone).
fn sign_in_kinds(state: &IdpState) -> Vec<engine::IdentifierKind> {
    use engine::IdentifierKind as K;
    let tenant = state.tenant();
    let methods = &tenant.sign_in_experience.sign_in.methods;
    [K::Username, K::Email, K::Phone]
        .into_iter()
        .filter(|kind| methods.iter().any(|m| m.identifier == kind.as_str()))
        .collect()
}

/// The kinds of identifier the registration screen takes (`signUp.identifiers`).
fn sign_up_kinds(state: &IdpState) -> Vec<engine::IdentifierKind> {
    use engine::IdentifierKind as K;
    let tenant = state.tenant();
    let identifiers = &tenant.sign_in_experience.sign_up.identifiers;
    let kinds: Vec<K> = [K::Username, K::Email, K::Phone]
        .into_iter()
        .filter(|kind| identifiers.iter().any(|i| i == kind.as_str()))
        .collect();
    if kinds.is_empty() {
        vec![K::Email]
    } else {
        kinds
    }
}

/// Whether a forgotten password can be reset here: the tenant allows it by email code, and
/// the IdP has a connector to send the code through.
fn can_reset(state: &IdpState) -> bool {
    state.connector.is_some()
        && state
            .tenant()
            .sign_in_experience
            .forgot_password_methods
            .as_ref()
            .is_none_or(|methods| methods.iter().any(|m| m == "EmailVerificationCode"))
}

/// Whether every sign-in method is by password alone: Logto then asks for the identifier and
/// the password on one page.
fn password_only(state: &IdpState) -> bool {
    let tenant = state.tenant();
    let methods = &tenant.sign_in_experience.sign_in.methods;
    !methods.is_empty() && methods.iter().all(|m| m.password && !m.verification_code)
}

/// `POST /sign-in`, `/register`: starts the experience and sends the code (or, at sign-in,
/// goes on to the password).
pub(crate) async fn submit_identifier(
    state: &IdpState,
    headers: &HeaderMap,
    body: &[u8],
    mode: Mode,
) -> Response {
    let Ok((uid, interaction)) = engine::interaction_of(state, headers) else {
        return session_lost(state);
    };
    if mode == Mode::SignIn {
        return password::route_sign_in(state, &uid, &interaction, body).await;
    }
    let email = form_value(body, "identifier");
    if !email.contains('@') && register::signs_up_with_usernames(state) {
        return register::register_username(state, &uid, &interaction, &email);
    }
    if !engine::valid_email(&email) {
        return identifier_page(
            state,
            mode,
            &interaction,
            &email,
            Some("The email is invalid.".into()),
        );
    }
    engine::start(state, &uid, mode.event());
    match engine::send_code(state, &uid, &interaction, &email, mode.event()).await {
        Ok(_) => see_other(&format!("{}/verification-code", mode.root())),
        Err(error) => identifier_page(state, mode, &interaction, &email, Some(error.message())),
    }
}

fn code_page(
    state: &IdpState,
    uid: &str,
    mode: Mode,
    interaction: &Interaction,
    notice: Option<&str>,
    error: Option<String>,
) -> Response {
    let current = state.experience.get(uid);
    let Some(latest) = current.latest() else {
        return see_other(&root_href(mode, interaction));
    };
    let view = CodePage {
        email: &latest.email,
        notice,
        action: format!("{}/verification-code", mode.root()),
        resend_action: format!("{}/verification-code/resend", mode.root()),
        resend_in: resend_in(state, latest),
        back_href: root_href(mode, interaction),
        password_switch: mode == Mode::SignIn
            && state
                .tenant()
                .sign_in_experience
                .sign_in
                .methods
                .iter()
                .any(|m| m.identifier == "email" && m.password),
        inbox_url: state.inbox_url.as_deref(),
        error: error.clone(),
    };
    html(form_status(&error), view.render())
}

/// `GET /sign-in/verification-code`, `/register/verification-code`.
pub(crate) async fn show_code(state: &IdpState, headers: &HeaderMap, mode: Mode) -> Response {
    match engine::interaction_of(state, headers) {
        Ok((uid, interaction)) => code_page(state, &uid, mode, &interaction, None, None),
        Err(_) => session_lost(state),
    }
}

/// `POST …/verification-code`: verify, identify, and sign in (or offer the other way).
pub(crate) async fn submit_code(
    state: &IdpState,
    headers: &HeaderMap,
    body: &[u8],
    mode: Mode,
) -> Response {
    let Ok((uid, interaction)) = engine::interaction_of(state, headers) else {
        return session_lost(state);
    };
    let Some(latest) = state.experience.get(&uid).latest().cloned() else {
        return see_other(&root_href(mode, &interaction));
    };
    let code = form_value(body, "code");
    if let Err(error) = engine::verify(state, &uid, &latest.id, &latest.email, &code) {
        return code_page(state, &uid, mode, &interaction, None, Some(error.message()));
    }
    match engine::identify(state, &uid, &interaction, Some(&latest.id)) {
        Ok(_) if mode == Mode::ForgotPassword => see_other("/forgot-password/reset"),
        Ok(_) => finish(state, &uid, mode, &interaction),
        Err(ExperienceError::MissingProfile { fields }) if fields.contains(&"password") => {
            see_other("/continue/password")
        }
        Err(ExperienceError::UserNotExist { identifier }) if mode == Mode::ForgotPassword => {
            let message = format!("The account with email {identifier} does not exist.");
            code_page(state, &uid, mode, &interaction, None, Some(message))
        }
        Err(ExperienceError::UserNotExist { .. }) => confirm_page(
            state,
            &interaction,
            "Create your account",
            format!("No account found for {}. Create a new one?", latest.email),
            "/sign-in/create-account",
            "create-account",
            "Create account",
        ),
        Err(ExperienceError::EmailAlreadyInUse) => confirm_page(
            state,
            &interaction,
            "Account exists",
            format!(
                "An account with {} already exists. Continue to sign in.",
                latest.email
            ),
            "/register/sign-in-instead",
            "sign-in-instead",
            "Sign in",
        ),
        Err(error) => code_page(state, &uid, mode, &interaction, None, Some(error.message())),
    }
}

fn confirm_page(
    state: &IdpState,
    interaction: &Interaction,
    heading: &str,
    message: String,
    action: &str,
    button_id: &str,
    button: &str,
) -> Response {
    let mode = if action.starts_with("/sign-in") {
        Mode::SignIn
    } else {
        Mode::Register
    };
    let view = ConfirmPage {
        heading,
        message,
        action: action.to_owned(),
        button_id,
        button,
        back_href: root_href(mode, interaction),
        inbox_url: state.inbox_url.as_deref(),
    };
    html(StatusCode::OK, view.render())
}

/// Submits the identified user and sends the browser on to `/oidc/auth/{uid}`.
fn finish(state: &IdpState, uid: &str, mode: Mode, interaction: &Interaction) -> Response {
    match engine::submit(state, uid) {
        Ok(engine::Submitted::SignedIn(redirect_to)) => see_other(&redirect_to),
        // As Logto's experience: "Password changed", and back to signing in.
        Ok(engine::Submitted::PasswordReset) => {
            state.experience.set_notice(uid, "Password changed");
            see_other(&root_href(Mode::SignIn, interaction))
        }
        Err(error) => code_page(state, uid, mode, interaction, None, Some(error.message())),
    }
}

/// `POST /sign-in/create-account` (after "No account found") and `/register/sign-in-instead`
/// (after "already exists"): switch the event and finish with the email already verified.
pub(crate) async fn switch_and_finish(state: &IdpState, headers: &HeaderMap, to: Mode) -> Response {
    let Ok((uid, interaction)) = engine::interaction_of(state, headers) else {
        return session_lost(state);
    };
    let from = to.other();
    let Some(latest) = state.experience.get(&uid).latest().cloned() else {
        return see_other(&root_href(from, &interaction));
    };
    if let Err(error) = engine::switch_event(state, &uid, to.event()) {
        return code_page(state, &uid, from, &interaction, None, Some(error.message()));
    }
    match engine::identify(state, &uid, &interaction, Some(&latest.id)) {
        Ok(Identified::SignedIn | Identified::Registered) => {
            finish(state, &uid, from, &interaction)
        }
        Err(ExperienceError::MissingProfile { fields }) if fields.contains(&"password") => {
            see_other("/continue/password")
        }
        Err(error) => code_page(state, &uid, from, &interaction, None, Some(error.message())),
    }
}

/// Seconds until `latest` may be resent (0 once the countdown is over), by the mock's clock.
fn resend_in(state: &IdpState, latest: &engine::CodeVerification) -> i64 {
    let elapsed = (state.clock.now() - latest.sent_at).whole_seconds();
    (RESEND_AFTER - elapsed).clamp(0, RESEND_AFTER)
}

/// `POST …/verification-code/resend`: a new code once the countdown is over.
pub(crate) async fn resend(state: &IdpState, headers: &HeaderMap, mode: Mode) -> Response {
    let Ok((uid, interaction)) = engine::interaction_of(state, headers) else {
        return session_lost(state);
    };
    let current = state.experience.get(&uid);
    let Some(latest) = current.latest().cloned() else {
        return see_other(&root_href(mode, &interaction));
    };
    let left = resend_in(state, &latest);
    if left > 0 {
        let message = format!("Please wait {left} seconds before asking for a new code.");
        return code_page(state, &uid, mode, &interaction, None, Some(message));
    }
    let event = current.event.unwrap_or(mode.event());
    match engine::send_code(state, &uid, &interaction, &latest.email, event).await {
        Ok(_) => code_page(
            state,
            &uid,
            mode,
            &interaction,
            Some("The verification code has been resent"),
            None,
        ),
        Err(error) => code_page(state, &uid, mode, &interaction, None, Some(error.message())),
    }
}

/// First screens this mock has no experience for yet.
pub(crate) async fn not_supported(state: &IdpState, what: &str) -> Response {
    let message =
        format!("{what} is not supported by this mock yet. Sign in with an email code instead.");
    message_page(
        state,
        StatusCode::NOT_IMPLEMENTED,
        "Not available",
        &message,
    )
}

/// `GET /experience.js`: the resend countdown.
pub(crate) async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

// Handlers with axum's signatures, one per route.

pub(crate) async fn sign_in(State(s): State<IdpState>, h: HeaderMap) -> Response {
    first_screen(&s, &h, Mode::SignIn).await
}
pub(crate) async fn register(State(s): State<IdpState>, h: HeaderMap) -> Response {
    first_screen(&s, &h, Mode::Register).await
}
pub(crate) async fn sign_in_post(State(s): State<IdpState>, h: HeaderMap, b: Bytes) -> Response {
    submit_identifier(&s, &h, &b, Mode::SignIn).await
}
pub(crate) async fn register_post(State(s): State<IdpState>, h: HeaderMap, b: Bytes) -> Response {
    submit_identifier(&s, &h, &b, Mode::Register).await
}
pub(crate) async fn sign_in_code(State(s): State<IdpState>, h: HeaderMap) -> Response {
    show_code(&s, &h, Mode::SignIn).await
}
pub(crate) async fn register_code(State(s): State<IdpState>, h: HeaderMap) -> Response {
    show_code(&s, &h, Mode::Register).await
}
pub(crate) async fn sign_in_code_post(
    State(s): State<IdpState>,
    h: HeaderMap,
    b: Bytes,
) -> Response {
    submit_code(&s, &h, &b, Mode::SignIn).await
}
pub(crate) async fn register_code_post(
    State(s): State<IdpState>,
    h: HeaderMap,
    b: Bytes,
) -> Response {
    submit_code(&s, &h, &b, Mode::Register).await
}
pub(crate) async fn sign_in_resend(State(s): State<IdpState>, h: HeaderMap) -> Response {
    resend(&s, &h, Mode::SignIn).await
}
pub(crate) async fn register_resend(State(s): State<IdpState>, h: HeaderMap) -> Response {
    resend(&s, &h, Mode::Register).await
}
pub(crate) async fn create_account(State(s): State<IdpState>, h: HeaderMap) -> Response {
    switch_and_finish(&s, &h, Mode::Register).await
}
pub(crate) async fn sign_in_instead(State(s): State<IdpState>, h: HeaderMap) -> Response {
    switch_and_finish(&s, &h, Mode::SignIn).await
}
pub(crate) async fn reset_password(State(s): State<IdpState>, h: HeaderMap) -> Response {
    first_screen(&s, &h, Mode::ForgotPassword).await
}
pub(crate) async fn single_sign_on(State(s): State<IdpState>) -> Response {
    not_supported(&s, "Enterprise single sign-on").await
}
