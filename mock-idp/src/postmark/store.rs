//! Every accepted message, in order, with a sequence number that only grows.
//!
//! Sequence numbers survive [`Store::clear`], so "wait for the first message after N" can never
//! return an old message, however many clears or restarts of a test's flow happen in between.
//! Waiters subscribe to a watch channel that ticks on every change; the lock is a
//! `std::sync::Mutex` because no `.await` ever happens while it is held. An index of the
//! sequence numbers per recipient makes "the first message to X above N" a lookup, whatever
//! the size of the inbox, so many waiters re-checking on every message cannot starve sends.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::watch;

use super::email::{Email, EmailData};

#[derive(Debug)]
pub(crate) struct Store {
    inner: Mutex<Inner>,
    changed: watch::Sender<()>,
}

#[derive(Debug, Default)]
struct Inner {
    messages: Vec<Email>,
    /// Sequence numbers of the messages to each address (bare, lower-case; To, Cc and Bcc),
    /// in order.
    by_address: HashMap<String, Vec<u64>>,
    last_seq: u64,
    /// How many clears happened: lets live views notice one.
    clears: u64,
    closed: bool,
}

impl Store {
    pub(crate) fn new() -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            changed: watch::Sender::new(()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere while holding the lock cannot leave the Vec half-updated.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Stores one message under the next sequence number (given to `build`).
    pub(crate) fn push(&self, build: impl FnOnce(u64) -> EmailData) -> Email {
        let email = {
            let mut inner = self.lock();
            inner.last_seq += 1;
            let seq = inner.last_seq;
            let email = Email::new(build(seq));
            for mailbox in email.recipients() {
                let list = inner
                    .by_address
                    .entry(mailbox.email.to_ascii_lowercase())
                    .or_default();
                if list.last() != Some(&seq) {
                    list.push(seq);
                }
            }
            inner.messages.push(email.clone());
            email
        };
        self.changed.send_replace(());
        email
    }

    /// All messages, oldest first.
    pub(crate) fn all(&self) -> Vec<Email> {
        self.lock().messages.clone()
    }

    /// The messages with a sequence number above `after`, oldest first.
    pub(crate) fn since(&self, after: u64) -> Vec<Email> {
        let inner = self.lock();
        let start = inner.messages.partition_point(|m| m.seq() <= after);
        inner.messages[start..].to_vec()
    }

    /// The first message to `address` (bare or `Name <addr>`, any case) above `after`.
    pub(crate) fn first_to_after(&self, address: &str, after: u64) -> Option<Email> {
        let key = super::address::bare_address(address).to_ascii_lowercase();
        let inner = self.lock();
        let seqs = inner.by_address.get(&key)?;
        let seq = seqs[seqs.partition_point(|s| *s <= after)..].first()?;
        inner.find(*seq)
    }

    /// The newest message to `address` (bare or `Name <addr>`, any case).
    pub(crate) fn last_to(&self, address: &str) -> Option<Email> {
        let key = super::address::bare_address(address).to_ascii_lowercase();
        let inner = self.lock();
        inner.find(*inner.by_address.get(&key)?.last()?)
    }

    /// How many messages have a sequence number above `after`, and the last `keep` of them.
    pub(crate) fn tail_since(&self, after: u64, keep: usize) -> (usize, Vec<Email>) {
        let inner = self.lock();
        let start = inner.messages.partition_point(|m| m.seq() <= after);
        let count = inner.messages.len() - start;
        let from = inner.messages.len() - count.min(keep);
        (count, inner.messages[from..].to_vec())
    }

    /// The newest message that `matches`.
    pub(crate) fn last_matching(&self, matches: impl Fn(&Email) -> bool) -> Option<Email> {
        self.lock()
            .messages
            .iter()
            .rev()
            .find(|m| matches(m))
            .cloned()
    }

    /// The highest sequence number given so far (0 before the first message).
    pub(crate) fn last_seq(&self) -> u64 {
        self.lock().last_seq
    }

    /// Forgets every message (returns how many); sequence numbers keep growing.
    pub(crate) fn clear(&self) -> usize {
        let cleared = {
            let mut inner = self.lock();
            inner.clears += 1;
            inner.by_address.clear();
            std::mem::take(&mut inner.messages).len()
        };
        self.changed.send_replace(());
        cleared
    }

    /// How many clears happened so far.
    pub(crate) fn clears(&self) -> u64 {
        self.lock().clears
    }

    /// The message with sequence number `seq`, if still kept.
    pub(crate) fn get(&self, seq: u64) -> Option<Email> {
        self.lock().find(seq)
    }

    /// Marks the store closed (its server is gone): waiters stop waiting.
    pub(crate) fn close(&self) {
        self.lock().closed = true;
        self.changed.send_replace(());
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.lock().closed
    }

    /// A receiver that sees a change after every push, clear and close.
    pub(crate) fn subscribe(&self) -> watch::Receiver<()> {
        self.changed.subscribe()
    }

    /// Calls `find` now and after every change until it finds something; an error once
    /// `deadline` (real time) passes or the store closes. The one wait loop behind
    /// [`Inbox::wait_for`](super::Inbox::wait_for) and `GET /_inbox/wait`. Subscribing before
    /// the first look means a message stored in between is never missed.
    pub(crate) async fn wait_until<T>(
        &self,
        deadline: tokio::time::Instant,
        mut find: impl FnMut() -> Option<T>,
    ) -> Result<T, Ended> {
        let mut changes = self.subscribe();
        loop {
            changes.borrow_and_update();
            if let Some(found) = find() {
                return Ok(found);
            }
            if self.is_closed() {
                return Err(Ended::ShutDown);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(Ended::ShutDown),
                Err(_) => return Err(Ended::TimedOut),
            }
        }
    }
}

impl Inner {
    /// The message with sequence number `seq` (messages are in sequence order).
    fn find(&self, seq: u64) -> Option<Email> {
        self.messages
            .binary_search_by_key(&seq, Email::seq)
            .ok()
            .map(|i| self.messages[i].clone())
    }
}

/// Why [`Store::wait_until`] gave up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// The deadline passed.
    TimedOut,
    /// The store closed (the fake Postmark was dropped): nothing more can arrive.
    ShutDown,
}
