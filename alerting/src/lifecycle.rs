//! The alarm lifecycle: from raised to resolved, with who did what and when.
//!
//! An [`Alarm`] is one bed's alarm for one rule ([`AlarmKey`]); the
//! [`AlarmTable`] keeps exactly one per key and reopens it when the condition
//! comes back after it was resolved (a new *occurrence*). [`Escalation`] offers
//! an alarm to phones, recipient after recipient.
//!
//! # States
//!
//! ```text
//! from                        on                                  to
//! (none) or Resolved          condition starts                    ActiveUnacknowledged
//! ActiveUnack. or Silenced    silence (staff, bounded)            Silenced{until}
//! Silenced                    tick at or after `until`            ActiveUnacknowledged
//! ActiveUnack. or Silenced    acknowledge, condition present      Acknowledged
//! ActiveUnack. or Silenced    acknowledge, condition gone         Acknowledged, Resolved
//! ActiveUnack. or Silenced    condition clears, medium or low     Resolved
//! ActiveUnack. or Silenced    condition clears, high (latches)    unchanged
//! Acknowledged                condition clears                    Resolved
//! open, condition gone        condition starts again              unchanged
//! ```
//!
//! Silenced is IEC 60601-1-8 AUDIO PAUSED: the audio of an unacknowledged alarm
//! is paused until `until`, then sounds again if the alarm is still open.
//!
//! # Invariants
//!
//! - A high-priority alarm latches: when its condition clears while it is
//!   unacknowledged (or silenced), it stays open, marked condition-absent, until
//!   someone acknowledges it. Medium and low alarms resolve with their condition.
//! - An acknowledged alarm always has its condition present; it resolves when the
//!   condition clears.
//! - Resolved is final for an occurrence. Acknowledging or silencing it is an
//!   error and does not reopen it (an acknowledgement racing an automatic
//!   resolution cannot bring the alarm back); only the condition starting again
//!   opens a new occurrence.
//! - A silence lasts more than zero and at most [`LifecyclePolicy::max_silence`].
//! - Every change returns [`AlarmEvent`]s, in order, each with its time, actor
//!   and the state after it, for the alarm log. Calls that change nothing
//!   return no event.
//! - Time is the caller's: silences expire only in [`Alarm::tick`].

mod escalation;
mod table;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use escalation::{
    Escalation, EscalationError, EscalationEvent, EscalationEventKind, EscalationPath,
    EscalationState, EscalationStep, Response,
};
pub use table::AlarmTable;

use crate::rules::Priority;
use crate::time::Timestamp;

/// A member of staff (or the handset standing for one), by identifier.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StaffId(Arc<str>);

impl StaffId {
    /// The identifier.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for StaffId {
    fn from(id: &str) -> Self {
        Self(id.into())
    }
}

impl fmt::Display for StaffId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Who caused an event.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The gateway itself: rule evaluation and timers.
    System,
    /// A member of staff.
    Staff(StaffId),
}

/// Names an alarm: one per bed and rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AlarmKey {
    /// The bed (or location).
    pub bed: Arc<str>,
    /// The rule's identifier.
    pub rule: Arc<str>,
}

impl AlarmKey {
    /// The key of `rule`'s alarm at `bed`.
    pub fn new(bed: &str, rule: &str) -> Self {
        Self {
            bed: bed.into(),
            rule: rule.into(),
        }
    }
}

/// Where an alarm stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    /// Sounding; nobody has acknowledged it.
    ActiveUnacknowledged,
    /// Someone took ownership; audio off while the condition lasts.
    Acknowledged,
    /// Audio paused until `until`; still unacknowledged.
    Silenced {
        /// When the audio sounds again.
        until: Timestamp,
    },
    /// Over; the next start of the condition opens a new occurrence.
    Resolved,
}

/// Site policy for the lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecyclePolicy {
    /// The longest audio pause one silence may ask for.
    pub max_silence: Duration,
}

impl Default for LifecyclePolicy {
    /// Two minutes, the audio-pause bound common in bedside devices (research
    /// B.2); check against IEC 60601-1-8 before relying on it.
    fn default() -> Self {
        Self {
            max_silence: Duration::from_secs(120),
        }
    }
}

/// What happened to an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// A new occurrence opened.
    Raised,
    /// The condition cleared but the alarm latches until acknowledged.
    ConditionCleared,
    /// The condition came back while the latched alarm was still open.
    ConditionReturned,
    /// Someone acknowledged the alarm.
    Acknowledged,
    /// Someone paused the audio.
    Silenced {
        /// When the audio sounds again.
        until: Timestamp,
    },
    /// The audio pause ran out.
    SilenceExpired,
    /// The occurrence is over.
    Resolved,
}

/// One entry of the alarm log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmEvent {
    /// Which alarm.
    pub key: AlarmKey,
    /// Which occurrence of it, counting from 1.
    pub occurrence: u32,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub actor: Actor,
    /// What.
    pub kind: EventKind,
    /// The alarm's state after the event.
    pub state: AlarmState,
}

/// A staff action the alarm's state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// The occurrence is already over.
    #[error("the alarm is resolved")]
    Resolved,
    /// Someone already acknowledged it.
    #[error("the alarm is already acknowledged")]
    AlreadyAcknowledged,
    /// The silence asked for is zero or longer than the policy allows.
    #[error("audio may be paused for more than 0 and at most {max:?}, not {requested:?}")]
    SilenceOutOfRange {
        /// What was asked for.
        requested: Duration,
        /// The policy's maximum.
        max: Duration,
    },
    /// The table has no alarm under this key.
    #[error("no alarm for bed `{}` and rule `{}`", .0.bed, .0.rule)]
    NoSuchAlarm(AlarmKey),
}

/// One bed's alarm for one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alarm {
    key: AlarmKey,
    priority: Priority,
    state: AlarmState,
    condition_present: bool,
    occurrence: u32,
    raised_at: Timestamp,
}

impl Alarm {
    /// A new alarm whose condition started at `at`.
    pub fn raise(key: AlarmKey, priority: Priority, at: Timestamp) -> (Self, AlarmEvent) {
        let alarm = Self {
            key,
            priority,
            state: AlarmState::ActiveUnacknowledged,
            condition_present: true,
            occurrence: 1,
            raised_at: at,
        };
        let event = alarm.event(at, Actor::System, EventKind::Raised);
        (alarm, event)
    }

    /// Bed and rule.
    pub fn key(&self) -> &AlarmKey {
        &self.key
    }

    /// The priority of the current occurrence.
    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// Where the alarm stands.
    pub fn state(&self) -> AlarmState {
        self.state
    }

    /// Whether the rule's condition is present now (false for a latched alarm).
    pub fn condition_present(&self) -> bool {
        self.condition_present
    }

    /// The current occurrence, counting from 1.
    pub fn occurrence(&self) -> u32 {
        self.occurrence
    }

    /// When the current occurrence was raised.
    pub fn raised_at(&self) -> Timestamp {
        self.raised_at
    }

    /// Whether the alarm is not resolved.
    pub fn is_open(&self) -> bool {
        self.state != AlarmState::Resolved
    }

    /// Whether the alarm stays open after its condition clears until acknowledged.
    pub fn latches(&self) -> bool {
        self.priority == Priority::High
    }

    /// The rule's condition started (again) at `at`. A resolved alarm opens a new
    /// occurrence with `priority`; an open latched alarm notes the return.
    pub fn condition_started(&mut self, at: Timestamp, priority: Priority) -> Vec<AlarmEvent> {
        if self.state == AlarmState::Resolved {
            self.priority = priority;
            self.occurrence += 1;
            self.raised_at = at;
            self.condition_present = true;
            self.state = AlarmState::ActiveUnacknowledged;
            return vec![self.event(at, Actor::System, EventKind::Raised)];
        }
        if self.condition_present {
            return Vec::new();
        }
        self.condition_present = true;
        vec![self.event(at, Actor::System, EventKind::ConditionReturned)]
    }

    /// The rule's condition cleared at `at`.
    pub fn condition_cleared(&mut self, at: Timestamp) -> Vec<AlarmEvent> {
        if !self.is_open() || !self.condition_present {
            return Vec::new();
        }
        self.condition_present = false;
        let unacknowledged = self.state != AlarmState::Acknowledged;
        if unacknowledged && self.latches() {
            return vec![self.event(at, Actor::System, EventKind::ConditionCleared)];
        }
        self.state = AlarmState::Resolved;
        vec![self.event(at, Actor::System, EventKind::Resolved)]
    }

    /// `staff` acknowledges the alarm at `at`. A latched alarm whose condition is
    /// gone resolves at once.
    ///
    /// # Errors
    ///
    /// When the alarm is resolved or already acknowledged; nothing changes.
    pub fn acknowledge(
        &mut self,
        at: Timestamp,
        staff: &StaffId,
    ) -> Result<Vec<AlarmEvent>, LifecycleError> {
        match self.state {
            AlarmState::Resolved => return Err(LifecycleError::Resolved),
            AlarmState::Acknowledged => return Err(LifecycleError::AlreadyAcknowledged),
            AlarmState::ActiveUnacknowledged | AlarmState::Silenced { .. } => {}
        }
        let actor = Actor::Staff(staff.clone());
        self.state = AlarmState::Acknowledged;
        let mut events = vec![self.event(at, actor.clone(), EventKind::Acknowledged)];
        if !self.condition_present {
            self.state = AlarmState::Resolved;
            events.push(self.event(at, actor, EventKind::Resolved));
        }
        Ok(events)
    }

    /// `staff` pauses the audio of an unacknowledged alarm for `duration` from
    /// `at`. Silencing a silenced alarm starts a new pause from `at`.
    ///
    /// # Errors
    ///
    /// When the alarm is resolved or acknowledged (its audio is already off), or
    /// `duration` is zero or longer than the policy allows; nothing changes.
    pub fn silence(
        &mut self,
        at: Timestamp,
        staff: &StaffId,
        duration: Duration,
        policy: &LifecyclePolicy,
    ) -> Result<Vec<AlarmEvent>, LifecycleError> {
        match self.state {
            AlarmState::Resolved => return Err(LifecycleError::Resolved),
            AlarmState::Acknowledged => return Err(LifecycleError::AlreadyAcknowledged),
            AlarmState::ActiveUnacknowledged | AlarmState::Silenced { .. } => {}
        }
        if duration.is_zero() || duration > policy.max_silence {
            return Err(LifecycleError::SilenceOutOfRange {
                requested: duration,
                max: policy.max_silence,
            });
        }
        let until = at + duration;
        self.state = AlarmState::Silenced { until };
        let actor = Actor::Staff(staff.clone());
        Ok(vec![self.event(at, actor, EventKind::Silenced { until })])
    }

    /// Lets time pass to `now`: an audio pause that has run out ends, stamped
    /// with the time it ran out.
    pub fn tick(&mut self, now: Timestamp) -> Vec<AlarmEvent> {
        match self.state {
            AlarmState::Silenced { until } if now >= until => {
                self.state = AlarmState::ActiveUnacknowledged;
                vec![self.event(until, Actor::System, EventKind::SilenceExpired)]
            }
            _ => Vec::new(),
        }
    }

    fn event(&self, at: Timestamp, actor: Actor, kind: EventKind) -> AlarmEvent {
        AlarmEvent {
            key: self.key.clone(),
            occurrence: self.occurrence,
            at,
            actor,
            kind,
            state: self.state,
        }
    }
}
