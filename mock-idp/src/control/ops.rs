//! The control plane's operations, shared by the HTTP routes, [`MockIdp`](crate::MockIdp)'s
//! methods and scenario files, so each behaves the same whichever way it is asked.
//!
//! Every change is checked before it is made: a user or application that would leave the
//! tenant invalid is refused and nothing changes.

use std::sync::{Arc, PoisonError};

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::ControlError;
use crate::faults::{Fault, KeyType, PendingFault, Schedule, ScheduledFault};
use crate::state::IdpState;
use crate::tenant::{Application, PrivateKey, Tenant, User};

/// Letters of Logto's client secrets.
const SECRET_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Changes the tenant with `change`, keeping the change only if the result validates.
fn change_tenant<T>(
    state: &IdpState,
    change: impl FnOnce(&mut Tenant) -> Result<T, ControlError>,
) -> Result<T, ControlError> {
    state.change_tenant(change, |e| ControlError::invalid(e.to_string()))
}

/// The user with this id, primary email (any case) or username.
pub(crate) fn find_user(tenant: &Tenant, key: &str) -> Option<User> {
    let key = key.trim();
    tenant
        .user(key)
        .or_else(|| tenant.user_by_email(key))
        .or_else(|| {
            tenant
                .users
                .iter()
                .find(|u| u.username.as_deref() == Some(key))
        })
        .cloned()
}

fn object(body: Value, what: &str) -> Result<Map<String, Value>, ControlError> {
    match body {
        Value::Object(map) => Ok(map),
        _ => Err(ControlError::invalid(format!(
            "{what} must be a JSON object"
        ))),
    }
}

/// Refuses a field `known` lacks: a misspelt field would otherwise be dropped in silence.
fn known_fields(
    map: &Map<String, Value>,
    known: &Map<String, Value>,
    what: &str,
) -> Result<(), ControlError> {
    match map.keys().find(|key| !known.contains_key(*key)) {
        None => Ok(()),
        Some(key) => {
            let names: Vec<&str> = known.keys().map(String::as_str).collect();
            Err(ControlError::invalid(format!(
                "{what} has no field {key:?}; Logto's fields are {}",
                names.join(", ")
            )))
        }
    }
}

/// The fields of a Logto user, as the tenant serialises one.
fn user_fields() -> Map<String, Value> {
    let mut fields = match serde_json::to_value(User::default()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    // Written out only when set (the digest), or never (a clear password, as POST /api/users
    // takes it).
    for optional in ["passwordEncrypted", "passwordEncryptionMethod", "password"] {
        fields.insert(optional.into(), Value::Null);
    }
    fields
}

/// The fields of a Logto application, as the tenant serialises one.
fn application_fields() -> Map<String, Value> {
    let minimal = json!({"id": "", "name": "", "type": "SPA", "oidcClientMetadata": {}});
    serde_json::from_value::<Application>(minimal)
        .ok()
        .and_then(|app| match serde_json::to_value(app) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        })
        .unwrap_or_default()
}

/// Adds a user in Logto's shape (`primaryEmail`, `username`, `name`, ...): the id is drawn
/// from the seeded generator when absent, the times come from the clock.
pub(crate) fn add_user(state: &IdpState, body: Value) -> Result<User, ControlError> {
    let mut map = object(body, "a user")?;
    known_fields(&map, &user_fields(), "a user")?;
    let given = |key: &str| {
        map.get(key)
            .and_then(Value::as_str)
            .is_some_and(|v| !v.trim().is_empty())
    };
    if !["primaryEmail", "username", "primaryPhone"]
        .iter()
        .any(|key| given(key))
    {
        return Err(ControlError::invalid(
            "a user needs a primaryEmail, a username or a primaryPhone to sign in with",
        ));
    }
    if let Some(email) = map.get("primaryEmail").and_then(Value::as_str)
        && state.tenant().user_by_email(email).is_some()
    {
        return Err(ControlError::conflict(format!(
            "a user with the email {email:?} exists already: change it with PATCH /_mock/users/{email}"
        )));
    }
    if map
        .get("id")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        map.insert("id".into(), Value::String(state.rng.id(12)));
    }
    let now_ms = state.clock.unix_millis();
    for key in ["createdAt", "updatedAt"] {
        map.entry(key).or_insert(Value::from(now_ms));
    }
    let mut user: User = serde_json::from_value(Value::Object(map))
        .map_err(|e| ControlError::invalid(format!("not a Logto user: {e}")))?;
    crate::experience::password::seal(&mut user);
    let added = change_tenant(state, |tenant| {
        if tenant.user(&user.id).is_some() {
            return Err(ControlError::conflict(format!(
                "a user with the id {:?} exists",
                user.id
            )));
        }
        tenant.users.push(user.clone());
        Ok(user)
    })?;
    state
        .events
        .push("user.created", json!({"account_id": added.id}));
    Ok(added)
}

/// Changes the fields of `patch` on the user with this id, email or username.
pub(crate) fn update_user(state: &IdpState, key: &str, patch: Value) -> Result<User, ControlError> {
    let patch = object(patch, "a user patch")?;
    known_fields(&patch, &user_fields(), "a user")?;
    let now_ms = state.clock.unix_millis();
    let updated = change_tenant(state, |tenant| {
        let user = find_user(tenant, key).ok_or_else(|| ControlError::no_user(key))?;
        let mut map = object(serde_json::to_value(&user).unwrap_or(Value::Null), "a user")?;
        for (field, value) in patch {
            if field == "id" && value.as_str() != Some(user.id.as_str()) {
                return Err(ControlError::invalid("a user's id cannot change"));
            }
            map.insert(field, value);
        }
        map.insert("updatedAt".into(), Value::from(now_ms));
        let mut next: User = serde_json::from_value(Value::Object(map))
            .map_err(|e| ControlError::invalid(format!("not a Logto user: {e}")))?;
        crate::experience::password::seal(&mut next);
        if let Some(slot) = tenant.users.iter_mut().find(|u| u.id == user.id) {
            *slot = next.clone();
        }
        Ok(next)
    })?;
    state
        .events
        .push("user.updated", json!({"account_id": updated.id}));
    Ok(updated)
}

/// Deletes a user: their grants are revoked and their sessions end, as in Logto.
pub(crate) fn delete_user(state: &IdpState, key: &str) -> Result<(), ControlError> {
    let user = change_tenant(state, |tenant| {
        let user = find_user(tenant, key).ok_or_else(|| ControlError::no_user(key))?;
        tenant.users.retain(|u| u.id != user.id);
        // Logto's foreign keys cascade: the user's roles go with the user.
        for role in &mut tenant.roles {
            role.user_ids.retain(|id| *id != user.id);
        }
        for organization in &mut tenant.organizations {
            organization.members.retain(|m| m.user_id != user.id);
        }
        Ok(user)
    })?;
    let grants = state.store.revoke_grants_of(&user.id).len();
    let sessions = state.store.end_sessions_of(&user.id);
    state.events.push(
        "user.deleted",
        json!({"account_id": user.id, "grants_revoked": grants, "sessions_ended": sessions}),
    );
    Ok(())
}

/// Adds an application in Logto's shape (`name`, `type`, `oidcClientMetadata`, ...): the id
/// and, for a traditional web app, the secret are drawn from the seeded generator when absent.
pub(crate) fn add_application(state: &IdpState, body: Value) -> Result<Application, ControlError> {
    let mut map = object(body, "an application")?;
    known_fields(&map, &application_fields(), "an application")?;
    if map
        .get("id")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        map.insert("id".into(), Value::String(state.rng.id(21)));
    }
    let traditional = map.get("type").and_then(Value::as_str) == Some("Traditional");
    if traditional && map.get("secret").is_none_or(Value::is_null) {
        let secret = state.rng.string(32, SECRET_ALPHABET);
        map.insert("secret".into(), Value::String(secret));
    }
    map.entry("createdAt")
        .or_insert(Value::from(state.clock.unix_millis()));
    let app: Application = serde_json::from_value(Value::Object(map))
        .map_err(|e| ControlError::invalid(format!("not a Logto application: {e}")))?;
    let added = change_tenant(state, |tenant| {
        if tenant.application(&app.id).is_some() {
            return Err(ControlError::conflict(format!(
                "an application with the id {:?} exists",
                app.id
            )));
        }
        tenant.applications.push(app.clone());
        Ok(app)
    })?;
    state.events.push(
        "application.created",
        json!({"client_id": added.id, "type": added.app_type}),
    );
    Ok(added)
}

/// Changes the fields of `patch` on an application (its id and type stay).
pub(crate) fn update_application(
    state: &IdpState,
    id: &str,
    patch: Value,
) -> Result<Application, ControlError> {
    let patch = object(patch, "an application patch")?;
    known_fields(&patch, &application_fields(), "an application")?;
    let updated = change_tenant(state, |tenant| {
        let app = tenant
            .application(id)
            .cloned()
            .ok_or_else(|| ControlError::no_application(id))?;
        let mut map = object(
            serde_json::to_value(&app).unwrap_or(Value::Null),
            "an application",
        )?;
        for (field, value) in patch {
            let fixed = match field.as_str() {
                "id" => Some(json!(app.id)),
                "type" => serde_json::to_value(app.app_type).ok(),
                _ => None,
            };
            if fixed.is_some_and(|fixed| fixed != value) {
                return Err(ControlError::invalid(format!(
                    "an application's {field} cannot change"
                )));
            }
            map.insert(field, value);
        }
        let next: Application = serde_json::from_value(Value::Object(map))
            .map_err(|e| ControlError::invalid(format!("not a Logto application: {e}")))?;
        if let Some(slot) = tenant.applications.iter_mut().find(|a| a.id == app.id) {
            *slot = next.clone();
        }
        Ok(next)
    })?;
    state
        .events
        .push("application.updated", json!({"client_id": updated.id}));
    Ok(updated)
}

/// Deletes an application; its codes and tokens stop working with it.
pub(crate) fn delete_application(state: &IdpState, id: &str) -> Result<(), ControlError> {
    change_tenant(state, |tenant| {
        if tenant.application(id).is_none() {
            return Err(ControlError::no_application(id));
        }
        tenant.applications.retain(|a| a.id != id);
        Ok(())
    })?;
    state
        .events
        .push("application.deleted", json!({"client_id": id}));
    Ok(())
}

/// Sets the clock, then applies the actions that became due.
pub(crate) fn set_clock(state: &IdpState, instant: OffsetDateTime) {
    state.clock.set(instant);
    state
        .events
        .push("clock.set", json!({"now": rfc3339(state.clock.now())}));
    apply_due(state);
}

/// Moves the clock forward, then applies the actions that became due.
pub(crate) fn advance_clock(state: &IdpState, by: std::time::Duration) {
    state.clock.advance(by);
    state.events.push(
        "clock.advanced",
        json!({"by_ms": u64::try_from(by.as_millis()).unwrap_or(u64::MAX),
               "now": rfc3339(state.clock.now())}),
    );
    apply_due(state);
}

pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Schedules a fault (an action for now happens at once). Returns the fault as listed, or,
/// for an action done now, `None`.
pub(crate) fn inject(
    state: &IdpState,
    fault: ScheduledFault,
) -> Result<Option<PendingFault>, ControlError> {
    fault
        .validate()
        .map_err(|e| ControlError::invalid(e.to_string()))?;
    if fault.schedule == Schedule::Now {
        apply_action(state, 0, &fault.fault)?;
        return Ok(None);
    }
    let listed = serde_json::to_value(&fault).unwrap_or(Value::Null);
    let id = state.faults.push(fault.clone());
    state
        .events
        .push("fault.scheduled", json!({"id": id, "fault": listed}));
    // An action at an instant already past happens now.
    apply_due(state);
    Ok(Some(PendingFault { id, fault }))
}

/// Drops every pending fault.
pub(crate) fn clear_faults(state: &IdpState) {
    state.faults.clear(None);
    state.events.push("fault.cleared", json!({}));
}

/// Drops one pending fault; false when none has this id.
pub(crate) fn remove_fault(state: &IdpState, id: u64) -> bool {
    let removed = state.faults.remove(id);
    if removed {
        state.events.push("fault.removed", json!({"id": id}));
    }
    removed
}

/// Applies the actions whose instant has come (each request to the IdP starts with this).
pub(crate) fn apply_due(state: &IdpState) {
    for (id, fault) in state.faults.due(state.clock.now()) {
        if let Err(error) = apply_action(state, id, &fault) {
            state.events.push(
                "fault.failed",
                json!({"id": id, "kind": fault.kind(), "reason": error.message}),
            );
        }
    }
}

/// Does what an action says; `id` is its fault id (0 for one done at once).
fn apply_action(state: &IdpState, id: u64, fault: &Fault) -> Result<(), ControlError> {
    match fault {
        Fault::RevokeGrants { user } => {
            let user =
                find_user(&state.tenant(), user).ok_or_else(|| ControlError::no_user(user))?;
            let grants = state.store.revoke_grants_of(&user.id);
            state.events.push(
                "grant.revoked",
                json!({"account_id": user.id, "grant_ids": grants, "reason": "fault", "fault_id": id}),
            );
        }
        Fault::ExpireSessions { user } => {
            let user =
                find_user(&state.tenant(), user).ok_or_else(|| ControlError::no_user(user))?;
            let sessions = state.store.end_sessions_of(&user.id);
            state.events.push(
                "session.destroyed",
                json!({"account_id": user.id, "sessions": sessions, "reason": "fault", "fault_id": id}),
            );
        }
        Fault::RotateSigningKey {
            algorithm,
            grace_secs,
        } => rotate_signing_key(state, id, *algorithm, grace_secs.unwrap_or(0))?,
        _ => {
            return Err(ControlError::invalid(format!(
                "{} is not an action",
                fault.kind()
            )));
        }
    }
    Ok(())
}

/// Logto's rotation with the first committed spare key of the type that has not signed here.
fn rotate_signing_key(
    state: &IdpState,
    id: u64,
    algorithm: Option<KeyType>,
    grace_secs: u64,
) -> Result<(), ControlError> {
    let mut keys = state.keys.write().unwrap_or_else(PoisonError::into_inner);
    let want_rsa = match algorithm {
        Some(KeyType::Rsa) => true,
        Some(KeyType::Ec) => false,
        None => keys.alg() == crate::SigningAlg::Rs256,
    };
    let spares: Vec<PrivateKey> = serde_json::from_str(crate::fixtures::LOGTO_SPARE_KEYS)
        .map_err(|e| ControlError::internal(format!("fixtures/logto/spare-keys.json: {e}")))?;
    let next = spares
        .iter()
        .find(|key| {
            crate::keys::Keys::is_rsa_pem(&key.value) == want_rsa && !keys.has_used(&key.value)
        })
        .ok_or_else(|| {
            ControlError::conflict(format!(
                "every spare {} key has signed here already: rotate to the other type, or reset",
                if want_rsa { "RSA" } else { "EC" }
            ))
        })?;
    let now = state.clock.now();
    let previous_until = (grace_secs > 0)
        .then(|| crate::clock::after(now, i64::try_from(grace_secs).unwrap_or(i64::MAX)));
    let rotated = keys
        .rotate(next, previous_until)
        .map_err(|e| ControlError::internal(e.to_string()))?;
    let previous = keys.kid().to_owned();
    let current = rotated.kid().to_owned();
    *keys = Arc::new(rotated);
    drop(keys);
    state.events.push(
        "keys.rotated",
        json!({"kid": current, "previous_kid": previous, "grace_secs": grace_secs, "fault_id": id}),
    );
    Ok(())
}

/// A whole-instance reset: the tenant, keys, clock, seed, faults, sessions, tokens, event log
/// and inbox are as they were at start, so what follows replays like a fresh instance.
pub(crate) fn reset(state: &IdpState) {
    *state.tenant_mut() = state.initial.tenant.clone();
    *state.keys.write().unwrap_or_else(PoisonError::into_inner) = state.initial.keys.clone();
    state.store.clear();
    state.interactions.clear();
    state.experience.clear();
    state.clock.reset();
    state.rng.restart();
    state.faults.clear(Some(state.rng.derive("faults")));
    if let Some(mail) = &state.mail {
        mail.reset_own(&state.initial.postmark_faults);
    }
    state.events.clear();
    // The scenario's faults come back with everything else.
    for fault in state.initial.faults.clone() {
        if let Err(error) = inject(state, fault) {
            state
                .events
                .push("fault.failed", json!({"reason": error.message}));
        }
    }
}

/// Empties the inbox of the fake Postmark this IdP sends to (its own, or one it shares).
pub(crate) fn clear_inbox(state: &IdpState) -> Result<usize, ControlError> {
    let mail = state.mail.as_ref().ok_or_else(|| {
        ControlError::conflict(
            "this IdP sends its mail to an external Postmark API and keeps no inbox",
        )
    })?;
    let cleared = mail.inbox().messages().len();
    mail.inbox().clear();
    state
        .events
        .push("inbox.cleared", json!({"messages": cleared}));
    Ok(cleared)
}
