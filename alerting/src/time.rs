//! Time as the caller gives it.
//!
//! Nothing in this crate reads a clock. Every function whose result depends on
//! time takes a [`Timestamp`]: for rule evaluation the sample's measurement time,
//! for acknowledgements, audio pauses and escalation the time the runtime saw the
//! action. Tests pass literal times; a replay of a log gives the same results.
//!
//! Invariants: arithmetic saturates instead of overflowing or panicking, and the
//! time between two timestamps is never negative (an earlier "now" gives zero).

use std::ops::Add;
use std::time::Duration;

/// A point in time: microseconds since the Unix epoch (UTC), the scale of
/// `collector::Sample::time_us`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The time `us` microseconds after the Unix epoch.
    pub const fn from_micros(us: i64) -> Self {
        Self(us)
    }

    /// The time `ms` milliseconds after the Unix epoch (saturating).
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms.saturating_mul(1_000))
    }

    /// Microseconds since the Unix epoch.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// Time elapsed from `earlier` to `self`; zero when `earlier` is later.
    pub fn saturating_since(self, earlier: Self) -> Duration {
        let us = self.0.saturating_sub(earlier.0);
        Duration::from_micros(u64::try_from(us).unwrap_or(0))
    }
}

impl Add<Duration> for Timestamp {
    type Output = Self;

    /// `self` moved `d` later, saturating at the end of the representable range.
    fn add(self, d: Duration) -> Self {
        let us = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(us))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_time_is_never_negative() {
        let early = Timestamp::from_millis(1_000);
        let late = Timestamp::from_millis(3_500);
        assert_eq!(late.saturating_since(early), Duration::from_millis(2_500));
        assert_eq!(early.saturating_since(late), Duration::ZERO);
    }

    #[test]
    fn adding_a_huge_duration_saturates() {
        let t = Timestamp::from_millis(1) + Duration::MAX;
        assert_eq!(t.as_micros(), i64::MAX);
        assert_eq!(
            Timestamp::from_millis(1) + Duration::from_millis(2),
            Timestamp::from_micros(3_000)
        );
    }
}
