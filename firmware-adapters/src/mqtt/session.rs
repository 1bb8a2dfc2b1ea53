//! The MQTT session: one client connection to a broker that subscribes to every
//! configured device's topic and delivers what arrives.
//!
//! Acknowledgement is manual: a QoS 1 message is acknowledged only after its
//! readings are stored (the sink returned `Ok`), so a crash in between leaves it
//! unacknowledged, and a broker that keeps the session (an external broker such as
//! Mosquitto; the session is not clean) delivers it again after the restart. A
//! payload that cannot be decoded is acknowledged anyway, counted and logged
//! (throttled per device): redelivering it would fail the same way forever. A
//! batch the sink refuses (spool full) is left unacknowledged.
//!
//! The connection is re-established with bounded exponential backoff; device
//! health shows `backing_off` meanwhile.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS, SubscribeFilter};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::payload;
use crate::backoff::Backoff;
use crate::health::{AdapterHealth, ConnectionState};
use crate::profile::mqtt::MqttProfile;
use crate::sink::{DeviceRef, ReadingSink};
use crate::throttle::Throttle;

/// How often a misbehaving device's errors are logged at most.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Messages the client queues internally.
const CLIENT_CAPACITY: usize = 1_024;

/// Where and how the session connects.
#[derive(Clone)]
pub struct SessionConfig {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// The gateway's client id; stable, so the broker keeps the session.
    pub client_id: String,
    /// The gateway's user name and password on the broker, if it needs them.
    pub credentials: Option<(String, String)>,
    /// MQTT keep-alive.
    pub keep_alive: Duration,
    /// First reconnect delay.
    pub retry_initial: Duration,
    /// Longest reconnect delay.
    pub retry_max: Duration,
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("client_id", &self.client_id)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(u, _)| (u, "<redacted>")),
            )
            .finish_non_exhaustive()
    }
}

/// One device the session serves.
#[derive(Debug, Clone)]
pub struct MqttDevice {
    /// Who it is and where.
    pub device: DeviceRef,
    /// Its profile's MQTT section.
    pub profile: Arc<MqttProfile>,
    /// Its health handle.
    pub health: AdapterHealth,
}

struct Route {
    device: MqttDevice,
    throttle: Throttle,
}

/// Runs the session until `shutdown` turns true.
///
/// # Panics
///
/// If the retry delays are inconsistent; configuration validation rules that out.
pub async fn run<S: ReadingSink>(
    config: SessionConfig,
    devices: Vec<MqttDevice>,
    sink: Arc<S>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut options = MqttOptions::new(&config.client_id, &config.host, config.port);
    options.set_keep_alive(config.keep_alive);
    options.set_clean_session(false);
    options.set_manual_acks(true);
    let max_payload = devices
        .iter()
        .map(|d| d.profile.max_payload_bytes)
        .max()
        .unwrap_or(1024);
    // Room for the topic and headers on top of the largest payload; larger
    // packets are refused by the client and counted as connection errors.
    options.set_max_packet_size(max_payload + 1024, 64 * 1024);
    if let Some((user, password)) = &config.credentials {
        options.set_credentials(user, password);
    }
    let (client, mut eventloop) = AsyncClient::new(options, CLIENT_CAPACITY);
    let filters: Vec<SubscribeFilter> = devices
        .iter()
        .map(|d| {
            let qos = if d.profile.qos == 0 {
                QoS::AtMostOnce
            } else {
                QoS::AtLeastOnce
            };
            SubscribeFilter::new(d.profile.topic_for(&d.device.device_id), qos)
        })
        .collect();
    let mut routes: HashMap<String, Route> = devices
        .into_iter()
        .map(|d| {
            let topic = d.profile.topic_for(&d.device.device_id);
            (
                topic,
                Route {
                    device: d,
                    throttle: Throttle::new(LOG_EVERY),
                },
            )
        })
        .collect();
    let mut backoff = Backoff::new(config.retry_initial, config.retry_max)
        .expect("retry delays are validated with the configuration");
    let mut conn_throttle = Throttle::new(LOG_EVERY);

    loop {
        let event = tokio::select! {
            event = eventloop.poll() => event,
            _ = shutdown.changed() => break,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                info!(host = %config.host, port = config.port, session_present = ack.session_present,
                    "MQTT connected");
                backoff.reset();
                set_state(&routes, ConnectionState::Connected);
                if !ack.session_present && !filters.is_empty() {
                    if let Err(e) = client.subscribe_many(filters.clone()).await {
                        warn!(error = %e, "MQTT subscribe failed");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                handle_publish(&client, &mut routes, sink.as_ref(), p).await;
            }
            Ok(_) => {}
            Err(e) => {
                set_state(&routes, ConnectionState::BackingOff);
                let delay = backoff.next_delay();
                if let Some(suppressed) = conn_throttle.allow(Instant::now()) {
                    warn!(error = %e, attempt = backoff.attempt(), backoff = ?delay, suppressed,
                        "MQTT connection failed");
                }
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = shutdown.changed() => break,
                }
            }
        }
    }
    let _ = client.disconnect().await;
    // Flush the disconnect, briefly; the broker drops the socket either way.
    let _ = tokio::time::timeout(Duration::from_millis(200), eventloop_drain(&mut eventloop)).await;
    info!("MQTT session stopped");
}

async fn eventloop_drain(eventloop: &mut EventLoop) {
    while eventloop.poll().await.is_ok() {}
}

fn set_state(routes: &HashMap<String, Route>, state: ConnectionState) {
    for r in routes.values() {
        r.device.health.set_state(state);
    }
}

async fn handle_publish<S: ReadingSink>(
    client: &AsyncClient,
    routes: &mut HashMap<String, Route>,
    sink: &S,
    p: Publish,
) {
    let Some(route) = routes.get_mut(&p.topic) else {
        debug!(topic = %p.topic, "MQTT message on an unknown topic");
        ack(client, &p).await;
        return;
    };
    let received = SystemTime::now();
    let health = &route.device.health;
    let device_id = &route.device.device.device_id;
    health.frame();
    let readings = match payload::decode(&route.device.profile, &p.payload, received) {
        Ok(r) => r,
        Err(e) => {
            health.error(e.kind(), &e.to_string());
            if let Some(suppressed) = route.throttle.allow(Instant::now()) {
                warn!(device_id = %device_id, error = %e, suppressed, "MQTT payload refused");
            }
            ack(client, &p).await;
            return;
        }
    };
    let count = readings.len() as u64;
    match sink.deliver(&route.device.device, readings, received).await {
        Ok(()) => {
            health.readings(count, received);
            ack(client, &p).await;
        }
        Err(refused) => {
            health.error("refused", &refused.reason);
            if let Some(suppressed) = route.throttle.allow(Instant::now()) {
                warn!(device_id = %device_id, error = %refused, suppressed,
                    "MQTT readings not stored; message left unacknowledged");
            }
        }
    }
}

async fn ack(client: &AsyncClient, p: &Publish) {
    if p.qos != QoS::AtMostOnce {
        if let Err(e) = client.ack(p).await {
            debug!(error = %e, "MQTT acknowledgement not queued");
        }
    }
}
