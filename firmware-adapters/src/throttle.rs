//! Rate limiting of repeated log events, per device.
//!
//! A sensor that sends garbage every second must not write 86,400 warnings a day.
//! [`Throttle::allow`] lets the first event through, then at most one per
//! interval, reporting how many were suppressed in between. Pure: the caller
//! passes the time.

use std::time::Duration;

use tokio::time::Instant;

/// Lets one event through per interval.
#[derive(Debug, Clone)]
pub struct Throttle {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl Throttle {
    /// At most one event per `every`.
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(suppressed)` when this event should be logged (with how many were
    /// held back since the last one), `None` when it should be counted silently.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.duration_since(last) < self.every => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_event_passes_then_one_per_interval_with_the_suppressed_count() {
        let t0 = Instant::now();
        let mut t = Throttle::new(Duration::from_secs(60));
        assert_eq!(t.allow(t0), Some(0));
        for s in 1..60 {
            assert_eq!(t.allow(t0 + Duration::from_secs(s)), None);
        }
        assert_eq!(t.allow(t0 + Duration::from_secs(60)), Some(59));
        assert_eq!(t.allow(t0 + Duration::from_secs(61)), None);
    }
}
