//! Injected failures: "the next n sends fail as Postmark would answer".
//!
//! Off by default. Queued with `FakePostmark::fail_next` or `POST /_inbox/faults`; each send
//! request (a batch counts once) with a valid token takes one failure off the queue, in order,
//! until none is left. The answer is exactly what Postmark sends for that status and ErrorCode.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::error::{ApiError, codes};

/// A queued failure: the next `count` sends answer `status` with `error_code`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct Fault {
    /// How many more sends fail this way.
    pub count: usize,
    /// The HTTP status (400–599).
    pub status: u16,
    /// Postmark's `ErrorCode`.
    pub error_code: u32,
    /// The `Message`; Postmark's own wording for this status and code when `None`.
    #[serde(default)]
    pub message: Option<String>,
}

/// Why a fault was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidFault(pub String);

impl std::fmt::Display for InvalidFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidFault {}

impl Fault {
    /// Checks the status is an error status Postmark could send.
    pub fn validate(&self) -> Result<(), InvalidFault> {
        if !(400..=599).contains(&self.status) {
            return Err(InvalidFault(format!(
                "a fault's status must be an error status (400-599), not {}",
                self.status
            )));
        }
        Ok(())
    }

    /// The answer for one failed send; `recipients` fills Postmark's 406 wording.
    fn answer(&self, recipients: &[String]) -> ApiError {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = self
            .message
            .clone()
            .unwrap_or_else(|| default_message(self.status, self.error_code, recipients));
        ApiError::new(status, self.error_code, message)
    }
}

/// Postmark's wording for the failures tests inject most.
fn default_message(status: u16, code: u32, recipients: &[String]) -> String {
    match (status, code) {
        (_, codes::BAD_TOKEN) => ApiError::invalid_token().message,
        (_, codes::INACTIVE_RECIPIENT) => super::send::inactive_message(recipients),
        (429, _) => "Rate limit exceeded: you have sent too many requests in a short period of \
                     time. Please retry later."
            .to_owned(),
        (503, _) | (_, 100) => {
            "The Postmark API is offline for maintenance. Please retry later.".to_owned()
        }
        (500, _) => "Internal server error.".to_owned(),
        _ => format!("Injected failure: HTTP {status}, ErrorCode {code}."),
    }
}

/// The queue of pending failures.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    queue: Mutex<VecDeque<Fault>>,
}

impl Faults {
    pub(crate) fn push(&self, fault: Fault) {
        if fault.count > 0 {
            self.lock().push_back(fault);
        }
    }

    /// Takes one failure for this send, if any is pending.
    pub(crate) fn take(&self, recipients: impl FnOnce() -> Vec<String>) -> Option<ApiError> {
        let mut queue = self.lock();
        let front = queue.front_mut()?;
        let fault = front.clone();
        front.count -= 1;
        if front.count == 0 {
            queue.pop_front();
        }
        drop(queue);
        Some(fault.answer(&recipients()))
    }

    pub(crate) fn pending(&self) -> Vec<Fault> {
        self.lock().iter().cloned().collect()
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Fault>> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(count: usize, status: u16, error_code: u32) -> Fault {
        Fault {
            count,
            status,
            error_code,
            message: None,
        }
    }

    #[test]
    fn each_fault_fails_exactly_count_sends_in_order() {
        let faults = Faults::default();
        faults.push(fault(2, 503, 100));
        faults.push(fault(1, 422, 406));
        let statuses: Vec<Option<u16>> = (0..4)
            .map(|_| {
                faults
                    .take(|| vec!["a@example.com".into()])
                    .map(|e| e.status.as_u16())
            })
            .collect();
        assert_eq!(statuses, [Some(503), Some(503), Some(422), None]);
        assert!(faults.pending().is_empty());
    }

    #[test]
    fn default_messages_use_postmarks_wording() {
        let inactive = fault(1, 422, 406).answer(&["x@example.com".into()]);
        assert!(
            inactive
                .message
                .contains("Found inactive addresses: x@example.com.")
        );
        let token = fault(1, 401, 10).answer(&[]);
        assert_eq!(
            token.message,
            "Request does not contain a valid Server token."
        );
    }

    #[test]
    fn only_error_statuses_are_valid() {
        assert!(fault(1, 200, 0).validate().is_err());
        assert!(fault(1, 429, 429).validate().is_ok());
    }
}
