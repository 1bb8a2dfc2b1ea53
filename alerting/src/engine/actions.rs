//! Staff actions and inputs from outside the live bus: acknowledge, silence,
//! escalation answers, manual NEWS2 observations, limit overrides,
//! admissions and device-reported alarms.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::bed::Bed;
use super::{Engine, Meta};
use crate::lifecycle::{AlarmKey, EscalationError, LifecycleError, Response, StaffId};
use crate::news2::{Consciousness, Observed, Oxygen, Spo2Scale};
use crate::notice::{AlarmClass, AuditNote, LiveEvent, News2View};
use crate::rules::{Priority, RuleProblem};
use crate::time::Timestamp;

/// A staff action that could not be taken; nothing changed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ActionError {
    /// The alarm's state does not allow it.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// The escalation does not allow it.
    #[error(transparent)]
    Escalation(#[from] EscalationError),
    /// The alarm has no escalation running.
    #[error("alarm of bed `{bed}` and rule `{rule}` is not escalated")]
    NotEscalated {
        /// The bed.
        bed: String,
        /// The rule.
        rule: String,
    },
    /// No rule of this identifier, or not a limit rule.
    #[error("rule `{rule}`: {problem}")]
    Rule {
        /// The rule.
        rule: String,
        /// What is wrong.
        problem: RuleProblem,
    },
    /// No rule of this identifier.
    #[error("no rule `{0}`")]
    UnknownRule(String),
    /// An override must say why.
    #[error("a limit override needs a reason")]
    MissingReason,
    /// The alerting task has stopped.
    #[error("the alerting runtime is not running")]
    Stopped,
}

/// Whom a limit override is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OverrideScope {
    /// A bed, whoever lies in it.
    Bed(Arc<str>),
    /// A patient, in whichever bed they are admitted to (see
    /// [`Engine::admit`]); it takes precedence over the bed's override.
    Patient(Arc<str>),
}

/// New limits for one rule, set by a clinician.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitOverride {
    /// Bed or patient.
    pub scope: OverrideScope,
    /// The limit rule.
    pub rule: Arc<str>,
    /// New low limit (`None`: no low limit).
    pub low: Option<f64>,
    /// New high limit (`None`: no high limit).
    pub high: Option<f64>,
    /// Who.
    pub by: StaffId,
    /// Why; required.
    pub reason: String,
}

/// A NEWS2 input only staff can give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualObservation {
    /// ACVPU.
    Consciousness(Consciousness),
    /// Air or supplemental oxygen.
    Oxygen(Oxygen),
    /// The SpO2 scale, a clinician's decision.
    Spo2Scale(Spo2Scale),
}

/// Low and high limits.
type Limits = (Option<f64>, Option<f64>);

/// Overrides in force, by scope and rule.
#[derive(Debug, Default)]
pub(super) struct Overrides {
    limits: BTreeMap<(OverrideScope, Arc<str>), Limits>,
}

impl Overrides {
    /// Sets the limits in force for `bed` on its evaluators: the admitted
    /// patient's override, else the bed's, else the rule's own.
    pub(super) fn apply(
        &self,
        bed_id: &Arc<str>,
        patient: Option<&Arc<str>>,
        bed: &mut Bed,
        defaults: &crate::rules::RuleSet,
    ) {
        for ev in &mut bed.evaluators {
            let Some(default) = defaults.get(ev.id()).and_then(|r| match r {
                crate::rules::Rule::Limit(l) => Some((l.low, l.high)),
                crate::rules::Rule::Rate(_) => None,
            }) else {
                continue;
            };
            let rule: Arc<str> = ev.id().into();
            let by_patient = patient.and_then(|p| {
                self.limits
                    .get(&(OverrideScope::Patient(Arc::clone(p)), Arc::clone(&rule)))
            });
            let by_bed = self
                .limits
                .get(&(OverrideScope::Bed(Arc::clone(bed_id)), rule));
            let (low, high) = by_patient.or(by_bed).copied().unwrap_or(default);
            // Stored overrides were validated when set; defaults are valid.
            let _ = ev.set_limits(low, high);
        }
    }
}

impl Engine {
    /// `staff` acknowledges an alarm at `now`.
    ///
    /// # Errors
    ///
    /// See [`LifecycleError`].
    pub fn acknowledge(
        &mut self,
        key: &AlarmKey,
        staff: &StaffId,
        now: Timestamp,
    ) -> Result<(), ActionError> {
        let events = self.table.acknowledge(key, now, staff)?;
        self.publish(events, now);
        Ok(())
    }

    /// `staff` pauses an alarm's audio for `duration` (bounded by the policy).
    ///
    /// # Errors
    ///
    /// See [`LifecycleError`].
    pub fn silence(
        &mut self,
        key: &AlarmKey,
        staff: &StaffId,
        duration: Duration,
        now: Timestamp,
    ) -> Result<(), ActionError> {
        let events = self.table.silence(key, now, staff, duration)?;
        self.publish(events, now);
        Ok(())
    }

    /// `staff` answers the escalation of an alarm: accept, accept and call
    /// back, or decline.
    ///
    /// # Errors
    ///
    /// When the alarm is not escalated, or see [`EscalationError`].
    pub fn respond(
        &mut self,
        key: &AlarmKey,
        staff: &StaffId,
        response: Response,
        now: Timestamp,
    ) -> Result<(), ActionError> {
        let esc = self
            .escalations
            .get_mut(key)
            .ok_or_else(|| ActionError::NotEscalated {
                bed: key.bed.to_string(),
                rule: key.rule.to_string(),
            })?;
        let events = esc.respond(now, staff, response)?;
        self.publish_escalation(key, events);
        Ok(())
    }

    /// `staff` records a manual NEWS2 input for `bed` at `now`.
    pub fn observe(
        &mut self,
        bed_id: &Arc<str>,
        obs: ManualObservation,
        staff: &StaffId,
        now: Timestamp,
    ) {
        let bed = self.bed_mut(bed_id);
        let input = &mut bed.news.input;
        let (subject, value) = match obs {
            ManualObservation::Consciousness(c) => {
                input.consciousness = Some(Observed::new(c, now));
                ("consciousness", format!("{c:?}"))
            }
            ManualObservation::Oxygen(o) => {
                input.oxygen = Some(Observed::new(o, now));
                ("oxygen", format!("{o:?}"))
            }
            ManualObservation::Spo2Scale(s) => {
                input.spo2_scale = s;
                ("spo2_scale", format!("{s:?}"))
            }
        };
        self.audit(
            bed_id,
            subject,
            subject,
            staff,
            now,
            json!({ "value": value }),
            false,
        );
        let bed = self.beds.get_mut(bed_id).expect("created above");
        let changes = bed.rescore(bed_id, now, &self.cfg);
        self.apply_bed_outcome(bed_id, changes, now);
    }

    /// Sets a clinician's limits for one rule, effective from the next sample.
    ///
    /// # Errors
    ///
    /// When the rule is unknown or not a limit rule, the limits are invalid,
    /// or no reason is given; nothing changes.
    pub fn set_override(&mut self, o: LimitOverride, now: Timestamp) -> Result<(), ActionError> {
        if o.reason.trim().is_empty() {
            return Err(ActionError::MissingReason);
        }
        let Some(rule) = self.cfg.rules.get(&o.rule) else {
            return Err(ActionError::UnknownRule(o.rule.to_string()));
        };
        let mut probe = crate::rules::Evaluator::new(rule.clone());
        probe
            .set_limits(o.low, o.high)
            .map_err(|problem| ActionError::Rule {
                rule: o.rule.to_string(),
                problem,
            })?;
        self.overrides
            .limits
            .insert((o.scope.clone(), Arc::clone(&o.rule)), (o.low, o.high));
        let detail = json!({ "low": o.low, "high": o.high, "reason": o.reason, "scope": scope_json(&o.scope) });
        self.after_override(&o.scope, &o.rule, &o.by, now, detail, "limits_changed");
        Ok(())
    }

    /// Removes an override; the rule's own limits (or the bed's override,
    /// for a patient) apply again from the next sample.
    ///
    /// # Errors
    ///
    /// When no reason is given.
    pub fn clear_override(
        &mut self,
        scope: OverrideScope,
        rule: &Arc<str>,
        by: &StaffId,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), ActionError> {
        if reason.trim().is_empty() {
            return Err(ActionError::MissingReason);
        }
        self.overrides
            .limits
            .remove(&(scope.clone(), Arc::clone(rule)));
        let detail = json!({ "reason": reason, "scope": scope_json(&scope) });
        self.after_override(&scope, rule, by, now, detail, "limits_cleared");
        Ok(())
    }

    fn after_override(
        &mut self,
        scope: &OverrideScope,
        rule: &Arc<str>,
        by: &StaffId,
        now: Timestamp,
        detail: serde_json::Value,
        change: &'static str,
    ) {
        let beds: Vec<Arc<str>> = match scope {
            OverrideScope::Bed(b) => vec![Arc::clone(b)],
            OverrideScope::Patient(p) => self
                .tech
                .admitted
                .iter()
                .filter(|(_, (_, pat))| pat.as_ref() == Some(p))
                .map(|(b, _)| Arc::clone(b))
                .collect(),
        };
        let target: Arc<str> = match scope {
            OverrideScope::Bed(b) => Arc::clone(b),
            OverrideScope::Patient(_) => beds.first().cloned().unwrap_or_else(|| "".into()),
        };
        for b in &beds {
            self.refresh_limits(b);
        }
        self.audit(&target, rule, change, by, now, detail, true);
    }

    fn refresh_limits(&mut self, bed_id: &Arc<str>) {
        let patient = self.tech.admitted.get(bed_id).and_then(|(_, p)| p.clone());
        if let Some(bed) = self.beds.get_mut(bed_id) {
            self.overrides
                .apply(bed_id, patient.as_ref(), bed, &self.cfg.rules);
        }
    }

    /// A patient (if known) is admitted to `bed` at `now`: the bed must now
    /// send data, and the patient's overrides apply there.
    pub fn admit(&mut self, bed_id: &Arc<str>, patient: Option<Arc<str>>, now: Timestamp) {
        self.tech
            .admitted
            .insert(Arc::clone(bed_id), (now, patient));
        self.bed_mut(bed_id);
        self.refresh_limits(bed_id);
    }

    /// The bed's patient leaves: no more unmonitored alarm, bed limits again.
    pub fn discharge(&mut self, bed_id: &Arc<str>, now: Timestamp) {
        self.tech.admitted.remove(bed_id);
        self.clear_unmonitored(bed_id, now);
        if self.beds.contains_key(bed_id) {
            self.refresh_limits(bed_id);
        }
    }

    /// A device reported an alarm (`active`) or its end, with its own priority.
    #[expect(
        clippy::too_many_arguments,
        reason = "one relayed device alarm; a struct would only rename these"
    )]
    pub fn device_alarm(
        &mut self,
        bed: &Arc<str>,
        device: &str,
        code: &str,
        priority: Priority,
        active: bool,
        text: &str,
        at: Timestamp,
        now: Timestamp,
    ) {
        let key = AlarmKey::new(bed, &format!("device:{device}:{code}"));
        if active {
            let meta = Meta {
                class: AlarmClass::Device,
                metric: None,
                value: None,
                message: text.into(),
            };
            self.start(key, priority, meta, at, now);
        } else {
            self.clear(&key, at, now);
        }
    }

    /// The bed's NEWS2 at `now`, if the bed is known.
    pub fn news2(&self, bed_id: &Arc<str>, now: Timestamp) -> Option<News2View> {
        self.beds
            .get(bed_id)
            .map(|b| b.news.view(bed_id, now, &self.cfg))
    }

    pub(super) fn bed_mut(&mut self, bed_id: &Arc<str>) -> &mut Bed {
        if !self.beds.contains_key(bed_id) {
            self.beds
                .insert(Arc::clone(bed_id), Bed::new(&self.cfg.rules));
            self.refresh_limits(bed_id);
        }
        self.beds.get_mut(bed_id).expect("inserted above")
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "internal helper mirroring the note's fields"
    )]
    fn audit(
        &mut self,
        bed: &Arc<str>,
        subject: &str,
        change: &'static str,
        by: &StaffId,
        now: Timestamp,
        detail: serde_json::Value,
        limits: bool,
    ) {
        let note = AuditNote {
            event_id: String::new(),
            tenant: Arc::clone(&self.cfg.tenant),
            bed: Arc::clone(bed),
            subject: subject.into(),
            change,
            actor: by.as_str().to_owned(),
            at_us: now.as_micros(),
            detail,
        };
        self.out.push(if limits {
            LiveEvent::LimitsChanged(note)
        } else {
            LiveEvent::Observation(note)
        });
    }
}

fn scope_json(scope: &OverrideScope) -> serde_json::Value {
    match scope {
        OverrideScope::Bed(b) => json!({ "bed": &**b }),
        OverrideScope::Patient(p) => json!({ "patient": &**p }),
    }
}
