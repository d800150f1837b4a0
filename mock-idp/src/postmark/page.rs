//! The inbox web page, for people: `/` lists the mail (newest first, filter by recipient,
//! the code large in `[data-code]`), `/view/{seq}` shows one message (its HTML in a sandboxed
//! iframe, the text, the template model, the JSON as sent).
//!
//! Server-rendered and readable without JavaScript; `/inbox.js` adds live updates through the
//! server-sent events of `/_inbox/events`, refetching the rows from `/rows` (rendered, and so
//! escaped, on the server). Every value goes through askama's HTML escaping; the page is served
//! with a Content-Security-Policy that allows no inline script, and the iframe has `sandbox`
//! without `allow-scripts`.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::PostmarkState;
use super::address::Mailbox;
use super::email::Email;
use super::query::Params;
use super::wire;

const SCRIPT: &str = include_str!("../../assets/inbox.js");
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                   style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'self'";
/// Strings longer than this are cut in the "as sent" view (base64 attachments, mostly).
const MAX_SHOWN: usize = 2000;

/// One row of the list.
struct Row {
    seq: u64,
    received: String,
    received_iso: String,
    to: String,
    subject: String,
    code: Option<String>,
}

#[derive(Template)]
#[template(path = "postmark/inbox.html")]
struct InboxPage<'a> {
    server_name: &'a str,
    to: &'a str,
    filtered: bool,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "postmark/rows.html")]
struct Rows {
    filtered: bool,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "postmark/message.html")]
struct MessagePage {
    seq: u64,
    subject: String,
    code: Option<String>,
    from: String,
    to: String,
    cc: String,
    bcc: String,
    received: String,
    received_iso: String,
    message_id: String,
    stream: String,
    tag: Option<String>,
    template: Option<String>,
    html: Option<String>,
    text: Option<String>,
    model: Option<String>,
    sent: String,
}

#[derive(Template)]
#[template(path = "postmark/not_found.html")]
struct NotFound {
    message: String,
}

fn page(status: StatusCode, rendered: Result<String, askama::Error>) -> Response {
    crate::http::page(status, rendered, CSP)
}

fn rows(state: &PostmarkState, to: &str) -> Vec<Row> {
    let mut list: Vec<Row> = state
        .store
        .all()
        .iter()
        .filter(|m| to.is_empty() || m.is_addressed_to(to))
        .map(row)
        .collect();
    list.reverse();
    list
}

fn row(email: &Email) -> Row {
    Row {
        seq: email.seq(),
        received: short_time(email),
        received_iso: wire::timestamp(email.submitted_at()),
        to: mailboxes(email.to()),
        subject: email
            .rendered()
            .subject
            .as_deref()
            .unwrap_or("(no subject)")
            .to_owned(),
        code: email.code().map(str::to_owned),
    }
}

fn short_time(email: &Email) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    email.submitted_at().format(&format).unwrap_or_default()
}

fn mailboxes(list: &[Mailbox]) -> String {
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn recipient_filter(query: Option<&str>) -> String {
    Params::parse(query)
        .get("to")
        .unwrap_or_default()
        .trim()
        .to_owned()
}

/// `GET /`.
pub(crate) async fn inbox(
    State(state): State<PostmarkState>,
    RawQuery(query): RawQuery,
) -> Response {
    let to = recipient_filter(query.as_deref());
    let view = InboxPage {
        server_name: &state.server.name,
        to: &to,
        filtered: !to.is_empty(),
        rows: rows(&state, &to),
    };
    page(StatusCode::OK, view.render())
}

/// `GET /rows`: the list's rows alone, for live updates.
pub(crate) async fn rows_fragment(
    State(state): State<PostmarkState>,
    RawQuery(query): RawQuery,
) -> Response {
    let to = recipient_filter(query.as_deref());
    let view = Rows {
        filtered: !to.is_empty(),
        rows: rows(&state, &to),
    };
    page(StatusCode::OK, view.render())
}

/// `GET /view/{seq}`.
pub(crate) async fn message(
    State(state): State<PostmarkState>,
    Path(seq): Path<String>,
) -> Response {
    let Some(email) = seq.parse::<u64>().ok().and_then(|n| state.store.get(n)) else {
        let view = NotFound {
            message: format!("There is no message #{seq} (it may have been cleared)."),
        };
        return page(StatusCode::NOT_FOUND, view.render());
    };
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap_or_default();
    let view = MessagePage {
        seq: email.seq(),
        subject: email.subject().unwrap_or("(no subject)").to_owned(),
        code: email.code().map(str::to_owned),
        from: email.from().to_owned(),
        to: mailboxes(email.to()),
        cc: mailboxes(email.cc()),
        bcc: mailboxes(email.bcc()),
        received: short_time(&email),
        received_iso: wire::timestamp(email.submitted_at()),
        message_id: email.message_id().to_owned(),
        stream: email.message_stream().to_owned(),
        tag: email.tag().map(str::to_owned),
        template: email.template_alias().map(str::to_owned),
        html: email.html_body().map(str::to_owned),
        text: email.text_body().map(str::to_owned),
        model: email.template_model().map(pretty),
        sent: pretty(&shortened(&email.sent_json())),
    };
    page(StatusCode::OK, view.render())
}

/// `GET /inbox.js`.
pub(crate) async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// The JSON with very long strings cut, so a page with attachments stays readable.
fn shortened(value: &Value) -> Value {
    match value {
        Value::String(s) if s.len() > MAX_SHOWN => {
            let cut = s.char_indices().nth(MAX_SHOWN).map_or(s.len(), |(i, _)| i);
            Value::String(format!("{}… ({} bytes in all)", &s[..cut], s.len()))
        }
        Value::Array(items) => Value::Array(items.iter().map(shortened).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shortened(v))).collect())
        }
        other => other.clone(),
    }
}
