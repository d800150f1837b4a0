//! The Rust side of the captured mail: [`Inbox`], [`Email`] and waiting without sleeping.
//!
//! Waiting is by sequence number, never by count or time: [`Inbox::wait_for`] answers the first
//! message to an address with a sequence number above a cursor. Without an explicit cursor the
//! inbox remembers, per address, the last message a wait returned, so consecutive waits walk
//! through the mail one message at a time: a mail delivered before the call is still found,
//! and an old code is never returned twice. This avoids the two classic bugs of mail-catcher
//! test helpers: picking up a stale code from an earlier step, and counting messages.

use std::collections::HashMap;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::address::Mailbox;
use super::message::Attachment;
use super::store::Store;

/// How long [`Inbox::wait_for`] waits unless told otherwise (real time, not the mock clock).
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// One captured message: what was sent, what was rendered, and the code in it.
///
/// Cheap to clone. Serialises in Postmark's PascalCase, plus `Seq` and `Code`.
#[derive(Clone)]
pub struct Email(Arc<EmailData>);

/// The fields of an [`Email`], in the order the JSON shows them.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct EmailData {
    pub seq: u64,
    #[serde(rename = "MessageID")]
    pub message_id: String,
    pub submitted_at: String,
    #[serde(skip)]
    pub submitted: OffsetDateTime,
    pub from: String,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub bcc: Vec<Mailbox>,
    pub reply_to: Option<String>,
    pub subject: Option<String>,
    pub html_body: Option<String>,
    pub text_body: Option<String>,
    pub tag: Option<String>,
    pub metadata: Option<Value>,
    pub headers: Option<Value>,
    pub message_stream: String,
    pub template_id: Option<u64>,
    pub template_alias: Option<String>,
    pub template_model: Option<Value>,
    pub track_opens: Option<bool>,
    pub track_links: Option<String>,
    pub attachments: Vec<Attachment>,
    /// The HTTP request's headers, with the token values redacted.
    pub request_headers: Vec<Header>,
    pub code: Option<String>,
    /// The message object as received (shown by the inbox page, not repeated in the JSON).
    #[serde(skip)]
    pub sent: Value,
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
        self.0.subject.as_deref()
    }
    /// HTML body (rendered, for template sends).
    pub fn html_body(&self) -> Option<&str> {
        self.0.html_body.as_deref()
    }
    /// Text body (rendered, for template sends).
    pub fn text_body(&self) -> Option<&str> {
        self.0.text_body.as_deref()
    }
    /// `Tag` as sent.
    pub fn tag(&self) -> Option<&str> {
        self.0.tag.as_deref()
    }
    /// `Metadata` exactly as sent.
    pub fn metadata(&self) -> Option<&Value> {
        self.0.metadata.as_ref()
    }
    /// The message's `Headers` (`[{Name, Value}]`) exactly as sent.
    pub fn headers(&self) -> Option<&Value> {
        self.0.headers.as_ref()
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
        self.0.template_model.as_ref()
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
    pub fn sent_json(&self) -> &Value {
        &self.0.sent
    }
    /// Attachments as sent (content in base64).
    pub fn attachments(&self) -> &[Attachment] {
        &self.0.attachments
    }
    /// The HTTP request headers, token values replaced by `[redacted]`.
    pub fn request_headers(&self) -> &[Header] {
        &self.0.request_headers
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
        serde_json::to_value(&*self.0).unwrap_or(Value::Null)
    }
}

impl Serialize for Email {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("seq", &self.0.seq)
            .field("to", &self.0.to)
            .field("subject", &self.0.subject)
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
        match &self.0.subject {
            Some(subject) => write!(f, " subject={subject:?}")?,
            None => f.write_str(" (no subject)")?,
        }
        write!(f, " code={}", self.0.code.as_deref().unwrap_or("-"))
    }
}

/// One HTTP header of the request that delivered a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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

/// A handle to the captured mail of one fake Postmark; clones share one inbox and one memory
/// of what waits returned.
///
/// ```no_run
/// # async fn demo(postmark: mock_idp::FakePostmark) -> Result<(), mock_idp::WaitError> {
/// let inbox = postmark.inbox();
/// let cursor = inbox.cursor();                     // before triggering the mail
/// // ... make the app send a code to alice@example.com ...
/// let mail = inbox.wait_for("alice@example.com").after(cursor).await?;
/// assert_eq!(mail.code().map(str::len), Some(6));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Inbox {
    store: Arc<Store>,
    /// Per lower-cased address, the sequence number of the last message a wait returned.
    returned: Arc<Mutex<HashMap<String, u64>>>,
}

impl Inbox {
    pub(crate) fn new(store: Arc<Store>) -> Self {
        Self {
            store,
            returned: Arc::default(),
        }
    }

    /// Every captured message, oldest first.
    pub fn messages(&self) -> Vec<Email> {
        self.store.all()
    }

    /// The newest message addressed (To, Cc or Bcc) to `address`.
    pub fn latest_to(&self, address: &str) -> Option<Email> {
        self.store.last_matching(|m| m.is_addressed_to(address))
    }

    /// The sequence number of the newest message so far: take it before triggering a mail,
    /// then wait with [`WaitFor::after`].
    pub fn cursor(&self) -> u64 {
        self.store.last_seq()
    }

    /// Forgets every message. Sequence numbers keep growing, so cursors stay valid.
    pub fn clear(&self) {
        self.store.clear();
    }

    /// Waits for the next message to `address` (see the module docs for what "next" means).
    pub fn wait_for(&self, address: impl Into<String>) -> WaitFor {
        WaitFor {
            inbox: self.clone(),
            to: address.into(),
            after: None,
            timeout: DEFAULT_WAIT_TIMEOUT,
        }
    }

    /// Returns the first message to `to` above `after` (or above what the last wait returned)
    /// and records it as returned. Atomic, so concurrent waits never share a message.
    fn claim(&self, to: &str, after: Option<u64>) -> (u64, Option<Email>) {
        let key = super::address::bare_address(to).to_ascii_lowercase();
        let mut returned = self.returned.lock().unwrap_or_else(PoisonError::into_inner);
        let remembered = returned.get(&key).copied().unwrap_or(0);
        let after = after.unwrap_or(remembered);
        let found = self.store.first_after(after, |m| m.is_addressed_to(&key));
        if let Some(mail) = &found {
            returned.insert(key, remembered.max(mail.seq()));
        }
        (after, found)
    }
}

impl fmt::Debug for Inbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbox")
            .field("messages", &self.store.all())
            .finish()
    }
}

/// A pending wait; `.await` it. Built by [`Inbox::wait_for`].
#[must_use = "a wait does nothing unless awaited"]
#[derive(Debug)]
pub struct WaitFor {
    inbox: Inbox,
    to: String,
    after: Option<u64>,
    timeout: Duration,
}

impl WaitFor {
    /// Only messages with a sequence number above `seq` (e.g. an [`Inbox::cursor`]) count.
    pub fn after(mut self, seq: u64) -> Self {
        self.after = Some(seq);
        self
    }

    /// How long to wait, in real time (default [`DEFAULT_WAIT_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn run(self) -> Result<Email, WaitError> {
        // `.timeout(Duration::MAX)` means "as long as it takes": 30 years, not an overflow.
        let now = tokio::time::Instant::now();
        let deadline = now
            .checked_add(self.timeout)
            .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 86_400));
        let mut after = 0;
        let waited = self
            .inbox
            .store
            .wait_until(deadline, || {
                let (above, found) = self.inbox.claim(&self.to, self.after);
                after = above;
                found
            })
            .await;
        waited.map_err(|end| WaitError {
            arrived: self.inbox.store.since(after),
            to: self.to,
            after,
            timeout: self.timeout,
            end,
        })
    }
}

impl IntoFuture for WaitFor {
    type Output = Result<Email, WaitError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// Why a wait ended without a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitEnd {
    /// The timeout passed.
    TimedOut,
    /// The fake Postmark was dropped: nothing more can arrive.
    ShutDown,
}

/// A wait that ended without its message; lists what did arrive, so the failure explains itself.
#[derive(Clone, Debug)]
pub struct WaitError {
    /// The address waited for.
    pub to: String,
    /// Only messages above this sequence number counted.
    pub after: u64,
    /// The timeout that applied.
    pub timeout: Duration,
    /// Timeout or shutdown.
    pub end: WaitEnd,
    /// Every message above `after`, whoever it was for.
    pub arrived: Vec<Email>,
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.end {
            WaitEnd::TimedOut => write!(
                f,
                "no email to {} after #{} within {:?}",
                self.to, self.after, self.timeout
            )?,
            WaitEnd::ShutDown => write!(
                f,
                "no email to {} after #{}: the fake Postmark shut down",
                self.to, self.after
            )?,
        }
        if self.arrived.is_empty() {
            f.write_str("; nothing else arrived")
        } else {
            write!(f, "; what arrived after #{}:", self.after)?;
            for mail in &self.arrived {
                write!(f, "\n  {mail}")?;
            }
            Ok(())
        }
    }
}

impl std::error::Error for WaitError {}

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
