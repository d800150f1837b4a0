//! The Rust side of the captured mail: [`Inbox`] and waiting without sleeping.
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

use super::email::Email;
use super::store::{Ended, Store};
use super::test_api::ARRIVED_SHOWN;

/// How long [`Inbox::wait_for`] waits unless told otherwise (real time, not the mock clock).
pub const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(10);

/// A handle to the captured mail of one fake Postmark; clones share one inbox and one memory
/// of what waits returned.
///
/// ```no_run
/// # async fn demo(postmark: mock_idp::FakePostmark) -> Result<(), mock_idp::postmark::WaitError> {
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
        self.store.last_to(address)
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
        let found = self.store.first_to_after(&key, after);
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
        waited.map_err(|end| {
            let (arrived_count, arrived) = self.inbox.store.tail_since(after, ARRIVED_SHOWN);
            WaitError {
                arrived_count,
                arrived,
                to: self.to,
                after,
                timeout: self.timeout,
                end: end.into(),
            }
        })
    }

    /// Resolves to the code in the message instead of the message (an error when the message
    /// carries none).
    pub fn code(self) -> WaitForCode {
        WaitForCode(self)
    }
}

/// A pending wait for the code in the next message; `.await` it. Built by [`WaitFor::code`]
/// (or `MockIdp::code_for`).
#[must_use = "a wait does nothing unless awaited"]
#[derive(Debug)]
pub struct WaitForCode(WaitFor);

impl WaitForCode {
    /// Only messages with a sequence number above `seq` (e.g. an [`Inbox::cursor`]) count.
    pub fn after(self, seq: u64) -> Self {
        Self(self.0.after(seq))
    }

    /// How long to wait, in real time (default [`DEFAULT_WAIT_TIMEOUT`]).
    pub fn timeout(self, timeout: Duration) -> Self {
        Self(self.0.timeout(timeout))
    }
}

impl IntoFuture for WaitForCode {
    type Output = Result<String, WaitError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let (to, timeout, after) = (self.0.to.clone(), self.0.timeout, self.0.after);
        Box::pin(async move {
            let mail = self.0.run().await?;
            mail.code().map(str::to_owned).ok_or_else(|| WaitError {
                to,
                after: after.unwrap_or(mail.seq().saturating_sub(1)),
                timeout,
                end: WaitEnd::NoCode,
                arrived_count: 1,
                arrived: vec![mail],
            })
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
    /// The message arrived but carries no code ([`WaitFor::code`]); it is in `arrived`.
    NoCode,
}

impl From<Ended> for WaitEnd {
    fn from(ended: Ended) -> Self {
        match ended {
            Ended::TimedOut => Self::TimedOut,
            Ended::ShutDown => Self::ShutDown,
        }
    }
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
    /// How many messages arrived above `after`, whoever they were for.
    pub arrived_count: usize,
    /// The newest of them (at most 20), to show what did come.
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
            WaitEnd::NoCode => {
                return write!(
                    f,
                    "the email to {} after #{} carries no code: {}",
                    self.to,
                    self.after,
                    self.arrived
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                );
            }
            WaitEnd::ShutDown => write!(
                f,
                "no email to {} after #{}: the fake Postmark shut down",
                self.to, self.after
            )?,
        }
        if self.arrived.is_empty() {
            return f.write_str("; nothing else arrived");
        }
        write!(f, "; what arrived after #{}:", self.after)?;
        let older = self.arrived_count.saturating_sub(self.arrived.len());
        if older > 0 {
            write!(f, "\n  ({older} older ones not shown)")?;
        }
        for mail in &self.arrived {
            write!(f, "\n  {mail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for WaitError {}
