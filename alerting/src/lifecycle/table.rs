//! Every alarm of a ward, one per bed and rule.
//!
//! Invariants: at most one [`Alarm`] per [`AlarmKey`], resolved or not (so the
//! table is bounded by beds times rules); a condition that starts again reopens
//! the same alarm as a new occurrence. Iteration and [`AlarmTable::tick`] run in
//! key order, so the same inputs give the same events in the same order.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Alarm, AlarmEvent, AlarmKey, LifecycleError, LifecyclePolicy, StaffId};
use crate::rules::{Priority, Transition};
use crate::time::Timestamp;

/// The alarms of one gateway.
#[derive(Debug, Clone, Default)]
pub struct AlarmTable {
    alarms: BTreeMap<AlarmKey, Alarm>,
    policy: LifecyclePolicy,
}

impl AlarmTable {
    /// An empty table under `policy`.
    pub fn new(policy: LifecyclePolicy) -> Self {
        Self {
            alarms: BTreeMap::new(),
            policy,
        }
    }

    /// The alarm under `key`, open or resolved.
    pub fn get(&self, key: &AlarmKey) -> Option<&Alarm> {
        self.alarms.get(key)
    }

    /// The alarms that are not resolved, in key order.
    pub fn open(&self) -> impl Iterator<Item = &Alarm> + '_ {
        self.alarms.values().filter(|a| a.is_open())
    }

    /// Applies a rule evaluator's transition for `key`; `priority` is the rule's.
    pub fn apply(
        &mut self,
        key: AlarmKey,
        priority: Priority,
        transition: &Transition,
    ) -> Vec<AlarmEvent> {
        match *transition {
            Transition::Started { at, .. } => self.condition_started(key, priority, at),
            Transition::Cleared { at, .. } => self.condition_cleared(&key, at),
        }
    }

    /// The condition of `key` started at `at`: raises a new alarm, reopens a
    /// resolved one, or notes the return on a latched one.
    pub fn condition_started(
        &mut self,
        key: AlarmKey,
        priority: Priority,
        at: Timestamp,
    ) -> Vec<AlarmEvent> {
        if let Some(alarm) = self.alarms.get_mut(&key) {
            return alarm.condition_started(at, priority);
        }
        let (alarm, event) = Alarm::raise(key.clone(), priority, at);
        self.alarms.insert(key, alarm);
        vec![event]
    }

    /// The condition of `key` cleared at `at`. Unknown keys change nothing.
    pub fn condition_cleared(&mut self, key: &AlarmKey, at: Timestamp) -> Vec<AlarmEvent> {
        self.alarms
            .get_mut(key)
            .map_or_else(Vec::new, |a| a.condition_cleared(at))
    }

    /// `staff` acknowledges the alarm under `key`.
    ///
    /// # Errors
    ///
    /// As [`Alarm::acknowledge`], or when there is no such alarm.
    pub fn acknowledge(
        &mut self,
        key: &AlarmKey,
        at: Timestamp,
        staff: &StaffId,
    ) -> Result<Vec<AlarmEvent>, LifecycleError> {
        self.alarm_mut(key)?.acknowledge(at, staff)
    }

    /// `staff` pauses the audio of the alarm under `key` for `duration`.
    ///
    /// # Errors
    ///
    /// As [`Alarm::silence`], or when there is no such alarm.
    pub fn silence(
        &mut self,
        key: &AlarmKey,
        at: Timestamp,
        staff: &StaffId,
        duration: Duration,
    ) -> Result<Vec<AlarmEvent>, LifecycleError> {
        let policy = self.policy.clone();
        self.alarm_mut(key)?.silence(at, staff, duration, &policy)
    }

    /// Lets time pass to `now` for every alarm.
    pub fn tick(&mut self, now: Timestamp) -> Vec<AlarmEvent> {
        self.alarms.values_mut().flat_map(|a| a.tick(now)).collect()
    }

    fn alarm_mut(&mut self, key: &AlarmKey) -> Result<&mut Alarm, LifecycleError> {
        self.alarms
            .get_mut(key)
            .ok_or_else(|| LifecycleError::NoSuchAlarm(key.clone()))
    }
}

#[cfg(test)]
mod tests {
    use collector::Quality;

    use super::*;
    use crate::lifecycle::{AlarmState, EventKind};
    use crate::rules::Breach;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_millis(s * 1_000)
    }

    fn started(at: Timestamp) -> Transition {
        Transition::Started {
            breach: Breach::Low,
            since: at,
            at,
            value: 85.0,
            quality: Quality::empty(),
        }
    }

    fn cleared(at: Timestamp) -> Transition {
        Transition::Cleared {
            breach: Breach::Low,
            at,
            value: 95.0,
        }
    }

    #[test]
    fn restart_after_resolution_reopens_the_same_alarm_as_a_new_occurrence() {
        let mut table = AlarmTable::default();
        let key = AlarmKey::new("bed-1", "spo2_low");
        table.apply(key.clone(), Priority::Medium, &started(t(0)));
        let events = table.apply(key.clone(), Priority::Medium, &cleared(t(30)));
        assert_eq!(events[0].kind, EventKind::Resolved);
        let events = table.apply(key.clone(), Priority::Medium, &started(t(90)));
        assert_eq!(
            (events[0].kind, events[0].occurrence),
            (EventKind::Raised, 2)
        );
        assert_eq!(table.open().count(), 1);
        assert_eq!(table.get(&key).map(Alarm::raised_at), Some(t(90)));
    }

    #[test]
    fn beds_have_separate_alarms_for_one_rule() {
        let mut table = AlarmTable::default();
        let one = AlarmKey::new("bed-1", "spo2_low");
        let two = AlarmKey::new("bed-2", "spo2_low");
        table.apply(one.clone(), Priority::Medium, &started(t(0)));
        table.apply(two.clone(), Priority::Medium, &started(t(1)));
        let nurse = StaffId::from("nurse-a");
        table.acknowledge(&one, t(2), &nurse).unwrap();
        let state = |k| table.get(k).map(Alarm::state);
        assert_eq!(state(&one), Some(AlarmState::Acknowledged));
        assert_eq!(state(&two), Some(AlarmState::ActiveUnacknowledged));
    }

    #[test]
    fn silence_is_bounded_by_the_table_policy() {
        let policy = LifecyclePolicy {
            max_silence: Duration::from_secs(60),
        };
        let mut table = AlarmTable::new(policy);
        let key = AlarmKey::new("bed-1", "heart_rate");
        table.apply(key.clone(), Priority::Medium, &started(t(0)));
        let nurse = StaffId::from("nurse-a");
        let err = table
            .silence(&key, t(1), &nurse, Duration::from_secs(61))
            .unwrap_err();
        assert!(matches!(err, LifecycleError::SilenceOutOfRange { .. }));
        table
            .silence(&key, t(1), &nurse, Duration::from_secs(60))
            .unwrap();
        let events = table.tick(t(61));
        assert_eq!(events[0].kind, EventKind::SilenceExpired);
    }

    #[test]
    fn acting_on_an_unknown_alarm_is_an_error() {
        let mut table = AlarmTable::default();
        let key = AlarmKey::new("bed-9", "spo2_low");
        let err = table
            .acknowledge(&key, t(0), &StaffId::from("nurse-a"))
            .unwrap_err();
        assert_eq!(err, LifecycleError::NoSuchAlarm(key.clone()));
        assert!(table.condition_cleared(&key, t(0)).is_empty());
    }
}
