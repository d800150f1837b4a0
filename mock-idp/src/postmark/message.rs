//! One outgoing message as a send endpoint reads it: field types first (403), then the message
//! checks Postmark reports as ErrorCode 300 (addresses, recipients, bodies, sizes).
//!
//! Server-dependent checks (sender signatures, suppressions, templates, streams) come after,
//! in [`super::send`], because they need the server's state.

use serde::Serialize;
use serde_json::Value;

use super::address::{self, Mailbox};
use super::error::ApiError;
use super::wire::{Fields, kind};

/// Most recipients per message, To, Cc and Bcc combined.
pub(crate) const MAX_RECIPIENTS: usize = 50;
/// Longest `Tag`.
const MAX_TAG_CHARS: usize = 1000;
/// Largest HtmlBody or TextBody (each), in bytes.
const MAX_BODY_BYTES: usize = 5 * 1024 * 1024;
/// `TrackLinks` values Postmark knows.
const TRACK_LINKS: [&str; 4] = ["None", "HtmlAndText", "HtmlOnly", "TextOnly"];

/// A checked message, ready for the server-side checks.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// `From` as sent (display name included).
    pub from_raw: String,
    pub from: Mailbox,
    /// `To` as sent: echoed back in the answer.
    pub to_raw: String,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub bcc: Vec<Mailbox>,
    pub reply_to: Option<String>,
    pub tag: Option<String>,
    pub headers: Option<Value>,
    pub metadata: Option<Value>,
    pub track_opens: Option<bool>,
    pub track_links: Option<String>,
    pub attachments: Vec<Attachment>,
    pub message_stream: Option<String>,
    pub content: Content,
}

/// What the message says: its own bodies, or a template and its model.
#[derive(Debug)]
pub(crate) enum Content {
    Plain {
        subject: Option<String>,
        html_body: Option<String>,
        text_body: Option<String>,
    },
    Template {
        id: Option<u64>,
        alias: Option<String>,
        model: Option<Value>,
    },
}

/// An attachment as sent (content base64, as Postmark receives it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Attachment {
    /// File name.
    pub name: String,
    /// MIME type.
    pub content_type: String,
    /// Base64 content, as sent.
    pub content: String,
    /// `cid:` for inline images.
    #[serde(rename = "ContentID", skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
}

impl Outgoing {
    /// Every recipient, To then Cc then Bcc.
    pub(crate) fn recipients(&self) -> impl Iterator<Item = &Mailbox> {
        self.to.iter().chain(&self.cc).chain(&self.bcc)
    }
}

/// Reads one message object. `templated` selects the template endpoints' fields.
pub(crate) fn read(value: Value, templated: bool) -> Result<Outgoing, ApiError> {
    let mut fields = Fields::new(value, "the message")?;

    // 1. Types (403), before any content check.
    let from_raw = fields.string("From")?;
    let to_raw = fields.string("To")?;
    let cc_raw = fields.string("Cc")?;
    let bcc_raw = fields.string("Bcc")?;
    let reply_to = fields.string("ReplyTo")?;
    let tag = fields.string("Tag")?;
    let track_opens = fields.bool("TrackOpens")?;
    let track_links = fields.string("TrackLinks")?;
    let message_stream = fields.string("MessageStream")?;
    let (headers, unnamed_header) = headers(&mut fields)?;
    let metadata = fields.take_object("Metadata")?;
    let attachments = attachments(&fields)?;
    let content = if templated {
        let id = fields.integer("TemplateId")?;
        let alias = fields.string("TemplateAlias")?;
        let _inline_css = fields.bool("InlineCss")?;
        let model = fields.take_object("TemplateModel")?;
        Content::Template { id, alias, model }
    } else {
        Content::Plain {
            subject: fields.string("Subject")?,
            html_body: fields.string("HtmlBody")?,
            text_body: fields.string("TextBody")?,
        }
    };

    // 2. The message itself (300).
    let from_raw = from_raw.ok_or_else(|| ApiError::invalid_request("Invalid 'From' value."))?;
    let from = match address::parse_list(&from_raw).as_deref() {
        Ok([one]) => one.clone(),
        _ => {
            return Err(ApiError::invalid_request(format!(
                "Invalid 'From' address: '{from_raw}'."
            )));
        }
    };
    let to_raw = to_raw.unwrap_or_default();
    let to = recipients("To", &to_raw)?;
    let cc = recipients("Cc", cc_raw.as_deref().unwrap_or_default())?;
    let bcc = recipients("Bcc", bcc_raw.as_deref().unwrap_or_default())?;
    if let Some(reply_to) = &reply_to {
        recipients("ReplyTo", reply_to)?;
    }
    if unnamed_header {
        return Err(ApiError::invalid_request("Every header needs a 'Name'."));
    }
    let attachments = attachments
        .into_iter()
        .map(Attachment::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    if to.is_empty() {
        return Err(ApiError::invalid_request("Zero recipients specified"));
    }
    let count = to.len() + cc.len() + bcc.len();
    if count > MAX_RECIPIENTS {
        return Err(ApiError::invalid_request(format!(
            "You may not send to more than {MAX_RECIPIENTS} recipients at once (To, Cc and Bcc \
             combined); this message has {count}."
        )));
    }
    if let Content::Plain {
        html_body,
        text_body,
        ..
    } = &content
    {
        if html_body.is_none() && text_body.is_none() {
            return Err(ApiError::invalid_request(
                "Provide either email TextBody or HtmlBody or both.",
            ));
        }
        for (name, body) in [("HtmlBody", html_body), ("TextBody", text_body)] {
            if body.as_ref().is_some_and(|b| b.len() > MAX_BODY_BYTES) {
                return Err(ApiError::invalid_request(format!(
                    "The {name} is larger than the 5 MB Postmark allows."
                )));
            }
        }
    }
    if tag
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_TAG_CHARS)
    {
        return Err(ApiError::invalid_request(format!(
            "The Tag may be at most {MAX_TAG_CHARS} characters long."
        )));
    }
    if let Some(value) = &track_links
        && !TRACK_LINKS.contains(&value.as_str())
    {
        return Err(ApiError::invalid_request(format!(
            "Invalid 'TrackLinks' value: '{value}'. Use None, HtmlAndText, HtmlOnly or TextOnly."
        )));
    }

    Ok(Outgoing {
        from_raw,
        from,
        to_raw,
        to,
        cc,
        bcc,
        reply_to,
        tag,
        headers,
        metadata,
        track_opens,
        track_links,
        attachments,
        message_stream,
        content,
    })
}

fn recipients(field: &str, raw: &str) -> Result<Vec<Mailbox>, ApiError> {
    address::parse_list(raw)
        .map_err(|bad| ApiError::invalid_request(format!("Invalid '{field}' address: '{bad}'.")))
}

/// `Headers`: an array of `{Name, Value}`, kept as sent, and whether one lacks its `Name`
/// (a 300, reported after every type check).
fn headers(fields: &mut Fields) -> Result<(Option<Value>, bool), ApiError> {
    let Some(value) = fields.take("Headers") else {
        return Ok((None, false));
    };
    let Value::Array(items) = &value else {
        return Err(ApiError::incompatible_json(format!(
            "the field 'Headers' must be an array of {{Name, Value}} objects, found {}.",
            kind(&value)
        )));
    };
    let mut unnamed = false;
    for item in items {
        let header = Fields::new(item.clone(), "each header")?;
        unnamed |= header.string("Name")?.is_none();
        header.string("Value")?;
    }
    Ok((Some(value), unnamed))
}

/// An attachment's fields, type-checked; whether the required ones are there is checked later.
struct AttachmentFields {
    name: Option<String>,
    content: Option<String>,
    content_type: Option<String>,
    content_id: Option<String>,
}

impl TryFrom<AttachmentFields> for Attachment {
    type Error = ApiError;

    fn try_from(fields: AttachmentFields) -> Result<Self, ApiError> {
        match fields {
            AttachmentFields {
                name: Some(name),
                content: Some(content),
                content_type: Some(content_type),
                content_id,
            } => Ok(Attachment {
                name,
                content_type,
                content,
                content_id,
            }),
            _ => Err(ApiError::invalid_request(
                "Every attachment needs a 'Name', a 'Content' and a 'ContentType'.",
            )),
        }
    }
}

fn attachments(fields: &Fields) -> Result<Vec<AttachmentFields>, ApiError> {
    let Some(items) = fields.array("Attachments")? else {
        return Ok(Vec::new());
    };
    items
        .iter()
        .map(|item| {
            let attachment = Fields::new(item.clone(), "each attachment")?;
            Ok(AttachmentFields {
                name: attachment.string("Name")?,
                content: attachment.string("Content")?,
                content_type: attachment.string("ContentType")?,
                content_id: attachment.string("ContentID")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(value: Value, templated: bool) -> (u32, String) {
        let err = read(value, templated).unwrap_err();
        (err.code, err.message)
    }

    #[test]
    fn reads_a_plain_message() {
        let message = read(
            json!({"From": "App <app@example.com>", "To": "a@example.com, B <b@example.com>",
                   "Cc": "", "Subject": "Hi", "TextBody": "Hello", "Metadata": {"z": "1", "a": "2"},
                   "Headers": [{"Name": "X-Test", "Value": "1"}]}),
            false,
        )
        .unwrap();
        assert_eq!(message.from.email, "app@example.com");
        assert_eq!(message.to.len(), 2);
        assert!(message.cc.is_empty());
        assert_eq!(message.recipients().count(), 2);
        let keys: Vec<&String> = message
            .metadata
            .as_ref()
            .unwrap()
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(keys, ["z", "a"], "metadata keeps its order");
    }

    #[test]
    fn reports_postmark_messages_for_invalid_messages() {
        let base = json!({"From": "app@example.com", "To": "a@example.com", "TextBody": "x"});
        let with = |key: &str, value: Value| {
            let mut v = base.clone();
            v[key] = value;
            v
        };
        assert_eq!(
            error(with("From", Value::Null), false),
            (300, "Invalid 'From' value.".into())
        );
        assert_eq!(
            error(with("From", json!("nope")), false),
            (300, "Invalid 'From' address: 'nope'.".into())
        );
        assert_eq!(
            error(with("To", json!("a@example.com, nope")), false),
            (300, "Invalid 'To' address: 'nope'.".into())
        );
        assert_eq!(
            error(with("To", json!("")), false),
            (300, "Zero recipients specified".into())
        );
        let many: Vec<String> = (0..51).map(|i| format!("u{i}@example.com")).collect();
        assert_eq!(error(with("To", json!(many.join(","))), false).0, 300);
        assert_eq!(
            error(
                json!({"From": "app@example.com", "To": "a@example.com"}),
                false
            ),
            (
                300,
                "Provide either email TextBody or HtmlBody or both.".into()
            )
        );
        assert_eq!(error(with("TrackLinks", json!("Always")), false).0, 300);
        assert_eq!(error(with("Tag", json!("t".repeat(1001))), false).0, 300);
        assert_eq!(
            error(with("Attachments", json!([{"Name": "a.txt"}])), false).0,
            300
        );
        assert_eq!(error(with("Headers", json!({"X": "1"})), false).0, 403);
        assert_eq!(error(with("TemplateModel", json!(1)), true).0, 403);
    }

    #[test]
    fn wrong_types_win_over_invalid_content() {
        let (code, _) = error(json!({"From": "nope", "To": 1}), false);
        assert_eq!(code, 403);
        // A header or attachment missing a field is a 300, but only once every type is right.
        let base = json!({"From": "a@example.com", "To": "b@example.com", "TemplateModel": 1});
        let mut unnamed = base.clone();
        unnamed["Headers"] = json!([{"Value": "1"}]);
        assert_eq!(error(unnamed.clone(), true).0, 403);
        unnamed["TemplateModel"] = json!({});
        unnamed["TemplateAlias"] = json!("welcome");
        assert_eq!(
            error(unnamed, true),
            (300, "Every header needs a 'Name'.".into())
        );
        let mut unnamed = base;
        unnamed["Attachments"] = json!([{"Content": "", "ContentType": "text/plain"}]);
        assert_eq!(error(unnamed.clone(), true).0, 403);
        unnamed["TemplateModel"] = json!({});
        unnamed["TemplateAlias"] = json!("welcome");
        assert_eq!(error(unnamed, true).0, 300);
    }

    #[test]
    fn combined_recipients_are_limited_to_fifty() {
        let list = |prefix: &str, n: usize| {
            (0..n)
                .map(|i| format!("{prefix}{i}@example.com"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let ok = json!({"From": "a@example.com", "To": list("t", 25), "Cc": list("c", 25), "TextBody": "x"});
        assert!(read(ok, false).is_ok());
        let over = json!({"From": "a@example.com", "To": list("t", 25), "Cc": list("c", 25),
                          "Bcc": "b@example.com", "TextBody": "x"});
        assert_eq!(error(over, false).0, 300);
    }
}
