//! The alarm engine: every bed's rules, NEWS2, technical conditions, the alarm
//! table and escalation, driven by samples, ticks and staff actions.
//!
//! The engine is synchronous and reads no clock: each call takes `now` (the
//! gateway's time when the input arrived) and samples carry their own
//! measurement time. Rule conditions run on sample time (as the rules module
//! says); escalation deadlines, audio pauses and technical time-outs run on
//! `now`. Outputs are [`LiveEvent`]s collected until [`Engine::take_events`];
//! the runtime ([`crate::runtime`]) owns the clock, the channels and the I/O.
//!
//! # Alarm identifiers
//!
//! | rule id | class | priority | condition |
//! |---|---|---|---|
//! | a rule file id | physiological | the rule's | the rule's limit or rate |
//! | `news2_low_medium`, `news2_medium`, `news2_high` | NEWS2 | low, medium, high | the bed's NEWS2 band |
//! | `device_silent:{device}` | technical | medium | no sample for the profile's silence time |
//! | `sensor_invalid:{metric}` | technical | medium | only device-invalid values for `sensor_invalid_after` |
//! | `unmonitored` | technical | medium | an admitted bed without samples for `unmonitored_after` |
//! | `spool_filling` (bed `_gateway`) | technical | medium | spool at or above its alarm level |
//! | `database_unreachable` (bed `_gateway`) | technical | medium | database down for `database_down_after` |
//! | `webhook_unreachable:{name}` (bed `_gateway`) | technical | medium | a webhook endpoint gave up on a delivery |
//! | `device:{device}:{code}` | device | the device's | relayed as reported |
//!
//! # Invariants
//!
//! - One alarm per bed and rule id, as the [`AlarmTable`] keeps it.
//! - Every alarm change produces exactly one alarm event, in the order the
//!   table and the escalation returned them.
//! - Escalation starts when an alarm of at least `escalate_from` priority is
//!   raised and a path is configured; acknowledging or resolving the alarm
//!   cancels it; exhaustion emits `emergency:broadcast`.
//! - Errors of staff actions change nothing.

mod actions;
mod bed;
mod news;
mod news_band;
mod technical;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use collector::Sample;

pub use actions::{ActionError, LimitOverride, ManualObservation, OverrideScope};
pub use news_band::News2AlarmPolicy;
pub use technical::{SystemStatus, TechnicalConfig, WatchedDevice};

use crate::lifecycle::{
    Actor, AlarmEvent, AlarmKey, AlarmState, AlarmTable, Escalation, EscalationEvent,
    EscalationEventKind, EscalationPath, EventKind, LifecyclePolicy,
};
use crate::news2::News2Config;
use crate::notice::{AlarmClass, AlarmNotice, EscalationNote, LiveEvent, VitalValue, VitalsUpdate};
use crate::rules::{Priority, RuleSet};
use crate::time::Timestamp;

use bed::Bed;

/// The bed identifier of alarms about the gateway itself.
pub const GATEWAY_BED: &str = "_gateway";

/// Everything the engine is told at start.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The site every alarm belongs to.
    pub tenant: Arc<str>,
    /// Prefix of event identifiers; unique per process start (for example the
    /// start time in microseconds), so identifiers never repeat across restarts.
    pub boot_id: String,
    /// The physiological rules.
    pub rules: RuleSet,
    /// Audio-pause bound.
    pub lifecycle: LifecyclePolicy,
    /// NEWS2 input ages.
    pub news2: News2Config,
    /// How long a NEWS2 band must persist before its alarm starts or ends.
    pub news2_alarms: News2AlarmPolicy,
    /// Who is offered an alarm, in order; `None` disables escalation.
    pub escalation: Option<EscalationPath>,
    /// The lowest priority that is escalated.
    pub escalate_from: Priority,
    /// Technical alarm settings.
    pub technical: TechnicalConfig,
}

impl EngineConfig {
    /// A configuration with the shipped rules and default settings.
    pub fn new(tenant: &str, boot_id: &str) -> Self {
        Self {
            tenant: tenant.into(),
            boot_id: boot_id.to_owned(),
            rules: RuleSet::shipped_default(),
            lifecycle: LifecyclePolicy::default(),
            news2: News2Config::default(),
            news2_alarms: News2AlarmPolicy::default(),
            escalation: None,
            escalate_from: Priority::Medium,
            technical: TechnicalConfig::default(),
        }
    }
}

/// What an alarm is about, beyond its key.
#[derive(Debug, Clone)]
struct Meta {
    class: AlarmClass,
    metric: Option<&'static str>,
    value: Option<f64>,
    message: Arc<str>,
}

/// The alarm engine of one gateway.
#[derive(Debug)]
pub struct Engine {
    cfg: EngineConfig,
    table: AlarmTable,
    meta: BTreeMap<AlarmKey, Meta>,
    escalations: BTreeMap<AlarmKey, Escalation>,
    beds: BTreeMap<Arc<str>, Bed>,
    tech: technical::State,
    overrides: actions::Overrides,
    seq: u64,
    out: Vec<LiveEvent>,
}

impl Engine {
    /// An engine with no alarms; watched devices count as seen at `now`.
    pub fn new(cfg: EngineConfig, now: Timestamp) -> Self {
        let tech = technical::State::new(&cfg.technical, now);
        Self {
            table: AlarmTable::new(cfg.lifecycle.clone()),
            cfg,
            meta: BTreeMap::new(),
            escalations: BTreeMap::new(),
            beds: BTreeMap::new(),
            tech,
            overrides: actions::Overrides::default(),
            seq: 0,
            out: Vec::new(),
        }
    }

    /// The events produced since the last call, in order, each alarm and
    /// audit event with its own identifier.
    pub fn take_events(&mut self) -> Vec<LiveEvent> {
        let mut out = std::mem::take(&mut self.out);
        for ev in &mut out {
            let id = match ev {
                LiveEvent::AlarmRaised(n)
                | LiveEvent::AlarmUpdated(n)
                | LiveEvent::AlarmResolved(n)
                | LiveEvent::Emergency(n) => &mut n.event_id,
                LiveEvent::LimitsChanged(a) | LiveEvent::Observation(a) => &mut a.event_id,
                LiveEvent::Vitals(_) | LiveEvent::News2(_) => continue,
            };
            self.seq += 1;
            *id = format!("{}-{}", self.cfg.boot_id, self.seq);
        }
        out
    }

    /// The alarm table.
    pub fn table(&self) -> &AlarmTable {
        &self.table
    }

    /// The escalation of an alarm, if one was started.
    pub fn escalation(&self, key: &AlarmKey) -> Option<&Escalation> {
        self.escalations.get(key)
    }

    /// The open alarms as notices (change `open`), in key order.
    pub fn open_alarms(&self) -> Vec<AlarmNotice> {
        self.table
            .open()
            .map(|a| self.notice(a.key(), a.raised_at(), &Actor::System, "open"))
            .collect()
    }

    /// Evaluates one live batch that arrived at `now`.
    pub fn on_batch(&mut self, batch: &[Sample], now: Timestamp) {
        let mut updates: Vec<VitalsUpdate> = Vec::new();
        for s in batch {
            let value = VitalValue {
                metric: s.metric.name(),
                value: s.value,
                time_us: s.time_us,
                quality: s.quality.bits(),
            };
            match updates.iter_mut().find(|u| u.bed == s.origin.bed_id) {
                Some(u) => u.samples.push(value),
                None => updates.push(VitalsUpdate {
                    bed: Arc::clone(&s.origin.bed_id),
                    samples: vec![value],
                }),
            }
            self.on_sample(s, now);
        }
        self.out.extend(updates.into_iter().map(LiveEvent::Vitals));
    }

    fn on_sample(&mut self, s: &Sample, now: Timestamp) {
        let bed_id = &s.origin.bed_id;
        self.device_seen(&s.origin.device_id, bed_id, now);
        self.bed_mut(bed_id);
        let bed = self.beds.get_mut(bed_id).expect("created above");
        let outcome = bed.feed(s, now, &self.cfg);
        self.apply_bed_outcome(bed_id, outcome, now);
    }

    /// Lets time pass to `now`: audio pauses, escalation deadlines, NEWS2
    /// staleness and the technical time-outs.
    pub fn tick(&mut self, now: Timestamp, status: SystemStatus) {
        let events = self.table.tick(now);
        self.publish(events, now);
        let keys: Vec<AlarmKey> = self.escalations.keys().cloned().collect();
        for key in keys {
            let events = self
                .escalations
                .get_mut(&key)
                .map(|e| e.tick(now))
                .unwrap_or_default();
            self.publish_escalation(&key, events);
        }
        let beds: Vec<Arc<str>> = self.beds.keys().cloned().collect();
        for bed_id in beds {
            if let Some(bed) = self.beds.get_mut(&bed_id) {
                let outcome = bed.rescore(&bed_id, now, &self.cfg);
                self.apply_bed_outcome(&bed_id, outcome, now);
            }
        }
        self.tick_technical(now, status);
    }

    /// Starts (or confirms) the condition of `key` at `at`.
    fn start(
        &mut self,
        key: AlarmKey,
        priority: Priority,
        meta: Meta,
        at: Timestamp,
        now: Timestamp,
    ) {
        let open_present = self
            .table
            .get(&key)
            .is_some_and(|a| a.is_open() && a.condition_present());
        if !open_present {
            self.meta.insert(key.clone(), meta);
        }
        let events = self.table.condition_started(key, priority, at);
        self.publish(events, now);
    }

    /// Clears the condition of `key` at `at`.
    fn clear(&mut self, key: &AlarmKey, at: Timestamp, now: Timestamp) {
        let events = self.table.condition_cleared(key, at);
        self.publish(events, now);
    }

    /// Turns lifecycle events into notices and drives escalation.
    fn publish(&mut self, events: Vec<AlarmEvent>, now: Timestamp) {
        for ev in events {
            let notice = self.notice(&ev.key, ev.at, &ev.actor, change_name(ev.kind));
            match ev.kind {
                EventKind::Raised => {
                    self.out.push(LiveEvent::AlarmRaised(notice));
                    self.start_escalation(&ev.key, now);
                }
                EventKind::Resolved => {
                    self.out.push(LiveEvent::AlarmResolved(notice));
                    self.cancel_escalation(&ev.key, now, ev.actor);
                }
                EventKind::Acknowledged => {
                    self.out.push(LiveEvent::AlarmUpdated(notice));
                    self.cancel_escalation(&ev.key, now, ev.actor);
                }
                _ => self.out.push(LiveEvent::AlarmUpdated(notice)),
            }
        }
    }

    fn start_escalation(&mut self, key: &AlarmKey, now: Timestamp) {
        let Some(path) = self.cfg.escalation.clone() else {
            return;
        };
        let escalate = self
            .table
            .get(key)
            .is_some_and(|a| a.priority() >= self.cfg.escalate_from);
        if !escalate {
            self.escalations.remove(key);
            return;
        }
        let (esc, events) = Escalation::start(path, now);
        self.escalations.insert(key.clone(), esc);
        self.publish_escalation(key, events);
    }

    fn cancel_escalation(&mut self, key: &AlarmKey, now: Timestamp, actor: Actor) {
        let events = self
            .escalations
            .get_mut(key)
            .map(|e| e.cancel(now, actor))
            .unwrap_or_default();
        self.publish_escalation(key, events);
    }

    fn publish_escalation(&mut self, key: &AlarmKey, events: Vec<EscalationEvent>) {
        for ev in events {
            let (change, note) = escalation_note(&ev.kind, self.escalations.get(key));
            let mut notice = self.notice(key, ev.at, &ev.actor, change);
            notice.escalation = Some(note);
            let exhausted = ev.kind == EscalationEventKind::Exhausted;
            if exhausted {
                self.out.push(LiveEvent::Emergency(notice.clone()));
            }
            self.out.push(LiveEvent::AlarmUpdated(notice));
        }
    }

    fn notice(
        &self,
        key: &AlarmKey,
        at: Timestamp,
        actor: &Actor,
        change: &'static str,
    ) -> AlarmNotice {
        let alarm = self.table.get(key);
        let meta = self.meta.get(key);
        let state = alarm.map_or(AlarmState::Resolved, |a| a.state());
        AlarmNotice {
            // Filled in by `take_events`, in emission order.
            event_id: String::new(),
            tenant: Arc::clone(&self.cfg.tenant),
            bed: Arc::clone(&key.bed),
            rule: Arc::clone(&key.rule),
            occurrence: alarm.map_or(0, |a| a.occurrence()),
            class: meta.map_or(AlarmClass::Technical, |m| m.class),
            priority: alarm.map_or(Priority::Low, |a| a.priority()),
            change,
            state: state_name(state),
            silenced_until_us: match state {
                AlarmState::Silenced { until } => Some(until.as_micros()),
                _ => None,
            },
            condition_present: alarm.is_some_and(|a| a.condition_present()),
            at_us: at.as_micros(),
            actor: actor_name(actor),
            metric: meta.and_then(|m| m.metric),
            value: meta.and_then(|m| m.value),
            message: meta.map_or_else(|| Arc::from(""), |m| Arc::clone(&m.message)),
            escalation: None,
        }
    }
}

/// The lifecycle change name used in notices and the log.
fn change_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Raised => "raised",
        EventKind::ConditionCleared => "condition_cleared",
        EventKind::ConditionReturned => "condition_returned",
        EventKind::Acknowledged => "acknowledged",
        EventKind::Silenced { .. } => "silenced",
        EventKind::SilenceExpired => "silence_expired",
        EventKind::Resolved => "resolved",
    }
}

/// The snake_case name of an alarm state.
pub fn state_name(state: AlarmState) -> &'static str {
    match state {
        AlarmState::ActiveUnacknowledged => "active_unacknowledged",
        AlarmState::Acknowledged => "acknowledged",
        AlarmState::Silenced { .. } => "silenced",
        AlarmState::Resolved => "resolved",
    }
}

fn actor_name(actor: &Actor) -> String {
    match actor {
        Actor::System => "system".to_owned(),
        Actor::Staff(id) => id.as_str().to_owned(),
    }
}

fn escalation_note(
    kind: &EscalationEventKind,
    esc: Option<&Escalation>,
) -> (&'static str, EscalationNote) {
    let recipient_of = |step: usize| {
        esc.and_then(|e| e.path().steps().get(step))
            .map(|s| s.recipient.as_str().to_owned())
    };
    let note = |step, recipient, deadline_us, call_back| EscalationNote {
        step,
        recipient,
        deadline_us,
        call_back,
    };
    match kind {
        EscalationEventKind::Offered {
            step,
            recipient,
            deadline,
        } => (
            "escalation_offered",
            note(
                *step,
                Some(recipient.as_str().to_owned()),
                Some(deadline.as_micros()),
                false,
            ),
        ),
        EscalationEventKind::TimedOut { step, recipient } => (
            "escalation_timed_out",
            note(*step, Some(recipient.as_str().to_owned()), None, false),
        ),
        EscalationEventKind::Declined { step } => (
            "escalation_declined",
            note(*step, recipient_of(*step), None, false),
        ),
        EscalationEventKind::Accepted { step, call_back } => (
            "escalation_accepted",
            note(*step, recipient_of(*step), None, *call_back),
        ),
        EscalationEventKind::Exhausted => ("escalation_exhausted", note(0, None, None, false)),
        EscalationEventKind::Cancelled => ("escalation_cancelled", note(0, None, None, false)),
    }
}

/// Default of [`TechnicalConfig::sensor_invalid_after`].
pub const DEFAULT_SENSOR_INVALID_AFTER: Duration = Duration::from_secs(10);
