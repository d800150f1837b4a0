//! What a registration builds up before the user exists, as Logto's Experience API does it:
//! `POST /api/experience/profile` (a username, a password, an email proven by a code), the
//! username-and-password shortcut `POST /api/experience/verification/new-password-identity`,
//! and the registration itself at identification.
//!
//! The tenant's `signUp` decides what a registration needs: its `identifiers` (a username, an
//! email, or either of email and phone) and, with `password: true`, a password. Whatever is
//! missing at identification is 422 `user.missing_profile` with `data.missingProfile` in
//! Logto's order (`username`, `emailOrPhone`, `email`, `phone`, `password`); the pages then ask
//! for it. New passwords meet the tenant's password policy
//! ([`password_policy`](super::password_policy)), or 422 `password.rejected` lists the issues.

use serde_json::json;

use super::engine::{Identified, IdentifierKind, InteractionEvent};
use super::errors::ExperienceError as E;
use super::password_policy::{self, UserInfo};
use crate::interaction::Interaction;
use crate::state::IdpState;
use crate::tenant::User;

/// The profile of an interaction.
#[derive(Clone, Debug, Default)]
pub(crate) struct Profile {
    pub username: Option<String>,
    pub email: Option<String>,
    /// The new password, as its digest.
    pub password_digest: Option<String>,
}

/// A username and a new password, checked together
/// (`verification/new-password-identity`).
#[derive(Clone, Debug)]
pub(crate) struct NewPasswordIdentity {
    pub id: String,
    pub username: String,
    pub password_digest: String,
}

/// What `POST /api/experience/profile` sets.
#[derive(Clone, Debug)]
pub(crate) enum Update {
    Username(String),
    Password(String),
    /// The email of a verified code.
    Email {
        verification_id: String,
    },
}

fn username_taken(state: &IdpState, username: &str) -> bool {
    state
        .tenant()
        .users
        .iter()
        .any(|u| u.username.as_deref() == Some(username))
}

/// A new password for `user`: checked against the tenant's policy.
fn new_password(state: &IdpState, password: &str, user: &UserInfo) -> Result<String, E> {
    let policy = state.tenant().sign_in_experience.password_policy.clone();
    let issues = password_policy::check(&policy, password, user);
    if !issues.is_empty() {
        return Err(E::PasswordRejected { issues });
    }
    Ok(super::password::digest(password))
}

/// `POST /api/experience/profile`.
pub(crate) fn update(state: &IdpState, uid: &str, update: Update) -> Result<(), E> {
    let current = state.experience.get(uid);
    let event = current.event.ok_or(E::InteractionNotFound)?;
    if event == InteractionEvent::ForgotPassword {
        return Err(E::NotSupportedForForgotPassword { status: 400 });
    }
    let mut profile = current.profile.clone();
    match update {
        Update::Username(username) => {
            let username = username.trim().to_owned();
            if !super::engine::valid_username(&username) {
                return Err(E::InvalidInput);
            }
            if username_taken(state, &username) {
                return Err(E::UsernameAlreadyInUse);
            }
            profile.username = Some(username);
        }
        Update::Email { verification_id } => {
            let record = current
                .verifications
                .iter()
                .find(|v| v.id == verification_id && !v.superseded)
                .ok_or(E::VerificationSessionNotFound)?;
            if !record.verified {
                return Err(E::VerificationFailed);
            }
            if state.tenant().user_by_email(&record.email).is_some() {
                return Err(E::EmailAlreadyInUse);
            }
            profile.email = Some(record.email.clone());
        }
        Update::Password(password) => {
            let user = current
                .user_id
                .as_deref()
                .and_then(|id| state.tenant().user(id).cloned());
            if user.as_ref().is_some_and(User::has_password) {
                return Err(E::PasswordExistsInProfile);
            }
            let email = profile.email.clone().or_else(|| {
                current
                    .verifications
                    .iter()
                    .rev()
                    .find(|v| v.verified)
                    .map(|v| v.email.clone())
            });
            let info = UserInfo {
                name: user.as_ref().and_then(|u| u.name.clone()),
                username: profile
                    .username
                    .clone()
                    .or_else(|| user.as_ref().and_then(|u| u.username.clone())),
                email,
                phone: None,
            };
            profile.password_digest = Some(new_password(state, &password, &info)?);
        }
    }
    state.experience.update(uid, |s| s.profile = profile);
    Ok(())
}

/// `POST /api/experience/verification/new-password-identity`: a username (only: emails and
/// phones prove themselves with codes) and its password, checked before the user exists.
pub(crate) fn new_password_identity(
    state: &IdpState,
    uid: &str,
    kind: IdentifierKind,
    username: &str,
    password: &str,
) -> Result<String, E> {
    if state.experience.get(uid).event.is_none() {
        return Err(E::InteractionNotFound);
    }
    let username = username.trim();
    if kind != IdentifierKind::Username || !super::engine::valid_username(username) {
        return Err(E::InvalidInput);
    }
    if username_taken(state, username) {
        return Err(E::UsernameAlreadyInUse);
    }
    let info = UserInfo {
        username: Some(username.to_owned()),
        ..UserInfo::default()
    };
    let password_digest = new_password(state, password, &info)?;
    let id = state.rng.id(21);
    state.experience.update(uid, |s| {
        s.new_identity = Some(NewPasswordIdentity {
            id: id.clone(),
            username: username.to_owned(),
            password_digest,
        });
    });
    Ok(id)
}

/// What the tenant's `signUp` still needs of `profile`, in Logto's order.
fn missing(state: &IdpState, profile: &Profile) -> Vec<&'static str> {
    let tenant = state.tenant();
    let sign_up = &tenant.sign_in_experience.sign_up;
    let wants = |id: &str| sign_up.identifiers.iter().any(|i| i == id);
    let mut missing = Vec::new();
    if wants("username") && profile.username.is_none() {
        missing.push("username");
    }
    match (wants("email"), wants("phone")) {
        (true, true) if profile.email.is_none() => missing.push("emailOrPhone"),
        (true, false) if profile.email.is_none() => missing.push("email"),
        (false, true) => missing.push("phone"),
        _ => {}
    }
    if sign_up.password && profile.password_digest.is_none() {
        missing.push("password");
    }
    missing
}

/// Registration at identification: `profile` (with the email of the code that identified, if
/// one did) becomes a user, once it has all the tenant asks for. Usernames and emails are
/// checked again under the tenant's write lock, so two registrations cannot both take one.
pub(crate) fn register(
    state: &IdpState,
    uid: &str,
    interaction: &Interaction,
    mut profile: Profile,
) -> Result<Identified, E> {
    let missing = missing(state, &profile);
    if !missing.is_empty() {
        // What is known so far stays for the next try.
        state.experience.update(uid, |s| s.profile = profile);
        return Err(E::MissingProfile { fields: missing });
    }
    let now_ms = state.clock.unix_millis();
    let mut user = User {
        id: state.rng.id(12),
        username: profile.username.take(),
        primary_email: profile.email.take(),
        application_id: Some(interaction.request.client_id.clone()),
        created_at: now_ms,
        updated_at: now_ms,
        ..User::email("")
    };
    if let Some(digest) = profile.password_digest.take() {
        user.password_encrypted = Some(digest);
        user.password_encryption_method = Some(super::password::METHOD.to_owned());
    }
    {
        let mut tenant = state.tenant_mut();
        if let Some(email) = &user.primary_email
            && tenant.user_by_email(email).is_some()
        {
            return Err(E::EmailAlreadyInUse);
        }
        if let Some(username) = &user.username
            && tenant
                .users
                .iter()
                .any(|u| u.username.as_deref() == Some(username))
        {
            return Err(E::UsernameAlreadyInUse);
        }
        tenant.users.push(user.clone());
    }
    state.experience.update(uid, |s| {
        s.user_id = Some(user.id.clone());
        s.profile = Profile::default();
    });
    state.events.push(
        "user.created",
        json!({"account_id": user.id, "email": user.primary_email, "username": user.username,
               "password": user.password_encrypted.is_some()}),
    );
    state.events.push(
        "experience.identified",
        json!({"uid": uid, "account_id": user.id, "registered": true}),
    );
    Ok(Identified::Registered)
}
