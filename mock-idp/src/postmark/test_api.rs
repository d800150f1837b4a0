//! The test API under `/_inbox/`: for tests in any language, and for the inbox page.
//!
//! | route | what |
//! |---|---|
//! | `GET /_inbox/messages?to=&after=&tag=&template=` | `{Cursor, Messages}`, oldest first |
//! | `DELETE /_inbox/messages` | forget every message; sequence numbers keep growing |
//! | `GET /_inbox/cursor` | `{Cursor}`: the newest sequence number, without messages |
//! | `GET /_inbox/latest?to=` | the newest message to `to` (404 if none) |
//! | `GET /_inbox/wait?to=&after=&timeout_ms=` | long-poll: the first message to `to` above `after` (200), or 408 with how many others arrived and summaries of the last 20 |
//! | `GET/POST/DELETE /_inbox/faults` | pending injected failures: list, add, clear |
//! | `GET /_inbox/events` | server-sent events: `message` per new message, `cleared` |
//!
//! Messages are Postmark-shaped JSON plus `Seq` (the sequence number) and `Code` (the
//! one-time code). Waiting is by sequence number, never by count or time: take `Cursor`
//! before triggering a mail, then wait with `after=Cursor`. Errors are `{ErrorCode, Message}`
//! with the HTTP status as `ErrorCode`.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde_json::{Value, json};

use super::PostmarkState;
use super::email::Email;
use super::error::ApiError;
use super::faults::Fault;
use super::inbox::DEFAULT_WAIT_TIMEOUT;
use super::query::Params;
use super::store::Ended;
use super::wire::{self, Fields};

/// How many of the messages that did arrive a timed-out wait lists (the newest).
pub(crate) const ARRIVED_SHOWN: usize = 20;

/// The longest `timeout_ms` a wait accepts (two minutes).
const MAX_WAIT: Duration = Duration::from_secs(120);

fn bad_request(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, 400, message)
}

fn emails(list: &[Email]) -> Vec<Value> {
    list.iter().map(Email::to_json).collect()
}

/// `GET /_inbox/messages`.
pub(crate) async fn messages(
    State(state): State<PostmarkState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let after = params.number("after", bad_request)?.unwrap_or(0);
    let to = params.get("to");
    let tag = params.get("tag");
    let template = params.get("template");
    let list: Vec<Email> = state
        .store
        .since(after)
        .into_iter()
        .filter(|m| to.is_none_or(|to| m.is_addressed_to(to)))
        .filter(|m| tag.is_none_or(|tag| m.tag() == Some(tag)))
        .filter(|m| template.is_none_or(|alias| m.template_alias() == Some(alias)))
        .collect();
    let body = json!({"Cursor": state.store.last_seq(), "Messages": emails(&list)});
    Ok(Json(body).into_response())
}

/// `{Seq, To, Subject, Code}`: a message in a list that must stay small (as the live events
/// show it).
fn summary(email: &Email) -> Value {
    let to: Vec<&str> = email.to().iter().map(|m| m.email.as_str()).collect();
    json!({"Seq": email.seq(), "To": to, "Subject": email.rendered().subject, "Code": email.code()})
}

/// `GET /_inbox/cursor`: the sequence number of the newest message, without any message: what
/// a test takes before it triggers a mail, then waits with `after=`.
pub(crate) async fn cursor(State(state): State<PostmarkState>) -> Response {
    Json(json!({"Cursor": state.store.last_seq()})).into_response()
}

/// `DELETE /_inbox/messages`.
pub(crate) async fn clear(State(state): State<PostmarkState>) -> Response {
    let cleared = state.store.clear();
    Json(json!({"Cleared": cleared, "Cursor": state.store.last_seq()})).into_response()
}

/// `GET /_inbox/latest?to=`.
pub(crate) async fn latest(
    State(state): State<PostmarkState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let to = params.required("to", bad_request)?;
    let email = state.store.last_to(to).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            404,
            format!("No message to {to} so far."),
        )
    })?;
    Ok(Json(email.to_json()).into_response())
}

/// `GET /_inbox/wait?to=&after=&timeout_ms=`: answers as soon as the message is there.
pub(crate) async fn wait(
    State(state): State<PostmarkState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let to = params.required("to", bad_request)?.to_owned();
    let after = params.number("after", bad_request)?.unwrap_or(0);
    let timeout = match params.number("timeout_ms", bad_request)? {
        Some(ms) if Duration::from_millis(ms) > MAX_WAIT => {
            return Err(bad_request(format!(
                "'timeout_ms' may be at most {} (two minutes).",
                MAX_WAIT.as_millis()
            )));
        }
        Some(ms) => Duration::from_millis(ms),
        None => DEFAULT_WAIT_TIMEOUT,
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let mut shutdown = state.shutdown.clone();
    let found = state
        .store
        .wait_until(deadline, || state.store.first_to_after(&to, after));
    let waited = tokio::select! {
        waited = found => waited,
        () = shutdown.wait() => Err(Ended::ShutDown),
    };
    match waited {
        Ok(email) => Ok(Json(email.to_json()).into_response()),
        Err(Ended::TimedOut) => {
            // What did arrive, as summaries of the last few: an inbox of thousands must not
            // make the answer (or the memory building it) grow with it.
            let (count, last) = state.store.tail_since(after, ARRIVED_SHOWN);
            let body = json!({
                "ErrorCode": 408,
                "Message": format!(
                    "No message to {to} after #{after} within {} ms; {count} other message(s) arrived.",
                    timeout.as_millis(),
                ),
                "ArrivedCount": count,
                "Arrived": last.iter().map(summary).collect::<Vec<_>>(),
                "Cursor": state.store.last_seq(),
            });
            // RFC 9110: a 408 closes the connection (and tells clients not to retry on it).
            let close = [(axum::http::header::CONNECTION, "close")];
            Ok((StatusCode::REQUEST_TIMEOUT, close, Json(body)).into_response())
        }
        Err(Ended::ShutDown) => Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            503,
            "The fake Postmark is shutting down.",
        )),
    }
}

/// `GET /_inbox/faults`: what is still queued.
pub(crate) async fn faults(State(state): State<PostmarkState>) -> Response {
    Json(json!({"Faults": state.faults.pending()})).into_response()
}

/// `POST /_inbox/faults` with `{"Count": n, "Status": 503, "ErrorCode": 100, "Message"?}`.
pub(crate) async fn add_fault(
    State(state): State<PostmarkState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = wire::read_body(&headers, body, 1).await?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| bad_request(format!("The body is not JSON: {e}.")))?;
    let fields = Fields::new(value, "the fault").map_err(|e| bad_request(e.message))?;
    let number = |key: &str| -> Result<u64, ApiError> {
        fields
            .integer(key)
            .map_err(|e| bad_request(e.message))?
            .ok_or_else(|| bad_request(format!("'{key}' is required.")))
    };
    let count = number("Count")?;
    if count == 0 {
        return Err(bad_request("'Count' must be at least 1.".into()));
    }
    let fault = Fault {
        count: usize::try_from(count).unwrap_or(usize::MAX),
        status: u16::try_from(number("Status")?).unwrap_or(0),
        error_code: u32::try_from(number("ErrorCode")?).unwrap_or(u32::MAX),
        message: fields
            .string("Message")
            .map_err(|e| bad_request(e.message))?,
    };
    fault.validate().map_err(|e| bad_request(e.to_string()))?;
    state.faults.push(fault);
    Ok(Json(json!({"Faults": state.faults.pending()})).into_response())
}

/// `DELETE /_inbox/faults`.
pub(crate) async fn clear_faults(State(state): State<PostmarkState>) -> Response {
    state.faults.clear();
    Json(json!({"Faults": []})).into_response()
}

/// `GET /_inbox/events`: one `message` event per new message (data: a summary with `Seq`,
/// `To`, `Subject`, `Code`), `cleared` after a clear. Ends when the server shuts down.
pub(crate) async fn events(
    State(state): State<PostmarkState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let start = Live {
        seen: state.store.last_seq(),
        clears: state.store.clears(),
        changes: state.store.subscribe(),
        pending: Vec::new(),
        state,
    };
    let stream = stream::unfold(start, |mut live| async move {
        loop {
            if let Some(event) = live.pending.pop() {
                return Some((Ok(event), live));
            }
            let mut shutdown = live.state.shutdown.clone();
            tokio::select! {
                changed = live.changes.changed() => {
                    if changed.is_err() { return None; }
                }
                () = shutdown.wait() => return None,
            }
            live.collect();
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// The state of one live-update stream.
struct Live {
    state: PostmarkState,
    changes: tokio::sync::watch::Receiver<()>,
    seen: u64,
    clears: u64,
    /// Events to send, last first.
    pending: Vec<Event>,
}

impl Live {
    fn collect(&mut self) {
        let mut events = Vec::new();
        let clears = self.state.store.clears();
        if clears != self.clears {
            self.clears = clears;
            events.push(Event::default().event("cleared").data("{}"));
        }
        for email in self.state.store.since(self.seen) {
            self.seen = email.seq();
            let to: Vec<&str> = email.to().iter().map(|m| m.email.as_str()).collect();
            let summary = json!({
                "Seq": email.seq(),
                "To": to,
                "Subject": email.rendered().subject,
                "Code": email.code(),
            });
            events.push(
                Event::default()
                    .event("message")
                    .id(email.seq().to_string())
                    .data(summary.to_string()),
            );
        }
        events.reverse();
        self.pending = events;
    }
}
