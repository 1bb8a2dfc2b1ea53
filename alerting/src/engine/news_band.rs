//! Persistence for NEWS2 band alarms.
//!
//! NEWS2 was designed for observations charted every few hours. Scored on every
//! one-second sample it follows each artefact: a two-second SpO2 dip to 91 %
//! scores 3 in one parameter and would raise the low-medium band alarm, and a
//! bed near a band edge would raise and clear its band alarm many times an hour.
//! So a band alarm starts only once the score has stayed at or above that band
//! for the band's on-delay, and ends (or steps down to a lower band) only once
//! the score has stayed below the alarmed band for the off-delay. A rise to a
//! higher band is taken as soon as that band has held for its own on-delay.
//! While a band is being timed, dips below it shorter than `dip_tolerance`
//! (an artefact on one input) do not restart its clock; the alarm still starts
//! only on a score that is in the band.
//!
//! The score and its band are still published on every change without delay
//! (`patient:news2:update`); only the alarms wait. Acute, life-threatening
//! values are the limit rules' job (`spo2_desat` and the other high-priority
//! limits raise with no delay); NEWS2 alarms are about deterioration, where a
//! few minutes do not change the clinical response.

use std::time::Duration;

use crate::news2::Band;
use crate::time::Timestamp;

/// How long a NEWS2 band must hold before its alarm starts or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct News2AlarmPolicy {
    /// The low-medium and medium bands' on-delay.
    pub on_delay: Duration,
    /// The high band's on-delay (emergency response: kept short).
    pub high_on_delay: Duration,
    /// How long the score must stay below the alarmed band before that alarm
    /// ends or steps down.
    pub off_delay: Duration,
    /// Dips below a band being timed that are at most this long do not restart
    /// its on-delay.
    pub dip_tolerance: Duration,
}

impl Default for News2AlarmPolicy {
    /// Site defaults, not clinical guidance: 5 minutes for the low-medium and
    /// medium bands, 2 minutes for high, 10 minutes below a band to end it,
    /// dips of up to a minute tolerated while a band is timed.
    fn default() -> Self {
        Self {
            on_delay: Duration::from_secs(5 * 60),
            high_on_delay: Duration::from_secs(2 * 60),
            off_delay: Duration::from_secs(10 * 60),
            dip_tolerance: Duration::from_secs(60),
        }
    }
}

impl News2AlarmPolicy {
    /// No persistence: every band change moves the alarm at once.
    pub const IMMEDIATE: Self = Self {
        on_delay: Duration::ZERO,
        high_on_delay: Duration::ZERO,
        off_delay: Duration::ZERO,
        dip_tolerance: Duration::ZERO,
    };

    fn on_delay_of(&self, band: Band) -> Duration {
        if band == Band::High {
            self.high_on_delay
        } else {
            self.on_delay
        }
    }
}

/// The bands that alarm, lowest first.
const LEVELS: [Band; 3] = [Band::LowMedium, Band::Medium, Band::High];

/// The band alarm of one bed, debounced.
#[derive(Debug, Default)]
pub(super) struct BandDebounce {
    /// Per alarming band: since when the score has been at or above it, dips
    /// within the tolerance aside.
    at_or_above_since: [Option<Timestamp>; 3],
    /// Per alarming band: since when the score has been below it while timed.
    dip_since: [Option<Timestamp>; 3],
    /// Since when the score has been below the alarmed band.
    below_since: Option<Timestamp>,
    alarmed: Option<Band>,
}

impl BandDebounce {
    /// Takes the band scored at `now` and returns the band whose alarm should
    /// be active (`None`: no band alarm).
    pub(super) fn update(
        &mut self,
        raw: Band,
        now: Timestamp,
        policy: &News2AlarmPolicy,
    ) -> Option<Band> {
        let timers = self.at_or_above_since.iter_mut().zip(&mut self.dip_since);
        for (level, (since, dip)) in LEVELS.iter().zip(timers) {
            if raw >= *level {
                since.get_or_insert(now);
                *dip = None;
            } else if since.is_some() {
                let dip_start = *dip.get_or_insert(now);
                if now.saturating_since(dip_start) > policy.dip_tolerance {
                    (*since, *dip) = (None, None);
                }
            }
        }
        let qualified = LEVELS
            .iter()
            .zip(&self.at_or_above_since)
            .rev()
            .find(|(level, since)| {
                raw >= **level
                    && since.is_some_and(|t| now.saturating_since(t) >= policy.on_delay_of(**level))
            })
            .map(|(level, _)| *level);
        match self.alarmed {
            current if qualified > current => {
                self.alarmed = qualified;
                self.below_since = None;
            }
            Some(current) if raw < current => {
                let since = *self.below_since.get_or_insert(now);
                if now.saturating_since(since) >= policy.off_delay {
                    self.alarmed = qualified;
                    self.below_since = None;
                }
            }
            _ => self.below_since = None,
        }
        self.alarmed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_micros(1_700_000_000_000_000 + secs * 1_000_000)
    }

    /// Feeds `(second, band)` steps and returns the alarmed band after each.
    fn run(policy: &News2AlarmPolicy, steps: &[(i64, Band)]) -> Vec<Option<Band>> {
        let mut d = BandDebounce::default();
        steps
            .iter()
            .map(|&(s, b)| d.update(b, at(s), policy))
            .collect()
    }

    #[test]
    fn a_short_excursion_raises_nothing() {
        let p = News2AlarmPolicy::default();
        let got = run(
            &p,
            &[
                (0, Band::Low),
                (1, Band::LowMedium),
                (3, Band::Low),
                (400, Band::Low),
            ],
        );
        assert_eq!(got, [None, None, None, None]);
    }

    #[test]
    fn a_band_that_holds_its_on_delay_alarms_and_ends_after_the_off_delay() {
        let p = News2AlarmPolicy::default();
        let got = run(
            &p,
            &[
                (0, Band::Medium),
                (299, Band::Medium),
                (300, Band::Medium),
                (310, Band::Low),
                (909, Band::Low),
                (910, Band::Low),
            ],
        );
        assert_eq!(
            got,
            [
                None,
                None,
                Some(Band::Medium),
                Some(Band::Medium),
                Some(Band::Medium),
                None
            ]
        );
    }

    #[test]
    fn dips_within_the_tolerance_do_not_restart_the_on_delay() {
        let p = News2AlarmPolicy::default();
        let got = run(
            &p,
            &[
                (0, Band::Medium),
                (100, Band::Low),
                (150, Band::Medium),
                (299, Band::Low),
                (300, Band::Low),
                (301, Band::Medium),
            ],
        );
        assert_eq!(got, [None, None, None, None, None, Some(Band::Medium)]);
        // A dip longer than the tolerance restarts the clock.
        let got = run(
            &p,
            &[
                (0, Band::Medium),
                (100, Band::Low),
                (161, Band::Low),
                (162, Band::Medium),
                (400, Band::Medium),
                (462, Band::Medium),
            ],
        );
        assert_eq!(got, [None, None, None, None, None, Some(Band::Medium)]);
    }

    #[test]
    fn flapping_at_a_band_edge_keeps_one_alarm() {
        let p = News2AlarmPolicy::default();
        let mut d = BandDebounce::default();
        assert_eq!(d.update(Band::Medium, at(0), &p), None);
        assert_eq!(d.update(Band::Medium, at(300), &p), Some(Band::Medium));
        // Dips below the band shorter than the off-delay change nothing.
        for s in (301..3_000).step_by(60) {
            assert_eq!(d.update(Band::Low, at(s), &p), Some(Band::Medium), "at {s}");
            assert_eq!(d.update(Band::Medium, at(s + 30), &p), Some(Band::Medium));
        }
    }

    #[test]
    fn a_rise_to_high_takes_the_shorter_delay_and_a_fall_steps_down() {
        let p = News2AlarmPolicy::default();
        let got = run(
            &p,
            &[
                (0, Band::Medium),
                (300, Band::High),
                (419, Band::High),
                (420, Band::High),
                (430, Band::Medium),
                (1_030, Band::Medium),
            ],
        );
        assert_eq!(
            got,
            [
                None,
                Some(Band::Medium),
                Some(Band::Medium),
                Some(Band::High),
                Some(Band::High),
                Some(Band::Medium)
            ]
        );
    }

    #[test]
    fn immediate_policy_follows_every_change() {
        let got = run(
            &News2AlarmPolicy::IMMEDIATE,
            &[(0, Band::LowMedium), (1, Band::Low), (2, Band::High)],
        );
        assert_eq!(got, [Some(Band::LowMedium), None, Some(Band::High)]);
    }
}
