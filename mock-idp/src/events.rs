//! The IdP's event log: what happened, in order, for tests to read and for failure output.
//!
//! Named after node-oidc-provider's events (`authorization.error`, `grant.success`, ...).
//! Events carry ids and reasons, never secrets: no codes, tokens, secrets or PKCE verifiers.

use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::clock::Clock;

/// One event.
#[derive(Clone, Debug, Serialize)]
pub struct Event {
    /// Position in the log, from 1.
    pub seq: u64,
    /// When it happened (the injected clock).
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// What happened, e.g. `authorization.started`, `grant.success`, `grant.error`.
    pub kind: String,
    /// Details: client and account ids, error codes and their exact reasons.
    pub data: Value,
}

impl std::fmt::Display for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "#{} {} {}", self.seq, self.kind, self.data)
    }
}

/// The shared log.
#[derive(Clone, Debug)]
pub(crate) struct Events {
    clock: Clock,
    log: Arc<Mutex<Vec<Event>>>,
}

impl Events {
    pub(crate) fn new(clock: Clock) -> Self {
        Self {
            clock,
            log: Arc::default(),
        }
    }

    pub(crate) fn push(&self, kind: &str, data: Value) {
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = log.len() as u64 + 1;
        tracing::debug!(kind, %data, "idp event");
        log.push(Event {
            seq,
            at: self.clock.now(),
            kind: kind.to_owned(),
            data,
        });
    }

    pub(crate) fn all(&self) -> Vec<Event> {
        self.log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
