//! The `/_mock/` routes: each reads its input, calls [`super::ops`], and answers JSON.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ControlError, duration, ops};
use crate::events::Event;
use crate::faults::ScheduledFault;
use crate::state::IdpState;

/// The routes, under [`super::PREFIX`].
pub(crate) fn router() -> Router<IdpState> {
    let routes = Router::new()
        .route("/", get(index))
        .route("/users", get(users).post(add_user))
        .route(
            "/users/{key}",
            get(user).patch(update_user).delete(delete_user),
        )
        .route("/applications", get(applications).post(add_application))
        .route(
            "/applications/{id}",
            get(application)
                .patch(update_application)
                .delete(delete_application),
        )
        .route("/clock", get(clock).post(move_clock))
        .route("/faults", get(faults).post(add_faults).delete(clear_faults))
        .route("/faults/{id}", delete(remove_fault))
        .route("/events", get(events))
        .route("/events/stream", get(stream))
        .route("/inbox", delete(clear_inbox))
        .route("/reset", post(reset))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    Router::new().nest(super::PREFIX, routes)
}

/// Every route takes this first: the access rule of [`super::Access`].
pub(crate) struct Allowed;

impl FromRequestParts<IdpState> for Allowed {
    type Rejection = ControlError;

    async fn from_request_parts(parts: &mut Parts, state: &IdpState) -> Result<Self, ControlError> {
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        state.control.check(authorization).map(|()| Self)
    }
}

type Answer = Result<Response, ControlError>;

fn ok(value: impl serde::Serialize) -> Answer {
    Ok(no_store(Json(value).into_response()))
}

fn created(value: impl serde::Serialize) -> Answer {
    Ok(no_store((StatusCode::CREATED, Json(value)).into_response()))
}

fn no_content() -> Answer {
    Ok(no_store(StatusCode::NO_CONTENT.into_response()))
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The body as JSON, whatever its content type (`curl -d` sends a form type).
fn json_body(body: &[u8]) -> Result<Value, ControlError> {
    serde_json::from_slice(body)
        .map_err(|e| ControlError::invalid(format!("the body is not JSON: {e}")))
}

async fn not_found(_: Allowed) -> ControlError {
    ControlError::not_found(format!(
        "no such control-plane route; see GET {}/ for the list",
        super::PREFIX
    ))
}

async fn method_not_allowed(
    _: Allowed,
    method: axum::http::Method,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
) -> ControlError {
    ControlError::method_not_allowed(format!(
        "{} does not take {method} (its `Allow` header says what it takes; GET {}/ lists every \
         route)",
        uri.path(),
        super::PREFIX
    ))
}

async fn index(_: Allowed, State(state): State<IdpState>) -> Answer {
    ok(json!({
        "issuer": state.issuer(),
        "seed": state.rng.seed(),
        "routes": [
            "GET|POST /_mock/users", "GET|PATCH|DELETE /_mock/users/{id, email or username}",
            "GET|POST /_mock/applications", "GET|PATCH|DELETE /_mock/applications/{id}",
            "GET|POST /_mock/clock", "GET|POST|DELETE /_mock/faults", "DELETE /_mock/faults/{id}",
            "GET /_mock/events?after=N", "GET /_mock/events/stream?after=N",
            "DELETE /_mock/inbox", "POST /_mock/reset",
        ],
    }))
}

async fn users(_: Allowed, State(state): State<IdpState>) -> Answer {
    ok(&state.tenant().users)
}

async fn user(_: Allowed, State(state): State<IdpState>, Path(key): Path<String>) -> Answer {
    let user = ops::find_user(&state.tenant(), &key).ok_or_else(|| ControlError::no_user(&key))?;
    ok(user)
}

async fn add_user(_: Allowed, State(state): State<IdpState>, body: Bytes) -> Answer {
    created(ops::add_user(&state, json_body(&body)?)?)
}

async fn update_user(
    _: Allowed,
    State(state): State<IdpState>,
    Path(key): Path<String>,
    body: Bytes,
) -> Answer {
    ok(ops::update_user(&state, &key, json_body(&body)?)?)
}

async fn delete_user(_: Allowed, State(state): State<IdpState>, Path(key): Path<String>) -> Answer {
    ops::delete_user(&state, &key)?;
    no_content()
}

async fn applications(_: Allowed, State(state): State<IdpState>) -> Answer {
    ok(&state.tenant().applications)
}

async fn application(_: Allowed, State(state): State<IdpState>, Path(id): Path<String>) -> Answer {
    let app = state
        .tenant()
        .application(&id)
        .cloned()
        .ok_or_else(|| ControlError::no_application(&id))?;
    ok(app)
}

async fn add_application(_: Allowed, State(state): State<IdpState>, body: Bytes) -> Answer {
    created(ops::add_application(&state, json_body(&body)?)?)
}

async fn update_application(
    _: Allowed,
    State(state): State<IdpState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    ok(ops::update_application(&state, &id, json_body(&body)?)?)
}

async fn delete_application(
    _: Allowed,
    State(state): State<IdpState>,
    Path(id): Path<String>,
) -> Answer {
    ops::delete_application(&state, &id)?;
    no_content()
}

fn clock_json(state: &IdpState) -> Value {
    json!({
        "now": ops::rfc3339(state.clock.now()),
        "fixed": state.clock.fixed_start().is_some(),
    })
}

async fn clock(_: Allowed, State(state): State<IdpState>) -> Answer {
    ok(clock_json(&state))
}

/// `{"set": RFC 3339}` or `{"advance": "1h30m" | seconds}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveClock {
    set: Option<String>,
    advance: Option<Value>,
}

async fn move_clock(_: Allowed, State(state): State<IdpState>, body: Bytes) -> Answer {
    let request: MoveClock = serde_json::from_value(json_body(&body)?).map_err(|e| {
        ControlError::invalid(format!(
            "expected {{\"set\": …}} or {{\"advance\": …}}: {e}"
        ))
    })?;
    match (request.set, request.advance) {
        (Some(set), None) => {
            let instant =
                time::OffsetDateTime::parse(&set, &time::format_description::well_known::Rfc3339)
                    .map_err(|e| {
                    ControlError::invalid(format!("`set` is not an RFC 3339 instant: {e}"))
                })?;
            ops::set_clock(&state, instant);
        }
        (None, Some(advance)) => {
            let by = match &advance {
                Value::String(text) => duration::parse(text).map_err(ControlError::invalid)?,
                Value::Number(n) => {
                    n.as_u64()
                        .map(std::time::Duration::from_secs)
                        .ok_or_else(|| {
                            ControlError::invalid("`advance` in seconds must be a whole number ≥ 0")
                        })?
                }
                _ => {
                    return Err(ControlError::invalid(
                        "`advance` is a duration like \"1h30m\" or seconds",
                    ));
                }
            };
            ops::advance_clock(&state, by);
        }
        _ => {
            return Err(ControlError::invalid(
                "give exactly one of `set` and `advance`",
            ));
        }
    }
    ok(clock_json(&state))
}

async fn faults(_: Allowed, State(state): State<IdpState>) -> Answer {
    ok(state.faults.pending())
}

/// One fault or an array; all are checked before any is scheduled.
async fn add_faults(_: Allowed, State(state): State<IdpState>, body: Bytes) -> Answer {
    let body = json_body(&body)?;
    let list = match body {
        Value::Array(list) => list,
        one => vec![one],
    };
    let mut faults = Vec::with_capacity(list.len());
    for (i, value) in list.into_iter().enumerate() {
        let fault: ScheduledFault = serde_json::from_value(value)
            .map_err(|e| ControlError::invalid(format!("fault {i}: {e}")))?;
        fault
            .validate()
            .map_err(|e| ControlError::invalid(format!("fault {i}: {e}")))?;
        faults.push(fault);
    }
    let mut answers = Vec::new();
    for fault in faults {
        let listed = serde_json::to_value(&fault).unwrap_or(Value::Null);
        answers.push(match ops::inject(&state, fault)? {
            Some(pending) => serde_json::to_value(pending).unwrap_or(Value::Null),
            None => json!({"applied": listed}),
        });
    }
    created(answers)
}

async fn clear_faults(_: Allowed, State(state): State<IdpState>) -> Answer {
    ops::clear_faults(&state);
    no_content()
}

async fn remove_fault(_: Allowed, State(state): State<IdpState>, Path(id): Path<String>) -> Answer {
    let found = id
        .parse::<u64>()
        .is_ok_and(|id| ops::remove_fault(&state, id));
    if !found {
        return Err(ControlError::not_found(format!(
            "no pending fault has the id {id:?}"
        )));
    }
    no_content()
}

#[derive(Deserialize)]
struct EventsQuery {
    #[serde(default)]
    after: u64,
    format: Option<String>,
}

fn events_query(
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<EventsQuery, ControlError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ControlError::invalid(format!("bad query: {}", e.body_text())))
}

const JSONL: &str = "application/x-ndjson";

fn jsonl(events: &[Event]) -> String {
    let mut text = String::new();
    for event in events {
        text.push_str(&event.to_json_line());
        text.push('\n');
    }
    text
}

async fn events(
    _: Allowed,
    State(state): State<IdpState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    let query = events_query(query)?;
    let events = state.events.after(query.after);
    let wants_lines = match query.format.as_deref() {
        Some("jsonl") => true,
        Some("json") | None => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains(JSONL) || accept.contains("application/jsonl")),
        Some(other) => {
            return Err(ControlError::invalid(format!(
                "format {other:?}: use json or jsonl"
            )));
        }
    };
    if wants_lines {
        return Ok(no_store(
            ([(header::CONTENT_TYPE, JSONL)], jsonl(&events)).into_response(),
        ));
    }
    ok(events)
}

/// The log as JSON Lines from `after`, then each new event; ends when the IdP stops.
async fn stream(
    _: Allowed,
    State(state): State<IdpState>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    let query = events_query(query)?;
    let newest = state.events.subscribe();
    let start = (state, newest, query.after);
    let body = futures_util::stream::unfold(start, |(state, mut newest, mut seen)| async move {
        loop {
            newest.mark_unchanged();
            let fresh = state.events.after(seen);
            if let Some(last) = fresh.last() {
                seen = last.seq;
                let chunk = Bytes::from(jsonl(&fresh));
                return Some((Ok::<_, Infallible>(chunk), (state, newest, seen)));
            }
            // A reset starts the log over: follow it from its start.
            if *newest.borrow() < seen {
                seen = 0;
                continue;
            }
            let mut shutdown = state.shutdown.clone();
            tokio::select! {
                changed = newest.changed() => if changed.is_err() { return None },
                () = shutdown.wait() => return None,
            }
        }
    });
    Ok(no_store(
        ([(header::CONTENT_TYPE, JSONL)], Body::from_stream(body)).into_response(),
    ))
}

async fn clear_inbox(_: Allowed, State(state): State<IdpState>) -> Answer {
    let cleared = ops::clear_inbox(&state)?;
    ok(json!({"cleared": cleared}))
}

async fn reset(_: Allowed, State(state): State<IdpState>) -> Answer {
    ops::reset(&state);
    no_content()
}
