//! A simulated bedside monitor.
//!
//! [`BedsideSim`] produces the numerics a multi-parameter monitor would send once per
//! tick: ECG heart rate, SpO2 with pulse rate and perfusion index, respiratory rate
//! and body temperature, plus a cuff blood pressure every `nibp_every_ticks` ticks.
//! Values follow a bounded random walk around a patient baseline, so the demo ward
//! looks alive and tests get realistic but reproducible data: the same seed gives
//! the same sequence. The [`Scenario`] decides whether the patient stays stable or
//! slowly deteriorates (rising heart and respiratory rate, falling SpO2 and blood
//! pressure, rising temperature), which is what the alarm rules must catch.
//!
//! The simulator is pure: it does no I/O and reads no clock. The caller passes the
//! measurement time of each tick.

use std::time::SystemTime;

use crate::{Metric, Reading};

/// How the simulated patient evolves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// Vitals wander within normal adult ranges.
    #[default]
    Stable,
    /// Vitals drift towards sepsis-like values over about an hour of ticks.
    Deteriorating,
}

/// A deterministic pseudo-random source (xorshift64*): enough for noise, no
/// dependency, reproducible across platforms.
#[derive(Debug, Clone)]
struct Noise(u64);

impl Noise {
    fn new(seed: u64) -> Self {
        // SplitMix64 spreads neighbouring seeds apart; zero is a fixed point of
        // xorshift, so it is avoided.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)).max(1))
    }

    /// A value uniformly distributed in [-1, 1).
    fn next_signed(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        let bits = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        // 53 random bits scaled into [0, 1), then shifted to [-1, 1).
        (bits as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

/// One vital's current value with its walk parameters.
#[derive(Debug, Clone)]
struct Walk {
    value: f64,
    base: f64,
    step: f64,
    /// Drift of the baseline per tick in the deteriorating scenario.
    drift: f64,
}

impl Walk {
    const fn new(base: f64, step: f64, drift: f64) -> Self {
        Self {
            value: base,
            base,
            step,
            drift,
        }
    }

    fn advance(&mut self, noise: &mut Noise, deteriorating: bool) -> f64 {
        if deteriorating {
            self.base += self.drift;
        }
        // Mean-reverting walk: a tenth of the way back to the baseline each tick.
        self.value += (self.base - self.value) * 0.1 + self.step * noise.next_signed();
        self.value
    }
}

/// A simulated multi-parameter bedside monitor.
#[derive(Debug, Clone)]
pub struct BedsideSim {
    noise: Noise,
    scenario: Scenario,
    tick: u64,
    nibp_every_ticks: u64,
    hr: Walk,
    spo2: Walk,
    pi: Walk,
    rr: Walk,
    temp: Walk,
    sys: Walk,
    dia: Walk,
}

impl BedsideSim {
    /// A new monitor. `seed` makes patients differ; `nibp_every_ticks` is how often
    /// a cuff measurement completes (0 disables it).
    pub fn new(seed: u64, scenario: Scenario, nibp_every_ticks: u64) -> Self {
        let mut noise = Noise::new(seed);
        // Each patient gets its own baseline within normal adult values.
        let hr0 = 72.0 + 8.0 * noise.next_signed();
        let rr0 = 15.0 + 2.0 * noise.next_signed();
        Self {
            noise,
            scenario,
            tick: 0,
            nibp_every_ticks,
            hr: Walk::new(hr0, 1.5, 0.01),
            spo2: Walk::new(97.5, 0.4, -0.003),
            pi: Walk::new(3.0, 0.2, -0.0005),
            rr: Walk::new(rr0, 0.6, 0.004),
            temp: Walk::new(36.9, 0.02, 0.0006),
            sys: Walk::new(122.0, 3.0, -0.01),
            dia: Walk::new(78.0, 2.0, -0.006),
        }
    }

    /// The readings of the next tick, stamped with `at`.
    pub fn tick(&mut self, at: SystemTime) -> Vec<Reading> {
        let det = self.scenario == Scenario::Deteriorating;
        let n = &mut self.noise;
        let hr = self.hr.advance(n, det).round();
        let spo2 = self.spo2.advance(n, det).clamp(0.0, 100.0).round();
        let pi = (self.pi.advance(n, det).max(0.05) * 100.0).round() / 100.0;
        let rr = self.rr.advance(n, det).max(0.0).round();
        let temp = (self.temp.advance(n, det) * 10.0).round() / 10.0;
        let mut out = vec![
            Reading::new(Metric::HeartRate, hr).at(at),
            // The oximeter's pulse follows the ECG within a beat or two.
            Reading::new(Metric::PulseRate, (hr + n.next_signed()).round()).at(at),
            Reading::new(Metric::Spo2, spo2).at(at),
            Reading::new(Metric::PerfusionIndex, pi).at(at),
            Reading::new(Metric::RespiratoryRate, rr).at(at),
            Reading::new(Metric::BodyTemperature, temp).at(at),
        ];
        let sys = self.sys.advance(n, det);
        let dia = self.dia.advance(n, det).min(sys - 15.0);
        if self.nibp_every_ticks > 0 && self.tick % self.nibp_every_ticks == 0 {
            let map = dia + (sys - dia) / 3.0;
            out.push(Reading::new(Metric::NibpSystolic, sys.round()).at(at));
            out.push(Reading::new(Metric::NibpDiastolic, dia.round()).at(at));
            out.push(Reading::new(Metric::NibpMean, map.round()).at(at));
        }
        self.tick += 1;
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn run(seed: u64, scenario: Scenario, ticks: usize) -> Vec<Vec<Reading>> {
        let mut sim = BedsideSim::new(seed, scenario, 10);
        (0..ticks)
            .map(|i| sim.tick(UNIX_EPOCH + Duration::from_secs(i as u64)))
            .collect()
    }

    fn value(tick: &[Reading], metric: Metric) -> f64 {
        tick.iter()
            .find(|r| r.metric == metric)
            .expect("metric present")
            .value
    }

    #[test]
    fn same_seed_same_values() {
        assert_eq!(run(7, Scenario::Stable, 50), run(7, Scenario::Stable, 50));
        // Neighbouring seeds, including ones that differ only in the lowest bit,
        // give different patients.
        for (a, b) in [(7, 8), (2, 3), (0, 1)] {
            assert_ne!(
                run(a, Scenario::Stable, 50),
                run(b, Scenario::Stable, 50),
                "{a} {b}"
            );
        }
    }

    #[test]
    fn stable_patient_stays_plausible() {
        for tick in run(3, Scenario::Stable, 5_000) {
            for r in tick {
                assert!(
                    r.metric.is_plausible(r.value),
                    "{:?} = {}",
                    r.metric,
                    r.value
                );
            }
        }
    }

    #[test]
    fn cuff_pressure_comes_every_n_ticks() {
        let ticks = run(1, Scenario::Stable, 25);
        let with_nibp: Vec<usize> = (0..25)
            .filter(|&i| ticks[i].iter().any(|r| r.metric == Metric::NibpSystolic))
            .collect();
        assert_eq!(with_nibp, vec![0, 10, 20]);
        let t0 = &ticks[0];
        assert!(value(t0, Metric::NibpSystolic) > value(t0, Metric::NibpDiastolic));
    }

    #[test]
    fn deteriorating_patient_drifts_the_expected_way() {
        let ticks = run(5, Scenario::Deteriorating, 3_600);
        let (first, last) = (&ticks[0], &ticks[3_599]);
        assert!(value(last, Metric::HeartRate) > value(first, Metric::HeartRate) + 20.0);
        assert!(value(last, Metric::Spo2) < value(first, Metric::Spo2) - 5.0);
        assert!(value(last, Metric::RespiratoryRate) > value(first, Metric::RespiratoryRate));
    }

    #[test]
    fn readings_carry_the_tick_time() {
        let at = UNIX_EPOCH + Duration::from_secs(42);
        let mut sim = BedsideSim::new(1, Scenario::Stable, 0);
        assert!(sim.tick(at).iter().all(|r| r.device_time == Some(at)));
    }
}
