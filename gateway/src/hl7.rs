//! Starting the HL7 v2 over MLLP listener of the configuration.

use std::sync::Arc;

use firmware_adapters::health::ConnectionState;
use firmware_adapters::mllp::{self, Hl7Health};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info, Instrument};

use crate::adapters::AdapterContext;
use crate::config::GatewayConfig;

/// Binds the listener and starts it; returns its task and the ids of the
/// health entries it made. A port that cannot be bound is logged and shown as
/// `failed` in the listener's health; the rest of the gateway runs on.
pub fn start(
    config: &GatewayConfig,
    ctx: &AdapterContext,
    stopped: &watch::Receiver<bool>,
) -> (Option<JoinHandle<()>>, Vec<String>) {
    let Some(section) = &config.hl7 else {
        return (None, Vec::new());
    };
    let health = Hl7Health::new(
        section.device.iter().map(|d| d.device_id.as_str()),
        &ctx.metrics,
        &ctx.health,
    );
    let ids = health.ids().map(str::to_owned).collect();
    let addr = section.listen_addr();
    let bound = std::net::TcpListener::bind(addr)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .and_then(tokio::net::TcpListener::from_std);
    let listener = match bound {
        Ok(listener) => listener,
        Err(e) => {
            health.listener.set_state(ConnectionState::Failed);
            health.listener.error("bind", &e.to_string());
            error!(address = %addr, error = %e, "HL7 listener could not bind; HL7 senders are not heard");
            return (None, ids);
        }
    };
    let local = listener.local_addr().map_or(addr, |a| a);
    info!(address = %local, devices = section.device.len(), beds = section.bed.len(),
        unknown_senders = ?section.unknown_senders, "HL7 listener ready");
    let task = mllp::run(
        listener,
        section.listener_config(),
        section.routing(),
        health,
        Arc::new(ctx.sink.clone()),
        ctx.status.clone(),
        stopped.clone(),
    );
    let span = tracing::info_span!("hl7_listener", address = %local);
    (Some(tokio::spawn(task.instrument(span))), ids)
}
