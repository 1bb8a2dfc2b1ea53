//! Bounded exponential backoff for reconnecting to devices and databases.
//!
//! The delay starts at `initial`, doubles after each failure up to `max`, and
//! returns to `initial` after a success. Pure: the caller sleeps.
//!
//! Limitation: there is no jitter, so gateways that lose the same database at the
//! same moment retry in step; with one gateway per ward that is a handful of
//! connections, not a stampede.

use std::time::Duration;

/// The settings were inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("backoff initial delay {initial:?} must be non-zero and at most the maximum {max:?}")]
pub struct InvalidBackoff {
    /// The initial delay given.
    pub initial: Duration,
    /// The maximum delay given.
    pub max: Duration,
}

/// Bounded exponential backoff state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
    attempt: u32,
}

impl Backoff {
    /// A backoff from `initial` doubling up to `max`.
    ///
    /// # Errors
    ///
    /// When `initial` is zero or greater than `max`.
    pub fn new(initial: Duration, max: Duration) -> Result<Self, InvalidBackoff> {
        if initial.is_zero() || initial > max {
            return Err(InvalidBackoff { initial, max });
        }
        Ok(Self {
            initial,
            max,
            next: initial,
            attempt: 0,
        })
    }

    /// The delay to wait after one more failure.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        self.attempt += 1;
        delay
    }

    /// Failures since the last success.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Forgets past failures after a success.
    pub fn reset(&mut self) {
        self.next = self.initial;
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn doubles_up_to_the_maximum_then_resets() {
        let mut b = Backoff::new(ms(100), ms(1000)).unwrap();
        let delays: Vec<_> = (0..6).map(|_| b.next_delay()).collect();
        assert_eq!(
            delays,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert_eq!(b.attempt(), 6);
        b.reset();
        assert_eq!((b.next_delay(), b.attempt()), (ms(100), 1));
    }

    #[test]
    fn rejects_inconsistent_settings() {
        assert!(Backoff::new(Duration::ZERO, ms(10)).is_err());
        assert!(Backoff::new(ms(20), ms(10)).is_err());
    }

    #[test]
    fn never_exceeds_the_maximum_however_long_it_fails() {
        let mut b = Backoff::new(ms(1), ms(30_000)).unwrap();
        for _ in 0..10_000 {
            assert!(b.next_delay() <= ms(30_000));
        }
    }
}
