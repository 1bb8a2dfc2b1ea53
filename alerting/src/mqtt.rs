//! Alarm events published over MQTT for nurse-call systems.
//!
//! # Topics
//!
//! ```text
//! {prefix}/{site}/ward/{ward}/bed/{bed}/alarm/{rule}   every alarm change
//! {prefix}/{site}/ward/{ward}/emergency                 emergency:broadcast
//! ```
//!
//! `prefix` defaults to `healthsphere`. The payload is the event's JSON
//! (`{"event": "alarm:raised", "data": {...}}`, see [`crate::notice`]), QoS 1,
//! not retained. Characters MQTT reserves in topic levels (`/`, `+`, `#`) in a
//! bed or rule identifier are replaced by `_`. A subscriber to
//! `healthsphere/+/ward/+/bed/+/alarm/#` sees every alarm of every ward.
//!
//! Publishing runs in its own task behind a bounded queue, so a slow or absent
//! broker never delays evaluation (a full queue drops and counts, see
//! [`crate::runtime`]). rumqttc reconnects by itself; messages handed to it
//! while the broker is away are kept in its bounded request queue.
//! Limitation: the connection is plain TCP (no TLS); messages still queued in
//! memory when the gateway stops are lost.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, MqttOptions, QoS};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::notice::LiveEvent;
use crate::runtime::Sink;

/// Where and how to publish.
#[derive(Clone)]
pub struct MqttPublisherConfig {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Client identifier at the broker.
    pub client_id: String,
    /// Optional user name and password.
    pub credentials: Option<(String, String)>,
    /// First topic level (default `healthsphere`).
    pub topic_prefix: String,
    /// The site (tenant).
    pub site: String,
    /// The ward.
    pub ward: String,
}

impl std::fmt::Debug for MqttPublisherConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttPublisherConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("client_id", &self.client_id)
            .field("topic_prefix", &self.topic_prefix)
            .finish_non_exhaustive()
    }
}

/// Replaces characters MQTT reserves inside a topic level.
fn level(s: &str) -> String {
    s.chars()
        .map(|c| if matches!(c, '/' | '+' | '#') { '_' } else { c })
        .collect()
}

/// The topic an event is published on, if it is published.
pub fn topic(cfg: &MqttPublisherConfig, ev: &LiveEvent) -> Option<String> {
    let base = format!(
        "{}/{}/ward/{}",
        cfg.topic_prefix,
        level(&cfg.site),
        level(&cfg.ward)
    );
    match ev {
        LiveEvent::Emergency(_) => Some(format!("{base}/emergency")),
        LiveEvent::AlarmRaised(n) | LiveEvent::AlarmUpdated(n) | LiveEvent::AlarmResolved(n) => {
            Some(format!(
                "{base}/bed/{}/alarm/{}",
                level(&n.bed),
                level(&n.rule)
            ))
        }
        _ => None,
    }
}

/// A bounded queue for the publisher; give the [`Sink`] to the runtime.
pub fn channel(capacity: usize) -> (Sink, mpsc::Receiver<Arc<LiveEvent>>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (
        Sink {
            name: "mqtt".into(),
            tx,
        },
        rx,
    )
}

/// Starts publishing; stops when `shutdown` turns true.
pub fn spawn(
    cfg: MqttPublisherConfig,
    mut events: mpsc::Receiver<Arc<LiveEvent>>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let mut options = MqttOptions::new(&cfg.client_id, &cfg.host, cfg.port);
    options.set_keep_alive(Duration::from_secs(30));
    if let Some((user, password)) = &cfg.credentials {
        options.set_credentials(user, password);
    }
    let (client, mut eventloop) = AsyncClient::new(options, 256);
    let mut stop_loop = shutdown.clone();
    tokio::spawn(async move {
        loop {
            let failed = tokio::select! {
                _ = stop_loop.wait_for(|&s| s) => break,
                polled = eventloop.poll() => match polled {
                    Ok(_) => false,
                    Err(e) => {
                        warn!(error = %e, "MQTT alarm publisher disconnected; retrying");
                        true
                    }
                },
            };
            if failed {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
    tokio::spawn(async move {
        loop {
            let ev = tokio::select! {
                biased;
                _ = shutdown.wait_for(|&s| s) => break,
                ev = events.recv() => match ev { Some(ev) => ev, None => break },
            };
            let Some(topic) = topic(&cfg, &ev) else {
                continue;
            };
            let body = match serde_json::to_vec(&*ev) {
                Ok(b) => b,
                Err(e) => {
                    warn!(error = %e, "Alarm event could not be encoded for MQTT");
                    continue;
                }
            };
            if let Err(e) = client.publish(topic, QoS::AtLeastOnce, false, body).await {
                warn!(error = %e, "MQTT alarm publisher stopped");
                break;
            }
        }
        let _ = client.disconnect().await;
        debug!("MQTT alarm publisher stopped");
    })
}
