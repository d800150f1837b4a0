//! The Messages API, to read sent mail back as Postmark tooling does:
//! `GET /messages/outbound`, `/messages/outbound/{id}/details`, `/dump`, and
//! `/messages/outbound/{id}` (where postmark.js 4.0.6 and older read details; Logto's
//! connector allows those versions).
//!
//! Search filters: `recipient` (To, Cc or Bcc), `fromemail`, `tag`, `subject` (contains, any
//! case), `status` (every message here is `sent`), `fromdate` / `todate` (inclusive; a bare
//! date covers the whole day, in UTC where Postmark uses US Eastern time), `messagestream`,
//! and `metadata_<key>=<value>`. Newest first. `count` (≤ 500) and `offset` are required,
//! as Postmark requires them.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::PostmarkState;
use super::address::Mailbox;
use super::auth::Caller;
use super::email::Email;
use super::error::{ApiError, codes};
use super::query::Params;
use super::wire;

/// Most messages one search returns.
const MAX_COUNT: u64 = 500;
/// Postmark does not page past this many results.
const MAX_WINDOW: u64 = 10_000;

/// A search result, in Postmark's shape (what postmark.js and postmark-python expect).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Item<'a> {
    tag: &'a str,
    #[serde(rename = "MessageID")]
    message_id: &'a str,
    message_stream: &'a str,
    to: &'a [Mailbox],
    cc: &'a [Mailbox],
    bcc: &'a [Mailbox],
    recipients: Vec<&'a str>,
    received_at: String,
    from: &'a str,
    subject: String,
    attachments: Vec<&'a str>,
    status: &'static str,
    track_opens: bool,
    track_links: &'a str,
    metadata: Value,
    sandboxed: bool,
}

fn item(email: &Email) -> Item<'_> {
    Item {
        tag: email.tag().unwrap_or_default(),
        message_id: email.message_id(),
        message_stream: email.message_stream(),
        to: email.to(),
        cc: email.cc(),
        bcc: email.bcc(),
        recipients: email.recipients().map(|m| m.email.as_str()).collect(),
        received_at: wire::timestamp(email.submitted_at()),
        from: email.from(),
        subject: email
            .rendered()
            .subject
            .as_deref()
            .unwrap_or_default()
            .to_owned(),
        attachments: email
            .attachments()
            .iter()
            .map(|a| a.name.as_str())
            .collect(),
        status: "Sent",
        track_opens: email.track_opens().unwrap_or(false),
        track_links: email.track_links().unwrap_or("None"),
        metadata: email
            .metadata()
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new())),
        sandboxed: false,
    }
}

fn query_error(message: String) -> ApiError {
    ApiError::unprocessable(codes::MESSAGES_QUERY, message)
}

/// `GET /messages/outbound`.
pub(crate) async fn search(
    State(state): State<PostmarkState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    caller.require_server()?;
    let params = Params::parse(query.as_deref());
    let page = params.page(MAX_COUNT, query_error)?;
    if page.count.saturating_add(page.offset) > MAX_WINDOW {
        return Err(query_error(format!(
            "'count' plus 'offset' may be at most {MAX_WINDOW}."
        )));
    }
    let filter = Filter::from_params(&params)?;
    let mut matching: Vec<Email> = state
        .store
        .all()
        .into_iter()
        .filter(|m| filter.matches(m))
        .collect();
    matching.reverse();
    let items: Vec<Item<'_>> = page.of(&matching).map(item).collect();
    Ok(Json(serde_json::json!({"TotalCount": matching.len(), "Messages": items})).into_response())
}

/// The search filters of one request.
struct Filter<'a> {
    recipient: Option<&'a str>,
    from: Option<&'a str>,
    tag: Option<&'a str>,
    subject: Option<String>,
    stream: Option<&'a str>,
    sent_only: Option<bool>,
    since: Option<OffsetDateTime>,
    until: Option<OffsetDateTime>,
    metadata: Vec<(&'a str, &'a str)>,
}

impl<'a> Filter<'a> {
    fn from_params(params: &'a Params) -> Result<Self, ApiError> {
        let sent_only = match params.get("status").map(str::to_ascii_lowercase).as_deref() {
            None => None,
            Some("sent") => Some(true),
            Some("queued" | "processed") => Some(false),
            Some(other) => {
                return Err(query_error(format!(
                    "The 'status' parameter must be queued, sent or processed, not '{other}'."
                )));
            }
        };
        Ok(Self {
            recipient: params.get("recipient"),
            from: params.get("fromemail"),
            tag: params.get("tag"),
            subject: params.get("subject").map(str::to_lowercase),
            stream: params.get("messagestream"),
            sent_only,
            since: params
                .get("fromdate")
                .map(|d| date_param("fromdate", d, false))
                .transpose()?,
            until: params
                .get("todate")
                .map(|d| date_param("todate", d, true))
                .transpose()?,
            metadata: params.prefixed("metadata_").collect(),
        })
    }

    fn matches(&self, email: &Email) -> bool {
        let from_address = super::address::parse_list(email.from())
            .ok()
            .and_then(|list| list.into_iter().next())
            .map(|m| m.email)
            .unwrap_or_default();
        self.recipient.is_none_or(|r| email.is_addressed_to(r))
            && self
                .from
                .is_none_or(|f| from_address.eq_ignore_ascii_case(f.trim()))
            && self.tag.is_none_or(|t| email.tag() == Some(t))
            && self.subject.as_deref().is_none_or(|needle| {
                email
                    .rendered()
                    .subject
                    .as_deref()
                    .unwrap_or_default()
                    .to_lowercase()
                    .contains(needle)
            })
            && self.stream.is_none_or(|s| email.message_stream() == s)
            && self.sent_only.is_none_or(|sent| sent)
            && self.since.is_none_or(|t| email.submitted_at() >= t)
            && self.until.is_none_or(|t| email.submitted_at() <= t)
            && self.metadata.iter().all(|(key, value)| {
                email
                    .metadata()
                    .and_then(|m| m.get(*key))
                    .and_then(Value::as_str)
                    == Some(*value)
            })
    }
}

/// `2026-01-31` (the whole day, UTC), `2026-01-31T10:00:00` (UTC) or a full RFC 3339 time.
fn date_param(name: &str, value: &str, end_of_day: bool) -> Result<OffsetDateTime, ApiError> {
    use time::format_description::well_known::Rfc3339;
    let invalid = || {
        query_error(format!(
            "The '{name}' parameter must be a date (2026-01-31) or a date and time, not '{value}'."
        ))
    };
    if let Ok(at) = OffsetDateTime::parse(value, &Rfc3339) {
        return Ok(at);
    }
    let date_format = time::macros::format_description!("[year]-[month]-[day]");
    if let Ok(date) = Date::parse(value, date_format) {
        let time = if end_of_day {
            Time::MAX
        } else {
            Time::MIDNIGHT
        };
        return Ok(PrimitiveDateTime::new(date, time).assume_offset(UtcOffset::UTC));
    }
    let local = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    PrimitiveDateTime::parse(value, local)
        .map(|at| at.assume_offset(UtcOffset::UTC))
        .map_err(|_| invalid())
}

fn find(state: &PostmarkState, id: &str) -> Result<Email, ApiError> {
    state
        .store
        .last_matching(|m| m.message_id().eq_ignore_ascii_case(id))
        .ok_or_else(|| {
            ApiError::unprocessable(codes::MESSAGE_NOT_FOUND, "This message was not found.")
        })
}

/// `GET /messages/outbound/{id}/details` (and the older `/messages/outbound/{id}`).
pub(crate) async fn details(
    State(state): State<PostmarkState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require_server()?;
    let email = find(&state, &id)?;
    let mut body = match serde_json::to_value(item(&email)) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    body.insert(
        "TextBody".into(),
        email.text_body().unwrap_or_default().into(),
    );
    body.insert(
        "HtmlBody".into(),
        email.html_body().unwrap_or_default().into(),
    );
    body.insert("Body".into(), raw_source(&email).into());
    let events: Vec<Value> = email
        .recipients()
        .map(|recipient| {
            serde_json::json!({
                "Recipient": recipient.email,
                "Type": "Delivered",
                "ReceivedAt": wire::timestamp(email.submitted_at()),
                "Details": {
                    "DeliveryMessage": "Kept by the fake Postmark; nothing left this machine.",
                    "DestinationServer": "mock-idp",
                    "DestinationIP": "127.0.0.1",
                },
            })
        })
        .collect();
    body.insert("MessageEvents".into(), Value::Array(events));
    Ok(Json(Value::Object(body)).into_response())
}

/// `GET /messages/outbound/{id}/dump`: `{Body}` with the raw source.
pub(crate) async fn dump(
    State(state): State<PostmarkState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require_server()?;
    let email = find(&state, &id)?;
    Ok(Json(serde_json::json!({"Body": raw_source(&email)})).into_response())
}

/// The message as a MIME document, as it would have left Postmark (without its signatures):
/// non-ASCII header text as RFC 2047 encoded words, the bodies as `multipart/alternative`,
/// attachments (as sent, base64) around them in `multipart/mixed`.
fn raw_source(email: &Email) -> String {
    let list = |mailboxes: &[Mailbox]| {
        mailboxes
            .iter()
            .map(encoded_mailbox)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let from = super::address::parse_list(email.from())
        .ok()
        .and_then(|list| list.into_iter().next())
        .map_or_else(|| encode_word(email.from()), |m| encoded_mailbox(&m));
    let date = email
        .submitted_at()
        .format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default();
    let mut out = String::new();
    let mut header = |name: &str, value: &str| {
        // A field name is printable ASCII without ':' (RFC 5322 §3.6.8); a name sent in
        // `Headers` could carry a line break and forge the lines after it, so it is cut to that.
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != ':')
            .collect();
        if !name.is_empty() && !value.is_empty() {
            out.push_str(&format!("{name}: {}\r\n", value.replace(['\r', '\n'], " ")));
        }
    };
    header("From", &from);
    header("Date", &date);
    header("Subject", &encode_word(email.subject().unwrap_or_default()));
    header("Message-ID", &format!("<{}@mtasv.net>", email.message_id()));
    header("To", &list(email.to()));
    header("Cc", &list(email.cc()));
    header("Reply-To", email.reply_to().unwrap_or_default());
    header("X-PM-Tag", &encode_word(email.tag().unwrap_or_default()));
    header("X-PM-Message-Stream", email.message_stream());
    if let Some(Value::Array(extra)) = email.headers() {
        for pair in extra {
            if let (Some(name), Some(value)) = (
                pair.get("Name").and_then(Value::as_str),
                pair.get("Value").and_then(Value::as_str),
            ) {
                header(name, &encode_word(value));
            }
        }
    }
    header("MIME-Version", "1.0");
    let alternative = format!("=_alt_{}", email.message_id());
    let mut bodies = String::new();
    for (kind, body) in [
        ("text/plain", email.text_body()),
        ("text/html", email.html_body()),
    ] {
        if let Some(body) = body {
            bodies.push_str(&format!(
                "--{alternative}\r\nContent-Type: {kind}; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
            ));
        }
    }
    bodies.push_str(&format!("--{alternative}--\r\n"));
    if email.attachments().is_empty() {
        header(
            "Content-Type",
            &format!("multipart/alternative; boundary=\"{alternative}\""),
        );
        out.push_str("\r\n");
        out.push_str(&bodies);
        return out;
    }
    let mixed = format!("=_mixed_{}", email.message_id());
    header(
        "Content-Type",
        &format!("multipart/mixed; boundary=\"{mixed}\""),
    );
    out.push_str(&format!(
        "\r\n--{mixed}\r\nContent-Type: multipart/alternative; boundary=\"{alternative}\"\r\n\r\n{bodies}"
    ));
    for attachment in email.attachments() {
        let name = encode_word(&attachment.name).replace('"', "'");
        out.push_str(&format!(
            "--{mixed}\r\nContent-Type: {}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n",
            attachment.content_type.replace(['\r', '\n'], " ")
        ));
        if let Some(id) = &attachment.content_id {
            out.push_str(&format!(
                "Content-ID: <{}>\r\n",
                id.replace(['\r', '\n', '<', '>'], "")
            ));
        }
        out.push_str("\r\n");
        let content: String = attachment
            .content
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        for line in content.as_bytes().chunks(76) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!("--{mixed}--\r\n"));
    out
}

/// RFC 2047: non-ASCII header text as `=?UTF-8?B?…?=`; ASCII stays as it is.
fn encode_word(text: &str) -> String {
    use base64::Engine as _;
    if text.is_ascii() {
        text.to_owned()
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
        format!("=?UTF-8?B?{encoded}?=")
    }
}

/// A mailbox for a header: the display name encoded when it is not ASCII.
fn encoded_mailbox(mailbox: &Mailbox) -> String {
    match &mailbox.name {
        Some(name) if !name.is_ascii() => format!("{} <{}>", encode_word(name), mailbox.email),
        _ => mailbox.to_string(),
    }
}
