//! The sliding window of a rate-of-change rule.
//!
//! The window answers one question per sample: how far has the value moved in
//! the watched direction from the extreme value seen within the window (the
//! highest for a fall, the lowest for a rise), the new sample included. It keeps
//! a monotonic queue, so each sample is added and removed once and the queue
//! never holds more than the samples of one window.
//!
//! Invariants: the returned change is never negative; a sample exactly `window`
//! old still counts; only valid samples are pushed (the evaluator skips the
//! rest).

use std::collections::VecDeque;
use std::time::Duration;

use super::Direction;
use crate::time::Timestamp;

#[derive(Debug, Clone)]
pub(crate) struct RateWindow {
    window: Duration,
    /// +1 for a fall, -1 for a rise: the queue tracks the maximum of
    /// `sign * value`, so one algorithm serves both directions.
    sign: f64,
    /// Candidates for the maximum, oldest first, values strictly decreasing.
    peaks: VecDeque<(Timestamp, f64)>,
}

impl RateWindow {
    pub(crate) fn new(direction: Direction, window: Duration) -> Self {
        let sign = match direction {
            Direction::Fall => 1.0,
            Direction::Rise => -1.0,
        };
        Self {
            window,
            sign,
            peaks: VecDeque::new(),
        }
    }

    /// Adds a sample (not older than the last one) and returns how far it has
    /// moved from the window's extreme in the watched direction.
    pub(crate) fn push(&mut self, at: Timestamp, value: f64) -> f64 {
        let x = self.sign * value;
        while let Some(&(t, _)) = self.peaks.front() {
            if at.saturating_since(t) <= self.window {
                break;
            }
            self.peaks.pop_front();
        }
        while self.peaks.back().is_some_and(|&(_, y)| y <= x) {
            self.peaks.pop_back();
        }
        self.peaks.push_back((at, x));
        self.peaks.front().map_or(0.0, |&(_, peak)| peak - x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_millis(s * 1_000)
    }

    #[test]
    fn fall_is_measured_from_the_highest_value_in_the_window() {
        let mut w = RateWindow::new(Direction::Fall, Duration::from_secs(60));
        assert_eq!(w.push(t(0), 96.0), 0.0);
        assert_eq!(w.push(t(10), 98.0), 0.0);
        assert_eq!(w.push(t(20), 95.0), 3.0);
        assert_eq!(w.push(t(30), 92.0), 6.0);
        // At 70 s the 98 from 10 s is exactly 60 s old and still counts.
        assert_eq!(w.push(t(70), 93.0), 5.0);
        // At 71 s it has left; the highest left is the 95 from 20 s.
        assert_eq!(w.push(t(71), 93.0), 2.0);
    }

    #[test]
    fn rise_is_measured_from_the_lowest_value_in_the_window() {
        let mut w = RateWindow::new(Direction::Rise, Duration::from_secs(30));
        assert_eq!(w.push(t(0), 80.0), 0.0);
        assert_eq!(w.push(t(5), 75.0), 0.0);
        assert_eq!(w.push(t(10), 100.0), 25.0);
        assert_eq!(w.push(t(40), 101.0), 1.0);
    }

    #[test]
    fn queue_stays_within_one_window_of_samples() {
        let mut w = RateWindow::new(Direction::Fall, Duration::from_secs(10));
        for s in 0..1_000 {
            // A saw tooth keeps many candidates alive within one window.
            let value = if s % 2 == 0 {
                100.0 - (s % 20) as f64
            } else {
                50.0
            };
            w.push(t(s), value);
            assert!(w.peaks.len() <= 11, "{} at {s}", w.peaks.len());
        }
    }
}
