//! Device statuses: what a Modbus device says about itself that is not a vital
//! sign (a refrigerator door open, an alarm bit, a gas line pressure with no
//! metric in the vocabulary, a serial number).
//!
//! Statuses are not stored as readings. The adapter keeps the latest value of
//! each on a [`StatusBoard`], logs every change of a bit or a text at INFO
//! (`device_id`, `status`, `value`; numbers, which move with every poll, at
//! DEBUG), and wakes the board's subscribers when something changed, so the API
//! or the alerting crate can show and act on them. A status keeps its last value
//! while its device is silent; the device's health says whether it is current.
//!
//! The serial adapters and the HL7 listener put their values without a metric
//! on the same board, under their protocol code (`hl7:<code>^<system>`...).
//!
//! The gateway's API serves the board at `/api/v1/devices/statuses`.
//!
//! A flag status the profile marks with `alarm_priority` is a device-reported
//! alarm: it carries the priority the device gives it ([`AlarmPriority`]), and
//! the gateway relays it to alerting as it is, never re-deriving the priority.
//! Other statuses only show and log; a plain `door_open` alarms nobody.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use tokio::sync::watch;

use crate::Unit;

/// One status value.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusValue {
    /// The profile's `status` name.
    pub name: String,
    /// The value.
    pub value: StatusData,
    /// A unit for people, for numbers.
    pub unit: Option<Unit>,
    /// For a flag the device uses as an alarm: the priority it gives it.
    pub alarm: Option<AlarmPriority>,
}

/// The priority a device gives one of its alarms, as its profile states it.
/// Alerting maps it one to one onto its own priorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmPriority {
    /// Low priority.
    Low,
    /// Medium priority.
    Medium,
    /// High priority.
    High,
}

/// The value of a status.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusData {
    /// A bit: a coil, a discrete input or one bit of a register.
    Flag(bool),
    /// A scaled number.
    Number(f64),
    /// Text, such as a serial number.
    Text(String),
}

impl fmt::Display for StatusData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag(b) => write!(f, "{b}"),
            Self::Number(n) => write!(f, "{n}"),
            Self::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// Latest statuses by device id, then by status name.
pub type StatusMap = BTreeMap<String, BTreeMap<String, StatusValue>>;

/// The latest status of every device, shared by the adapter tasks.
#[derive(Debug, Clone)]
pub struct StatusBoard {
    tx: Arc<watch::Sender<StatusMap>>,
}

impl Default for StatusBoard {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusBoard {
    /// An empty board.
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::Sender::new(StatusMap::new())),
        }
    }

    /// Every device's latest statuses.
    pub fn snapshot(&self) -> StatusMap {
        self.tx.borrow().clone()
    }

    /// A receiver that wakes when any status changes.
    pub fn subscribe(&self) -> watch::Receiver<StatusMap> {
        self.tx.subscribe()
    }

    /// Records `values` of `device_id`; returns those that changed.
    pub fn update(&self, device_id: &str, values: Vec<StatusValue>) -> Vec<StatusValue> {
        self.update_bounded(device_id, values, usize::MAX).0
    }

    /// As [`Self::update`], but a device that has `max_names` statuses gets
    /// no new name (the values of those it has still change): for senders
    /// whose codes are free text. Returns the changed values and how many
    /// new names were left out.
    pub(crate) fn update_bounded(
        &self,
        device_id: &str,
        values: Vec<StatusValue>,
        max_names: usize,
    ) -> (Vec<StatusValue>, usize) {
        let (mut changed, mut left_out) = (Vec::new(), 0);
        self.tx.send_if_modified(|map| {
            let device = map.entry(device_id.to_owned()).or_default();
            for v in values {
                let old = device.get(&v.name);
                if old.is_none() && device.len() >= max_names {
                    left_out += 1;
                } else if old != Some(&v) {
                    changed.push(v.clone());
                    device.insert(v.name.clone(), v);
                }
            }
            !changed.is_empty()
        });
        (changed, left_out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(name: &str, on: bool) -> StatusValue {
        StatusValue {
            name: name.into(),
            value: StatusData::Flag(on),
            unit: None,
            alarm: None,
        }
    }

    #[test]
    fn only_changes_are_reported_and_wake_subscribers() {
        let board = StatusBoard::new();
        let mut rx = board.subscribe();
        assert_eq!(board.update("f1", vec![flag("door_open", false)]).len(), 1);
        assert!(rx.has_changed().unwrap());
        rx.borrow_and_update();
        assert!(board
            .update("f1", vec![flag("door_open", false)])
            .is_empty());
        assert!(!rx.has_changed().unwrap());
        let changed = board.update("f1", vec![flag("door_open", true), flag("alarm", false)]);
        assert_eq!(changed, [flag("door_open", true), flag("alarm", false)]);
        assert_eq!(board.snapshot()["f1"]["door_open"], flag("door_open", true));
    }

    #[test]
    fn a_full_device_keeps_its_names_and_refuses_new_ones() {
        let board = StatusBoard::new();
        let (changed, left_out) = board.update_bounded("d", vec![flag("a", false)], 1);
        assert_eq!((changed.len(), left_out), (1, 0));
        let values = vec![flag("a", true), flag("b", true)];
        let (changed, left_out) = board.update_bounded("d", values, 1);
        assert_eq!((changed, left_out), (vec![flag("a", true)], 1));
        assert_eq!(board.snapshot()["d"].len(), 1);
        let (changed, _) = board.update_bounded("e", vec![flag("b", true)], 1);
        assert_eq!(changed.len(), 1, "the bound is per device");
    }
}
