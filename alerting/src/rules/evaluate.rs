//! The evaluator of one rule for one bed: samples in, transitions out.
//!
//! Feed it every sample of the rule's metric from one bed, in time order. Each
//! call returns a [`Step`]: the transitions the sample caused (at most two: the
//! end of a condition on one side and the start of one on the other), or why
//! the sample was skipped. The evaluator never reads a clock.

use collector::{Quality, Sample};
use firmware_adapters::Metric;

use super::condition::{Condition, ConditionState, Reading, Transition};
use super::rate::RateWindow;
use super::{Breach, Direction, LimitRule, Priority, RateRule, Rule, RuleProblem};
use crate::time::Timestamp;

/// One value of the rule's metric, as the evaluator needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observation {
    /// Measurement time.
    pub at: Timestamp,
    /// The value in the metric's canonical unit.
    pub value: f64,
    /// The sample's quality flags.
    pub quality: Quality,
}

impl From<&Sample> for Observation {
    fn from(s: &Sample) -> Self {
        Self {
            at: Timestamp::from_micros(s.time_us),
            value: s.value,
            quality: s.quality,
        }
    }
}

/// Why a sample did not move the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The device marked the value invalid: a technical condition, never a
    /// physiological alarm.
    DeviceInvalid,
    /// The value is not a finite number.
    NotANumber,
    /// The sample is older than one already evaluated.
    OutOfOrder {
        /// The time of the latest sample evaluated.
        latest: Timestamp,
    },
}

/// What one sample did.
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct Step {
    /// Transitions, in order; empty for most samples.
    pub transitions: Vec<Transition>,
    /// Set when the sample was skipped; then `transitions` is empty.
    pub skipped: Option<Skip>,
}

impl Step {
    fn skipped(skip: Skip) -> Self {
        Self {
            transitions: Vec::new(),
            skipped: Some(skip),
        }
    }
}

/// The rule together with what it remembers between samples.
#[derive(Debug, Clone)]
enum Detector {
    Limit(LimitRule),
    Rate(RateRule, RateWindow),
}

/// The state machine of one rule for one bed.
#[derive(Debug, Clone)]
pub struct Evaluator {
    detector: Detector,
    condition: Condition,
    latest: Option<Timestamp>,
}

impl Evaluator {
    /// A fresh evaluator, in the Normal state. `rule` should be validated
    /// ([`Rule::validate`]); rules from a [`RuleSet`](super::RuleSet) are.
    pub fn new(rule: Rule) -> Self {
        let condition = Condition::new(match &rule {
            Rule::Limit(r) => r.timing,
            Rule::Rate(r) => r.timing,
        });
        let detector = match rule {
            Rule::Limit(r) => Detector::Limit(r),
            Rule::Rate(r) => {
                let window = RateWindow::new(r.direction, r.window);
                Detector::Rate(r, window)
            }
        };
        Self {
            detector,
            condition,
            latest: None,
        }
    }

    /// The rule's identifier.
    pub fn id(&self) -> &str {
        match &self.detector {
            Detector::Limit(r) => &r.id,
            Detector::Rate(r, _) => &r.id,
        }
    }

    /// The metric the rule watches.
    pub fn metric(&self) -> Metric {
        match &self.detector {
            Detector::Limit(r) => r.metric,
            Detector::Rate(r, _) => r.metric,
        }
    }

    /// The priority of the alarm the rule raises.
    pub fn priority(&self) -> Priority {
        match &self.detector {
            Detector::Limit(r) => r.priority,
            Detector::Rate(r, _) => r.priority,
        }
    }

    /// The limit rule, as currently in force, when this is a limit rule.
    pub fn limit_rule(&self) -> Option<&LimitRule> {
        match &self.detector {
            Detector::Limit(r) => Some(r),
            Detector::Rate(..) => None,
        }
    }

    /// Replaces the limits of a limit rule (a clinician's per-bed or per-patient
    /// override). The condition state is kept: the next sample is judged
    /// against the new limits, so an active condition clears (through its
    /// hysteresis and off-delay) or starts as the new limits say.
    ///
    /// # Errors
    ///
    /// When this is not a limit rule, or the new limits break a rule invariant
    /// (no limit, low not below high, not finite); nothing changes then.
    pub fn set_limits(&mut self, low: Option<f64>, high: Option<f64>) -> Result<(), RuleProblem> {
        let Detector::Limit(rule) = &mut self.detector else {
            return Err(RuleProblem::NotALimitRule);
        };
        let mut changed = rule.clone();
        changed.low = low;
        changed.high = high;
        Rule::Limit(changed.clone()).validate()?;
        *rule = changed;
        Ok(())
    }

    /// Where the condition stands.
    pub fn state(&self) -> ConditionState {
        self.condition.state()
    }

    /// Evaluates one sample of the rule's metric.
    pub fn feed(&mut self, obs: Observation) -> Step {
        if let Some(skip) = self.admit(&obs) {
            return Step::skipped(skip);
        }
        let value = obs.value;
        let mut reading = Reading {
            at: obs.at,
            value,
            quality: obs.quality,
            breach: None,
        };
        let transitions = match &mut self.detector {
            Detector::Limit(rule) => {
                reading.breach = limit_breach(rule, value);
                self.condition
                    .step(&reading, |b| limit_recovered(rule, value, b))
            }
            Detector::Rate(rule, window) => {
                let change = window.push(obs.at, value);
                reading.breach = (change >= rule.by).then_some(match rule.direction {
                    Direction::Fall => Breach::Fall,
                    Direction::Rise => Breach::Rise,
                });
                let recovered = change < rule.by - rule.hysteresis;
                self.condition.step(&reading, |_| recovered)
            }
        };
        Step {
            transitions,
            skipped: None,
        }
    }

    /// Why `obs` must be skipped, if it must. In-order samples advance the
    /// latest time even when invalid, so order is judged on every sample.
    fn admit(&mut self, obs: &Observation) -> Option<Skip> {
        if let Some(latest) = self.latest.filter(|&l| obs.at < l) {
            return Some(Skip::OutOfOrder { latest });
        }
        self.latest = Some(obs.at);
        if obs.quality.contains(Quality::DEVICE_INVALID) {
            Some(Skip::DeviceInvalid)
        } else if !obs.value.is_finite() {
            Some(Skip::NotANumber)
        } else {
            None
        }
    }
}

fn limit_breach(rule: &LimitRule, value: f64) -> Option<Breach> {
    if rule.low.is_some_and(|low| value < low) {
        Some(Breach::Low)
    } else if rule.high.is_some_and(|high| value > high) {
        Some(Breach::High)
    } else {
        None
    }
}

fn limit_recovered(rule: &LimitRule, value: f64, breach: Breach) -> bool {
    match breach {
        Breach::Low => rule.low.is_none_or(|low| value >= low + rule.hysteresis),
        Breach::High => rule.high.is_none_or(|high| value <= high - rule.hysteresis),
        Breach::Fall | Breach::Rise => true,
    }
}
