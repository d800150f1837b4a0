//! The one clock every timestamp and expiry comes from.
//!
//! A [`Clock`] is a base instant plus an offset. The base is either the system time (read at
//! each call, so a running server's clock moves) or a fixed instant (for byte-exact replays).
//! The offset starts at zero and only [`Clock::advance`] changes it, so moving time forward
//! works the same on both kinds: expire a code, age a refresh token, skew a server.
//!
//! Clones share the offset: advancing any clone advances them all. This is the only place in
//! the crate that reads the system time.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

use time::OffsetDateTime;

/// The injected clock: a base (system time or a fixed instant) plus a shared offset.
///
/// ```
/// use std::time::Duration;
/// use mock_idp::Clock;
/// use time::macros::datetime;
///
/// let clock = Clock::fixed(datetime!(2026-01-01 00:00 UTC));
/// let copy = clock.clone();
/// clock.advance(Duration::from_secs(601));
/// assert_eq!(copy.now(), datetime!(2026-01-01 00:10:01 UTC));
/// ```
#[derive(Clone, Debug)]
pub struct Clock {
    base: Base,
    /// Nanoseconds added to the base; shared by every clone.
    offset_nanos: Arc<AtomicI64>,
}

#[derive(Clone, Copy, Debug)]
enum Base {
    System,
    Fixed(OffsetDateTime),
}

impl Clock {
    /// A clock that follows the system time (plus whatever [`advance`](Self::advance) added).
    pub fn system() -> Self {
        Self::with_base(Base::System)
    }

    /// A clock that stands still at `instant` until advanced: same inputs, same bytes.
    pub fn fixed(instant: OffsetDateTime) -> Self {
        Self::with_base(Base::Fixed(instant.to_offset(time::UtcOffset::UTC)))
    }

    fn with_base(base: Base) -> Self {
        Self {
            base,
            offset_nanos: Arc::new(AtomicI64::new(0)),
        }
    }

    /// The current instant, in UTC.
    pub fn now(&self) -> OffsetDateTime {
        let base = match self.base {
            Base::System => OffsetDateTime::from(SystemTime::now()),
            Base::Fixed(instant) => instant,
        };
        let offset = time::Duration::nanoseconds(self.offset_nanos.load(Ordering::SeqCst));
        base.saturating_add(offset)
    }

    /// The current instant as whole seconds since the Unix epoch.
    pub fn unix_seconds(&self) -> i64 {
        self.now().unix_timestamp()
    }

    /// The current instant in milliseconds since the Unix epoch, as Logto stores times.
    pub fn unix_millis(&self) -> i64 {
        unix_millis(self.now())
    }

    /// Moves this clock and every clone of it forward by `by`. Always works, whatever the base;
    /// saturates at roughly 292 years of total offset.
    pub fn advance(&self, by: Duration) {
        let nanos = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        // fetch_update cannot fail here: the closure always returns Some.
        let _ = self
            .offset_nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |current| {
                Some(current.saturating_add(nanos))
            });
    }

    /// Sets this clock and every clone of it to `instant` (earlier or later than now); a
    /// system clock goes on ticking from there.
    pub fn set(&self, instant: OffsetDateTime) {
        let base = match self.base {
            Base::System => OffsetDateTime::from(SystemTime::now()),
            Base::Fixed(instant) => instant,
        };
        let nanos = (instant - base).whole_nanoseconds();
        let nanos = i64::try_from(nanos).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX });
        self.offset_nanos.store(nanos, Ordering::SeqCst);
    }

    /// Takes back every [`advance`](Self::advance) and [`set`](Self::set): a fixed clock is at
    /// its instant again, a system clock at the system time.
    pub fn reset(&self) {
        self.offset_nanos.store(0, Ordering::SeqCst);
    }

    /// The fixed instant this clock started at, if it is a fixed clock.
    pub fn fixed_start(&self) -> Option<OffsetDateTime> {
        match self.base {
            Base::System => None,
            Base::Fixed(instant) => Some(instant),
        }
    }

    /// Everything [`advance`](Self::advance) has added so far.
    pub fn offset(&self) -> Duration {
        Duration::from_nanos(
            self.offset_nanos
                .load(Ordering::SeqCst)
                .max(0)
                .unsigned_abs(),
        )
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

/// `at` in milliseconds since the Unix epoch (Logto's `createdAt`, `lastSignInAt`, ...).
pub(crate) fn unix_millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// `secs` seconds after `now`, saturating at the end of representable time instead of
/// panicking (lifetimes come from the tenant; the clock from the test).
pub(crate) fn after(now: OffsetDateTime, secs: i64) -> OffsetDateTime {
    now.saturating_add(time::Duration::seconds(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn fixed_clock_stands_still_until_advanced() {
        let clock = Clock::fixed(datetime!(2026-03-01 12:00 UTC));
        assert_eq!(clock.now(), clock.now());
        clock.advance(Duration::from_millis(1500));
        assert_eq!(clock.now(), datetime!(2026-03-01 12:00:01.5 UTC));
        assert_eq!(clock.offset(), Duration::from_millis(1500));
    }

    #[test]
    fn advancing_a_clone_moves_the_original() {
        let clock = Clock::fixed(datetime!(2026-03-01 12:00 UTC));
        clock.clone().advance(Duration::from_secs(60));
        assert_eq!(clock.now(), datetime!(2026-03-01 12:01 UTC));
    }

    #[test]
    fn system_clock_can_be_advanced() {
        let clock = Clock::system();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        assert!(clock.now() - before >= time::Duration::hours(1));
    }

    #[test]
    fn fixed_clock_is_kept_in_utc() {
        let clock = Clock::fixed(datetime!(2026-03-01 12:00 +02:00));
        assert_eq!(clock.now().offset(), time::UtcOffset::UTC);
        assert_eq!(clock.now(), datetime!(2026-03-01 10:00 UTC));
    }

    #[test]
    fn set_moves_every_clone_either_way_and_reset_takes_it_back() {
        let clock = Clock::fixed(datetime!(2026-03-01 12:00 UTC));
        clock.clone().set(datetime!(2026-02-01 00:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-02-01 00:00 UTC));
        clock.set(datetime!(2027-01-01 00:00 +01:00));
        assert_eq!(clock.now(), datetime!(2026-12-31 23:00 UTC));
        clock.reset();
        assert_eq!(clock.now(), datetime!(2026-03-01 12:00 UTC));
    }

    #[test]
    fn huge_advances_saturate_instead_of_panicking() {
        let clock = Clock::fixed(datetime!(2026-03-01 12:00 UTC));
        clock.advance(Duration::MAX);
        clock.advance(Duration::MAX);
        let _ = clock.now();
    }
}
