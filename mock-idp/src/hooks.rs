//! Webhook delivery, as Logto's interaction hooks are sent: `PostSignIn`, `PostRegister` and
//! `PostResetPassword` after the interaction's submit succeeds, to every enabled hook of the
//! tenant that wants the event.
//!
//! - The body is Logto's, keys in its order: `{event, interactionEvent, createdAt (ISO 8601,
//!   the mock's clock), sessionId (the interaction's id), userAgent, userId, user (the user
//!   object without `hasPassword`), application {id, type, name, description}, hookId}`.
//!   Logto also sends `userIp`; the mock does not know it and leaves it out, as Logto leaves
//!   out what it has not.
//! - Headers: `user-agent: Logto (https://logto.io/)`, `content-type: application/json`, the
//!   hook's own headers (which may replace those two), then `logto-signature-sha-256`: the
//!   lowercase hex HMAC-SHA256 of the exact body with the hook's signing key (left out when
//!   the key is empty).
//! - The answer to the request that triggered it does not wait for deliveries, which run on
//!   the IdP's runtime. A 5xx answer is retried up to 3 times (or the hook's `retries`) after
//!   0.3, 0.6 and 1.2 s, as Logto 1.42's client does since it retries POSTs; other failures
//!   (4xx, refused connections, a 10 s timeout) are not retried. Nothing is delivered later.
//! - Each delivery ends in the event log: `hook.delivered` or `hook.failed`, with the hook, the
//!   event, the attempts and the last status or error.

use std::time::Duration;

use aws_lc_rs::hmac;
use serde_json::{Map, Value, json};

use crate::state::IdpState;
use crate::tenant::Hook;

/// Logto's delivery timeout.
const TIMEOUT: Duration = Duration::from_secs(10);
/// ky's default backoff: 0.3 s, doubling.
const FIRST_BACKOFF: Duration = Duration::from_millis(300);

/// The HTTP client deliveries share.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    http: reqwest::Client,
}

impl Delivery {
    pub(crate) fn new() -> Self {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { http }
    }
}

/// The hook event of an interaction event.
pub(crate) fn event_of(interaction_event: &str) -> &'static str {
    match interaction_event {
        "Register" => "PostRegister",
        "ForgotPassword" => "PostResetPassword",
        _ => "PostSignIn",
    }
}

/// Sends `interaction_event`'s hook event for `user_id`, who just finished interaction `uid`,
/// to every hook that wants it.
pub(crate) fn trigger(state: &IdpState, interaction_event: &str, uid: &str, user_id: &str) {
    let event = event_of(interaction_event);
    let hooks: Vec<Hook> = state
        .tenant()
        .hooks
        .iter()
        .filter(|h| h.wants(event))
        .cloned()
        .collect();
    if hooks.is_empty() {
        return;
    }
    let Some(payload) = payload(state, event, interaction_event, uid, user_id) else {
        return;
    };
    for hook in hooks {
        let mut body = payload.clone();
        body.insert("hookId".into(), Value::String(hook.id.clone()));
        let body = Value::Object(body).to_string();
        let state = state.clone();
        tokio::spawn(async move { deliver(&state, &hook, event, body).await });
    }
}

/// Logto's payload for `event` (without `hookId`).
fn payload(
    state: &IdpState,
    event: &str,
    interaction_event: &str,
    uid: &str,
    user_id: &str,
) -> Option<Map<String, Value>> {
    let tenant = state.tenant();
    let user = tenant.user(user_id)?;
    let interaction = state.interactions.get(uid, state.clock.now());
    let application = interaction
        .as_ref()
        .and_then(|i| tenant.application(&i.request.client_id));
    let created_at = state
        .clock
        .now()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut body = Map::new();
    body.insert("event".into(), Value::from(event));
    body.insert("interactionEvent".into(), Value::from(interaction_event));
    body.insert("createdAt".into(), Value::String(iso_millis(&created_at)));
    body.insert("sessionId".into(), Value::from(uid));
    if let Some(agent) = interaction.as_ref().and_then(|i| i.user_agent.clone()) {
        body.insert("userAgent".into(), Value::String(agent));
    }
    body.insert("userId".into(), Value::from(user_id));
    body.insert("user".into(), crate::management::user_json(user, false));
    if let Some(app) = application {
        body.insert(
            "application".into(),
            json!({"id": app.id, "type": app.app_type, "name": app.name, "description": app.description}),
        );
    }
    Some(body)
}

/// JavaScript's `toISOString()`: milliseconds and `Z`.
fn iso_millis(rfc3339: &str) -> String {
    let trimmed = rfc3339.trim_end_matches('Z');
    let (seconds, fraction) = trimmed.split_once('.').unwrap_or((trimmed, ""));
    let millis: String = fraction.chars().chain("000".chars()).take(3).collect();
    format!("{seconds}.{millis}Z")
}

/// The signature Logto puts in `logto-signature-sha-256`.
pub(crate) fn signature(key: &str, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key.as_bytes());
    hmac::sign(&key, body)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn deliver(state: &IdpState, hook: &Hook, event: &str, body: String) {
    let retries = hook.config.retries.unwrap_or(3).min(3);
    let mut backoff = FIRST_BACKOFF;
    let mut attempts = 0u8;
    let outcome = loop {
        attempts += 1;
        let mut request = state
            .hooks
            .http
            .post(&hook.config.url)
            .header("user-agent", "Logto (https://logto.io/)")
            .header("content-type", "application/json");
        for (name, value) in &hook.config.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if !hook.signing_key.is_empty() {
            request = request.header(
                "logto-signature-sha-256",
                signature(&hook.signing_key, body.as_bytes()),
            );
        }
        match request.body(body.clone()).send().await {
            Ok(answer) if answer.status().is_server_error() && attempts <= retries => {
                tokio::time::sleep(backoff).await;
                backoff *= 2;
            }
            Ok(answer) if answer.status().is_success() => {
                break Ok(answer.status().as_u16());
            }
            Ok(answer) => break Err(format!("status {}", answer.status().as_u16())),
            Err(error) => break Err(error.to_string()),
        }
    };
    let (kind, detail) = match outcome {
        Ok(status) => ("hook.delivered", json!({"status": status})),
        Err(error) => ("hook.failed", json!({"error": error})),
    };
    let mut data =
        json!({"hook_id": hook.id, "event": event, "url": hook.config.url, "attempts": attempts});
    if let (Some(data), Some(detail)) = (data.as_object_mut(), detail.as_object()) {
        data.extend(detail.clone());
    }
    state.events.push(kind, data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_logtos_bare_hex_hmac() {
        // Logto's own test vector (packages/core/src/utils/sign.test.ts).
        assert_eq!(
            signature("foo", br#"{"bar":"bar","foo":"foo"}"#),
            "436958f1dbfefab37712fb3927760490fbf7757da8c0b2306ee7b485f0360eee"
        );
    }

    #[test]
    fn created_at_is_javascripts_iso_string() {
        assert_eq!(
            iso_millis("2026-01-01T00:00:00Z"),
            "2026-01-01T00:00:00.000Z"
        );
        assert_eq!(
            iso_millis("2026-01-01T00:00:00.5Z"),
            "2026-01-01T00:00:00.500Z"
        );
        assert_eq!(
            iso_millis("2026-01-01T00:00:00.123456Z"),
            "2026-01-01T00:00:00.123Z"
        );
    }
}
