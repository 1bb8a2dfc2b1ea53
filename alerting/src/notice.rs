//! What the alerting runtime tells the world: the in-process event stream.
//!
//! Every event is a [`LiveEvent`]; its JSON form is
//! `{"event": "<name>", "data": {...}}` with these names:
//!
//! | name | when | data |
//! |---|---|---|
//! | `patient:vitals:update` | samples of a bed arrived | [`VitalsUpdate`] |
//! | `patient:news2:update` | a bed's NEWS2 total or band changed | [`News2View`] |
//! | `alarm:raised` | a new alarm occurrence | [`AlarmNotice`] |
//! | `alarm:updated` | acknowledged, silenced, latched, escalation steps | [`AlarmNotice`] |
//! | `alarm:resolved` | the occurrence is over | [`AlarmNotice`] |
//! | `emergency:broadcast` | nobody accepted an escalated alarm | [`AlarmNotice`] |
//!
//! The same [`AlarmNotice`] is what the alarm log stores, what webhooks send
//! and what MQTT publishes, so every channel says the same thing.

use std::sync::Arc;

use serde::Serialize;

use crate::news2::{Band, Gap, News2, Parameter, SubScore};
use crate::rules::Priority;

/// One event on the in-process stream.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", content = "data")]
pub enum LiveEvent {
    /// Samples of one bed from one live batch.
    #[serde(rename = "patient:vitals:update")]
    Vitals(VitalsUpdate),
    /// A bed's NEWS2 changed.
    #[serde(rename = "patient:news2:update")]
    News2(News2View),
    /// A new alarm occurrence.
    #[serde(rename = "alarm:raised")]
    AlarmRaised(AlarmNotice),
    /// An open alarm changed.
    #[serde(rename = "alarm:updated")]
    AlarmUpdated(AlarmNotice),
    /// An alarm occurrence ended.
    #[serde(rename = "alarm:resolved")]
    AlarmResolved(AlarmNotice),
    /// Nobody on the escalation path accepted: everyone must hear it.
    #[serde(rename = "emergency:broadcast")]
    Emergency(AlarmNotice),
    /// A clinician changed a bed's or patient's alarm limits.
    #[serde(rename = "alarm:limits:changed")]
    LimitsChanged(AuditNote),
    /// A clinician recorded a manual observation or the SpO2 scale.
    #[serde(rename = "patient:observation:recorded")]
    Observation(AuditNote),
}

impl LiveEvent {
    /// The event's name, as in the JSON `event` field.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Vitals(_) => "patient:vitals:update",
            Self::News2(_) => "patient:news2:update",
            Self::AlarmRaised(_) => "alarm:raised",
            Self::AlarmUpdated(_) => "alarm:updated",
            Self::AlarmResolved(_) => "alarm:resolved",
            Self::Emergency(_) => "emergency:broadcast",
            Self::LimitsChanged(_) => "alarm:limits:changed",
            Self::Observation(_) => "patient:observation:recorded",
        }
    }

    /// The alarm the event is about, if it is an alarm event.
    pub fn alarm(&self) -> Option<&AlarmNotice> {
        match self {
            Self::AlarmRaised(n)
            | Self::AlarmUpdated(n)
            | Self::AlarmResolved(n)
            | Self::Emergency(n) => Some(n),
            _ => None,
        }
    }
}

/// Latest values of one bed.
#[derive(Debug, Clone, Serialize)]
pub struct VitalsUpdate {
    /// The bed.
    pub bed: Arc<str>,
    /// The samples, in arrival order.
    pub samples: Vec<VitalValue>,
}

/// One sample as the event stream shows it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct VitalValue {
    /// Metric name (`heart_rate`, `spo2`, ...).
    pub metric: &'static str,
    /// Value in the metric's canonical unit.
    pub value: f64,
    /// Measurement time, microseconds since the Unix epoch.
    pub time_us: i64,
    /// Quality bits (see `collector::Quality`).
    pub quality: u16,
}

/// What kind of condition an alarm stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmClass {
    /// A patient value out of its limits or changing too fast.
    Physiological,
    /// A NEWS2 trigger band.
    News2,
    /// The gateway cannot see the patient or cannot do its job.
    Technical,
    /// An alarm the device itself reported, relayed with its priority.
    Device,
}

/// Escalation details carried by an escalation step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EscalationNote {
    /// Index into the path.
    pub step: usize,
    /// The recipient concerned, if the step names one.
    pub recipient: Option<String>,
    /// When the current offer lapses, microseconds since the Unix epoch.
    pub deadline_us: Option<i64>,
    /// Set on an acceptance that asked to be called back.
    pub call_back: bool,
}

/// One change of one alarm, as every channel reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmNotice {
    /// Unique per gateway process and change: `{boot}-{seq}`; idempotency key
    /// of the alarm log and of webhook deliveries.
    pub event_id: String,
    /// The site.
    pub tenant: Arc<str>,
    /// The bed, or `_gateway` for alarms about the gateway itself.
    pub bed: Arc<str>,
    /// The rule (or technical condition) identifier.
    pub rule: Arc<str>,
    /// Which occurrence of this bed's alarm for this rule, from 1.
    pub occurrence: u32,
    /// Physiological, NEWS2, technical or device.
    pub class: AlarmClass,
    /// Priority of the occurrence.
    pub priority: Priority,
    /// What happened: `raised`, `acknowledged`, `silenced`, `silence_expired`,
    /// `condition_cleared`, `condition_returned`, `resolved`,
    /// `escalation_offered`, `escalation_timed_out`, `escalation_declined`,
    /// `escalation_accepted`, `escalation_exhausted`, `escalation_cancelled`,
    /// `limits_changed`.
    pub change: &'static str,
    /// The alarm state after the change: `active_unacknowledged`,
    /// `acknowledged`, `silenced`, `resolved`.
    pub state: &'static str,
    /// When an audio pause ends, for the silenced state.
    pub silenced_until_us: Option<i64>,
    /// Whether the condition is present (false while a high alarm latches).
    pub condition_present: bool,
    /// When the change happened, microseconds since the Unix epoch.
    pub at_us: i64,
    /// `system`, or the staff identifier.
    pub actor: String,
    /// The metric concerned, if any.
    pub metric: Option<&'static str>,
    /// The value that started the condition, if any.
    pub value: Option<f64>,
    /// Text for people: the limit crossed, the RCP response, the device text.
    pub message: Arc<str>,
    /// Set on escalation changes.
    pub escalation: Option<EscalationNote>,
}

/// A clinician's change that is not an alarm transition but must be on
/// record with who and why: a limit override, a manual observation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditNote {
    /// Unique per gateway process and change, as for [`AlarmNotice`].
    pub event_id: String,
    /// The site.
    pub tenant: Arc<str>,
    /// The bed.
    pub bed: Arc<str>,
    /// The rule or NEWS2 parameter concerned.
    pub subject: Arc<str>,
    /// `limits_changed`, `limits_cleared`, `consciousness`, `oxygen`,
    /// `spo2_scale`.
    pub change: &'static str,
    /// The staff member.
    pub actor: String,
    /// When, microseconds since the Unix epoch.
    pub at_us: i64,
    /// What was set, and why.
    pub detail: serde_json::Value,
}

/// A bed's NEWS2, with the age of each input.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct News2View {
    /// The bed.
    pub bed: Arc<str>,
    /// Total of the scored parameters; a lower bound when incomplete.
    pub total: u8,
    /// `zero`, `low`, `low_medium`, `medium`, `high`.
    pub band: &'static str,
    /// RCP clinical response for the band.
    pub response: &'static str,
    /// Whether every parameter was scored.
    pub complete: bool,
    /// Per parameter, in chart order.
    pub parts: Vec<News2Part>,
    /// When the score was computed, microseconds since the Unix epoch.
    pub at_us: i64,
}

/// One NEWS2 parameter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct News2Part {
    /// `respiration_rate`, `spo2`, `oxygen`, `systolic_bp`, `pulse`,
    /// `consciousness`, `temperature`.
    pub parameter: &'static str,
    /// Points, when scored.
    pub points: Option<u8>,
    /// `missing`, `stale`, `not_a_number`, `needs_oxygen` when not scored.
    pub gap: Option<&'static str>,
    /// Age of the latest input in seconds, when there is one (stale inputs
    /// show their age and are not scored).
    pub age_s: Option<f64>,
}

impl News2View {
    /// The view of `news` for `bed`; `ages` in chart order.
    pub(crate) fn new(bed: Arc<str>, news: &News2, ages: [Option<f64>; 7], at_us: i64) -> Self {
        let parts = Parameter::ALL
            .into_iter()
            .zip(ages)
            .map(|(p, age_s)| {
                let (points, gap) = match news.sub_score(p) {
                    SubScore::Scored(n) => (Some(n), None),
                    SubScore::Unavailable(g) => (None, Some(gap_name(g))),
                };
                News2Part {
                    parameter: parameter_name(p),
                    points,
                    gap,
                    age_s,
                }
            })
            .collect();
        Self {
            bed,
            total: news.total(),
            band: band_name(news.band()),
            response: news.band().clinical_response(),
            complete: news.is_complete(),
            parts,
            at_us,
        }
    }
}

/// The snake_case name of a band.
pub fn band_name(band: Band) -> &'static str {
    match band {
        Band::Zero => "zero",
        Band::Low => "low",
        Band::LowMedium => "low_medium",
        Band::Medium => "medium",
        Band::High => "high",
    }
}

fn gap_name(gap: Gap) -> &'static str {
    match gap {
        Gap::Missing => "missing",
        Gap::Stale { .. } => "stale",
        Gap::NotANumber => "not_a_number",
        Gap::NeedsOxygen => "needs_oxygen",
    }
}

fn parameter_name(p: Parameter) -> &'static str {
    match p {
        Parameter::RespirationRate => "respiration_rate",
        Parameter::Spo2 => "spo2",
        Parameter::Oxygen => "oxygen",
        Parameter::SystolicBp => "systolic_bp",
        Parameter::Pulse => "pulse",
        Parameter::Consciousness => "consciousness",
        Parameter::Temperature => "temperature",
    }
}
