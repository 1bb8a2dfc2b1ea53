//! One bed: its rule evaluators, its NEWS2 inputs and its sensor state.
//!
//! A bed turns samples into [`Change`]s (conditions that start or clear, a new
//! NEWS2 view); the engine applies them to the alarm table. Keeping the bed
//! free of the table lets it be borrowed mutably while the engine publishes.

use std::collections::BTreeMap;
use std::sync::Arc;

use collector::{Quality, Sample};
use firmware_adapters::Metric;

use super::news::BedNews;
use super::{Engine, EngineConfig, Meta};
use crate::lifecycle::AlarmKey;
use crate::notice::{AlarmClass, LiveEvent, News2View};
use crate::rules::{Breach, Evaluator, Observation, Priority, Transition};
use crate::time::Timestamp;

/// What a bed asks the engine to do.
#[derive(Debug)]
pub(super) enum Change {
    Start {
        rule: Arc<str>,
        priority: Priority,
        meta: Meta,
        at: Timestamp,
    },
    Clear {
        rule: Arc<str>,
        at: Timestamp,
    },
    News2(News2View),
}

#[derive(Debug)]
pub(super) struct Bed {
    pub(super) evaluators: Vec<Evaluator>,
    pub(super) news: BedNews,
    /// Per metric: the time of the first device-invalid sample of a run of them,
    /// and whether that run raised its alarm.
    invalid: BTreeMap<Metric, (Timestamp, bool)>,
    /// Gateway time of the latest sample.
    pub(super) last_sample: Option<Timestamp>,
}

impl Bed {
    pub(super) fn new(rules: &crate::rules::RuleSet) -> Self {
        Self {
            evaluators: rules.rules().iter().cloned().map(Evaluator::new).collect(),
            news: BedNews::default(),
            invalid: BTreeMap::new(),
            last_sample: None,
        }
    }

    pub(super) fn feed(&mut self, s: &Sample, now: Timestamp, cfg: &EngineConfig) -> Vec<Change> {
        self.last_sample = Some(now);
        let mut out = Vec::new();
        let obs = Observation::from(s);
        for ev in self
            .evaluators
            .iter_mut()
            .filter(|e| e.metric() == s.metric)
        {
            for t in ev.feed(obs).transitions {
                out.push(transition_change(ev, &t, s.metric));
            }
        }
        self.sensor(s, cfg, &mut out);
        if !s.quality.contains(Quality::DEVICE_INVALID) && self.news.observe(s) {
            out.extend(self.news.rescore(&s.origin.bed_id, now, cfg));
        }
        out
    }

    /// Re-scores NEWS2 at `now`, so inputs that went stale show as such.
    pub(super) fn rescore(
        &mut self,
        bed: &Arc<str>,
        now: Timestamp,
        cfg: &EngineConfig,
    ) -> Vec<Change> {
        self.news.rescore(bed, now, cfg)
    }

    /// Device-invalid runs: a technical alarm once a run lasts long enough,
    /// cleared by the next valid sample of the metric.
    fn sensor(&mut self, s: &Sample, cfg: &EngineConfig, out: &mut Vec<Change>) {
        let at = Timestamp::from_micros(s.time_us);
        let rule: Arc<str> = format!("sensor_invalid:{}", s.metric.name()).into();
        if !s.quality.contains(Quality::DEVICE_INVALID) {
            if let Some((_, raised)) = self.invalid.remove(&s.metric) {
                if raised {
                    out.push(Change::Clear { rule, at });
                }
            }
            return;
        }
        let (since, raised) = self.invalid.entry(s.metric).or_insert((at, false));
        if !*raised && at.saturating_since(*since) >= cfg.technical.sensor_invalid_after {
            *raised = true;
            out.push(Change::Start {
                rule,
                priority: Priority::Medium,
                meta: Meta {
                    class: AlarmClass::Technical,
                    metric: Some(s.metric.name()),
                    value: None,
                    message: format!(
                        "{} reports no valid {} (sensor off or invalid data)",
                        s.origin.device_id,
                        s.metric.name()
                    )
                    .into(),
                },
                at: *since,
            });
        }
    }
}

fn transition_change(ev: &Evaluator, t: &Transition, metric: Metric) -> Change {
    let rule: Arc<str> = ev.id().into();
    match *t {
        Transition::Started {
            breach, at, value, ..
        } => Change::Start {
            rule,
            priority: ev.priority(),
            meta: Meta {
                class: AlarmClass::Physiological,
                metric: Some(metric.name()),
                value: Some(value),
                message: limit_message(ev, breach, metric, value).into(),
            },
            at,
        },
        Transition::Cleared { at, .. } => Change::Clear { rule, at },
    }
}

fn limit_message(ev: &Evaluator, breach: Breach, metric: Metric, value: f64) -> String {
    let unit = metric.canonical_unit();
    let limits = ev.limit_rule();
    match breach {
        Breach::Low => format!(
            "{} {value} {unit} below {}",
            metric.name(),
            limits.and_then(|r| r.low).unwrap_or(f64::NAN)
        ),
        Breach::High => format!(
            "{} {value} {unit} above {}",
            metric.name(),
            limits.and_then(|r| r.high).unwrap_or(f64::NAN)
        ),
        Breach::Fall => format!("{} fell to {value} {unit}", metric.name()),
        Breach::Rise => format!("{} rose to {value} {unit}", metric.name()),
    }
}

impl Engine {
    pub(super) fn apply_bed_outcome(
        &mut self,
        bed: &Arc<str>,
        changes: Vec<Change>,
        now: Timestamp,
    ) {
        for change in changes {
            match change {
                Change::Start {
                    rule,
                    priority,
                    meta,
                    at,
                } => {
                    let key = AlarmKey {
                        bed: Arc::clone(bed),
                        rule,
                    };
                    self.start(key, priority, meta, at, now);
                }
                Change::Clear { rule, at } => {
                    let key = AlarmKey {
                        bed: Arc::clone(bed),
                        rule,
                    };
                    self.clear(&key, at, now);
                }
                Change::News2(view) => self.out.push(LiveEvent::News2(view)),
            }
        }
    }
}
