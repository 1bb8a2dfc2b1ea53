//! Evaluator behaviour, with explicit sample times.

use std::time::Duration;

use collector::Quality;
use firmware_adapters::Metric;

use super::*;
use crate::time::Timestamp;

fn t(s: i64) -> Timestamp {
    Timestamp::from_millis(s * 1_000)
}

fn obs(s: i64, value: f64) -> Observation {
    Observation {
        at: t(s),
        value,
        quality: Quality::empty(),
    }
}

fn flagged(s: i64, value: f64, quality: Quality) -> Observation {
    Observation {
        at: t(s),
        value,
        quality,
    }
}

fn timing(on_s: u64, off_s: u64) -> Timing {
    Timing {
        on_delay: Duration::from_secs(on_s),
        off_delay: Duration::from_secs(off_s),
    }
}

/// SpO2 below 90, hysteresis 1, medium priority.
fn spo2_low(on_s: u64, off_s: u64) -> Evaluator {
    Evaluator::new(Rule::Limit(LimitRule {
        id: "spo2_low".into(),
        metric: Metric::Spo2,
        priority: Priority::Medium,
        low: Some(90.0),
        high: None,
        hysteresis: 1.0,
        timing: timing(on_s, off_s),
    }))
}

/// Heart rate outside 50 to 120, hysteresis 2.
fn heart_rate(on_s: u64) -> Evaluator {
    Evaluator::new(Rule::Limit(LimitRule {
        id: "heart_rate".into(),
        metric: Metric::HeartRate,
        priority: Priority::Medium,
        low: Some(50.0),
        high: Some(120.0),
        hysteresis: 2.0,
        timing: timing(on_s, 0),
    }))
}

/// SpO2 falling by 5 points within 60 s, hysteresis 1, no delays.
fn spo2_fall() -> Evaluator {
    Evaluator::new(Rule::Rate(RateRule {
        id: "spo2_fall".into(),
        metric: Metric::Spo2,
        priority: Priority::Medium,
        direction: Direction::Fall,
        by: 5.0,
        window: Duration::from_secs(60),
        hysteresis: 1.0,
        timing: Timing::default(),
    }))
}

fn started(breach: Breach, since: i64, at: i64, value: f64) -> Transition {
    Transition::Started {
        breach,
        since: t(since),
        at: t(at),
        value,
        quality: Quality::empty(),
    }
}

fn cleared(breach: Breach, at: i64, value: f64) -> Transition {
    Transition::Cleared {
        breach,
        at: t(at),
        value,
    }
}

/// Feeds `values` one second apart from `from` and returns every transition.
fn run(ev: &mut Evaluator, from: i64, values: &[f64]) -> Vec<Transition> {
    (from..)
        .zip(values)
        .flat_map(|(s, &v)| ev.feed(obs(s, v)).transitions)
        .collect()
}

#[test]
fn zero_on_delay_raises_on_the_first_breaching_sample() {
    let mut ev = spo2_low(0, 0);
    let step = ev.feed(obs(7, 89.0));
    assert_eq!(step.transitions, [started(Breach::Low, 7, 7, 89.0)]);
    assert_eq!(step.skipped, None);
}

#[test]
fn value_exactly_at_the_limit_does_not_breach() {
    let mut ev = spo2_low(0, 0);
    assert!(ev.feed(obs(0, 90.0)).transitions.is_empty());
    assert_eq!(ev.state(), ConditionState::Normal);
}

#[test]
fn on_delay_raises_only_once_the_breach_held_that_long() {
    let mut ev = spo2_low(15, 0);
    assert!(run(&mut ev, 0, &[89.0; 15]).is_empty());
    let pending = ConditionState::Pending {
        breach: Breach::Low,
        since: t(0),
    };
    assert_eq!(ev.state(), pending);
    let step = ev.feed(obs(15, 88.0));
    assert_eq!(step.transitions, [started(Breach::Low, 0, 15, 88.0)]);
}

#[test]
fn breach_that_ends_within_the_on_delay_raises_nothing_and_restarts_the_delay() {
    let mut ev = spo2_low(15, 0);
    assert!(run(&mut ev, 0, &[89.0; 11]).is_empty());
    assert!(ev.feed(obs(11, 90.0)).transitions.is_empty());
    assert_eq!(ev.state(), ConditionState::Normal);
    assert!(run(&mut ev, 12, &[89.0; 15]).is_empty());
    let step = ev.feed(obs(27, 89.0));
    assert_eq!(step.transitions, [started(Breach::Low, 12, 27, 89.0)]);
}

#[test]
fn hysteresis_holds_the_condition_until_the_value_clears_by_the_margin() {
    let mut ev = spo2_low(0, 0);
    let _ = ev.feed(obs(0, 88.0));
    assert!(ev.feed(obs(1, 90.0)).transitions.is_empty());
    assert!(ev.feed(obs(2, 90.9)).transitions.is_empty());
    let step = ev.feed(obs(3, 91.0));
    assert_eq!(step.transitions, [cleared(Breach::Low, 3, 91.0)]);
}

#[test]
fn high_limit_recovers_at_the_limit_minus_hysteresis() {
    let mut ev = heart_rate(0);
    let _ = ev.feed(obs(0, 121.0));
    assert!(ev.feed(obs(1, 118.5)).transitions.is_empty());
    let step = ev.feed(obs(2, 118.0));
    assert_eq!(step.transitions, [cleared(Breach::High, 2, 118.0)]);
}

#[test]
fn off_delay_clears_only_once_the_recovery_held_that_long() {
    let mut ev = spo2_low(0, 5);
    let _ = ev.feed(obs(0, 85.0));
    assert!(run(&mut ev, 20, &[92.0; 5]).is_empty());
    let clearing = ConditionState::Clearing {
        breach: Breach::Low,
        since: t(0),
        recovering_since: t(20),
    };
    assert_eq!(ev.state(), clearing);
    let step = ev.feed(obs(25, 93.0));
    assert_eq!(step.transitions, [cleared(Breach::Low, 25, 93.0)]);
}

#[test]
fn value_back_in_the_hysteresis_band_restarts_the_off_delay() {
    let mut ev = spo2_low(0, 5);
    let _ = ev.feed(obs(0, 85.0));
    assert!(run(&mut ev, 20, &[92.0, 92.0, 90.5, 92.0, 92.0]).is_empty());
    let clearing = ConditionState::Clearing {
        breach: Breach::Low,
        since: t(0),
        recovering_since: t(23),
    };
    assert_eq!(ev.state(), clearing, "the recovery restarted at 23 s");
    assert!(run(&mut ev, 25, &[92.0; 3]).is_empty());
    let step = ev.feed(obs(28, 92.0));
    assert_eq!(step.transitions, [cleared(Breach::Low, 28, 92.0)]);
}

#[test]
fn device_invalid_value_never_raises_a_physiological_alarm() {
    let mut ev = spo2_low(0, 0);
    let step = ev.feed(flagged(0, 40.0, Quality::DEVICE_INVALID));
    assert!(step.transitions.is_empty());
    assert_eq!(step.skipped, Some(Skip::DeviceInvalid));
    assert_eq!(ev.state(), ConditionState::Normal);
}

#[test]
fn device_invalid_value_neither_confirms_nor_clears_a_condition() {
    let mut ev = spo2_low(10, 0);
    let _ = ev.feed(obs(0, 85.0));
    let invalid = flagged(12, 85.0, Quality::DEVICE_INVALID);
    assert!(ev.feed(invalid).transitions.is_empty(), "no confirmation");
    let _ = ev.feed(obs(13, 85.0));
    let invalid = flagged(14, 97.0, Quality::DEVICE_INVALID);
    assert!(ev.feed(invalid).transitions.is_empty(), "no clear");
    assert!(matches!(ev.state(), ConditionState::Active { .. }));
}

#[test]
fn questionable_value_raises_and_carries_its_flags() {
    let mut ev = spo2_low(0, 0);
    let step = ev.feed(flagged(3, 70.0, Quality::QUESTIONABLE));
    let Some(Transition::Started { quality, .. }) = step.transitions.first() else {
        panic!("expected a start: {step:?}")
    };
    assert!(quality.contains(Quality::QUESTIONABLE));
}

#[test]
fn sample_older_than_the_latest_is_skipped() {
    let mut ev = spo2_low(0, 0);
    let _ = ev.feed(obs(10, 97.0));
    let step = ev.feed(obs(9, 70.0));
    assert_eq!(step.skipped, Some(Skip::OutOfOrder { latest: t(10) }));
    assert_eq!(ev.state(), ConditionState::Normal);
}

#[test]
fn value_that_is_not_a_number_is_skipped() {
    let mut ev = spo2_low(0, 0);
    let step = ev.feed(obs(0, f64::NAN));
    assert_eq!(step.skipped, Some(Skip::NotANumber));
}

#[test]
fn jump_from_below_low_to_above_high_clears_one_side_and_starts_the_other() {
    let mut ev = heart_rate(0);
    let _ = ev.feed(obs(0, 40.0));
    let step = ev.feed(obs(1, 130.0));
    assert_eq!(
        step.transitions,
        [
            cleared(Breach::Low, 1, 130.0),
            started(Breach::High, 1, 1, 130.0)
        ]
    );
}

#[test]
fn jump_to_the_other_side_waits_its_own_on_delay() {
    let mut ev = heart_rate(10);
    assert_eq!(run(&mut ev, 0, &[40.0; 11]).len(), 1);
    let step = ev.feed(obs(11, 130.0));
    assert_eq!(step.transitions, [cleared(Breach::Low, 11, 130.0)]);
    let pending = ConditionState::Pending {
        breach: Breach::High,
        since: t(11),
    };
    assert_eq!(ev.state(), pending);
}

#[test]
fn rate_rule_raises_on_a_fall_within_the_window_and_clears_when_it_leaves() {
    let mut ev = spo2_fall();
    assert!(ev.feed(obs(0, 97.0)).transitions.is_empty());
    assert!(ev.feed(obs(10, 95.0)).transitions.is_empty());
    let step = ev.feed(obs(20, 92.0));
    assert_eq!(step.transitions, [started(Breach::Fall, 20, 20, 92.0)]);
    assert!(
        ev.feed(obs(60, 92.0)).transitions.is_empty(),
        "97 still in window"
    );
    let step = ev.feed(obs(61, 92.0));
    assert_eq!(step.transitions, [cleared(Breach::Fall, 61, 92.0)]);
}

#[test]
fn slow_fall_spread_beyond_the_window_does_not_raise() {
    let mut ev = spo2_fall();
    for (i, value) in [97.0, 96.0, 95.0, 94.0, 93.0, 92.0, 91.0]
        .iter()
        .enumerate()
    {
        let s = 20 * i64::try_from(i).unwrap();
        assert!(ev.feed(obs(s, *value)).transitions.is_empty(), "{s}");
    }
}

#[test]
fn rate_window_ignores_device_invalid_values() {
    let mut ev = spo2_fall();
    let _ = ev.feed(obs(0, 97.0));
    let _ = ev.feed(flagged(5, 100.0, Quality::DEVICE_INVALID));
    assert!(ev.feed(obs(10, 95.0)).transitions.is_empty());
}

#[test]
fn rise_rule_raises_on_a_rise() {
    let mut ev = Evaluator::new(Rule::Rate(RateRule {
        id: "etco2_rise".into(),
        metric: Metric::EtCo2,
        priority: Priority::Low,
        direction: Direction::Rise,
        by: 10.0,
        window: Duration::from_secs(30),
        hysteresis: 2.0,
        timing: Timing::default(),
    }));
    assert!(run(&mut ev, 0, &[38.0, 35.0, 40.0]).is_empty());
    let step = ev.feed(obs(3, 45.0));
    assert_eq!(step.transitions, [started(Breach::Rise, 3, 3, 45.0)]);
    assert_eq!(ev.priority(), Priority::Low);
}

#[test]
fn shipped_desat_raises_at_once_while_spo2_low_waits_its_delay() {
    let set = RuleSet::shipped_default();
    let mut low = Evaluator::new(set.get("spo2_low").unwrap().clone());
    let mut desat = Evaluator::new(set.get("spo2_desat").unwrap().clone());
    assert_eq!((low.id(), desat.id()), ("spo2_low", "spo2_desat"));
    assert_eq!(desat.priority(), Priority::High);
    let step = desat.feed(obs(0, 78.0));
    assert_eq!(step.transitions, [started(Breach::Low, 0, 0, 78.0)]);
    assert!(run(&mut low, 0, &[78.0; 15]).is_empty());
    assert_eq!(run(&mut low, 15, &[78.0]).len(), 1);
}

#[test]
fn observation_takes_time_value_and_quality_from_a_sample() {
    let sample = collector::Sample {
        time_us: 1_700_000_000_000_123,
        received_us: 1_700_000_000_500_000,
        origin: collector::Origin::new("site", "bed-1", "mon-1"),
        metric: Metric::Spo2,
        value: 88.0,
        quality: Quality::QUESTIONABLE,
    };
    let o = Observation::from(&sample);
    assert_eq!(o.at, Timestamp::from_micros(1_700_000_000_000_123));
    assert_eq!((o.value, o.quality), (88.0, Quality::QUESTIONABLE));
}

#[test]
fn limit_override_takes_effect_on_the_next_sample_and_keeps_state() {
    let mut ev = spo2_low(0, 0);
    assert_eq!(run(&mut ev, 0, &[88.0]), [started(Breach::Low, 0, 0, 88.0)]);
    // A clinician lowers the limit to 85: 88 is now normal, the condition clears.
    ev.set_limits(Some(85.0), None).unwrap();
    assert_eq!(run(&mut ev, 1, &[88.0]), [cleared(Breach::Low, 1, 88.0)]);
    assert_eq!(ev.limit_rule().and_then(|r| r.low), Some(85.0));
}

#[test]
fn invalid_limit_override_is_refused_and_changes_nothing() {
    let mut ev = heart_rate(0);
    let err = ev.set_limits(Some(130.0), Some(100.0)).unwrap_err();
    assert!(matches!(err, RuleProblem::LimitsTooClose { .. }));
    assert_eq!(ev.set_limits(None, None), Err(RuleProblem::NoLimit));
    let rule = ev.limit_rule().unwrap();
    assert_eq!((rule.low, rule.high), (Some(50.0), Some(120.0)));
    let mut rate = spo2_fall();
    assert_eq!(
        rate.set_limits(Some(1.0), None),
        Err(RuleProblem::NotALimitRule)
    );
}
