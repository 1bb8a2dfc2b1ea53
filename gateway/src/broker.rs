//! The embedded MQTT broker (rumqttd), for devices that publish straight to the
//! gateway.
//!
//! Devices authenticate with the user name and password of their `[device.mqtt]`
//! section; the set is consulted at each connection, so a configuration reload
//! changes it without restarting the broker. The gateway's own client connects
//! with a random password made at start, over a loopback listener without TLS
//! (the device listener may use TLS).
//!
//! Known limits of rumqttd, and how this gateway lives with them:
//! - No persistence: a message the broker acknowledged to a device but had not yet
//!   delivered to the gateway is lost if the process dies. Devices that must lose
//!   nothing across a gateway crash should publish to an external broker with
//!   persistent sessions (Mosquitto), which `[mqtt] broker = "external"` selects.
//! - Its router panics when more clients connect than `max_connections`; the
//!   broker then stops serving (devices show `backing_off`) while the rest of the
//!   gateway runs. Keep `mqtt.max_connections` well above the device count;
//!   configuration validation refuses fewer than twice the MQTT devices.
//! - MQTT 5 is partial in rumqttd, so only the MQTT 3.1.1 listener is enabled.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings, TlsConfig};
use tracing::{error, info};

use crate::config::{GatewayConfig, MqttSection};

/// The user name of the gateway's own client on the embedded broker.
pub const INTERNAL_USER: &str = "healthsphere-gateway";

/// Device credentials the broker accepts, shared with its auth handler.
pub type Credentials = Arc<RwLock<HashMap<String, String>>>;

/// A running embedded broker.
#[derive(Debug)]
pub struct EmbeddedBroker {
    /// Where the gateway's own client connects (loopback, no TLS).
    pub internal_addr: SocketAddr,
    /// The gateway client's password.
    pub internal_password: String,
    credentials: Credentials,
}

impl EmbeddedBroker {
    /// Starts the broker on its own thread.
    ///
    /// # Errors
    ///
    /// When no loopback port is free or randomness is unavailable.
    pub fn start(section: &MqttSection, config: &GatewayConfig) -> anyhow::Result<Self> {
        let internal_addr =
            free_loopback_port().context("pick a port for the gateway's MQTT client")?;
        let internal_password = random_hex().context("make the gateway's MQTT password")?;
        let credentials: Credentials = Arc::default();
        let broker = Self {
            internal_addr,
            internal_password,
            credentials,
        };
        broker.set_devices(config);

        let mut servers = HashMap::new();
        let device_listener = section
            .listen
            .parse()
            .expect("validated with the configuration");
        let tls = match (&section.tls_cert_path, &section.tls_key_path) {
            (Some(cert), Some(key)) => Some(TlsConfig::Rustls {
                capath: None,
                certpath: cert.display().to_string(),
                keypath: key.display().to_string(),
            }),
            _ => None,
        };
        let max_payload = config.profile_set_max_payload();
        servers.insert(
            "devices".to_owned(),
            broker.server("devices", device_listener, tls, max_payload),
        );
        servers.insert(
            "internal".to_owned(),
            broker.server("internal", internal_addr, None, max_payload),
        );
        let rumqttd_config = Config {
            id: 0,
            router: RouterConfig {
                max_connections: section.max_connections,
                max_outgoing_packet_count: 200,
                // The broker keeps messages in memory only: 10 segments of 4 MiB.
                max_segment_size: 4 << 20,
                max_segment_count: 10,
                custom_segment: None,
                initialized_filters: None,
                shared_subscriptions_strategy: Default::default(),
            },
            v4: Some(servers),
            ..Config::default()
        };
        std::thread::Builder::new()
            .name("mqtt-broker".to_owned())
            .spawn(move || {
                if let Err(e) = Broker::new(rumqttd_config).start() {
                    error!(error = %e, "Embedded MQTT broker stopped");
                }
            })
            .context("start the embedded MQTT broker thread")?;
        info!(listen = %device_listener, tls = section.tls_cert_path.is_some(), "Embedded MQTT broker started");
        Ok(broker)
    }

    /// Replaces the device credentials with those of `config`.
    pub fn set_devices(&self, config: &GatewayConfig) {
        let mut map: HashMap<String, String> = config
            .device
            .iter()
            .filter_map(|d| d.mqtt.as_ref())
            .map(|c| (c.username.clone(), c.password.clone()))
            .collect();
        map.insert(INTERNAL_USER.to_owned(), self.internal_password.clone());
        *self
            .credentials
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = map;
    }

    fn server(
        &self,
        name: &str,
        listen: SocketAddr,
        tls: Option<TlsConfig>,
        max_payload: usize,
    ) -> ServerSettings {
        let mut connections = ConnectionSettings {
            connection_timeout_ms: 5_000,
            max_payload_size: max_payload,
            max_inflight_count: 100,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        };
        let credentials = Arc::clone(&self.credentials);
        connections.set_auth_handler(move |_client_id, user, pass| {
            let ok = credentials
                .read()
                .map(|map| {
                    map.get(&user)
                        .is_some_and(|expected| same(expected.as_bytes(), pass.as_bytes()))
                })
                .unwrap_or(false);
            async move { ok }
        });
        ServerSettings {
            name: name.to_owned(),
            listen,
            tls,
            next_connection_delay_ms: 1,
            connections,
        }
    }
}

/// Compares secrets in time independent of where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn free_loopback_port() -> std::io::Result<SocketAddr> {
    // The port is released before rumqttd binds it; nothing else on loopback is
    // expected to grab it in between.
    TcpListener::bind("127.0.0.1:0")?.local_addr()
}

fn random_hex() -> anyhow::Result<String> {
    let mut raw = [0u8; 24];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw)
        .map_err(|_| anyhow::anyhow!("no system randomness"))?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_by_content_and_length() {
        assert!(same(b"correct horse", b"correct horse"));
        assert!(!same(b"correct horse", b"correct horsf"));
        assert!(!same(b"correct", b"correct horse"));
    }
}
