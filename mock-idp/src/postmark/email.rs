//! [`Email`]: one captured message, as sent and as rendered, with the one-time code found in
//! it. The store keeps them, the inbox hands them out, the APIs and the inbox page show them.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;

use super::address::Mailbox;
use super::message::Attachment;
use super::mustachio::{Budget, Limits};
use super::templates::StoredTemplate;

/// One captured message: what was sent, what was rendered, and the code in it.
///
/// Cheap to clone. Serialises in Postmark's PascalCase, plus `Seq` and `Code`.
#[derive(Clone)]
pub struct Email(Arc<EmailData>);

/// Subject and bodies: as sent, or rendered again from the template when first asked for
/// (the template as it was at the send: the same model gives the same text). A template send
/// keeps no rendered copy until someone reads it, which is most of a captured mail's size.
pub(crate) enum Bodies {
    /// A plain send's, or the rendering already asked for.
    Kept(Parts),
    /// A template send's, rendered on first use.
    Template {
        template: Arc<StoredTemplate>,
        layout: Option<Arc<StoredTemplate>>,
        limits: Limits,
        rendered: OnceLock<Parts>,
    },
}

/// Subject, HTML body and text body.
#[derive(Clone, Debug, Default)]
pub(crate) struct Parts {
    pub subject: Option<Box<str>>,
    pub html_body: Option<Box<str>>,
    pub text_body: Option<Box<str>>,
}

impl fmt::Debug for Bodies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Kept(parts) => parts.fmt(f),
            Self::Template { template, .. } => write!(f, "Template({})", template.id),
        }
    }
}

/// The fields of an [`Email`], in the order the JSON shows them. Kept small, because tests
/// capture thousands: text without spare capacity, template bodies rendered when read, and
/// what is only echoed (the template model, the message as sent) as compact JSON text.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EmailData {
    pub seq: u64,
    #[serde(rename = "MessageID")]
    pub message_id: String,
    /// `SubmittedAt` (formatted when shown, not kept as text).
    #[serde(rename = "SubmittedAt", serialize_with = "submitted_at")]
    pub submitted: OffsetDateTime,
    pub from: String,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub bcc: Vec<Mailbox>,
    pub reply_to: Option<String>,
    #[serde(skip)]
    pub bodies: Bodies,
    pub tag: Option<String>,
    pub metadata: Option<Box<Value>>,
    pub headers: Option<Box<Value>>,
    pub message_stream: String,
    pub template_id: Option<u64>,
    pub template_alias: Option<String>,
    pub template_model: Option<Box<RawValue>>,
    /// `template_model` parsed, on first use.
    #[serde(skip)]
    pub model_cache: OnceLock<Option<Box<Value>>>,
    pub track_opens: Option<bool>,
    pub track_links: Option<String>,
    pub attachments: Vec<Attachment>,
    /// The HTTP request's headers, with the token values redacted (`[{Name, Value}]`).
    pub request_headers: Box<RawValue>,
    pub code: Option<String>,
    /// The message object as received (shown by the inbox page, not repeated in the JSON).
    #[serde(skip)]
    pub sent: Box<RawValue>,
}

impl Email {
    pub(crate) fn new(data: EmailData) -> Self {
        Self(Arc::new(data))
    }

    /// Sequence number: grows with every accepted message, across clears.
    pub fn seq(&self) -> u64 {
        self.0.seq
    }
    /// Postmark's `MessageID` (a UUID from the seeded generator).
    pub fn message_id(&self) -> &str {
        &self.0.message_id
    }
    /// When the fake accepted it (the injected clock).
    pub fn submitted_at(&self) -> OffsetDateTime {
        self.0.submitted
    }
    /// `From` as sent, display name included.
    pub fn from(&self) -> &str {
        &self.0.from
    }
    /// The `To` mailboxes.
    pub fn to(&self) -> &[Mailbox] {
        &self.0.to
    }
    /// The `Cc` mailboxes.
    pub fn cc(&self) -> &[Mailbox] {
        &self.0.cc
    }
    /// The `Bcc` mailboxes.
    pub fn bcc(&self) -> &[Mailbox] {
        &self.0.bcc
    }
    /// `ReplyTo` as sent.
    pub fn reply_to(&self) -> Option<&str> {
        self.0.reply_to.as_deref()
    }
    /// Subject (rendered, for template sends).
    pub fn subject(&self) -> Option<&str> {
        self.parts().subject.as_deref()
    }
    /// HTML body (rendered, for template sends).
    pub fn html_body(&self) -> Option<&str> {
        self.parts().html_body.as_deref()
    }
    /// Text body (rendered, for template sends).
    pub fn text_body(&self) -> Option<&str> {
        self.parts().text_body.as_deref()
    }

    /// The parts, rendered once and kept (what the accessors hand out references to).
    fn parts(&self) -> &Parts {
        match &self.0.bodies {
            Bodies::Kept(parts) => parts,
            Bodies::Template { rendered, .. } => rendered.get_or_init(|| self.render()),
        }
    }

    /// The parts, without keeping a rendering: what the HTTP APIs and the inbox page read, so
    /// that listing thousands of messages leaves them as small as they were.
    pub(crate) fn rendered(&self) -> std::borrow::Cow<'_, Parts> {
        match &self.0.bodies {
            Bodies::Kept(parts) => std::borrow::Cow::Borrowed(parts),
            Bodies::Template { rendered, .. } => match rendered.get() {
                Some(parts) => std::borrow::Cow::Borrowed(parts),
                None => std::borrow::Cow::Owned(self.render()),
            },
        }
    }

    fn render(&self) -> Parts {
        let Bodies::Template {
            template,
            layout,
            limits,
            ..
        } = &self.0.bodies
        else {
            return Parts::default();
        };
        // It rendered at the send, under a budget no larger than this one.
        let Some(model) = self.template_model() else {
            return Parts::default();
        };
        let budget = Budget::new(limits.max_steps);
        template
            .render(model, layout.as_deref(), limits, &budget)
            .map(|r| Parts {
                subject: r.subject.map(String::into_boxed_str),
                html_body: r.html_body.map(String::into_boxed_str),
                text_body: r.text_body.map(String::into_boxed_str),
            })
            .unwrap_or_default()
    }
    /// `Tag` as sent.
    pub fn tag(&self) -> Option<&str> {
        self.0.tag.as_deref()
    }
    /// `Metadata` exactly as sent.
    pub fn metadata(&self) -> Option<&Value> {
        self.0.metadata.as_deref()
    }
    /// The message's `Headers` (`[{Name, Value}]`) exactly as sent.
    pub fn headers(&self) -> Option<&Value> {
        self.0.headers.as_deref()
    }
    /// `MessageStream` (`outbound` when none was given).
    pub fn message_stream(&self) -> &str {
        &self.0.message_stream
    }
    /// The template's id, for template sends.
    pub fn template_id(&self) -> Option<u64> {
        self.0.template_id
    }
    /// The template's alias, for template sends (Logto sends by alias).
    pub fn template_alias(&self) -> Option<&str> {
        self.0.template_alias.as_deref()
    }
    /// `TemplateModel` exactly as sent.
    pub fn template_model(&self) -> Option<&Value> {
        self.0
            .model_cache
            .get_or_init(|| {
                let raw = self.0.template_model.as_ref()?;
                serde_json::from_str(raw.get()).ok().map(Box::new)
            })
            .as_deref()
    }
    /// `TrackOpens` as sent.
    pub fn track_opens(&self) -> Option<bool> {
        self.0.track_opens
    }
    /// `TrackLinks` as sent.
    pub fn track_links(&self) -> Option<&str> {
        self.0.track_links.as_deref()
    }
    /// The message object exactly as the request carried it (one element of a batch).
    pub fn sent_json(&self) -> Value {
        serde_json::from_str(self.0.sent.get()).unwrap_or(Value::Null)
    }
    /// Attachments as sent (content in base64).
    pub fn attachments(&self) -> &[Attachment] {
        &self.0.attachments
    }
    /// The HTTP request headers, token values replaced by `[redacted]`.
    pub fn request_headers(&self) -> Vec<Header> {
        serde_json::from_str(self.0.request_headers.get()).unwrap_or_default()
    }
    /// The one-time code: `TemplateModel.code` when present, else the one 6-digit number in
    /// the text body (or subject, or HTML text). `None` when there is none, or several.
    pub fn code(&self) -> Option<&str> {
        self.0.code.as_deref()
    }
    /// Every recipient: To, then Cc, then Bcc.
    pub fn recipients(&self) -> impl Iterator<Item = &Mailbox> {
        self.0.to.iter().chain(&self.0.cc).chain(&self.0.bcc)
    }
    /// Whether `address` is among To, Cc or Bcc (ignoring case).
    pub fn is_addressed_to(&self, address: &str) -> bool {
        self.recipients().any(|m| m.is(address))
    }
    /// The message as JSON (PascalCase, with `Seq` and `Code`).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The data's fields, with `Subject`, `HtmlBody` and `TextBody` after `ReplyTo`, as Postmark
/// orders them.
impl Serialize for Email {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let data = serde_json::to_value(&*self.0).map_err(serde::ser::Error::custom)?;
        let Value::Object(fields) = data else {
            return Err(serde::ser::Error::custom("a message is an object"));
        };
        let parts = self.rendered();
        let mut map = serializer.serialize_map(Some(fields.len() + 3))?;
        for (key, value) in &fields {
            map.serialize_entry(key, value)?;
            if key == "ReplyTo" {
                map.serialize_entry("Subject", &parts.subject)?;
                map.serialize_entry("HtmlBody", &parts.html_body)?;
                map.serialize_entry("TextBody", &parts.text_body)?;
            }
        }
        map.end()
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("seq", &self.0.seq)
            .field("to", &self.0.to)
            .field("subject", &self.subject())
            .field("template_alias", &self.0.template_alias)
            .field("code", &self.0.code)
            .finish_non_exhaustive()
    }
}

/// One line per message, for failure output: `#seq to=… subject=… code=…`.
impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let to: Vec<String> = self.0.to.iter().map(|m| m.email.clone()).collect();
        write!(f, "#{} to={}", self.0.seq, to.join(","))?;
        match self.subject() {
            Some(subject) => write!(f, " subject={subject:?}")?,
            None => f.write_str(" (no subject)")?,
        }
        write!(f, " code={}", self.0.code.as_deref().unwrap_or("-"))
    }
}

/// `SubmittedAt` as Postmark writes it.
fn submitted_at<S: serde::Serializer>(
    at: &OffsetDateTime,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&super::wire::timestamp(*at))
}

/// One HTTP header of the request that delivered a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Header {
    /// Lower-cased header name.
    pub name: String,
    /// Value (lossy UTF-8); `[redacted]` for Postmark token headers.
    pub value: String,
}

/// Finds the one-time code: `TemplateModel.code` (string or number), else the single distinct
/// 6-digit number in the text body, else in the subject, else in the HTML's text.
pub(crate) fn extract_code(
    model: Option<&Value>,
    text: Option<&str>,
    subject: Option<&str>,
    html: Option<&str>,
) -> Option<String> {
    if let Some(code) = model.and_then(|m| m.get("code")) {
        match code {
            Value::String(s) if !s.is_empty() => return Some(s.clone()),
            Value::Number(n) => return Some(n.to_string()),
            _ => {}
        }
    }
    let html_text = html.map(visible_text);
    [text, subject, html_text.as_deref()]
        .into_iter()
        .flatten()
        .find_map(single_six_digit_number)
}

/// The one distinct run of exactly six ASCII digits, standing alone (not part of a longer
/// number or word, and not a `#123456` colour).
fn single_six_digit_number(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut found: Option<&str> = None;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let before = start.checked_sub(1).map(|j| bytes[j]);
        let after = bytes.get(i).copied();
        let word = |b: Option<u8>| b.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_');
        let standalone = !word(before) && !word(after) && before != Some(b'#');
        if i - start == 6 && standalone {
            let number = &text[start..i];
            match found {
                Some(previous) if previous != number => return None,
                _ => found = Some(number),
            }
        }
    }
    found.map(str::to_owned)
}

/// The text a reader sees in an HTML document: tags, comments, `<style>` and `<script>`
/// dropped. Good enough to find a code; not a general HTML parser.
fn visible_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    while i < html.len() {
        let rest = &lower[i..];
        if rest.starts_with("<style") || rest.starts_with("<script") {
            let close = if rest.starts_with("<style") {
                "</style>"
            } else {
                "</script>"
            };
            i = rest
                .find(close)
                .map_or(html.len(), |end| i + end + close.len());
        } else if rest.starts_with("<!--") {
            i = rest.find("-->").map_or(html.len(), |end| i + end + 3);
        } else if rest.starts_with('<') {
            i = rest.find('>').map_or(html.len(), |end| i + end + 1);
            out.push(' ');
        } else {
            let next = rest.find('<').map_or(html.len(), |end| i + end);
            out.push_str(&html[i..next]);
            i = next;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_code_comes_from_the_model_first() {
        let model = json!({"code": "004211"});
        assert_eq!(
            extract_code(Some(&model), Some("other 123456"), None, None).as_deref(),
            Some("004211")
        );
        let numeric = json!({"code": 123456});
        assert_eq!(
            extract_code(Some(&numeric), None, None, None).as_deref(),
            Some("123456")
        );
    }

    #[test]
    fn the_code_is_the_one_six_digit_number_in_the_text() {
        let code = |text: &str| extract_code(None, Some(text), None, None);
        assert_eq!(code("Your code is 482913.").as_deref(), Some("482913"));
        assert_eq!(code("482913 again 482913").as_deref(), Some("482913"));
        assert_eq!(code("two: 111111 and 222222"), None);
        assert_eq!(code("1234567 and 12345 and a123456 and 123456b"), None);
        assert_eq!(code("colour #123456 only"), None);
        assert_eq!(code("no digits"), None);
    }

    #[test]
    fn html_text_is_searched_without_markup() {
        let html = r#"<style>.a{color:#111111} p{width:222222px}</style><!-- 333333 -->
            <p style="x:444444">Code: <b>555555</b></p>"#;
        assert_eq!(
            extract_code(None, None, None, Some(html)).as_deref(),
            Some("555555")
        );
        assert_eq!(
            extract_code(None, None, Some("Code 777777"), Some(html)).as_deref(),
            Some("777777"),
            "the subject comes before the HTML"
        );
    }
}
