//! `/api/users`: list and search, read, create, update, delete, and custom data, as Logto's
//! Management API answers them.
//!
//! - A user is `{id, username, primaryEmail, primaryPhone, name, avatar, customData,
//!   identities, lastSignInAt, createdAt, updatedAt, profile, applicationId, isSuspended}`,
//!   times in epoch milliseconds, plus `hasPassword` when one user is answered (not in lists).
//! - An unknown user is 404 `entity.not_found`.
//! - `GET /api/users` pages with `page` (from 1) and `page_size` (1 to 100, default 20),
//!   newest first, with `Total-Number` and `Link` headers; `search` matches `id`, email,
//!   phone, username and name, `search.<field>` one of them, `mode` (`like`, the default, or
//!   `exact`), `joint` (`or` / `and`) and `isCaseSensitive` as Logto's. `like` is SQL's
//!   `LIKE`: Logto adds no wildcards, so `search=%alice%` finds what contains "alice". Logto's
//!   `similar_to` and `posix` modes are not served (400, saying so).
//! - `POST /api/users` answers 200 with the user; a taken username, email or phone is 422; a
//!   clear `password` is kept as the mock keeps passwords, and a `passwordDigest` must be a
//!   `SHA256` one, the one algorithm the mock verifies (else 501, saying so).
//! - `PATCH /api/users/{id}` replaces `customData` and `profile` whole; `PATCH
//!   …/custom-data` merges keys into it (shallowly) and answers the custom data alone.
//! - `DELETE` signs the user out, revokes their grants and takes them out of their roles.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::Caller;
use super::{answer, error, invalid_body, json, not_found};
use crate::guard::{self, Shape, optional};
use crate::request_error::RequestError;
use crate::state::IdpState;
use crate::tenant::User;

/// The user as Logto's Management API shows it; `has_password` for single-user answers.
pub(crate) fn user_json(user: &User, has_password: bool) -> Value {
    let mut object = Map::new();
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
    object.insert("id".into(), Value::String(user.id.clone()));
    object.insert("username".into(), text(&user.username));
    object.insert("primaryEmail".into(), text(&user.primary_email));
    object.insert("primaryPhone".into(), text(&user.primary_phone));
    object.insert("name".into(), text(&user.name));
    object.insert("avatar".into(), text(&user.avatar));
    object.insert("customData".into(), user.custom_data.clone());
    object.insert("identities".into(), user.identities.clone());
    object.insert(
        "lastSignInAt".into(),
        user.last_sign_in_at.map_or(Value::Null, Value::from),
    );
    object.insert("createdAt".into(), Value::from(user.created_at));
    object.insert("updatedAt".into(), Value::from(user.updated_at));
    object.insert("profile".into(), user.profile.clone());
    object.insert("applicationId".into(), text(&user.application_id));
    object.insert("isSuspended".into(), Value::Bool(user.is_suspended));
    if has_password {
        object.insert("hasPassword".into(), Value::Bool(user.has_password()));
    }
    Value::Object(object)
}

/// The user with this id (404 `entity.not_found` otherwise).
pub(crate) fn find(state: &IdpState, id: &str) -> Result<User, RequestError> {
    state.tenant().user(id).cloned().ok_or_else(not_found)
}

/// Changes the tenant's user `id` with `change`, keeping the tenant valid.
fn change_user<T>(
    state: &IdpState,
    id: &str,
    change: impl FnOnce(&mut User) -> Result<T, RequestError>,
) -> Result<(T, User), RequestError> {
    let now_ms = state.clock.unix_millis();
    state.change_tenant(
        |tenant| {
            let user = tenant
                .users
                .iter_mut()
                .find(|u| u.id == id)
                .ok_or_else(not_found)?;
            let result = change(user)?;
            user.updated_at = now_ms;
            Ok((result, user.clone()))
        },
        |e| {
            error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "entity.invalid_input",
                &e.to_string(),
            )
        },
    )
}

fn valid_email(value: &str) -> bool {
    crate::experience::engine::valid_email(value)
}

fn valid_username(value: &str) -> bool {
    crate::experience::engine::valid_username(value)
}

/// Logto's phone pattern: digits only.
fn valid_phone(value: &str) -> bool {
    !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit())
}

fn email_or_empty(value: &str) -> bool {
    value.is_empty() || valid_email(value)
}

fn username_or_empty(value: &str) -> bool {
    value.is_empty() || valid_username(value)
}

fn phone_or_empty(value: &str) -> bool {
    value.is_empty() || valid_phone(value)
}

const ALGORITHMS: &[&str] = &[
    "Argon2i", "Argon2id", "Argon2d", "SHA1", "SHA256", "MD5", "Bcrypt", "Legacy",
];

const CREATE: Shape = Shape::Object(&[
    optional("primaryPhone", Shape::Pattern(valid_phone)),
    optional("primaryEmail", Shape::Pattern(valid_email)),
    optional("username", Shape::Pattern(valid_username)),
    optional("password", Shape::NonEmptyStr),
    optional("passwordDigest", Shape::Str),
    optional("passwordAlgorithm", Shape::Enum(ALGORITHMS)),
    optional("name", Shape::Str),
    optional("avatar", Shape::Nullable(&Shape::Str)),
    optional("customData", Shape::AnyObject),
    optional("profile", Shape::AnyObject),
]);

const UPDATE: Shape = Shape::Object(&[
    optional(
        "username",
        Shape::Nullable(&Shape::Pattern(username_or_empty)),
    ),
    optional(
        "primaryEmail",
        Shape::Nullable(&Shape::Pattern(email_or_empty)),
    ),
    optional(
        "primaryPhone",
        Shape::Nullable(&Shape::Pattern(phone_or_empty)),
    ),
    optional("name", Shape::Nullable(&Shape::Str)),
    optional("avatar", Shape::Nullable(&Shape::Str)),
    optional("customData", Shape::AnyObject),
    optional("profile", Shape::AnyObject),
]);

const CUSTOM_DATA: Shape = Shape::Object(&[guard::required("customData", Shape::AnyObject)]);

/// A string field of a checked body: `Some(None)` for `null` or `""`.
fn text_field(body: &Value, key: &str) -> Option<Option<String>> {
    match body.get(key)? {
        Value::String(s) if s.is_empty() => Some(None),
        Value::String(s) => Some(Some(s.clone())),
        _ => Some(None),
    }
}

/// 422 when another user has this username, email or phone (any case, as Logto compares).
fn check_unique(state: &IdpState, id: Option<&str>, user: &User) -> Result<(), RequestError> {
    let tenant = state.tenant();
    let others = || tenant.users.iter().filter(|u| Some(u.id.as_str()) != id);
    let same = |a: &Option<String>, b: &Option<String>| {
        a.as_deref()
            .zip(b.as_deref())
            .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
    };
    if others().any(|u| same(&u.username, &user.username)) {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "user.username_already_in_use",
            "This username is already in use.",
        ));
    }
    if others().any(|u| same(&u.primary_email, &user.primary_email)) {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "user.email_already_in_use",
            "This email is associated with an existing account.",
        ));
    }
    if others().any(|u| same(&u.primary_phone, &user.primary_phone)) {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "user.phone_already_in_use",
            "This phone number is associated with an existing account.",
        ));
    }
    Ok(())
}

/// `GET /api/users/{id}`.
pub(crate) async fn read(State(state): State<IdpState>, Path(id): Path<String>) -> Response {
    answer(&state, find(&state, &id).map(|u| json(user_json(&u, true))))
}

/// `POST /api/users`.
pub(crate) async fn create(
    State(state): State<IdpState>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let created = (|| {
        let body = guard::check(&headers, &bytes, &CREATE).map_err(invalid_body)?;
        let digest = body.get("passwordDigest").and_then(Value::as_str);
        let algorithm = body.get("passwordAlgorithm").and_then(Value::as_str);
        if body.get("password").is_some() && digest.is_some() {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "user.password_and_digest",
                "You cannot set both plain text password and password digest.",
            ));
        }
        if digest.is_some() && algorithm.is_none() {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "user.password_algorithm_required",
                "Password algorithm is required.",
            ));
        }
        if digest.is_some() && algorithm != Some(crate::experience::password::METHOD) {
            return Err(error(
                StatusCode::NOT_IMPLEMENTED,
                "mock.not_implemented",
                "This mock verifies SHA256 password digests only: send a clear `password`, or a \
                 SHA256 `passwordDigest`.",
            ));
        }
        let sha256 = |d: &str| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit());
        if digest.is_some_and(|d| !sha256(d)) {
            return Err(invalid_body(guard::Invalid {
                data: None,
                details: "Error in key path \"passwordDigest\": (custom) a SHA256 digest is 64 \
                          hex digits"
                    .to_owned(),
            }));
        }
        let now_ms = state.clock.unix_millis();
        let mut user = User {
            id: state.rng.id(12),
            username: text_field(&body, "username").flatten(),
            primary_email: text_field(&body, "primaryEmail").flatten(),
            primary_phone: text_field(&body, "primaryPhone").flatten(),
            name: text_field(&body, "name").flatten(),
            avatar: text_field(&body, "avatar").flatten(),
            custom_data: body.get("customData").cloned().unwrap_or_else(|| json!({})),
            identities: json!({}),
            profile: body.get("profile").cloned().unwrap_or_else(|| json!({})),
            application_id: None,
            is_suspended: false,
            last_sign_in_at: None,
            created_at: now_ms,
            updated_at: now_ms,
            password_encrypted: digest.map(str::to_ascii_lowercase),
            password_encryption_method: algorithm.map(str::to_owned),
            password: body
                .get("password")
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        check_unique(&state, None, &user)?;
        crate::experience::password::seal(&mut user);
        state.change_tenant(
            |tenant| {
                tenant.users.push(user.clone());
                Ok(())
            },
            |e| {
                error(
                    StatusCode::BAD_REQUEST,
                    "guard.invalid_input",
                    &e.to_string(),
                )
            },
        )?;
        state.events.push(
            "user.created",
            json!({"account_id": user.id, "by": "management api"}),
        );
        Ok(json(user_json(&user, true)))
    })();
    answer(&state, created)
}

/// `PATCH /api/users/{id}`.
pub(crate) async fn update(
    State(state): State<IdpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let updated = (|| {
        find(&state, &id)?;
        let body = guard::check(&headers, &bytes, &UPDATE).map_err(invalid_body)?;
        if body.as_object().is_some_and(Map::is_empty) {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "entity.invalid_input",
                "Invalid input. Value list must not be empty.",
            ));
        }
        let mut candidate = find(&state, &id)?;
        apply_update(&mut candidate, &body);
        check_unique(&state, Some(&id), &candidate)?;
        let ((), user) = change_user(&state, &id, |user| {
            apply_update(user, &body);
            Ok(())
        })?;
        state.events.push(
            "user.updated",
            json!({"account_id": id, "by": "management api"}),
        );
        Ok(json(user_json(&user, true)))
    })();
    answer(&state, updated)
}

fn apply_update(user: &mut User, body: &Value) {
    if let Some(v) = text_field(body, "username") {
        user.username = v;
    }
    if let Some(v) = text_field(body, "primaryEmail") {
        user.primary_email = v;
    }
    if let Some(v) = text_field(body, "primaryPhone") {
        user.primary_phone = v;
    }
    if let Some(v) = text_field(body, "name") {
        user.name = v;
    }
    if let Some(v) = text_field(body, "avatar") {
        user.avatar = v;
    }
    if let Some(v) = body.get("customData") {
        user.custom_data = v.clone();
    }
    if let Some(v) = body.get("profile") {
        user.profile = v.clone();
    }
}

/// `DELETE /api/users/{id}`.
pub(crate) async fn delete(
    State(state): State<IdpState>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let deleted = (|| {
        find(&state, &id)?;
        if caller.id == id {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "user.cannot_delete_self",
                "You cannot delete yourself.",
            ));
        }
        crate::control::ops::delete_user(&state, &id).map_err(|_| not_found())?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })();
    answer(&state, deleted)
}

/// `GET /api/users/{id}/custom-data`.
pub(crate) async fn read_custom_data(
    State(state): State<IdpState>,
    Path(id): Path<String>,
) -> Response {
    answer(&state, find(&state, &id).map(|u| json(u.custom_data)))
}

/// `PATCH /api/users/{id}/custom-data`: a shallow merge.
pub(crate) async fn update_custom_data(
    State(state): State<IdpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let updated = (|| {
        find(&state, &id)?;
        let body = guard::check(&headers, &bytes, &CUSTOM_DATA).map_err(invalid_body)?;
        let patch = body
            .get("customData")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let (merged, _) = change_user(&state, &id, |user| {
            let mut data = user.custom_data.as_object().cloned().unwrap_or_default();
            data.extend(patch);
            user.custom_data = Value::Object(data);
            Ok(user.custom_data.clone())
        })?;
        Ok(json(merged))
    })();
    answer(&state, updated)
}

/// `GET /api/users`: a page of users, newest first, optionally searched.
pub(crate) async fn list(State(state): State<IdpState>, RawQuery(query): RawQuery) -> Response {
    let listed = (|| {
        let params = super::query_params(query);
        let page = super::search::Page::from_params(&params)?;
        let search = super::search::Search::from_params(&params, USER_FIELDS)?;
        let tenant = state.tenant();
        let mut users: Vec<&User> = tenant
            .users
            .iter()
            .filter(|u| search.matches(|field| user_field(u, field)))
            .collect();
        users.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        let total = users.len();
        let items: Vec<Value> = page
            .slice(&users)
            .iter()
            .map(|u| user_json(u, false))
            .collect();
        let mut response = json(Value::Array(items));
        page.headers(
            response.headers_mut(),
            &format!("{}/api/users", state.origin),
            &params,
            total,
        );
        Ok(response)
    })();
    answer(&state, listed)
}

/// The fields `search.<field>` may name, as Logto's search names them.
const USER_FIELDS: &[(&str, &str)] = &[
    ("id", "id"),
    ("primaryEmail", "primary_email"),
    ("primaryPhone", "primary_phone"),
    ("username", "username"),
    ("name", "name"),
];

fn user_field<'u>(user: &'u User, field: &str) -> Option<&'u str> {
    match field {
        "id" => Some(&user.id),
        "primaryEmail" => user.primary_email.as_deref(),
        "primaryPhone" => user.primary_phone.as_deref(),
        "username" => user.username.as_deref(),
        "name" => user.name.as_deref(),
        _ => None,
    }
}

const SUSPENSION: Shape = Shape::Object(&[guard::required("isSuspended", Shape::Bool)]);
const PASSWORD: Shape = Shape::Object(&[guard::required("password", Shape::NonEmptyStr)]);

/// `PATCH /api/users/{id}/is-suspended` `{"isSuspended"}`: 200 with the user; suspending ends
/// the user's sessions and grants, as Logto signs the user out.
pub(crate) async fn update_suspension(
    State(state): State<IdpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let updated = (|| {
        find(&state, &id)?;
        let body = guard::check(&headers, &bytes, &SUSPENSION).map_err(invalid_body)?;
        let suspended = body["isSuspended"].as_bool().unwrap_or(false);
        let ((), user) = change_user(&state, &id, |user| {
            user.is_suspended = suspended;
            Ok(())
        })?;
        if suspended {
            state.store.revoke_grants_of(&id);
            state.store.end_sessions_of(&id);
        }
        state.events.push(
            "user.suspension_updated",
            json!({"account_id": id, "is_suspended": suspended}),
        );
        Ok(json(user_json(&user, true)))
    })();
    answer(&state, updated)
}

/// `PATCH /api/users/{id}/password` `{"password"}`: 200 with the user (Logto does not apply
/// the sign-in experience's password policy here).
pub(crate) async fn update_password(
    State(state): State<IdpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let updated = (|| {
        find(&state, &id)?;
        let body = guard::check(&headers, &bytes, &PASSWORD).map_err(invalid_body)?;
        let password = body["password"].as_str().unwrap_or_default().to_owned();
        let ((), user) = change_user(&state, &id, |user| {
            user.password = Some(password);
            crate::experience::password::seal(user);
            Ok(())
        })?;
        Ok(json(user_json(&user, true)))
    })();
    answer(&state, updated)
}

/// `POST /api/users/{id}/password/verify` `{"password"}`: 204, or 422
/// `session.invalid_credentials`.
pub(crate) async fn verify_password(
    State(state): State<IdpState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let verified = (|| {
        let user = find(&state, &id)?;
        let body = guard::check(&headers, &bytes, &PASSWORD).map_err(invalid_body)?;
        let password = body["password"].as_str().unwrap_or_default();
        if !crate::experience::password::matches(&user, password) {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "session.invalid_credentials",
                "Incorrect account or password. Please check your input.",
            ));
        }
        Ok(StatusCode::NO_CONTENT.into_response())
    })();
    answer(&state, verified)
}

/// `GET /api/users/{id}/has-password`: `{"hasPassword"}`.
pub(crate) async fn has_password(
    State(state): State<IdpState>,
    Path(id): Path<String>,
) -> Response {
    answer(
        &state,
        find(&state, &id).map(|u| json(json!({ "hasPassword": u.has_password() }))),
    )
}
