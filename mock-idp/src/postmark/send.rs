//! The Email API: `POST /email`, `/email/batch`, `/email/withTemplate` and
//! `/email/batchWithTemplates`.
//!
//! Each request goes through the same checks, in the order Postmark applies them; the first
//! that fails answers:
//!
//! | # | check | HTTP | ErrorCode |
//! |---|---|---|---|
//! | 1 | `X-Postmark-Server-Token` missing or unknown | 401 | 10 |
//! | 2 | `Content-Type` not JSON, or an `Accept` that excludes JSON | 422 | 409 |
//! | 3 | body over 10 MB (batches: 50 MB) | 413 | 300 |
//! | 4 | not JSON / JSON of the wrong shape | 422 | 402 / 403 |
//! | 5 | batch of more than 500 | 422 | 410 |
//! | 6 | per message: addresses, recipients (1–50), a body | 422 | 300 |
//! | 7 | `From` not a sender signature (when signatures are configured) | 422 | 400 |
//! | 8 | an inactive (suppressed) recipient | 422 | 406 |
//! | 9 | unknown template / no `TemplateModel` | 422 | 1101 / 1109 |
//! | 10 | unknown `MessageStream` (or an inbound one) | 422 | 1235 / 1236 |
//!
//! Batches answer 200 with one result per message, in order; a failed message carries only its
//! `ErrorCode` and `Message` (Postmark's documented shape; postmark-python expects more and
//! crashes on it). A message is stored only when every check passed: nothing is half-created.
//! The test token `POSTMARK_API_TEST` runs checks 2–6 and 9's model check, answers
//! "Test job accepted" and stores nothing, as Postmark does.

use std::sync::PoisonError;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::address;
use super::auth::Caller;
use super::email::{Bodies, EmailData, Header, Parts, extract_code};
use super::error::{ApiError, codes};
use super::message::{self, Content, Outgoing};
use super::mustachio::{Budget, Limits};
use super::wire::{self, BatchItem, Fields, SendResult};
use super::{PostmarkState, Server, StreamKind};

/// Most messages in one batch request.
const MAX_BATCH: usize = 500;

/// Which send endpoint was called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Email,
    Batch,
    WithTemplate,
    BatchWithTemplates,
}

impl Endpoint {
    fn batch(self) -> bool {
        matches!(self, Self::Batch | Self::BatchWithTemplates)
    }
    fn templated(self) -> bool {
        matches!(self, Self::WithTemplate | Self::BatchWithTemplates)
    }
    fn limit_mb(self) -> usize {
        if self.batch() { 50 } else { 10 }
    }
}

pub(crate) async fn email(
    state: State<PostmarkState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    send(state, Endpoint::Email, caller, headers, body).await
}

pub(crate) async fn batch(
    state: State<PostmarkState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    send(state, Endpoint::Batch, caller, headers, body).await
}

pub(crate) async fn with_template(
    state: State<PostmarkState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    send(state, Endpoint::WithTemplate, caller, headers, body).await
}

pub(crate) async fn batch_with_templates(
    state: State<PostmarkState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    send(state, Endpoint::BatchWithTemplates, caller, headers, body).await
}

async fn send(
    State(state): State<PostmarkState>,
    endpoint: Endpoint,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match handle(&state, endpoint, caller, &headers, body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// Check 1 ran in the [`Caller`] extractor; injected faults come right after it.
async fn handle(
    state: &PostmarkState,
    endpoint: Endpoint,
    caller: Caller,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // Read first, so an injected 406 can name the recipients as Postmark does; a read error
    // (413) waits until the Content-Type check, which Postmark makes first.
    let bytes = wire::read_body(headers, body, endpoint.limit_mb()).await;
    let recipients = || bytes.as_deref().map(recipients_in).unwrap_or_default();
    if let Some(failure) = state.faults.take(recipients) {
        return Err(failure);
    }
    require_json(headers)?;
    let bytes = bytes?;
    let value: Value = serde_json::from_slice(&bytes).map_err(ApiError::invalid_json)?;

    let request = SendRequest {
        state,
        caller,
        headers,
        budget: Budget::new(render_limits(state).max_steps),
    };
    if !endpoint.batch() {
        let outgoing = message::read(value.clone(), endpoint.templated())?;
        let result = request.deliver(outgoing, value)?;
        return Ok(axum::Json(result).into_response());
    }

    let items = batch_items(value, endpoint)?;
    if items.len() > MAX_BATCH {
        return Err(ApiError::unprocessable(
            codes::TOO_MANY_BATCH_MESSAGES,
            format!("You may only send up to {MAX_BATCH} messages in a single batched request."),
        ));
    }
    let results: Vec<Result<SendResult, ApiError>> = items
        .into_iter()
        .map(|item| {
            message::read(item.clone(), endpoint.templated())
                .and_then(|outgoing| request.deliver(outgoing, item))
        })
        .collect();
    let body: Vec<BatchItem<'_>> = results
        .iter()
        .map(|result| match result {
            Ok(sent) => BatchItem::Sent(sent.clone()),
            Err(error) => BatchItem::Failed(error.body()),
        })
        .collect();
    Ok(axum::Json(body).into_response())
}

/// The `To` addresses of a send body, best effort (for the wording of an injected 406).
fn recipients_in(bytes: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return Vec::new();
    };
    let messages = match value {
        Value::Array(items) => items,
        Value::Object(map) => {
            let wrapped = map
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case("messages"))
                .and_then(|(_, value)| value.as_array().cloned());
            wrapped.unwrap_or_else(|| vec![Value::Object(map)])
        }
        _ => Vec::new(),
    };
    messages
        .into_iter()
        .filter_map(|message| Fields::new(message, "the message").ok())
        .filter_map(|fields| fields.string("To").ok().flatten())
        .flat_map(|to| address::parse_list(&to).unwrap_or_default())
        .map(|mailbox| mailbox.email)
        .collect()
}

/// Check 2: `Content-Type` must be JSON; `Accept` may be absent, but if present must allow JSON.
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let essence = crate::http::media_type;
    let content_type_ok = crate::http::content_type(headers) == "application/json";
    let accept_ok = headers.get_all(header::ACCEPT).iter().all(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',').any(|range| {
                matches!(
                    essence(range).as_str(),
                    "application/json" | "application/*" | "*/*" | ""
                )
            })
        })
    });
    if content_type_ok && accept_ok {
        Ok(())
    } else {
        Err(ApiError::json_required())
    }
}

/// Check 4 for batches: `/email/batch` takes a bare array, `/email/batchWithTemplates` an
/// object `{"Messages": [...]}`.
fn batch_items(value: Value, endpoint: Endpoint) -> Result<Vec<Value>, ApiError> {
    let value = if endpoint == Endpoint::BatchWithTemplates {
        let mut wrapper = Fields::new(value, "the body (an object with 'Messages')")?;
        wrapper
            .take("Messages")
            .ok_or_else(|| ApiError::incompatible_json("the body must be {\"Messages\": [...]}."))?
    } else {
        value
    };
    match value {
        Value::Array(items) => Ok(items),
        other => Err(ApiError::incompatible_json(format!(
            "expected an array of messages, found {}.",
            wire::kind(&other)
        ))),
    }
}

/// One send request: who sent it, its headers, and the rendering work it may still do.
struct SendRequest<'a> {
    state: &'a PostmarkState,
    caller: Caller,
    headers: &'a HeaderMap,
    budget: Budget,
}

impl SendRequest<'_> {
    /// Checks 7–10, then stores the message (unless it came with the test token).
    fn deliver(&self, outgoing: Outgoing, sent: Value) -> Result<SendResult, ApiError> {
        let (state, caller, headers) = (self.state, self.caller, self.headers);
        if caller == Caller::TestToken {
            if let Content::Template { model: None, .. } = &outgoing.content {
                return Err(no_template_model());
            }
            let now = state.clock.now();
            return Ok(accepted(state, outgoing.to_raw, "Test job accepted", now));
        }
        let server = &*state.server;
        check_sender(server, &outgoing)?;
        check_suppressions(server, &outgoing)?;
        let rendered = render(state, &outgoing.content, &self.budget)?;
        let stream = check_stream(server, outgoing.message_stream.as_deref())?;

        // One reading of the clock: the answer's SubmittedAt is the stored one.
        let submitted = state.clock.now();
        let result = accepted(state, outgoing.to_raw.clone(), "OK", submitted);
        let request_headers = redacted(headers);
        let message_id = result.message_id.clone();
        // Outside the store's lock: scanning a large HTML body for the code takes a while.
        let code = extract_code(
            rendered.model.as_ref(),
            rendered.text_body.as_deref(),
            rendered.subject.as_deref(),
            rendered.html_body.as_deref(),
        );
        state.store.push(move |seq| EmailData {
            seq,
            message_id,
            submitted,
            from: outgoing.from_raw,
            to: outgoing.to,
            cc: outgoing.cc,
            bcc: outgoing.bcc,
            reply_to: outgoing.reply_to,
            bodies: rendered.bodies,
            tag: outgoing.tag,
            metadata: outgoing.metadata.map(Box::new),
            headers: outgoing.headers.map(Box::new),
            message_stream: stream,
            template_id: rendered.template_id,
            template_alias: rendered.template_alias,
            template_model: rendered.model.as_ref().and_then(raw_json),
            model_cache: std::sync::OnceLock::new(),
            track_opens: outgoing.track_opens,
            track_links: outgoing.track_links,
            attachments: outgoing.attachments,
            request_headers: serde_json::value::to_raw_value(&request_headers).unwrap_or_default(),
            code,
            sent: raw_json(&sent).unwrap_or_default(),
        });
        Ok(result)
    }
}

/// `value` as compact JSON text, as captured mail keeps what it only echoes.
fn raw_json(value: &Value) -> Option<Box<serde_json::value::RawValue>> {
    serde_json::value::to_raw_value(value).ok()
}

/// The server's rendering limits.
fn render_limits(state: &PostmarkState) -> Limits {
    *state
        .templates
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .limits()
}

/// The success answer, submitted at `now`; draws the MessageID from the seeded generator.
fn accepted(
    state: &PostmarkState,
    to: String,
    message: &'static str,
    now: time::OffsetDateTime,
) -> SendResult {
    SendResult {
        to,
        submitted_at: wire::timestamp(now),
        message_id: state.rng.uuid().to_string(),
        error_code: 0,
        message,
    }
}

/// Check 7: with sender signatures configured, `From` must be one (or in a signed domain).
fn check_sender(server: &Server, outgoing: &Outgoing) -> Result<(), ApiError> {
    if server.sender_signatures.is_empty() {
        return Ok(());
    }
    let address = outgoing.from.email.to_ascii_lowercase();
    let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    let signed = server.sender_signatures.iter().any(|signature| {
        signature == &address || signature.strip_prefix('@').is_some_and(|d| d == domain)
    });
    if signed {
        return Ok(());
    }
    Err(ApiError::unprocessable(
        codes::SENDER_SIGNATURE_NOT_FOUND,
        format!(
            "The 'From' address you supplied ({}) is not a Sender Signature on your account. \
             Please add and confirm this address in order to be able to use it in the 'From' \
             field of your messages.",
            outgoing.from.email
        ),
    ))
}

/// Check 8: inactive recipients, in Postmark's wording (postmark.js parses the list out of it).
fn check_suppressions(server: &Server, outgoing: &Outgoing) -> Result<(), ApiError> {
    let inactive: Vec<&str> = outgoing
        .recipients()
        .filter(|m| server.suppressed.contains(&m.email.to_ascii_lowercase()))
        .map(|m| m.email.as_str())
        .collect();
    if inactive.is_empty() {
        return Ok(());
    }
    Err(ApiError::unprocessable(
        codes::INACTIVE_RECIPIENT,
        inactive_message(&inactive),
    ))
}

/// Postmark's 406 wording (postmark.js parses the addresses back out of it).
pub(crate) fn inactive_message(addresses: &[impl AsRef<str>]) -> String {
    let list: Vec<&str> = addresses.iter().map(AsRef::as_ref).collect();
    format!(
        "You tried to send to a recipient that has been marked as inactive. Found inactive \
         addresses: {}. Inactive recipients are ones that have generated a hard bounce, a spam \
         complaint, or a manual suppression.",
        list.join(", ")
    )
}

/// What a send puts in the store besides the message's own fields. The rendered text is
/// searched for the code, then only a plain send's is kept: a template send's is rendered
/// again when read ([`Bodies`]).
struct RenderedContent {
    subject: Option<String>,
    html_body: Option<String>,
    text_body: Option<String>,
    template_id: Option<u64>,
    template_alias: Option<String>,
    model: Option<Value>,
    bodies: Bodies,
}

/// Check 9 and rendering: the template must exist on this server and a model must be given.
fn render(
    state: &PostmarkState,
    content: &Content,
    budget: &Budget,
) -> Result<RenderedContent, ApiError> {
    let (id, alias, model) = match content {
        Content::Plain {
            subject,
            html_body,
            text_body,
        } => {
            let boxed = |text: &Option<String>| text.as_deref().map(Box::from);
            return Ok(RenderedContent {
                subject: subject.clone(),
                html_body: html_body.clone(),
                text_body: text_body.clone(),
                template_id: None,
                template_alias: None,
                model: None,
                bodies: Bodies::Kept(Parts {
                    subject: boxed(subject),
                    html_body: boxed(html_body),
                    text_body: boxed(text_body),
                }),
            });
        }
        Content::Template { id, alias, model } => (id, alias, model),
    };
    let templates = state
        .templates
        .read()
        .unwrap_or_else(PoisonError::into_inner);
    let template = match (id, alias) {
        (Some(id), _) => templates.by_id(*id),
        (None, Some(alias)) => templates.by_alias(alias),
        (None, None) => None,
    };
    let Some(template) = template else {
        let what = match (id, alias) {
            (Some(id), _) => format!("TemplateId {id}"),
            (None, Some(alias)) => format!("TemplateAlias '{alias}'"),
            (None, None) => "no TemplateId or TemplateAlias".to_owned(),
        };
        return Err(ApiError::unprocessable(
            codes::TEMPLATE_NOT_FOUND,
            format!("The Template's TemplateId or Alias was not found on this server ({what})."),
        ));
    };
    let Some(model) = model else {
        return Err(no_template_model());
    };
    let layout = templates.layout_of(&template);
    let rendered = template
        .render(model, layout.as_deref(), templates.limits(), budget)
        .map_err(|error| {
            ApiError::invalid_request(format!("The template could not be rendered: {error}"))
        })?;
    Ok(RenderedContent {
        subject: rendered.subject,
        html_body: rendered.html_body,
        text_body: rendered.text_body,
        template_id: Some(template.id),
        template_alias: template.source.alias.clone(),
        model: Some(model.clone()),
        bodies: Bodies::Template {
            limits: *templates.limits(),
            template,
            layout,
            rendered: std::sync::OnceLock::new(),
        },
    })
}

fn no_template_model() -> ApiError {
    ApiError::unprocessable(
        codes::NO_TEMPLATE_DATA,
        "No Template data received: a template send needs a 'TemplateModel' object.",
    )
}

/// Check 10: the stream must exist on the server and accept sends.
fn check_stream(server: &Server, requested: Option<&str>) -> Result<String, ApiError> {
    let id = requested.unwrap_or("outbound");
    match server.streams.iter().find(|s| s.id == id) {
        Some(stream) if stream.kind == StreamKind::Inbound => Err(ApiError::unprocessable(
            codes::STREAM_CANNOT_SEND,
            format!("Sending is not supported on the stream '{id}' (an inbound stream)."),
        )),
        Some(stream) => Ok(stream.id.clone()),
        None => Err(ApiError::unprocessable(
            codes::UNKNOWN_STREAM,
            format!("The stream provided: '{id}' does not exist on this server."),
        )),
    }
}

/// The request's headers for the record, with token values replaced.
fn redacted(headers: &HeaderMap) -> Vec<Header> {
    headers
        .iter()
        .map(|(name, value)| {
            let name = name.as_str().to_owned();
            let value = if name.starts_with("x-postmark-") && name.ends_with("-token") {
                "[redacted]".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            Header { name, value }
        })
        .collect()
}
