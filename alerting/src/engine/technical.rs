//! Technical alarms: conditions under which the gateway cannot see a patient
//! or cannot do its job. They run on gateway time (`now`), checked at each
//! tick, and clear as soon as the cause is gone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use super::{Engine, Meta, GATEWAY_BED};
use crate::lifecycle::AlarmKey;
use crate::notice::AlarmClass;
use crate::rules::Priority;
use crate::time::Timestamp;

/// A device whose silence is an alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedDevice {
    /// The device instance.
    pub device_id: Arc<str>,
    /// Its bed or location.
    pub bed_id: Arc<str>,
    /// The profile's `silence_timeout_ms`.
    pub silence_timeout: Duration,
}

/// Technical alarm settings.
#[derive(Debug, Clone, PartialEq)]
pub struct TechnicalConfig {
    /// Devices configured at start. A device not listed here that sends data
    /// is watched from its first sample with `default_silence_timeout`.
    pub devices: Vec<WatchedDevice>,
    /// Silence time of devices not in `devices`.
    pub default_silence_timeout: Duration,
    /// How long a metric may report only device-invalid values (sensor off)
    /// before it alarms.
    pub sensor_invalid_after: Duration,
    /// How long an admitted bed may go without any sample before it alarms.
    pub unmonitored_after: Duration,
    /// The spool's size bound; `None` disables the spool alarm.
    pub spool_max_bytes: Option<u64>,
    /// The spool alarm raises at this percentage of `spool_max_bytes` and
    /// clears 5 points below it.
    pub spool_alarm_percent: u8,
    /// How long the database may be down before it alarms; `None` when the
    /// gateway runs without a database.
    pub database_down_after: Option<Duration>,
}

impl Default for TechnicalConfig {
    fn default() -> Self {
        Self {
            devices: Vec::new(),
            default_silence_timeout: Duration::from_secs(30),
            sensor_invalid_after: super::DEFAULT_SENSOR_INVALID_AFTER,
            unmonitored_after: Duration::from_secs(120),
            spool_max_bytes: None,
            spool_alarm_percent: 80,
            database_down_after: None,
        }
    }
}

/// What the runtime reads from the collector at each tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SystemStatus {
    /// Bytes in the spool (`collector_spool_bytes`).
    pub spool_bytes: u64,
    /// Whether the writer has a working connection (`collector_db_up`).
    pub database_up: bool,
}

impl Default for SystemStatus {
    fn default() -> Self {
        Self {
            spool_bytes: 0,
            database_up: true,
        }
    }
}

#[derive(Debug)]
struct DeviceWatch {
    bed: Arc<str>,
    timeout: Duration,
    last_seen: Timestamp,
    silent: bool,
}

#[derive(Debug)]
pub(super) struct State {
    devices: BTreeMap<Arc<str>, DeviceWatch>,
    /// Admitted beds: when admitted, and the patient if known.
    pub(super) admitted: BTreeMap<Arc<str>, (Timestamp, Option<Arc<str>>)>,
    unmonitored: BTreeMap<Arc<str>, bool>,
    spool_alarmed: bool,
    database_down_since: Option<Timestamp>,
    database_alarmed: bool,
}

impl State {
    pub(super) fn new(cfg: &TechnicalConfig, now: Timestamp) -> Self {
        let devices = cfg
            .devices
            .iter()
            .map(|d| {
                let watch = DeviceWatch {
                    bed: Arc::clone(&d.bed_id),
                    timeout: d.silence_timeout,
                    last_seen: now,
                    silent: false,
                };
                (Arc::clone(&d.device_id), watch)
            })
            .collect();
        Self {
            devices,
            admitted: BTreeMap::new(),
            unmonitored: BTreeMap::new(),
            spool_alarmed: false,
            database_down_since: None,
            database_alarmed: false,
        }
    }
}

fn technical(message: String) -> Meta {
    Meta {
        class: AlarmClass::Technical,
        metric: None,
        value: None,
        message: message.into(),
    }
}

impl Engine {
    /// A device sent a sample at `now`: it is not silent.
    pub(super) fn device_seen(&mut self, device: &Arc<str>, bed: &Arc<str>, now: Timestamp) {
        let default_timeout = self.cfg.technical.default_silence_timeout;
        let watch = self
            .tech
            .devices
            .entry(Arc::clone(device))
            .or_insert_with(|| DeviceWatch {
                bed: Arc::clone(bed),
                timeout: default_timeout,
                last_seen: now,
                silent: false,
            });
        watch.last_seen = now;
        watch.bed = Arc::clone(bed);
        if std::mem::take(&mut watch.silent) {
            let key = AlarmKey::new(bed, &format!("device_silent:{device}"));
            self.clear(&key, now, now);
        }
        if self.tech.unmonitored.remove(bed) == Some(true) {
            self.clear(&AlarmKey::new(bed, "unmonitored"), now, now);
        }
    }

    pub(super) fn tick_technical(&mut self, now: Timestamp, status: SystemStatus) {
        self.tick_devices(now);
        self.tick_unmonitored(now);
        self.tick_spool(now, status.spool_bytes);
        self.tick_database(now, status.database_up);
    }

    fn tick_devices(&mut self, now: Timestamp) {
        let mut fell_silent = Vec::new();
        for (id, w) in &mut self.tech.devices {
            if !w.silent && now.saturating_since(w.last_seen) >= w.timeout {
                w.silent = true;
                fell_silent.push((Arc::clone(id), Arc::clone(&w.bed), w.timeout, w.last_seen));
            }
        }
        for (device, bed, timeout, last_seen) in fell_silent {
            let key = AlarmKey::new(&bed, &format!("device_silent:{device}"));
            let meta = technical(format!(
                "{device} has sent nothing for {} s: the gateway cannot see this patient",
                timeout.as_secs()
            ));
            self.start(key, Priority::Medium, meta, last_seen + timeout, now);
        }
    }

    fn tick_unmonitored(&mut self, now: Timestamp) {
        let after = self.cfg.technical.unmonitored_after;
        let mut raise = Vec::new();
        for (bed, (admitted_at, _)) in &self.tech.admitted {
            let last = self.beds.get(bed).and_then(|b| b.last_sample);
            let since = last.map_or(*admitted_at, |l| l.max(*admitted_at));
            let alarmed = self.tech.unmonitored.get(bed).copied().unwrap_or(false);
            if !alarmed && now.saturating_since(since) >= after {
                raise.push((Arc::clone(bed), since + after));
            }
        }
        for (bed, at) in raise {
            self.tech.unmonitored.insert(Arc::clone(&bed), true);
            let meta = technical(format!(
                "bed {bed} has a patient admitted but no monitoring data for {} s",
                after.as_secs()
            ));
            self.start(
                AlarmKey::new(&bed, "unmonitored"),
                Priority::Medium,
                meta,
                at,
                now,
            );
        }
    }

    /// A bed was discharged: its unmonitored alarm, if any, clears.
    pub(super) fn clear_unmonitored(&mut self, bed: &Arc<str>, now: Timestamp) {
        if self.tech.unmonitored.remove(bed) == Some(true) {
            self.clear(&AlarmKey::new(bed, "unmonitored"), now, now);
        }
    }

    fn tick_spool(&mut self, now: Timestamp, bytes: u64) {
        let Some(max) = self.cfg.technical.spool_max_bytes.filter(|&m| m > 0) else {
            return;
        };
        let percent = bytes.saturating_mul(100) / max;
        let raise_at = u64::from(self.cfg.technical.spool_alarm_percent);
        let key = AlarmKey::new(GATEWAY_BED, "spool_filling");
        if !self.tech.spool_alarmed && percent >= raise_at {
            self.tech.spool_alarmed = true;
            let meta = technical(format!(
                "the spool is {percent} % full: the database is not keeping up; \
                 continuous samples will be shed when it is full"
            ));
            self.start(key, Priority::Medium, meta, now, now);
        } else if self.tech.spool_alarmed && percent + 5 < raise_at {
            self.tech.spool_alarmed = false;
            self.clear(&key, now, now);
        }
    }

    fn tick_database(&mut self, now: Timestamp, up: bool) {
        let Some(after) = self.cfg.technical.database_down_after else {
            return;
        };
        let key = AlarmKey::new(GATEWAY_BED, "database_unreachable");
        if up {
            self.tech.database_down_since = None;
            if std::mem::take(&mut self.tech.database_alarmed) {
                self.clear(&key, now, now);
            }
            return;
        }
        let since = *self.tech.database_down_since.get_or_insert(now);
        if !self.tech.database_alarmed && now.saturating_since(since) >= after {
            self.tech.database_alarmed = true;
            let meta = technical(
                "the database is unreachable: samples are spooled, history is not stored"
                    .to_owned(),
            );
            self.start(key, Priority::Medium, meta, since + after, now);
        }
    }

    /// A webhook endpoint gave up on a delivery (`up == false`) or delivered
    /// again (`up == true`).
    pub fn endpoint_status(&mut self, name: &str, up: bool, now: Timestamp) {
        let key = AlarmKey::new(GATEWAY_BED, &format!("webhook_unreachable:{name}"));
        if up {
            self.clear(&key, now, now);
        } else {
            let meta = technical(format!(
                "webhook endpoint `{name}` does not answer: pagers and phones behind it get no alarms"
            ));
            self.start(key, Priority::Medium, meta, now, now);
        }
    }
}
