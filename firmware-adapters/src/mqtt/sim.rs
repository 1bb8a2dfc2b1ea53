//! A simulated MQTT bedside monitor: the device side of the MQTT path.
//!
//! Each tick it takes the numerics of a [`BedsideSim`] and publishes them as one
//! SenML pack (RFC 8428) to the device's topic, at QoS 1, with the device's user
//! name and password. The demo ward runs one against the embedded broker, and
//! tests use it where an independent publisher (paho-mqtt) is not the point.
//!
//! The pack names the device in its base name and the metric in each record's
//! name, carries the tick's time as the base time and every value in the metric's
//! UCUM unit:
//!
//! ```json
//! [{"bn":"monitor-05:","bt":1733250000.0,"n":"heart_rate","u":"/min","v":72},
//!  {"n":"spo2","u":"%","v":97}]
//! ```
//!
//! [`senml_pack`] is pure; [`run`] does the network part and reconnects on its
//! own (rumqttc retries on every poll), so a broker restart only costs the packs
//! of the ticks that found it down.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rumqttc::{AsyncClient, MqttOptions, QoS};
use serde_json::{json, Value};
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::sim::{BedsideSim, Scenario};
use crate::Reading;

/// What one simulated MQTT monitor is and where it publishes.
#[derive(Clone)]
pub struct MqttSimConfig {
    /// The device id, used as the SenML base name and the MQTT client id.
    pub device_id: String,
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// The topic to publish to (the profile's topic with the device id filled in).
    pub topic: String,
    /// The device's user name and password on the broker, if it needs them.
    pub credentials: Option<(String, String)>,
    /// Time between packs.
    pub interval: Duration,
    /// Seed of the simulated patient.
    pub seed: u64,
    /// How the simulated patient evolves.
    pub scenario: Scenario,
    /// A cuff blood pressure every this many ticks.
    pub nibp_every_ticks: u64,
}

impl std::fmt::Debug for MqttSimConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttSimConfig")
            .field("device_id", &self.device_id)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("topic", &self.topic)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(u, _)| (u, "<redacted>")),
            )
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

/// Encodes readings taken at `at` as one SenML pack with base name
/// `"{device_id}:"`. Readings without a device time take `at`; a reading whose
/// time differs from `at` carries the difference as its record time.
pub fn senml_pack(device_id: &str, readings: &[Reading], at: SystemTime) -> String {
    let base = epoch_seconds(at);
    let records: Vec<Value> = readings
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut rec = json!({
                "n": r.metric.name(),
                "u": r.unit.ucum(),
                "v": r.value,
            });
            if i == 0 {
                rec["bn"] = json!(format!("{device_id}:"));
                rec["bt"] = json!(base);
            }
            let offset = r.device_time.map_or(0.0, |t| epoch_seconds(t) - base);
            if offset != 0.0 {
                rec["t"] = json!(offset);
            }
            rec
        })
        .collect();
    Value::Array(records).to_string()
}

fn epoch_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Publishes a pack every `config.interval` until `shutdown` turns true.
///
/// Packs of ticks during which the broker is unreachable are dropped, as a real
/// monitor without a buffer would; the gateway sees the gap (and alerting the
/// silence) exactly as it would for a real device.
pub async fn run(config: MqttSimConfig, mut shutdown: watch::Receiver<bool>) {
    let mut options = MqttOptions::new(&config.device_id, &config.host, config.port);
    options.set_keep_alive(Duration::from_secs(30));
    if let Some((user, password)) = &config.credentials {
        options.set_credentials(user, password);
    }
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let mut sim = BedsideSim::new(config.seed, config.scenario, config.nibp_every_ticks);
    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = SystemTime::now();
                let pack = senml_pack(&config.device_id, &sim.tick(now), now);
                if let Err(e) = client.try_publish(&config.topic, QoS::AtLeastOnce, false, pack) {
                    debug!(device_id = %config.device_id, error = %e, "Simulated pack dropped");
                }
            }
            event = eventloop.poll() => {
                if let Err(e) = event {
                    warn!(device_id = %config.device_id, error = %e, "Simulated MQTT monitor disconnected");
                    // rumqttc reconnects on the next poll; do not spin meanwhile.
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = shutdown.changed() => break,
                    }
                }
            }
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
    }
    let _ = client.disconnect().await;
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::mqtt::payload;
    use crate::profile::mqtt::{MqttProfile, PayloadFormat, TimeUnit};
    use crate::{Metric, Unit};

    fn senml_profile() -> MqttProfile {
        MqttProfile {
            topic: "t/{device_id}".to_owned(),
            format: PayloadFormat::Senml,
            qos: 1,
            max_payload_bytes: 65_536,
            names: BTreeMap::new(),
            fields: Vec::new(),
            time_pointer: None,
            time_unit: TimeUnit::S,
        }
    }

    #[test]
    fn a_simulated_pack_decodes_to_the_same_readings_and_times() {
        let at = UNIX_EPOCH + Duration::from_millis(1_733_250_000_250);
        let mut sim = BedsideSim::new(7, Scenario::Stable, 1);
        let readings = sim.tick(at);
        assert!(readings.iter().any(|r| r.metric == Metric::NibpSystolic));

        let pack = senml_pack("monitor-05", &readings, at);
        let later = at + Duration::from_secs(3);
        let decoded = payload::decode(&senml_profile(), pack.as_bytes(), later).unwrap();

        assert_eq!(decoded.len(), readings.len());
        for (sent, got) in readings.iter().zip(&decoded) {
            assert_eq!(got.metric, sent.metric);
            assert_eq!(got.unit, sent.unit);
            assert!((got.value - sent.value).abs() < 1e-9, "{got:?} vs {sent:?}");
            let t = got.device_time.expect("pack carries the tick's time");
            let skew = epoch_seconds(t) - epoch_seconds(at);
            assert!(skew.abs() < 1e-3, "device time off by {skew} s");
        }
    }

    #[test]
    fn a_reading_timed_apart_from_the_tick_carries_its_offset() {
        let at = UNIX_EPOCH + Duration::from_secs(1_733_250_000);
        let earlier = at - Duration::from_secs(2);
        let readings = vec![
            Reading::new(Metric::HeartRate, 80.0),
            Reading {
                unit: Unit::KiloPascal,
                ..Reading::new(Metric::NibpSystolic, 16.0).at(earlier)
            },
        ];
        let pack = senml_pack("m", &readings, at);
        let decoded = payload::decode(&senml_profile(), pack.as_bytes(), at).unwrap();
        assert_eq!(decoded[0].device_time, Some(at));
        assert_eq!(decoded[1].device_time, Some(earlier));
        assert_eq!(decoded[1].unit, Unit::KiloPascal);
    }
}
