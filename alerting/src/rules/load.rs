//! The rule file: TOML, read strictly, and the checks every rule must pass.
//!
//! Format, version 1 (the shipped `rules/default.toml` is a full example):
//!
//! ```toml
//! version = 1
//!
//! [[limit]]
//! id = "spo2_low"          # unique; names the alarm
//! metric = "spo2"          # a stored metric name
//! priority = "medium"      # low | medium | high
//! low = 90.0               # breach strictly below; `high` likewise; one or both
//! hysteresis = 1.0         # recovered at >= low + 1.0 (<= high - 1.0)
//! on_delay_ms = 15000
//! off_delay_ms = 5000
//!
//! [[rate]]
//! id = "spo2_fall"
//! metric = "spo2"
//! priority = "medium"
//! direction = "fall"       # fall | rise
//! by = 5.0                 # change in the metric's unit (SpO2: points)
//! window_ms = 60000
//! hysteresis = 1.0         # recovered once the change is below by - 1.0
//! on_delay_ms = 0
//! off_delay_ms = 5000
//! ```
//!
//! Values are in the metric's canonical unit; durations carry `_ms`. Every key
//! but `low` and `high` is required and unknown keys are errors, so a typo fails
//! at load instead of silently falling back to a default. The version is checked
//! before anything else, so a newer file is reported as such and not as a list
//! of unknown keys.

use std::time::Duration;

use firmware_adapters::Metric;
use serde::Deserialize;

use super::{Direction, LimitRule, Priority, RateRule, Rule, Timing, MAX_WINDOW};

/// The rule file version this gateway reads.
pub const RULES_FILE_VERSION: u32 = 1;

/// A rule file or rule set could not be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RulesError {
    /// Not TOML, or not the structure of a rule file.
    #[error("not a valid rule file: {0}")]
    Parse(#[from] toml::de::Error),
    /// A version this gateway does not read.
    #[error("rule file version {found} is not supported (expected {RULES_FILE_VERSION})")]
    Version {
        /// The file's version.
        found: u32,
    },
    /// A rule breaks an invariant.
    #[error("rule `{id}`: {problem}")]
    Invalid {
        /// The rule.
        id: String,
        /// What is wrong with it.
        problem: RuleProblem,
    },
    /// Two rules share an identifier.
    #[error("rule id `{id}` is used more than once")]
    DuplicateId {
        /// The identifier.
        id: String,
    },
}

/// What is wrong with one rule.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleProblem {
    /// The identifier is empty or blank.
    #[error("the id is empty")]
    EmptyId,
    /// A limit rule without limits.
    #[error("a limit rule needs `low`, `high` or both")]
    NoLimit,
    /// A number is NaN or infinite.
    #[error("`{key}` is not a finite number")]
    NotFinite {
        /// The key.
        key: &'static str,
    },
    /// Negative hysteresis.
    #[error("`hysteresis` must not be negative")]
    NegativeHysteresis,
    /// The limits are inverted or closer than the hysteresis.
    #[error("`low` ({low}) must be below `high` ({high}) by more than `hysteresis`")]
    LimitsTooClose {
        /// The low limit.
        low: f64,
        /// The high limit.
        high: f64,
    },
    /// The change of a rate rule is not above zero and above its hysteresis.
    #[error("`by` must be above zero and above `hysteresis`")]
    ChangeTooSmall,
    /// The window of a rate rule is zero or too long.
    #[error("`window_ms` must be above 0 and at most {max:?}")]
    WindowOutOfRange {
        /// The longest window.
        max: Duration,
    },
    /// A delay is longer than allowed.
    #[error("delays may be at most {max:?}")]
    DelayTooLong {
        /// The longest delay.
        max: Duration,
    },
    /// A high-priority rule has an on-delay.
    #[error("a high-priority rule must not be delayed: `on_delay_ms` must be 0")]
    HighPriorityDelayed,
    /// An episodic metric has a delay.
    #[error("`{metric}` is episodic, a delay would wait a whole cycle: delays must be 0")]
    EpisodicDelayed {
        /// The metric.
        metric: Metric,
    },
    /// Limits were set on a rule that has none (a rate rule).
    #[error("only a limit rule has limits to override")]
    NotALimitRule,
}

#[derive(Debug, Deserialize)]
struct Header {
    version: u32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    /// Checked from the [`Header`] before this is read.
    #[serde(rename = "version")]
    _version: u32,
    #[serde(default)]
    limit: Vec<LimitSpec>,
    #[serde(default)]
    rate: Vec<RateSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitSpec {
    id: String,
    metric: Metric,
    priority: Priority,
    low: Option<f64>,
    high: Option<f64>,
    hysteresis: f64,
    on_delay_ms: u64,
    off_delay_ms: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateSpec {
    id: String,
    metric: Metric,
    priority: Priority,
    direction: Direction,
    by: f64,
    window_ms: u64,
    hysteresis: f64,
    on_delay_ms: u64,
    off_delay_ms: u64,
}

/// Parses a rule file into rules, limits first, each in file order. Validation
/// is [`RuleSet::new`](super::RuleSet::new)'s.
pub(super) fn parse(text: &str) -> Result<Vec<Rule>, RulesError> {
    let Header { version } = toml::from_str(text)?;
    if version != RULES_FILE_VERSION {
        return Err(RulesError::Version { found: version });
    }
    let file: RulesFile = toml::from_str(text)?;
    let limits = file.limit.into_iter().map(|s| Rule::Limit(s.into()));
    let rates = file.rate.into_iter().map(|s| Rule::Rate(s.into()));
    Ok(limits.chain(rates).collect())
}

fn timing(on_delay_ms: u64, off_delay_ms: u64) -> Timing {
    Timing {
        on_delay: Duration::from_millis(on_delay_ms),
        off_delay: Duration::from_millis(off_delay_ms),
    }
}

impl From<LimitSpec> for LimitRule {
    fn from(s: LimitSpec) -> Self {
        Self {
            id: s.id.into(),
            metric: s.metric,
            priority: s.priority,
            low: s.low,
            high: s.high,
            hysteresis: s.hysteresis,
            timing: timing(s.on_delay_ms, s.off_delay_ms),
        }
    }
}

impl From<RateSpec> for RateRule {
    fn from(s: RateSpec) -> Self {
        Self {
            id: s.id.into(),
            metric: s.metric,
            priority: s.priority,
            direction: s.direction,
            by: s.by,
            window: Duration::from_millis(s.window_ms),
            hysteresis: s.hysteresis,
            timing: timing(s.on_delay_ms, s.off_delay_ms),
        }
    }
}

fn finite(key: &'static str, value: f64) -> Result<f64, RuleProblem> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(RuleProblem::NotFinite { key })
    }
}

fn hysteresis(value: f64) -> Result<f64, RuleProblem> {
    match finite("hysteresis", value)? {
        h if h < 0.0 => Err(RuleProblem::NegativeHysteresis),
        h => Ok(h),
    }
}

pub(super) fn check_limit(r: &LimitRule) -> Result<(), RuleProblem> {
    let h = hysteresis(r.hysteresis)?;
    let low = r.low.map(|v| finite("low", v)).transpose()?;
    let high = r.high.map(|v| finite("high", v)).transpose()?;
    match (low, high) {
        (None, None) => Err(RuleProblem::NoLimit),
        (Some(low), Some(high)) if high - low <= h => {
            Err(RuleProblem::LimitsTooClose { low, high })
        }
        _ => Ok(()),
    }
}

pub(super) fn check_rate(r: &RateRule) -> Result<(), RuleProblem> {
    let h = hysteresis(r.hysteresis)?;
    if finite("by", r.by)? <= h {
        return Err(RuleProblem::ChangeTooSmall);
    }
    if r.window.is_zero() || r.window > MAX_WINDOW {
        return Err(RuleProblem::WindowOutOfRange { max: MAX_WINDOW });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::RuleSet;
    use super::*;

    const SPO2_LOW: &str = r#"
        version = 1
        [[limit]]
        id = "spo2_low"
        metric = "spo2"
        priority = "medium"
        low = 90.0
        hysteresis = 1.0
        on_delay_ms = 15000
        off_delay_ms = 5000
    "#;

    fn invalid(text: &str) -> RuleProblem {
        match RuleSet::from_toml(text) {
            Err(RulesError::Invalid { problem, .. }) => problem,
            other => panic!("expected an invalid rule, got {other:?}"),
        }
    }

    #[test]
    fn shipped_default_has_spo2_low_and_a_separate_high_priority_desat_limit() {
        let set = RuleSet::shipped_default();
        let spo2_lows: Vec<_> = set
            .for_metric(Metric::Spo2)
            .filter_map(|r| match r {
                Rule::Limit(l) => l.low.map(|low| (low, l.priority, l.timing.on_delay)),
                Rule::Rate(_) => None,
            })
            .collect();
        assert_eq!(
            spo2_lows,
            [
                (90.0, Priority::Medium, Duration::from_secs(15)),
                (80.0, Priority::High, Duration::ZERO)
            ]
        );
    }

    #[test]
    fn shipped_default_covers_the_monitored_vitals() {
        let set = RuleSet::shipped_default();
        for metric in [
            Metric::HeartRate,
            Metric::PulseRate,
            Metric::NibpSystolic,
            Metric::NibpDiastolic,
            Metric::NibpMean,
            Metric::RespiratoryRate,
            Metric::BodyTemperature,
            Metric::EtCo2,
        ] {
            assert!(set.for_metric(metric).count() > 0, "{metric}");
        }
        let hr = set.get("heart_rate").expect("heart rate rule");
        let Rule::Limit(hr) = hr else {
            panic!("heart_rate is a limit rule")
        };
        assert_eq!((hr.low, hr.high), (Some(50.0), Some(120.0)));
    }

    #[test]
    fn rate_rule_parses_with_its_window() {
        let text = r#"
            version = 1
            [[rate]]
            id = "spo2_fall"
            metric = "spo2"
            priority = "medium"
            direction = "fall"
            by = 5.0
            window_ms = 60000
            hysteresis = 1.0
            on_delay_ms = 0
            off_delay_ms = 5000
        "#;
        let set = RuleSet::from_toml(text).unwrap();
        let Some(Rule::Rate(rate)) = set.get("spo2_fall") else {
            panic!("rate rule missing: {set:?}")
        };
        assert_eq!(rate.window, Duration::from_secs(60));
        assert_eq!(rate.direction, Direction::Fall);
        assert_eq!(rate.by, 5.0);
    }

    #[test]
    fn unknown_key_is_an_error_not_ignored() {
        let text = SPO2_LOW.replace("on_delay_ms", "ondelay_ms");
        let err = RuleSet::from_toml(&text).unwrap_err();
        assert!(matches!(err, RulesError::Parse(_)), "{err:?}");
        assert!(err.to_string().contains("ondelay_ms"), "{err}");
    }

    #[test]
    fn missing_delay_is_an_error_not_a_default() {
        let text = SPO2_LOW.replace("off_delay_ms = 5000", "");
        let err = RuleSet::from_toml(&text).unwrap_err();
        assert!(err.to_string().contains("off_delay_ms"), "{err}");
    }

    #[test]
    fn newer_file_version_is_reported_as_such() {
        let text = SPO2_LOW.replace("version = 1", "version = 2\nnew_key = true");
        let err = RuleSet::from_toml(&text).unwrap_err();
        assert_eq!(err, RulesError::Version { found: 2 });
    }

    #[test]
    fn high_priority_rule_with_on_delay_is_refused() {
        let text = SPO2_LOW.replace("\"medium\"", "\"high\"");
        assert_eq!(invalid(&text), RuleProblem::HighPriorityDelayed);
    }

    #[test]
    fn episodic_metric_with_a_delay_is_refused() {
        let text = SPO2_LOW.replace("\"spo2\"", "\"nibp_systolic\"");
        let metric = Metric::NibpSystolic;
        assert_eq!(invalid(&text), RuleProblem::EpisodicDelayed { metric });
    }

    #[test]
    fn limits_closer_than_hysteresis_are_refused() {
        let text = SPO2_LOW.replace("low = 90.0", "low = 90.0\nhigh = 91.0");
        let problem = RuleProblem::LimitsTooClose {
            low: 90.0,
            high: 91.0,
        };
        assert_eq!(invalid(&text), problem);
        let text = SPO2_LOW.replace("low = 90.0", "low = 90.0\nhigh = 91.5");
        assert!(RuleSet::from_toml(&text).is_ok());
    }

    #[test]
    fn limit_rule_without_limits_is_refused() {
        let text = SPO2_LOW.replace("low = 90.0", "");
        assert_eq!(invalid(&text), RuleProblem::NoLimit);
    }

    #[test]
    fn delay_over_a_minute_is_refused() {
        let text = SPO2_LOW.replace("15000", "60001");
        let max = Duration::from_secs(60);
        assert_eq!(invalid(&text), RuleProblem::DelayTooLong { max });
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let body = SPO2_LOW.replace("version = 1", "");
        let text = format!("{SPO2_LOW}\n{body}");
        let err = RuleSet::from_toml(&text).unwrap_err();
        let id = "spo2_low".to_owned();
        assert_eq!(err, RulesError::DuplicateId { id });
    }
}
