//! Alarm rules per metric, and their evaluation per (bed, rule).
//!
//! A [`LimitRule`] breaches when a value is strictly below its low limit or
//! strictly above its high limit. A [`RateRule`] breaches when a value has
//! fallen (or risen) by at least a set amount from the highest (lowest) value
//! within a time window. Each rule has a [`Priority`] and a [`Timing`].
//!
//! # States of one (bed, rule) condition
//!
//! ```text
//! Normal --breach--> Pending --breach held for on_delay, emits Started--> Active
//!   ^                   |                                                |   ^
//!   +----no breach------+                                      recovered |   | not
//!   |                                                                    v   | recovered
//!   +<--------recovery held for off_delay, emits Cleared------------- Clearing
//! ```
//!
//! With a zero on-delay a breach goes straight to Active; with a zero off-delay
//! a recovery clears at once. A breach of the *other* side (a low alarm while the
//! value jumps above the high limit) clears the current condition at once and
//! starts the new one like a fresh breach.
//!
//! # Invariants
//!
//! - Only valid samples move the state. A sample flagged
//!   [`Quality::DEVICE_INVALID`](collector::Quality::DEVICE_INVALID), or whose
//!   value is not a number, changes nothing and is reported as skipped: it is a
//!   technical condition, not evidence about the patient, so it neither raises,
//!   confirms nor clears a physiological alarm. Questionable and implausible
//!   values are evaluated (an artefact and a dying patient can look alike); the
//!   transition carries their quality flags.
//! - Timers run on sample time and only advance when a sample arrives: the
//!   condition must be *seen* to hold (or to have recovered) for the delay.
//!   Samples older than the last one seen are skipped.
//! - Recovery needs the value back inside the limit by the hysteresis margin
//!   (`value >= low + hysteresis`, `value <= high - hysteresis`); breach and
//!   recovery can never both hold for one value.
//! - Validated rules ([`Rule::validate`], which the loader runs) have a zero
//!   on-delay when high priority (life-threatening conditions are not
//!   delayed) and zero delays on episodic metrics (a delay would wait a whole
//!   cuff cycle); delays are at most [`MAX_DELAY`].

mod condition;
mod evaluate;
mod load;
mod rate;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use firmware_adapters::{Metric, Sampling};
use serde::{Deserialize, Serialize};

pub use condition::{ConditionState, Transition};
pub use evaluate::{Evaluator, Observation, Skip, Step};
pub use load::{RuleProblem, RulesError, RULES_FILE_VERSION};

/// The longest on-delay or off-delay a rule may have. Evidence supports 10 to
/// 20 s for non-lethal alarms (research B.5); a minute is a generous bound.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// The longest rate-of-change window, which bounds the samples a rate rule keeps.
pub const MAX_WINDOW: Duration = Duration::from_secs(600);

/// Alarm priority, as IEC 60601-1-8 allocates it (research B.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Minor discomfort, or harm with delayed onset.
    Low,
    /// Reversible injury with prompt onset, or worse with delayed onset.
    Medium,
    /// Death or irreversible injury with immediate or prompt onset. Latches.
    High,
}

impl Priority {
    /// The lowercase name used in files, events and the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// Which way a condition is out of bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Breach {
    /// Below the low limit.
    Low,
    /// Above the high limit.
    High,
    /// Fell by at least the rule's amount within its window.
    Fall,
    /// Rose by at least the rule's amount within its window.
    Rise,
}

/// The direction a rate rule watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// A fall from the highest value in the window.
    Fall,
    /// A rise from the lowest value in the window.
    Rise,
}

/// How long a breach must hold before it raises, and a recovery before it clears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timing {
    /// The breach must be seen for this long before the condition starts.
    pub on_delay: Duration,
    /// The recovery must be seen for this long before the condition clears.
    pub off_delay: Duration,
}

/// Low and/or high limits on one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitRule {
    /// Unique within a rule set; names the alarm.
    pub id: Arc<str>,
    /// The metric whose samples are evaluated.
    pub metric: Metric,
    /// Priority of the alarm the rule raises.
    pub priority: Priority,
    /// A value strictly below this breaches.
    pub low: Option<f64>,
    /// A value strictly above this breaches.
    pub high: Option<f64>,
    /// How far back inside a limit a value must come to count as recovered.
    pub hysteresis: f64,
    /// On-delay and off-delay.
    pub timing: Timing,
}

/// A fall or rise of a metric within a time window.
#[derive(Debug, Clone, PartialEq)]
pub struct RateRule {
    /// Unique within a rule set; names the alarm.
    pub id: Arc<str>,
    /// The metric whose samples are evaluated.
    pub metric: Metric,
    /// Priority of the alarm the rule raises.
    pub priority: Priority,
    /// Fall or rise.
    pub direction: Direction,
    /// The change, in the metric's canonical unit (percentage points for SpO2),
    /// that breaches.
    pub by: f64,
    /// How far back the change is measured.
    pub window: Duration,
    /// The change must drop below `by - hysteresis` to count as recovered.
    pub hysteresis: f64,
    /// On-delay and off-delay.
    pub timing: Timing,
}

/// One alarm rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// Limits.
    Limit(LimitRule),
    /// Rate of change.
    Rate(RateRule),
}

impl Rule {
    /// The rule's identifier.
    pub fn id(&self) -> &Arc<str> {
        match self {
            Self::Limit(r) => &r.id,
            Self::Rate(r) => &r.id,
        }
    }

    /// The metric the rule watches.
    pub fn metric(&self) -> Metric {
        match self {
            Self::Limit(r) => r.metric,
            Self::Rate(r) => r.metric,
        }
    }

    /// The priority of the alarm the rule raises.
    pub fn priority(&self) -> Priority {
        match self {
            Self::Limit(r) => r.priority,
            Self::Rate(r) => r.priority,
        }
    }

    fn timing(&self) -> Timing {
        match self {
            Self::Limit(r) => r.timing,
            Self::Rate(r) => r.timing,
        }
    }

    /// Checks the invariants in the module documentation.
    ///
    /// # Errors
    ///
    /// The first problem found.
    pub fn validate(&self) -> Result<(), RuleProblem> {
        if self.id().trim().is_empty() {
            return Err(RuleProblem::EmptyId);
        }
        match self {
            Self::Limit(r) => load::check_limit(r)?,
            Self::Rate(r) => load::check_rate(r)?,
        }
        self.check_timing()
    }

    fn check_timing(&self) -> Result<(), RuleProblem> {
        let Timing {
            on_delay,
            off_delay,
        } = self.timing();
        if on_delay.max(off_delay) > MAX_DELAY {
            return Err(RuleProblem::DelayTooLong { max: MAX_DELAY });
        }
        if self.priority() == Priority::High && !on_delay.is_zero() {
            return Err(RuleProblem::HighPriorityDelayed);
        }
        let episodic = self.metric().sampling() == Sampling::Episodic;
        if episodic && !(on_delay.is_zero() && off_delay.is_zero()) {
            return Err(RuleProblem::EpisodicDelayed {
                metric: self.metric(),
            });
        }
        Ok(())
    }
}

/// A validated set of rules with unique identifiers.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

/// The shipped default rule set.
const DEFAULT_RULES: &str = include_str!("../../rules/default.toml");

impl RuleSet {
    /// Validates `rules` and checks that their identifiers are unique.
    ///
    /// # Errors
    ///
    /// The first invalid rule, or the first identifier used twice.
    pub fn new(rules: Vec<Rule>) -> Result<Self, RulesError> {
        for (i, rule) in rules.iter().enumerate() {
            rule.validate().map_err(|problem| RulesError::Invalid {
                id: rule.id().to_string(),
                problem,
            })?;
            if rules[..i].iter().any(|r| r.id() == rule.id()) {
                return Err(RulesError::DuplicateId {
                    id: rule.id().to_string(),
                });
            }
        }
        Ok(Self { rules })
    }

    /// Parses and validates a rule file (see `rules/default.toml` for the format).
    ///
    /// # Errors
    ///
    /// When the text is not a valid rule file, with the reason.
    pub fn from_toml(text: &str) -> Result<Self, RulesError> {
        load::parse(text).and_then(Self::new)
    }

    /// The default adult rule set shipped in `rules/default.toml`.
    pub fn shipped_default() -> Self {
        Self::from_toml(DEFAULT_RULES).expect("the shipped rule file is tested to be valid")
    }

    /// Every rule, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with this identifier.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| &**r.id() == id)
    }

    /// The rules that watch `metric`.
    pub fn for_metric(&self, metric: Metric) -> impl Iterator<Item = &Rule> + '_ {
        self.rules.iter().filter(move |r| r.metric() == metric)
    }
}
