//! Ward replay: the generated recording ([`gen`]) through the pure engine,
//! with the shipped settings or with every delay and hysteresis set to zero
//! (limit and rate rules, and the NEWS2 band persistence).
//! Shared by `tests/ward_replay.rs` and `benches/ward_replay.rs`.
//!
//! The engine runs on replay time: each second's samples arrive at their own
//! sample time and the engine ticks once per second. A simulated nurse
//! acknowledges every alarm still unacknowledged a minute after it was raised,
//! so latched high-priority alarms do not stay open for the rest of the day.
//! Only `alarm_raised` events (a new alarm or a new occurrence) are counted;
//! an alarm whose condition returns while it is still open is not a new one.

pub(crate) mod gen;

use std::collections::BTreeMap;
use std::time::Duration;

use alerting::engine::{Engine, EngineConfig, News2AlarmPolicy, SystemStatus};
use alerting::notice::LiveEvent;
use alerting::rules::{Rule, RuleSet, Timing};
use alerting::{AlarmState, Priority, StaffId, Timestamp};

pub(crate) use gen::{script, Event, BEDS};

/// How long the simulated nurse takes to acknowledge.
const ACK_AFTER: Duration = Duration::from_secs(60);

/// What a replay runs the engine with.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    rules: RuleSet,
    news2_alarms: News2AlarmPolicy,
}

/// The shipped rules and NEWS2 band persistence.
pub(crate) fn shipped() -> Setup {
    Setup {
        rules: RuleSet::shipped_default(),
        news2_alarms: News2AlarmPolicy::default(),
    }
}

/// The shipped rules with on-delays, off-delays and hysteresis all zero, and
/// NEWS2 band alarms that follow every band change.
pub(crate) fn zero_delay() -> Setup {
    Setup {
        rules: zero_delay_rules(),
        news2_alarms: News2AlarmPolicy::IMMEDIATE,
    }
}

fn zero_delay_rules() -> RuleSet {
    let rules = RuleSet::shipped_default()
        .rules()
        .iter()
        .cloned()
        .map(|rule| match rule {
            Rule::Limit(mut r) => {
                r.timing = Timing::default();
                r.hysteresis = 0.0;
                Rule::Limit(r)
            }
            Rule::Rate(mut r) => {
                r.timing = Timing::default();
                r.hysteresis = 0.0;
                Rule::Rate(r)
            }
        })
        .collect();
    RuleSet::new(rules).expect("zero delays and hysteresis are valid")
}

/// What one replay produced.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Alarms raised, by priority (low, medium, high).
    pub(crate) by_priority: [u64; 3],
    /// Alarms raised, by rule (technical rules without their suffix).
    pub(crate) by_rule: BTreeMap<String, u64>,
    /// Per scripted event, in script order: the delay from its start to the
    /// first alarm of one of its rules on its bed while it lasted.
    pub(crate) detected: Vec<Option<Duration>>,
    /// Samples fed to the engine.
    pub(crate) samples: u64,
}

impl Outcome {
    pub(crate) fn total(&self) -> u64 {
        self.by_priority.iter().sum()
    }
}

/// Replays `secs` seconds of the ward generated from `seed` through an engine
/// set up with `setup`.
pub(crate) fn replay(setup: Setup, secs: u32, seed: u64) -> Outcome {
    let events = script(secs);
    let mut ward = gen::Ward::new(seed, events.clone());
    let mut cfg = EngineConfig::new("ward", "replay");
    cfg.rules = setup.rules;
    cfg.news2_alarms = setup.news2_alarms;
    let start = Timestamp::from_micros(gen::START_US);
    let mut engine = Engine::new(cfg, start);
    let nurse = StaffId::from("nurse");
    let mut out = Outcome {
        detected: vec![None; events.len()],
        ..Outcome::default()
    };
    for t in 0..secs {
        let now = start + Duration::from_secs(u64::from(t));
        let batch = ward.second(t);
        out.samples += batch.len() as u64;
        engine.on_batch(&batch, now);
        engine.tick(now, SystemStatus::default());
        acknowledge_old(&mut engine, &nurse, now);
        for ev in engine.take_events() {
            record(&mut out, &ev, &events, &ward, start);
        }
    }
    out
}

fn acknowledge_old(engine: &mut Engine, nurse: &StaffId, now: Timestamp) {
    let due: Vec<_> = engine
        .table()
        .open()
        .filter(|a| a.state() == AlarmState::ActiveUnacknowledged)
        .filter(|a| a.raised_at() + ACK_AFTER <= now)
        .map(|a| a.key().clone())
        .collect();
    for key in due {
        engine
            .acknowledge(&key, nurse, now)
            .expect("an open unacknowledged alarm can be acknowledged");
    }
}

fn record(out: &mut Outcome, ev: &LiveEvent, events: &[Event], ward: &gen::Ward, start: Timestamp) {
    let (n, raised) = match ev {
        LiveEvent::AlarmRaised(n) => (n, true),
        LiveEvent::AlarmUpdated(n) if n.change == "condition_returned" => (n, false),
        _ => return,
    };
    detect(out, n, events, ward, start);
    if !raised {
        return;
    }
    let index = match n.priority {
        Priority::Low => 0,
        Priority::Medium => 1,
        Priority::High => 2,
    };
    out.by_priority[index] += 1;
    let rule = n.rule.split(':').next().unwrap_or_default().to_owned();
    *out.by_rule.entry(rule).or_default() += 1;
}

fn detect(
    out: &mut Outcome,
    n: &alerting::notice::AlarmNotice,
    events: &[Event],
    ward: &gen::Ward,
    start: Timestamp,
) {
    let at_s = (n.at_us - start.as_micros()) / 1_000_000;
    for (i, e) in events.iter().enumerate() {
        let window = i64::from(e.start_s)..i64::from(e.start_s + e.dur_s.max(60));
        let hit =
            *ward.bed_id(e.bed) == n.bed && e.rules.contains(&&*n.rule) && window.contains(&at_s);
        if hit && out.detected[i].is_none() {
            let us = n.at_us - start.as_micros() - i64::from(e.start_s) * 1_000_000;
            out.detected[i] = Some(Duration::from_micros(u64::try_from(us).unwrap_or(0)));
        }
    }
}
