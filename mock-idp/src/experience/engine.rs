//! The interaction engine behind both faces of the sign-in experience (the JSON Experience API
//! and the HTML pages), so they can never disagree.
//!
//! Each request starts at [`interaction_of`] (its `_interaction` cookie, live and not yet
//! signed in); each step is one function, keyed by the uid found there, in the order Logto's
//! experience calls them: [`start`] (`PUT /api/experience`), [`send_code`],
//! [`verify`], [`identify`], [`switch_event`], [`submit`]. Logto's rules:
//!
//! - codes are 6 digits, valid 600 s, 10 failed tries, then `verification_code.exceed_max_try`;
//! - a new send replaces the interaction's previous code (one record per type, as Logto's);
//! - at most 10 sends per recipient per 600 s (`request.message_rate_limited`, 429);
//! - verification checks run in Logto's order: unknown or superseded verification (a new send
//!   replaces the record, so the old id is 404 `session.verification_session_not_found`),
//!   consumed code (`verification_code.not_found`), email mismatch, expired, too many tries,
//!   wrong code; a verified code is consumed, so verifying it again is `not_found`;
//! - sign-in of an unknown email is `user.user_not_exist` (404: the pages offer to register);
//!   registration of a known one is `user.email_already_in_use` (422);
//! - registration creates the user at identification (201), with a Logto-shaped id;
//! - a send that Postmark refuses is `connector.general` and leaves nothing behind.
//!
//! The state is in memory behind a `std::sync::Mutex`, never held across the connector's
//! `.await`: a send reserves its place in the rate limit before the connector runs and gives
//! it back if the connector fails.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use axum::http::HeaderMap;

use super::errors::ExperienceError as E;
use crate::connector::postmark::UsageType;
use crate::http::cookie;
use crate::interaction::{INTERACTION_COOKIE, Interaction};
use crate::state::IdpState;
use crate::tenant::User;

/// Code lifetime: 600 s.
pub(crate) const CODE_TTL: i64 = 600;
/// Failed tries before a code is dead.
pub(crate) const MAX_TRIES: u32 = 10;
/// Sends per recipient per window.
pub(crate) const MAX_SENDS: usize = 10;
/// The rate-limit window: 600 s.
pub(crate) const SEND_WINDOW: i64 = 600;

/// What the interaction is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum InteractionEvent {
    SignIn,
    Register,
    ForgotPassword,
}

impl InteractionEvent {
    fn usage(self) -> UsageType {
        match self {
            Self::SignIn => UsageType::SignIn,
            Self::Register => UsageType::Register,
            Self::ForgotPassword => UsageType::ForgotPassword,
        }
    }
}

/// What a user signs in with (Logto's `SignInIdentifier`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum IdentifierKind {
    Username,
    Email,
    Phone,
}

impl IdentifierKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Username => "username",
            Self::Email => "email",
            Self::Phone => "phone",
        }
    }
}

/// An identifier and its value (`{"type": "username", "value": "bob"}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Identifier {
    #[serde(rename = "type")]
    pub kind: IdentifierKind,
    pub value: String,
}

/// A password that matched: who it identifies.
#[derive(Clone, Debug)]
pub(crate) struct PasswordVerification {
    pub id: String,
    pub identifier: Identifier,
    pub user_id: String,
}

/// One emailed code.
#[derive(Clone, Debug)]
pub(crate) struct CodeVerification {
    pub id: String,
    pub email: String,
    code: String,
    pub sent_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    tries: u32,
    pub verified: bool,
    /// A newer code was sent in this interaction: this record is gone, as in Logto.
    pub superseded: bool,
}

/// The experience's side of one interaction.
#[derive(Clone, Debug, Default)]
pub(crate) struct InteractionState {
    pub event: Option<InteractionEvent>,
    pub verifications: Vec<CodeVerification>,
    /// The interaction's password verification (one at a time: a new one replaces it).
    pub password: Option<PasswordVerification>,
    /// What the user typed on the first screen, for the password page that follows.
    pub pending: Option<Identifier>,
    /// What a registration has gathered so far.
    pub profile: super::profile::Profile,
    /// A success the next page reports ("Password changed").
    pub notice: Option<&'static str>,
    /// A username and new password checked together.
    pub new_identity: Option<super::profile::NewPasswordIdentity>,
    pub user_id: Option<String>,
}

impl InteractionState {
    /// The newest code of this interaction (what the code page is about).
    pub(crate) fn latest(&self) -> Option<&CodeVerification> {
        self.verifications.iter().rev().find(|v| !v.superseded)
    }
}

/// Every interaction's experience state, and recent sends per recipient.
#[derive(Debug, Default)]
pub(crate) struct ExperienceStore {
    interactions: Mutex<HashMap<String, InteractionState>>,
    sends: Mutex<HashMap<String, Vec<OffsetDateTime>>>,
    /// Failed verifications and lockouts per identifier.
    sentinel: super::sentinel::Sentinel,
}

impl ExperienceStore {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, InteractionState>> {
        self.interactions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the interaction's state (empty if it has none yet).
    pub(crate) fn get(&self, uid: &str) -> InteractionState {
        self.lock().get(uid).cloned().unwrap_or_default()
    }

    /// Forgets the interaction (it ended).
    pub(crate) fn remove(&self, uid: &str) {
        self.lock().remove(uid);
    }

    /// Forgets every interaction and every recent send (a whole-instance reset).
    pub(crate) fn clear(&self) {
        self.lock().clear();
        self.sends
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.sentinel.clear();
    }

    /// A success for the next page to report.
    pub(crate) fn set_notice(&self, uid: &str, notice: &'static str) {
        self.update(uid, |s| s.notice = Some(notice));
    }

    /// The success to report, once.
    pub(crate) fn take_notice(&self, uid: &str) -> Option<&'static str> {
        self.update(uid, |s| s.notice.take())
    }

    /// Remembers what the user typed on the first screen (for the password page).
    pub(crate) fn set_pending(&self, uid: &str, identifier: Identifier) {
        self.update(uid, |s| s.pending = Some(identifier));
    }

    pub(crate) fn update<T>(
        &self,
        uid: &str,
        change: impl FnOnce(&mut InteractionState) -> T,
    ) -> T {
        change(self.lock().entry(uid.to_owned()).or_default())
    }

    /// Reserves one of `email`'s sends in the window, under one lock so that concurrent sends
    /// cannot exceed [`MAX_SENDS`]; false when the window is full. Older sends are dropped.
    fn reserve_send(&self, email: &str, now: OffsetDateTime) -> bool {
        let mut sends = self.sends.lock().unwrap_or_else(PoisonError::into_inner);
        let list = sends.entry(email.to_owned()).or_default();
        let window_start = now.saturating_sub(Duration::seconds(SEND_WINDOW));
        list.retain(|at| *at > window_start);
        if list.len() >= MAX_SENDS {
            return false;
        }
        list.push(now);
        true
    }

    /// Gives back a send reserved at `at` that did not happen.
    fn release_send(&self, email: &str, at: OffsetDateTime) {
        let mut sends = self.sends.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(list) = sends.get_mut(email)
            && let Some(index) = list.iter().rposition(|t| *t == at)
        {
            list.remove(index);
        }
    }
}

/// The request's interaction: the uid of its `_interaction` cookie and the interaction, which
/// must be live and not yet signed in, else `session.not_found`. Both faces start every step
/// here; the steps below take the uid (and interaction) it returned.
pub(crate) fn interaction_of(
    state: &IdpState,
    headers: &HeaderMap,
) -> Result<(String, Interaction), E> {
    let uid = cookie(headers, INTERACTION_COOKIE)
        .filter(|uid| !uid.is_empty())
        .ok_or(E::SessionNotFound {
            description: "interaction session id cookie not found",
        })?;
    state
        .interactions
        .get(&uid, state.clock.now())
        .filter(|interaction| interaction.login.is_none())
        .map(|interaction| (uid, interaction))
        .ok_or(E::SessionNotFound {
            description: "interaction session not found",
        })
}

/// `PUT /api/experience`: starts (or restarts) the experience for `event`.
pub(crate) fn start(state: &IdpState, uid: &str, event: InteractionEvent) {
    state.experience.update(uid, |s| {
        *s = InteractionState {
            event: Some(event),
            ..InteractionState::default()
        }
    });
    state
        .events
        .push("experience.started", json!({"uid": uid, "event": event}));
}

/// `PUT /api/experience/interaction-event`: switches between sign-in and registration,
/// keeping the verifications already done. A password reset cannot be switched to or from,
/// and the sign-in mode must allow the new event.
pub(crate) fn switch_event(state: &IdpState, uid: &str, event: InteractionEvent) -> Result<(), E> {
    let current = state
        .experience
        .get(uid)
        .event
        .ok_or(E::InteractionNotFound)?;
    let reset = InteractionEvent::ForgotPassword;
    if (current == reset) != (event == reset) {
        return Err(E::NotSupportedForForgotPassword { status: 400 });
    }
    check_mode(state, event)?;
    state.experience.update(uid, |s| {
        // Logto keeps the verifications, not the profile, across a switch.
        if s.event != Some(event) {
            s.profile = super::profile::Profile::default();
        }
        s.event = Some(event);
    });
    Ok(())
}

/// Whether the tenant's sign-in mode allows `event` (`auth.forbidden`, 403, when not).
fn check_mode(state: &IdpState, event: InteractionEvent) -> Result<(), E> {
    use crate::tenant::SignInMode;
    let mode = state.tenant().sign_in_experience.sign_in_mode;
    match (event, mode) {
        (InteractionEvent::SignIn, SignInMode::Register)
        | (InteractionEvent::Register, SignInMode::SignIn) => Err(E::Forbidden),
        _ => Ok(()),
    }
}

/// The user an identifier names: email any case, username and phone as given.
pub(crate) fn find_user(state: &IdpState, identifier: &Identifier) -> Option<User> {
    let tenant = state.tenant();
    let value = identifier.value.trim();
    match identifier.kind {
        IdentifierKind::Email => tenant.user_by_email(value).cloned(),
        IdentifierKind::Username => tenant
            .users
            .iter()
            .find(|u| u.username.as_deref() == Some(value))
            .cloned(),
        IdentifierKind::Phone => tenant
            .users
            .iter()
            .find(|u| u.primary_phone.as_deref() == Some(value))
            .cloned(),
    }
}

/// `POST /api/experience/verification/password`: checks the password of the user the
/// identifier names. A wrong password, an unknown identifier and a user without a password
/// all answer `session.invalid_credentials`, as Logto does (nothing to enumerate accounts
/// with); a suspended user learns it only with the right password. Every attempt goes to the
/// sentinel, which may lock the identifier out.
pub(crate) fn verify_password(
    state: &IdpState,
    uid: &str,
    identifier: &Identifier,
    password: &str,
) -> Result<String, E> {
    if state.experience.get(uid).event.is_none() {
        return Err(E::InteractionNotFound);
    }
    let now = state.clock.now();
    let target = identifier.value.trim().to_owned();
    if let Some(minutes) = state.experience.sentinel.blocked(&target, now) {
        return Err(E::Blocked { minutes });
    }
    let user = find_user(state, identifier).filter(|u| super::password::matches(u, password));
    let policy = state.tenant().sign_in_experience.sentinel_policy;
    let locked = state
        .experience
        .sentinel
        .report(&target, user.is_none(), now, policy);
    state.events.push(
        "verification.password",
        json!({"uid": uid, "identifier_type": identifier.kind, "verified": user.is_some(),
               "locked_out": locked.is_some()}),
    );
    if let Some(minutes) = locked {
        return Err(E::Blocked { minutes });
    }
    let user = user.ok_or(E::InvalidCredentials)?;
    if user.is_suspended {
        return Err(E::Suspended);
    }
    let id = state.rng.id(21);
    state.experience.update(uid, |s| {
        s.password = Some(PasswordVerification {
            id: id.clone(),
            identifier: identifier.clone(),
            user_id: user.id.clone(),
        });
    });
    Ok(id)
}

/// Whether the tenant lets `event` go through an email code.
fn check_enabled(state: &IdpState, event: InteractionEvent) -> Result<(), E> {
    let tenant = state.tenant();
    let experience = &tenant.sign_in_experience;
    let enabled = match event {
        InteractionEvent::SignIn => experience
            .sign_in
            .methods
            .iter()
            .any(|m| m.identifier == "email" && m.verification_code),
        InteractionEvent::Register => experience.sign_up.identifiers.iter().any(|i| i == "email"),
        InteractionEvent::ForgotPassword => experience
            .forgot_password_methods
            .as_ref()
            .is_none_or(|methods| methods.iter().any(|m| m == "EmailVerificationCode")),
    };
    if enabled {
        Ok(())
    } else {
        Err(E::MethodNotEnabled)
    }
}

/// Logto's idea of an email address (`emailRegEx`, `/^\S+@\S+\.\S+$/`, in
/// packages/core/src/utils/regex.ts): no whitespace, something before an `@`, and a dot with
/// something on both sides after it. Looser than Postmark's rules on purpose: an address Logto
/// accepts and Postmark refuses fails at the connector, as it does with real Logto.
pub(crate) fn valid_email(value: &str) -> bool {
    let value = value.trim();
    let whitespace = |c: char| c.is_whitespace() || c == '\u{feff}';
    if value.is_empty() || value.chars().any(whitespace) {
        return false;
    }
    // The first `@` after the first character leaves the most room for the domain's dot.
    let Some(at) = value
        .char_indices()
        .skip(1)
        .find(|(_, c)| *c == '@')
        .map(|(i, _)| i)
    else {
        return false;
    };
    let domain = &value[at + 1..];
    domain
        .char_indices()
        .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len())
}

/// Logto's `usernameRegEx`: a letter or `_`, then letters, digits and `_`.
pub(crate) fn valid_username(value: &str) -> bool {
    let mut chars = value.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `POST /api/experience/verification/verification-code`: emails a new code through the
/// Postmark connector and returns the verification id.
pub(crate) async fn send_code(
    state: &IdpState,
    uid: &str,
    interaction: &Interaction,
    email: &str,
    event: InteractionEvent,
) -> Result<String, E> {
    if state.experience.get(uid).event.is_none() {
        return Err(E::InteractionNotFound);
    }
    let email = email.trim().to_owned();
    if !valid_email(&email) {
        return Err(E::InvalidInput);
    }
    check_enabled(state, event)?;
    let connector = state
        .connector
        .as_ref()
        .ok_or(E::ConnectorNotFound { kind: "email" })?;
    let now = state.clock.now();
    let key = email.to_ascii_lowercase();
    if !state.experience.reserve_send(&key, now) {
        return Err(E::RateLimited);
    }
    let code = state.rng.digits(6);
    let id = state.rng.id(21);
    let application = state
        .tenant()
        .application(&interaction.request.client_id)
        .map(|app| json!({"id": app.id, "name": app.name}));
    let mut model = json!({"code": code, "locale": "en"});
    if let (Some(application), Some(object)) = (application, model.as_object_mut()) {
        object.insert("application".into(), application);
    }
    // Logto (`skipDelivery` in its verification-code helpers) makes the code but mails
    // nothing to an address with no account when the code is for a reset: the answer is the
    // same, so the form tells no one whether the account exists.
    let deliver = !(event == InteractionEvent::ForgotPassword
        && state.tenant().user_by_email(&email).is_none());
    let sent = if deliver {
        connector.send(&email, event.usage(), &model).await
    } else {
        state.events.push(
            "verification_code.not_sent",
            json!({"uid": uid, "to": email, "event": event, "reason": "no account with this email"}),
        );
        Ok(())
    };
    if let Err(error) = sent {
        state.experience.release_send(&key, now);
        state.events.push(
            "verification_code.send_failed",
            json!({"uid": uid, "to": email, "error": error.code, "detail": error.data}),
        );
        return Err(E::Connector(error));
    }
    state.experience.update(uid, |s| {
        // Logto keeps one record per verification type: the new code replaces the old one,
        // whatever address that one went to.
        for old in &mut s.verifications {
            old.superseded = true;
        }
        s.verifications.push(CodeVerification {
            id: id.clone(),
            email: email.clone(),
            code,
            sent_at: now,
            expires_at: crate::clock::after(now, CODE_TTL),
            tries: 0,
            verified: false,
            superseded: false,
        });
    });
    state.events.push(
        "verification_code.sent",
        json!({"uid": uid, "to": email, "event": event, "verification_id": id}),
    );
    Ok(id)
}

/// `POST /api/experience/verification/verification-code/verify`.
pub(crate) fn verify(
    state: &IdpState,
    uid: &str,
    verification_id: &str,
    email: &str,
    code: &str,
) -> Result<String, E> {
    let now = state.clock.now();
    let target = email.trim().to_owned();
    if let Some(minutes) = state.experience.sentinel.blocked(&target, now) {
        return Err(E::Blocked { minutes });
    }
    let result = state.experience.update(uid, |s| {
        let record = s
            .verifications
            .iter_mut()
            .find(|v| v.id == verification_id && !v.superseded)
            .ok_or(E::VerificationSessionNotFound)?;
        // A verified code was consumed: Logto finds no code to check.
        if record.verified {
            return Err(E::CodeNotFound);
        }
        if !record.email.eq_ignore_ascii_case(email.trim()) {
            return Err(E::EmailMismatch);
        }
        if record.expires_at <= now {
            return Err(E::CodeExpired);
        }
        if record.tries >= MAX_TRIES {
            return Err(E::ExceedMaxTry);
        }
        if record.code != code.trim() {
            record.tries += 1;
            return Err(E::CodeMismatch);
        }
        record.verified = true;
        Ok(record.id.clone())
    });
    // A wrong code counts against the identifier, as a wrong password does.
    let policy = state.tenant().sign_in_experience.sentinel_policy;
    let failed = matches!(result, Err(E::CodeMismatch));
    if let Some(minutes) = state
        .experience
        .sentinel
        .report(&target, failed, now, policy)
    {
        state.events.push(
            "verification_code.verify",
            json!({"uid": uid, "verification_id": verification_id, "error": "session.verification_blocked_too_many_attempts"}),
        );
        return Err(E::Blocked { minutes });
    }
    let outcome = match &result {
        Ok(_) => json!({"uid": uid, "verification_id": verification_id, "verified": true}),
        Err(error) => {
            json!({"uid": uid, "verification_id": verification_id, "error": error.code()})
        }
    };
    state.events.push("verification_code.verify", outcome);
    result
}

/// What identification did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Identified {
    /// An existing user signs in (204).
    SignedIn,
    /// A new user was created (201).
    Registered,
}

/// `POST /api/experience/identification`: who the verified email belongs to, for the current
/// event; registration creates the user.
pub(crate) fn identify(
    state: &IdpState,
    uid: &str,
    interaction: &Interaction,
    verification_id: Option<&str>,
) -> Result<Identified, E> {
    let current = state.experience.get(uid);
    let event = current.event.ok_or(E::InteractionNotFound)?;
    let Some(verification_id) = verification_id else {
        // Only a registration can go by its profile alone.
        if event != InteractionEvent::Register {
            return Err(E::VerificationIdMissing);
        }
        check_mode(state, event)?;
        return super::profile::register(state, uid, interaction, current.profile);
    };
    if let Some(password) = current
        .password
        .as_ref()
        .filter(|p| p.id == verification_id)
    {
        return identify_by_password(state, uid, event, password);
    }
    if let Some(identity) = current
        .new_identity
        .as_ref()
        .filter(|n| n.id == verification_id)
    {
        if event != InteractionEvent::Register {
            return Err(E::VerificationFailed);
        }
        check_mode(state, event)?;
        let mut profile = current.profile.clone();
        profile.username = Some(identity.username.clone());
        profile.password_digest = Some(identity.password_digest.clone());
        return super::profile::register(state, uid, interaction, profile);
    }
    check_mode(state, event)?;
    let record = current
        .verifications
        .iter()
        .find(|v| v.id == verification_id && !v.superseded)
        .ok_or(E::VerificationSessionNotFound)?;
    if !record.verified {
        return Err(E::VerificationFailed);
    }
    check_enabled(state, event)?;
    let existing = state.tenant().user_by_email(&record.email).cloned();
    let (user_id, identified) = match (event, existing) {
        (InteractionEvent::SignIn, Some(user)) if user.is_suspended => {
            return Err(E::Suspended);
        }
        (InteractionEvent::SignIn, Some(user)) => (user.id, Identified::SignedIn),
        (InteractionEvent::SignIn, None) => {
            return Err(E::UserNotExist {
                identifier: record.email.clone(),
            });
        }
        (InteractionEvent::Register, Some(_)) => return Err(E::EmailAlreadyInUse),
        (InteractionEvent::Register, None) => {
            let mut profile = current.profile.clone();
            profile.email = Some(record.email.clone());
            return super::profile::register(state, uid, interaction, profile);
        }
        (InteractionEvent::ForgotPassword, Some(user)) if user.is_suspended => {
            return Err(E::Suspended);
        }
        (InteractionEvent::ForgotPassword, Some(user)) => (user.id, Identified::SignedIn),
        (InteractionEvent::ForgotPassword, None) => {
            return Err(E::UserNotExist {
                identifier: record.email.clone(),
            });
        }
    };
    state
        .experience
        .update(uid, |s| s.user_id = Some(user_id.clone()));
    state.events.push(
        "experience.identified",
        json!({"uid": uid, "account_id": user_id, "registered": identified == Identified::Registered}),
    );
    Ok(identified)
}

/// Identification with a matched password: a sign-in, if the tenant has password sign-in for
/// that kind of identifier.
fn identify_by_password(
    state: &IdpState,
    uid: &str,
    event: InteractionEvent,
    password: &PasswordVerification,
) -> Result<Identified, E> {
    match event {
        InteractionEvent::SignIn => {}
        InteractionEvent::ForgotPassword => {
            return Err(E::NotSupportedForForgotPassword { status: 422 });
        }
        // A registration proves its identifier with a code or a new password, not an old one.
        InteractionEvent::Register => return Err(E::VerificationFailed),
    }
    check_mode(state, event)?;
    let kind = password.identifier.kind.as_str();
    let enabled = state
        .tenant()
        .sign_in_experience
        .sign_in
        .methods
        .iter()
        .any(|m| m.identifier == kind && m.password);
    if !enabled {
        return Err(E::MethodNotEnabled);
    }
    let user = state
        .tenant()
        .user(&password.user_id)
        .cloned()
        .ok_or(E::InvalidCredentials)?;
    if user.is_suspended {
        return Err(E::Suspended);
    }
    state
        .experience
        .update(uid, |s| s.user_id = Some(user.id.clone()));
    state.events.push(
        "experience.identified",
        json!({"uid": uid, "account_id": user.id, "registered": false, "by": "password"}),
    );
    Ok(Identified::SignedIn)
}

/// What a submit did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Submitted {
    /// The user signed in: the browser goes on to this URL.
    SignedIn(String),
    /// The user's password was reset; the interaction starts over.
    PasswordReset,
}

/// `PUT /api/experience/profile/password`: the new password of a reset, checked against the
/// tenant's policy; kept until the submit.
pub(crate) fn reset_password(state: &IdpState, uid: &str, password: &str) -> Result<(), E> {
    let current = state.experience.get(uid);
    if current.event.ok_or(E::InteractionNotFound)? != InteractionEvent::ForgotPassword {
        return Err(E::InvalidInteractionType);
    }
    let user = current
        .user_id
        .as_deref()
        .and_then(|id| state.tenant().user(id).cloned())
        .ok_or(E::IdentifierNotFound)?;
    if super::password::matches(&user, password) {
        return Err(E::SamePassword);
    }
    let policy = state.tenant().sign_in_experience.password_policy.clone();
    let info = super::password_policy::UserInfo {
        name: user.name.clone(),
        username: user.username.clone(),
        email: user.primary_email.clone(),
        phone: user.primary_phone.clone(),
    };
    let issues = super::password_policy::check(&policy, password, &info);
    if !issues.is_empty() {
        return Err(E::PasswordRejected { issues });
    }
    let digest = super::password::digest(password);
    state
        .experience
        .update(uid, |s| s.profile.password_digest = Some(digest));
    Ok(())
}

/// A reset's submit: the new password replaces the old one, and the interaction's experience
/// starts over (the user signs in next, with the new password).
fn submit_reset(state: &IdpState, uid: &str) -> Result<Submitted, E> {
    let current = state.experience.get(uid);
    let user_id = current.user_id.ok_or(E::IdentifierNotFound)?;
    let digest = current
        .profile
        .password_digest
        .ok_or(E::NewPasswordRequired)?;
    let now_ms = state.clock.unix_millis();
    if let Some(user) = state
        .tenant_mut()
        .users
        .iter_mut()
        .find(|u| u.id == user_id)
    {
        user.password_encrypted = Some(digest);
        user.password_encryption_method = Some(super::password::METHOD.to_owned());
        user.updated_at = now_ms;
    }
    state
        .experience
        .update(uid, |s| *s = InteractionState::default());
    state.events.push(
        "user.password_reset",
        json!({"uid": uid, "account_id": user_id}),
    );
    crate::hooks::trigger(state, "ForgotPassword", uid, &user_id);
    Ok(Submitted::PasswordReset)
}

/// `POST /api/experience/submit`: the identified user signs in (the browser goes on to
/// `{issuer}/auth/{uid}`), or a reset password takes effect.
pub(crate) fn submit(state: &IdpState, uid: &str) -> Result<Submitted, E> {
    let event = state.experience.get(uid).event;
    if event.ok_or(E::InteractionNotFound)? == InteractionEvent::ForgotPassword {
        return submit_reset(state, uid);
    }
    let user_id = state
        .experience
        .get(uid)
        .user_id
        .ok_or(E::IdentifierNotFound)?;
    let now = state.clock.now();
    if !state.interactions.finish(uid, &user_id, now) {
        return Err(E::SessionNotFound {
            description: "interaction session not found",
        });
    }
    let now_ms = crate::clock::unix_millis(now);
    if let Some(user) = state
        .tenant_mut()
        .users
        .iter_mut()
        .find(|u| u.id == user_id)
    {
        user.last_sign_in_at = Some(now_ms);
    }
    state.events.push(
        "interaction.login",
        json!({"uid": uid, "account_id": user_id}),
    );
    let event = if event == Some(InteractionEvent::Register) {
        "Register"
    } else {
        "SignIn"
    };
    crate::hooks::trigger(state, event, uid, &user_id);
    Ok(Submitted::SignedIn(format!(
        "{}/auth/{uid}",
        state.issuer()
    )))
}

/// `GET /api/experience/interaction`: the interaction, sanitised (no codes).
pub(crate) fn read(state: &IdpState, uid: &str) -> Value {
    let current = state.experience.get(uid);
    let records: Vec<Value> = current
        .verifications
        .iter()
        .filter(|v| !v.superseded)
        .map(|v| {
            json!({"id": v.id, "type": "EmailVerificationCode",
                   "identifier": {"type": "email", "value": v.email}, "verified": v.verified})
        })
        .chain(current.password.iter().map(|p| {
            json!({"id": p.id, "type": "Password", "identifier": p.identifier, "verified": true})
        }))
        .chain(current.new_identity.iter().map(|n| {
            json!({"id": n.id, "type": "NewPasswordIdentity",
                   "identifier": {"type": "username", "value": n.username}})
        }))
        .collect();
    // The profile gathered so far; a new password shows as its presence, never its digest.
    let mut profile = serde_json::Map::new();
    if let Some(username) = &current.profile.username {
        profile.insert("username".into(), Value::String(username.clone()));
    }
    if let Some(email) = &current.profile.email {
        profile.insert("primaryEmail".into(), Value::String(email.clone()));
    }
    if current.profile.password_digest.is_some() {
        profile.insert("hasPassword".into(), Value::Bool(true));
    }
    json!({
        "interactionEvent": current.event,
        "userId": current.user_id,
        "profile": profile,
        "verificationRecords": records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_with_logtos_pattern() {
        for good in [
            "a@b.co",
            "alice@example.com",
            " bob@example.com ",
            "a@b@c.d",
            "a..b@x.y",
            "ü@ex.ample",
        ] {
            assert!(valid_email(good), "{good:?} matches /^\\S+@\\S+\\.\\S+$/");
        }
        for bad in [
            "",
            "a",
            "@b.co",
            "a@b",
            "a@.b",
            "a@b.",
            "a b@c.d",
            "a@b\u{a0}.c",
            "a@\u{feff}b.c",
        ] {
            assert!(!valid_email(bad), "{bad:?} does not");
        }
    }

    #[test]
    fn usernames_follow_logtos_pattern() {
        for good in ["bob", "_bob", "Bob_2"] {
            assert!(valid_username(good), "{good}");
        }
        for bad in ["", "2bob", "bob smith", "bob-2", "\"><script>"] {
            assert!(!valid_username(bad), "{bad}");
        }
    }

    #[test]
    fn sends_are_reserved_up_to_the_limit_and_a_failed_one_is_given_back() {
        let store = ExperienceStore::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        for _ in 0..MAX_SENDS {
            assert!(store.reserve_send("a@example.com", now));
        }
        assert!(
            !store.reserve_send("a@example.com", now),
            "the window is full"
        );
        assert!(store.reserve_send("b@example.com", now), "per recipient");
        store.release_send("a@example.com", now);
        assert!(
            store.reserve_send("a@example.com", now),
            "the failed send was given back"
        );
        let later = now + Duration::seconds(SEND_WINDOW + 1);
        assert!(
            store.reserve_send("a@example.com", later),
            "the window moved on"
        );
    }
}
