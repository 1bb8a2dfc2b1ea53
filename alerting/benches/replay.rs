//! Replay of a generated 24-hour, 12-bed ward through the alarm engine, with
//! the shipped rules and with the same limits but no on-delays, off-delays or
//! hysteresis, in one run.
//!
//! ```text
//! cargo bench -p alerting --bench replay
//! ```
//!
//! The recording (deterministic, seeded): per bed one sample a second of heart
//! rate, pulse rate, SpO2 and respiratory rate with random-walk baselines and
//! measurement noise, plus artefacts: motion dips of SpO2 (3 to 12 s, down to
//! 84 to 89 %), heart-rate spikes from movement (2 to 8 s, 125 to 150/min),
//! short sensor-off runs (device-invalid values). Scripted true events, each
//! lasting minutes: desaturation to 86 %, tachycardia 135/min, bradycardia
//! 42/min, tachypnoea 34/min. The run prints physiological alarms raised by
//! each configuration and fails (exit code 1) if any scripted event did not
//! raise its alarm, with either configuration, while it lasted.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use alerting::engine::{Engine, EngineConfig, SystemStatus};
use alerting::notice::{AlarmClass, LiveEvent};
use alerting::rules::{LimitRule, Rule, RuleSet, Timing};
use alerting::Timestamp;
use collector::{Origin, Quality, Sample};
use firmware_adapters::Metric;

const BEDS: usize = 12;
const SECONDS: i64 = 24 * 3_600;
const T0_S: i64 = 1_767_225_600;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn noise(&mut self, sd: f64) -> f64 {
        (self.unit() + self.unit() + self.unit() - 1.5) * 2.0 * sd
    }
}

/// A scripted true event: metric forced to `value` from `start` for `len` s.
#[derive(Debug, Clone)]
#[expect(
    dead_code,
    reason = "metric and value are read through Debug when an event is missed"
)]
struct TrueEvent {
    bed: usize,
    metric: Metric,
    value: f64,
    start: i64,
    len: i64,
    rule: &'static str,
}

/// A temporary override of one metric of one bed.
#[derive(Debug, Clone, Copy)]
struct Episode {
    metric: Metric,
    value: f64,
    start: i64,
    end: i64,
    invalid: bool,
}

fn script(rng: &mut Rng) -> (Vec<TrueEvent>, Vec<Vec<Episode>>) {
    let mut truth = Vec::new();
    let mut episodes = vec![Vec::new(); BEDS];
    let kinds = [
        (Metric::Spo2, 86.0, "spo2_low"),
        (Metric::HeartRate, 135.0, "heart_rate"),
        (Metric::HeartRate, 42.0, "heart_rate"),
        (Metric::RespiratoryRate, 34.0, "respiratory_rate"),
    ];
    for (bed, eps) in episodes.iter_mut().enumerate() {
        // Two true events per bed, well apart.
        for k in 0..2 {
            let (metric, value, rule) = kinds[(bed + k) % kinds.len()];
            let start = 3_600 + k as i64 * 36_000 + (rng.range(0.0, 20_000.0) as i64);
            let len = rng.range(120.0, 600.0) as i64;
            truth.push(TrueEvent {
                bed,
                metric,
                value,
                start,
                len,
                rule,
            });
            eps.push(Episode {
                metric,
                value,
                start,
                end: start + len,
                invalid: false,
            });
        }
        // Artefacts: about 6 an hour of each kind.
        for _ in 0..(6 * 24) {
            let start = rng.range(0.0, SECONDS as f64) as i64;
            let len = rng.range(3.0, 12.0) as i64;
            eps.push(Episode {
                metric: Metric::Spo2,
                value: rng.range(84.0, 89.0),
                start,
                end: start + len,
                invalid: false,
            });
            let start = rng.range(0.0, SECONDS as f64) as i64;
            let len = rng.range(2.0, 8.0) as i64;
            eps.push(Episode {
                metric: Metric::HeartRate,
                value: rng.range(125.0, 150.0),
                start,
                end: start + len,
                invalid: false,
            });
        }
        for _ in 0..24 {
            let start = rng.range(0.0, SECONDS as f64) as i64;
            let len = rng.range(2.0, 30.0) as i64;
            eps.push(Episode {
                metric: Metric::Spo2,
                value: 0.0,
                start,
                end: start + len,
                invalid: true,
            });
        }
    }
    (truth, episodes)
}

/// The shipped rules with every delay and hysteresis removed.
fn undelayed() -> RuleSet {
    let rules = RuleSet::shipped_default()
        .rules()
        .iter()
        .map(|r| match r {
            Rule::Limit(l) => Rule::Limit(LimitRule {
                hysteresis: 0.0,
                timing: Timing::default(),
                ..l.clone()
            }),
            Rule::Rate(r) => Rule::Rate(r.clone()),
        })
        .collect();
    RuleSet::new(rules).expect("the shipped rules stay valid without delays")
}

struct Outcome {
    raised: usize,
    by_rule: std::collections::BTreeMap<String, usize>,
    missed: Vec<TrueEvent>,
}

fn replay(rules: RuleSet, truth: &[TrueEvent], episodes: &[Vec<Episode>], seed: u64) -> Outcome {
    let mut cfg = EngineConfig::new("site", "replay");
    cfg.rules = rules;
    cfg.technical.default_silence_timeout = Duration::from_secs(3_600);
    let t = |s: i64| Timestamp::from_micros((T0_S + s) * 1_000_000);
    let mut engine = Engine::new(cfg, t(0));
    let mut rng = Rng(seed);
    let origins: Vec<Origin> = (0..BEDS)
        .map(|b| Origin::new("site", &format!("bed-{b}"), &format!("mon-{b}")))
        .collect();
    let mut base = vec![[75.0, 97.0, 16.0]; BEDS];
    // Raised (true) and resolved (false) per (bed, rule) with time, to match
    // against the truth.
    let mut log: Vec<(Arc<str>, Arc<str>, i64, bool)> = Vec::new();
    let mut out = Outcome {
        raised: 0,
        by_rule: Default::default(),
        missed: Vec::new(),
    };
    for s in 0..SECONDS {
        let mut batch = Vec::with_capacity(BEDS * 4);
        for (b, origin) in origins.iter().enumerate() {
            let walk = &mut base[b];
            walk[0] = (walk[0] + rng.noise(0.2)).clamp(60.0, 95.0);
            walk[1] = (walk[1] + rng.noise(0.05)).clamp(94.0, 99.5);
            walk[2] = (walk[2] + rng.noise(0.05)).clamp(12.0, 22.0);
            let hr = walk[0] + rng.noise(2.0);
            let values = [
                (Metric::HeartRate, hr),
                (Metric::PulseRate, hr + rng.noise(1.0)),
                (Metric::Spo2, (walk[1] + rng.noise(0.7)).min(100.0)),
                (Metric::RespiratoryRate, walk[2] + rng.noise(1.0)),
            ];
            for (metric, mut value) in values {
                let mut quality = Quality::empty();
                for e in episodes[b]
                    .iter()
                    .filter(|e| e.metric == metric && (e.start..e.end).contains(&s))
                {
                    value = e.value + if e.invalid { 0.0 } else { rng.noise(0.5) };
                    if e.invalid {
                        quality = Quality::DEVICE_INVALID;
                    }
                }
                let us = t(s).as_micros();
                batch.push(Sample {
                    time_us: us,
                    received_us: us,
                    origin: origin.clone(),
                    metric,
                    value,
                    quality,
                });
            }
        }
        engine.on_batch(&batch, t(s));
        if s % 5 == 0 {
            engine.tick(t(s), SystemStatus::default());
        }
        for ev in engine.take_events() {
            if let LiveEvent::AlarmRaised(n) = &ev {
                if n.class == AlarmClass::Physiological {
                    out.raised += 1;
                    *out.by_rule.entry(n.rule.to_string()).or_default() += 1;
                    log.push((Arc::clone(&n.bed), Arc::clone(&n.rule), s, true));
                }
            }
            if let LiveEvent::AlarmResolved(n) = &ev {
                log.push((Arc::clone(&n.bed), Arc::clone(&n.rule), s, false));
            }
            // Staff acknowledge every alarm at once, so a later breach of
            // the same rule can raise a new occurrence.
            if let Some(n) = ev.alarm() {
                if n.change == "raised" {
                    let key = alerting::AlarmKey::new(&n.bed, &n.rule);
                    let _ = engine.acknowledge(&key, &alerting::StaffId::from("nurse"), t(s));
                }
            }
        }
    }
    for e in truth {
        let bed = format!("bed-{}", e.bed);
        let mine = || {
            log.iter()
                .filter(|(b, r, ..)| **b == *bed && &**r == e.rule)
        };
        let during = e.start..e.start + e.len;
        let raised_during = mine().any(|(_, _, at, up)| *up && during.contains(at));
        // An alarm raised by an artefact just before the event and still
        // open when it starts covers it too.
        let open_at_start = mine()
            .rfind(|(_, _, at, _)| *at < e.start)
            .is_some_and(|x| x.3);
        if !(raised_during || open_at_start) {
            out.missed.push(e.clone());
        }
    }
    let _ = engine.take_events();
    out
}

#[expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
fn main() -> ExitCode {
    let mut rng = Rng(0x5EED_CAFE);
    let (truth, episodes) = script(&mut rng);
    let shipped = replay(RuleSet::shipped_default(), &truth, &episodes, 42);
    let bare = replay(undelayed(), &truth, &episodes, 42);
    println!(
        "ward replay: {BEDS} beds x 24 h, 1 Hz, {} scripted true events",
        truth.len()
    );
    for (name, o) in [
        ("no delays, no hysteresis", &bare),
        ("shipped (delays + hysteresis)", &shipped),
    ] {
        println!(
            "{name:<32} {:>6} physiological alarms  {:?}",
            o.raised, o.by_rule
        );
    }
    println!(
        "reduction                        {:.1} % fewer alarms with delays and hysteresis",
        100.0 * (1.0 - shipped.raised as f64 / bare.raised.max(1) as f64)
    );
    println!(
        "missed true events: shipped {}, no delays {}",
        shipped.missed.len(),
        bare.missed.len()
    );
    if shipped.missed.is_empty() && bare.missed.is_empty() {
        ExitCode::SUCCESS
    } else {
        for e in shipped.missed.iter().chain(&bare.missed) {
            println!("MISSED {e:?}");
        }
        ExitCode::FAILURE
    }
}
