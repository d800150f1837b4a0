//! Reading Postmark request bodies the way Postmark's ASP.NET model binding does, and writing
//! its answers with their exact key order.
//!
//! Clients differ: postmark-php sends camelCase keys, `null`s and `""` for unset fields;
//! postmarker sends `TemplateId: null`. So outer keys match without regard to case, and `null`
//! and `""` mean absent. Values nested inside (TemplateModel, Metadata, Headers) are kept
//! exactly as sent.

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::ApiError;

const MB: usize = 1024 * 1024;

/// How much of an oversized body is read (and thrown away) before the 413 is sent, so that a
/// client still writing its body reads the answer instead of a broken pipe.
const DRAIN_LIMIT: u64 = 128 * MB as u64;

/// Reads a request body of at most `limit_mb` MB; more is a 413 with ErrorCode 300, as
/// Postmark answers. An oversized body is drained (up to 128 MB) before answering; a declared
/// `Content-Length` beyond that is refused without reading anything.
pub(crate) async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit_mb: usize,
) -> Result<Bytes, ApiError> {
    use http_body_util::BodyExt as _;
    let limit = limit_mb * MB;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > DRAIN_LIMIT) {
        return Err(ApiError::too_large(limit_mb));
    }
    let mut body = body;
    let mut kept: Vec<u8> = Vec::new();
    let mut seen: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            ApiError::invalid_request(format!("The request body could not be read: {error}"))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len() as u64;
        if seen > DRAIN_LIMIT {
            break;
        }
        if kept.len() + data.len() <= limit {
            kept.extend_from_slice(&data);
        } else {
            kept = Vec::new();
        }
    }
    if seen > limit as u64 {
        return Err(ApiError::too_large(limit_mb));
    }
    Ok(Bytes::from(kept))
}

/// A JSON object whose keys are matched case-insensitively; `null` and `""` read as absent.
/// When two keys differ only in case, the later one wins (as in ASP.NET's binder).
#[derive(Debug)]
pub(crate) struct Fields {
    by_key: HashMap<String, (String, Value)>,
}

impl Fields {
    /// `value` must be an object; `what` names it in the 403 otherwise.
    pub(crate) fn new(value: Value, what: &str) -> Result<Self, ApiError> {
        match value {
            Value::Object(map) => Ok(Self::from_map(map)),
            other => Err(ApiError::incompatible_json(format!(
                "expected {what} to be a JSON object, found {}.",
                kind(&other)
            ))),
        }
    }

    fn from_map(map: Map<String, Value>) -> Self {
        let by_key = map
            .into_iter()
            .map(|(key, value)| (key.to_ascii_lowercase(), (key, value)))
            .collect();
        Self { by_key }
    }

    /// The value under `key`, unless it is missing, `null` or `""`.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.by_key
            .get(&key.to_ascii_lowercase())
            .map(|(_, value)| value)
            .filter(|value| !matches!(value, Value::Null) && value.as_str() != Some(""))
    }

    /// Takes the value out (for pass-through fields such as TemplateModel).
    pub(crate) fn take(&mut self, key: &str) -> Option<Value> {
        self.by_key
            .remove(&key.to_ascii_lowercase())
            .map(|(_, value)| value)
            .filter(|value| !matches!(value, Value::Null) && value.as_str() != Some(""))
    }

    pub(crate) fn string(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(wrong_type(key, "a string", other)),
        }
    }

    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(wrong_type(key, "true or false", other)),
        }
    }

    pub(crate) fn integer(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => value
                .as_u64()
                .map(Some)
                .ok_or_else(|| wrong_type(key, "a positive integer", value)),
        }
    }

    pub(crate) fn array(&self, key: &str) -> Result<Option<&Vec<Value>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(wrong_type(key, "an array", other)),
        }
    }

    /// An object field, taken out whole and untouched.
    pub(crate) fn take_object(&mut self, key: &str) -> Result<Option<Value>, ApiError> {
        match self.take(key) {
            None => Ok(None),
            Some(value @ Value::Object(_)) => Ok(Some(value)),
            Some(other) => Err(wrong_type(key, "an object", &other)),
        }
    }
}

fn wrong_type(key: &str, expected: &str, found: &Value) -> ApiError {
    ApiError::incompatible_json(format!(
        "the field '{key}' must be {expected}, found {}.",
        kind(found)
    ))
}

/// A JSON type's name, for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The answer to an accepted send, keys in Postmark's order (serde keeps field order; `json!`
/// would sort them).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct SendResult {
    pub to: String,
    pub submitted_at: String,
    #[serde(rename = "MessageID")]
    pub message_id: String,
    pub error_code: u32,
    pub message: &'static str,
}

/// One element of a batch answer: a result, or an error that carries no MessageID.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum BatchItem<'a> {
    Sent(SendResult),
    Failed(super::error::ErrorBody<'a>),
}

/// `SubmittedAt` / `ReceivedAt`: UTC with seven fractional digits, as Postmark writes them.
pub(crate) fn timestamp(at: time::OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'_>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:7]Z"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_else(|_| at.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    #[test]
    fn keys_match_without_case_and_blank_means_absent() {
        let fields = Fields::new(
            json!({"from": "a@example.com", "HTMLBODY": "<p>", "Cc": "", "Bcc": null}),
            "the message",
        )
        .unwrap();
        assert_eq!(
            fields.string("From").unwrap().as_deref(),
            Some("a@example.com")
        );
        assert_eq!(fields.string("HtmlBody").unwrap().as_deref(), Some("<p>"));
        assert_eq!(fields.string("Cc").unwrap(), None);
        assert_eq!(fields.string("Bcc").unwrap(), None);
    }

    #[test]
    fn wrong_types_are_incompatible_json() {
        let fields = Fields::new(json!({"To": 5, "TrackOpens": "yes"}), "the message").unwrap();
        assert_eq!(fields.string("To").unwrap_err().code, 403);
        assert_eq!(fields.bool("TrackOpens").unwrap_err().code, 403);
        assert_eq!(
            Fields::new(json!([1]), "the message").unwrap_err().code,
            403
        );
    }

    #[test]
    fn timestamps_have_seven_fractional_digits_in_utc() {
        assert_eq!(
            timestamp(datetime!(2026-09-30 16:03:52.789275312 UTC)),
            "2026-09-30T16:03:52.7892753Z"
        );
        assert_eq!(
            timestamp(datetime!(2026-09-30 18:00 +02:00)),
            "2026-09-30T16:00:00.0000000Z"
        );
    }
}
