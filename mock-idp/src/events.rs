//! The IdP's event log: what happened, in order, for tests to read and for failure output.
//!
//! Named after node-oidc-provider's events (`authorization.error`, `grant.success`, ...), plus
//! the mock's own (`fault.injected`, `clock.set`, ...). Events carry ids and reasons, never
//! secrets: no codes, tokens, client secrets or PKCE verifiers, so a log can be attached to a
//! bug report as is.
//!
//! The log is kept in memory, and can also be written as JSON Lines (one [`Event`] per line)
//! to a file: a thread of its own appends each line, so requests never wait on the disk.

use std::io::Write as _;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::clock::Clock;

/// One event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

impl Event {
    /// The event as one line of JSON (no trailing newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The shared log.
#[derive(Clone, Debug)]
pub(crate) struct Events(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    clock: Clock,
    log: Mutex<Vec<Event>>,
    /// The newest `seq`, for streams waiting on the next event.
    newest: watch::Sender<u64>,
    /// Lines for the JSONL file's writer thread, when there is a file.
    sink: Mutex<Option<mpsc::Sender<String>>>,
    /// That thread, joined when the log goes away so that the file is whole.
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Closing the channel ends the writer's loop once it has written every line.
        self.sink
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = self
            .writer
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = writer.join();
        }
    }
}

impl Events {
    pub(crate) fn new(clock: Clock) -> Self {
        Self(Arc::new(Inner {
            clock,
            log: Mutex::default(),
            newest: watch::Sender::new(0),
            sink: Mutex::default(),
            writer: Mutex::default(),
        }))
    }

    /// Appends every event from now on to `path` as JSON Lines (the file is created or
    /// truncated, here, before the server answers anything).
    pub(crate) fn write_to(&self, path: &Path) -> std::io::Result<()> {
        let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
        let (sender, receiver) = mpsc::channel::<String>();
        let writer = std::thread::Builder::new()
            .name("mock-idp-events".into())
            .spawn(move || {
                // Ends when the IdP (the last sender) is gone.
                while let Ok(line) = receiver.recv() {
                    let written = file
                        .write_all(line.as_bytes())
                        .and_then(|()| file.write_all(b"\n"))
                        .and_then(|()| file.flush());
                    if let Err(error) = written {
                        tracing::warn!(%error, "writing the event log failed");
                        break;
                    }
                }
            })?;
        *self.0.sink.lock().unwrap_or_else(PoisonError::into_inner) = Some(sender);
        *self.0.writer.lock().unwrap_or_else(PoisonError::into_inner) = Some(writer);
        Ok(())
    }

    pub(crate) fn push(&self, kind: &str, data: Value) {
        let mut log = self.0.log.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = log.len() as u64 + 1;
        tracing::debug!(kind, %data, "idp event");
        let event = Event {
            seq,
            at: self.0.clock.now(),
            kind: kind.to_owned(),
            data,
        };
        if let Some(sink) = &*self.0.sink.lock().unwrap_or_else(PoisonError::into_inner) {
            let _ = sink.send(event.to_json_line());
        }
        log.push(event);
        drop(log);
        self.0.newest.send_replace(seq);
    }

    pub(crate) fn all(&self) -> Vec<Event> {
        self.after(0)
    }

    /// The events after `seq`, oldest first.
    pub(crate) fn after(&self, seq: u64) -> Vec<Event> {
        let log = self.0.log.lock().unwrap_or_else(PoisonError::into_inner);
        let start = usize::try_from(seq).unwrap_or(usize::MAX).min(log.len());
        log[start..].to_vec()
    }

    /// Watches the newest `seq` (for streams).
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.newest.subscribe()
    }

    /// Forgets the log (a whole-instance reset): the next event is `#1` again. The file, which
    /// keeps the whole run, gets a line `{"seq":0,"kind":"instance.reset",…}` to say so.
    pub(crate) fn clear(&self) {
        if let Some(sink) = &*self.0.sink.lock().unwrap_or_else(PoisonError::into_inner) {
            let marker = Event {
                seq: 0,
                at: self.0.clock.now(),
                kind: "instance.reset".to_owned(),
                data: serde_json::json!({}),
            };
            let _ = sink.send(marker.to_json_line());
        }
        self.0
            .log
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.0.newest.send_replace(0);
    }
}
