//! Device-reported alarms: the alarm flags on the status board relayed to
//! alerting with the device's own priority.
//!
//! A Modbus profile marks a flag status as one of the device's alarms with
//! `alarm_priority` (see `firmware_adapters::profile::modbus`). When such a
//! flag turns on, the bridge raises rule `device:<device_id>:<status>` in the
//! device's bed with that priority; when it turns off, it clears the alarm
//! (a high-priority alarm still latches until acknowledged, as any other).
//! The priority is the one the profile states for the device; the gateway
//! never re-derives it from the value or its own limits. A flag first seen
//! off raises nothing; one first seen on (an alarm already active when the
//! gateway starts) raises at once.
//!
//! A device that goes silent keeps its last statuses on the board, so an
//! active device alarm stays active and is not cleared: the condition the
//! device last reported is the best knowledge there is, and the device-silence
//! technical alarm tells staff it is no longer current. It clears when the
//! device answers again with the flag off. A flag that loses its
//! `alarm_priority` in a profile reload is cleared.
//!
//! Which adapters feed it: Modbus, the only protocol whose profiles mark
//! alarm flags today. The serial and HL7 statuses carry no priority and are
//! not relayed.
//!
//! Limitations: a device with no bed in the running configuration cannot be
//! placed, and its alarm flags are logged, not relayed. The board keeps only
//! the latest values, so a flag that turns on and off again between two polls
//! of the device, or while the bridge is still relaying an earlier change, is
//! seen in its last state only; a device alarm shorter than the poll interval
//! can be missed, as the adapter itself would miss it.

use std::collections::BTreeMap;
use std::sync::Arc;

use alerting::runtime::{AlertingHandle, Clock, DeviceAlarm};
use alerting::Priority;
use firmware_adapters::modbus::status::{AlarmPriority, StatusData, StatusMap};
use firmware_adapters::modbus::StatusBoard;
use tokio::sync::watch;
use tracing::{info, warn};

/// One thing to tell alerting about a device's alarm flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    /// The device.
    pub device: String,
    /// The status name, used as the alarm code.
    pub status: String,
    /// The device's priority.
    pub priority: AlarmPriority,
    /// True: the alarm is on; false: it ended.
    pub active: bool,
}

/// The alarm flags last seen on the board, to turn snapshots into changes.
#[derive(Debug, Default)]
pub struct AlarmFlags {
    seen: BTreeMap<(String, String), (AlarmPriority, bool)>,
}

impl AlarmFlags {
    /// What changed since the last snapshot: flags turned on (or on with a
    /// new priority) raise, flags turned off or no longer alarms clear.
    pub fn changes(&mut self, board: &StatusMap) -> Vec<Relay> {
        let now: BTreeMap<_, _> = board
            .iter()
            .flat_map(|(device, statuses)| {
                statuses
                    .values()
                    .filter_map(move |s| match (s.alarm, &s.value) {
                        (Some(p), StatusData::Flag(on)) => {
                            Some(((device.clone(), s.name.clone()), (p, *on)))
                        }
                        _ => None,
                    })
            })
            .collect();
        let mut out = Vec::new();
        for (key, &(priority, on)) in &now {
            let before = self.seen.get(key);
            let was_on = before.is_some_and(|b| b.1);
            if before != Some(&(priority, on)) && (on || was_on) {
                out.push(relay(key, priority, on));
            }
        }
        for (key, &(priority, on)) in &self.seen {
            if on && !now.contains_key(key) {
                out.push(relay(key, priority, false));
            }
        }
        self.seen = now;
        out
    }
}

fn relay(key: &(String, String), priority: AlarmPriority, active: bool) -> Relay {
    Relay {
        device: key.0.clone(),
        status: key.1.clone(),
        priority,
        active,
    }
}

/// Alerting's priority for the device's.
pub fn priority(p: AlarmPriority) -> Priority {
    match p {
        AlarmPriority::Low => Priority::Low,
        AlarmPriority::Medium => Priority::Medium,
        AlarmPriority::High => Priority::High,
    }
}

/// The bed of a device in the running configuration.
pub type BedOf = Box<dyn Fn(&str) -> Option<Arc<str>> + Send + Sync>;

/// Relays the board's alarm flags to `alerting` until `shutdown` turns true
/// or alerting stops.
pub fn spawn(
    board: &StatusBoard,
    bed_of: BedOf,
    alerting: AlertingHandle,
    mut shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let mut rx = board.subscribe();
    let clock = Clock::start();
    tokio::spawn(async move {
        let mut flags = AlarmFlags::default();
        loop {
            let snapshot = rx.borrow_and_update().clone();
            for r in flags.changes(&snapshot) {
                if !send(&alerting, &bed_of, r, &clock).await {
                    return;
                }
            }
            tokio::select! {
                changed = rx.changed() => if changed.is_err() { return },
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    })
}

/// Sends one relay; false when alerting has stopped.
async fn send(alerting: &AlertingHandle, bed_of: &BedOf, r: Relay, clock: &Clock) -> bool {
    let Some(bed) = bed_of(&r.device) else {
        warn!(
            device_id = %r.device,
            status = %r.status,
            active = r.active,
            "Device alarm of a device with no bed not relayed"
        );
        return true;
    };
    info!(
        device_id = %r.device,
        bed_id = %bed,
        status = %r.status,
        active = r.active,
        "Device alarm relayed"
    );
    let alarm = DeviceAlarm {
        bed,
        device: r.device.as_str().into(),
        code: r.status.as_str().into(),
        priority: priority(r.priority),
        active: r.active,
        text: r.status.replace('_', " "),
        at: clock.now(),
    };
    alerting.device_alarm(alarm).await.is_ok()
}

#[cfg(test)]
mod tests {
    use firmware_adapters::modbus::status::StatusValue;

    use super::*;

    fn board(values: &[(&str, &str, Option<AlarmPriority>, bool)]) -> StatusMap {
        let mut map = StatusMap::new();
        for &(device, name, alarm, on) in values {
            let v = StatusValue {
                name: name.into(),
                value: StatusData::Flag(on),
                unit: None,
                alarm,
            };
            map.entry(device.into()).or_default().insert(name.into(), v);
        }
        map
    }

    fn r(status: &str, priority: AlarmPriority, active: bool) -> Relay {
        Relay {
            device: "fridge".into(),
            status: status.into(),
            priority,
            active,
        }
    }

    const HIGH: Option<AlarmPriority> = Some(AlarmPriority::High);
    const LOW: Option<AlarmPriority> = Some(AlarmPriority::Low);

    #[test]
    fn on_raises_off_clears_unchanged_says_nothing() {
        let mut flags = AlarmFlags::default();
        let quiet = board(&[
            ("fridge", "high_temperature_alarm", HIGH, false),
            ("fridge", "door_open", None, true),
        ]);
        assert_eq!(
            flags.changes(&quiet),
            [],
            "off at first sight raises nothing"
        );
        let hot = board(&[
            ("fridge", "high_temperature_alarm", HIGH, true),
            ("fridge", "door_open", None, true),
        ]);
        let raised = [r("high_temperature_alarm", AlarmPriority::High, true)];
        assert_eq!(flags.changes(&hot), raised);
        assert_eq!(flags.changes(&hot), [], "unchanged");
        let cleared = [r("high_temperature_alarm", AlarmPriority::High, false)];
        assert_eq!(flags.changes(&quiet), cleared);
        assert_eq!(flags.changes(&quiet), []);
    }

    #[test]
    fn the_device_priority_is_kept_and_a_flag_no_longer_an_alarm_clears() {
        let mut flags = AlarmFlags::default();
        let on = board(&[("fridge", "battery_low_alarm", LOW, true)]);
        let raised = [r("battery_low_alarm", AlarmPriority::Low, true)];
        assert_eq!(flags.changes(&on), raised, "on at first sight raises");
        assert_eq!(priority(AlarmPriority::Low), Priority::Low);
        let plain = board(&[("fridge", "battery_low_alarm", None, true)]);
        let cleared = [r("battery_low_alarm", AlarmPriority::Low, false)];
        assert_eq!(flags.changes(&plain), cleared);
        assert_eq!(flags.changes(&plain), [], "a plain flag alarms nobody");
    }
}
