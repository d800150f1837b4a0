//! Logto's sentinel: failed verifications (passwords and codes together) per identifier, and
//! the lockout they lead to.
//!
//! Every verification of an identifier (the raw value: an email, a username) is reported,
//! success or failure. When the failures within the last hour, this one included, reach the
//! policy's `maxAttempts`, the identifier is blocked for `lockoutDuration` minutes: every
//! verification of it answers `session.verification_blocked_too_many_attempts` (400), the
//! right password too. Logto's defaults: 100 attempts, 60 minutes
//! (`signInExperience.sentinelPolicy` changes them).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use time::{Duration, OffsetDateTime};

use crate::tenant::SentinelPolicy;

/// The window failures are counted in.
const WINDOW: Duration = Duration::hours(1);

#[derive(Debug, Default)]
struct Target {
    failures: Vec<OffsetDateTime>,
    blocked_until: Option<OffsetDateTime>,
}

/// The failures and lockouts of one IdP.
#[derive(Debug, Default)]
pub(crate) struct Sentinel {
    targets: Mutex<HashMap<String, Target>>,
}

impl Sentinel {
    /// Minutes left (at least 1) while `target` is blocked at `now`.
    pub(crate) fn blocked(&self, target: &str, now: OffsetDateTime) -> Option<i64> {
        let targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        let until = targets.get(target)?.blocked_until?;
        (until > now).then(|| minutes_left(until - now))
    }

    /// Reports a verification of `target`; the minutes of the lockout it caused, if it did.
    pub(crate) fn report(
        &self,
        target: &str,
        failed: bool,
        now: OffsetDateTime,
        policy: SentinelPolicy,
    ) -> Option<i64> {
        let mut targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = targets.entry(target.to_owned()).or_default();
        let window_start = now - WINDOW;
        entry.failures.retain(|at| *at > window_start);
        if failed {
            entry.failures.push(now);
        }
        let reached =
            entry.failures.len() >= usize::try_from(policy.max_attempts).unwrap_or(usize::MAX);
        if failed && reached {
            let lockout = Duration::minutes(i64::from(policy.lockout_duration));
            entry.blocked_until = Some(now + lockout);
            entry.failures.clear();
            return Some(minutes_left(lockout));
        }
        None
    }

    /// Forgets everything (a whole-instance reset).
    pub(crate) fn clear(&self) {
        self.targets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// Whole minutes, rounded as Logto rounds them, never below one.
fn minutes_left(left: Duration) -> i64 {
    ((left.whole_seconds() + 30) / 60).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: SentinelPolicy = SentinelPolicy {
        max_attempts: 5,
        lockout_duration: 10,
    };

    #[test]
    fn the_fifth_failure_within_an_hour_locks_the_identifier_for_the_policys_minutes() {
        let sentinel = Sentinel::default();
        let now = OffsetDateTime::UNIX_EPOCH;
        for _ in 0..4 {
            assert_eq!(sentinel.report("bob", true, now, POLICY), None);
        }
        assert_eq!(sentinel.blocked("bob", now), None);
        assert_eq!(sentinel.report("bob", true, now, POLICY), Some(10));
        assert_eq!(sentinel.blocked("bob", now + Duration::minutes(4)), Some(6));
        assert_eq!(sentinel.blocked("alice", now), None, "per identifier");
        assert_eq!(sentinel.blocked("bob", now + Duration::minutes(10)), None);
    }

    #[test]
    fn failures_older_than_an_hour_do_not_count() {
        let sentinel = Sentinel::default();
        let start = OffsetDateTime::UNIX_EPOCH;
        for _ in 0..4 {
            sentinel.report("bob", true, start, POLICY);
        }
        let later = start + Duration::minutes(61);
        assert_eq!(sentinel.report("bob", true, later, POLICY), None);
        assert_eq!(sentinel.report("bob", false, later, POLICY), None);
    }
}
