//! The MLLP listener: accepts TCP connections from HL7 senders, frames each
//! connection's bytes, routes every message, stores its readings and answers
//! with the application ACK.
//!
//! Per message, in order: decode and place the readings ([`Routing::route`]);
//! deliver them to the sink; only after the sink said `Ok` (the readings are in
//! the spool) send AA, or AE when some observations could not be read. A message
//! that cannot be stored gets AE or AR and the connection stays open for the
//! next one. When the sink refuses (spool full) the answer is AR with condition
//! 207: in HL7 original mode AR means "not processed for reasons unrelated to
//! its content", and senders retry it. A message larger than the limit is
//! dropped as it arrives and answered with AR.
//!
//! Observations that are not readings go on the [`StatusBoard`] under the
//! device routing filed them under (see [`super::routing`]), before the
//! readings are delivered; they are also logged at DEBUG and counted on the
//! listener (`unmapped_observation`).
//!
//! A connection silent for the idle timeout is closed, as is one whose peer
//! does not take our ACK within it. Past the connection limit new connections
//! are closed at once. On shutdown each connection finishes the message at hand
//! (store and ACK) and closes.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::health::Hl7Health;
use super::routing::{refusal_for_framing, Refusal, Routed, Routing};
use crate::health::ConnectionState;
use crate::modbus::{StatusBoard, StatusValue};
use crate::protocols::hl7::{build_ack, mllp, AckCode, AckDetail, Hl7Time, MllpError, MllpFramer};
use crate::sink::ReadingSink;
use crate::throttle::Throttle;

/// How often one kind of problem is logged at most.
const LOG_EVERY: Duration = Duration::from_secs(60);
/// Most status board names per device for observations that are not
/// readings: their codes are free text from the network.
const MAX_UNKNOWN_NAMES: usize = 512;
/// Bytes read from a socket at a time.
const READ_BYTES: usize = 16 * 1024;

/// How the listener behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// Largest message accepted, in bytes.
    pub max_message_bytes: usize,
    /// A connection with no bytes for this long is closed.
    pub idle_timeout: Duration,
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// Minutes east of UTC assumed for timestamps without an offset; `None`
    /// stores such readings at the receive time.
    pub assumed_utc_offset_minutes: Option<i32>,
}

/// What every connection shares.
#[derive(Debug)]
struct Shared<S> {
    config: ListenerConfig,
    routing: Routing,
    health: Hl7Health,
    sink: Arc<S>,
    status: StatusBoard,
    acks: AtomicU64,
    throttle: Mutex<Throttle>,
}

/// Accepts connections until `shutdown` turns true, then waits for the open
/// connections to finish their current message. Observations that are not
/// readings go on `status`.
pub async fn run<S: ReadingSink>(
    listener: TcpListener,
    config: ListenerConfig,
    routing: Routing,
    health: Hl7Health,
    sink: Arc<S>,
    status: StatusBoard,
    mut shutdown: watch::Receiver<bool>,
) {
    let limit = Arc::new(Semaphore::new(config.max_connections));
    let shared = Arc::new(Shared {
        config,
        routing,
        health,
        sink,
        status,
        acks: AtomicU64::new(0),
        throttle: Mutex::new(Throttle::new(LOG_EVERY)),
    });
    shared.health.listener.set_state(ConnectionState::Connected);
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        while connections.try_join_next().is_some() {}
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                shared.health.listener.error("accept", &e.to_string());
                warn!(error = %e, "HL7 accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = Arc::clone(&limit).try_acquire_owned() else {
            shared
                .health
                .listener
                .error("too_many_connections", &peer.to_string());
            warn!(peer = %peer, "HL7 connection refused: connection limit reached");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let task = serve(stream, peer, Arc::clone(&shared), shutdown.clone());
        connections.spawn(async move {
            task.await;
            drop(permit);
        });
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
    shared
        .health
        .listener
        .set_state(ConnectionState::Connecting);
    info!("HL7 listener stopped");
}

/// Serves one connection until the peer closes it, it idles out or shutdown.
async fn serve<C, S>(
    mut stream: C,
    peer: SocketAddr,
    shared: Arc<Shared<S>>,
    mut shutdown: watch::Receiver<bool>,
) where
    C: AsyncRead + AsyncWrite + Unpin,
    S: ReadingSink,
{
    debug!(peer = %peer, "HL7 connection opened");
    let idle = shared.config.idle_timeout;
    let mut framer = MllpFramer::with_limit(shared.config.max_message_bytes);
    let mut buf = vec![0; READ_BYTES];
    let why = loop {
        let read = tokio::select! {
            read = tokio::time::timeout(idle, stream.read(&mut buf)) => read,
            _ = shutdown.changed() => break "shutdown",
        };
        let n = match read {
            Err(_) => break "idle",
            Ok(Ok(0)) => break "closed by peer",
            Ok(Err(e)) => {
                debug!(peer = %peer, error = %e, "HL7 read failed");
                break "read error";
            }
            Ok(Ok(n)) => n,
        };
        if let Err(e) = answer_all(&mut stream, &shared, framer.feed(&buf[..n])).await {
            debug!(peer = %peer, error = %e, "HL7 ACK not sent");
            break "write failed";
        }
    };
    debug!(peer = %peer, reason = why, "HL7 connection closed");
}

async fn answer_all<C, S>(
    stream: &mut C,
    shared: &Shared<S>,
    items: Vec<Result<Vec<u8>, MllpError>>,
) -> io::Result<()>
where
    C: AsyncWrite + Unpin,
    S: ReadingSink,
{
    for item in items {
        let ack = match item {
            Ok(message) => handle_message(shared, &message).await,
            Err(e @ MllpError::TooLong { .. }) => {
                let refusal = refusal_for_framing(format!("{e}; split it or raise the limit"));
                Some(refused(shared, &refusal))
            }
            Err(e) => {
                shared.health.listener.error("framing", &e.to_string());
                None
            }
        };
        let Some(ack) = ack else { continue };
        let block = mllp::encode(ack.as_bytes());
        tokio::time::timeout(shared.config.idle_timeout, stream.write_all(&block))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "peer does not read"))??;
    }
    Ok(())
}

/// Routes, stores and returns the ACK for one message.
async fn handle_message<S: ReadingSink>(shared: &Shared<S>, message: &[u8]) -> Option<String> {
    let received = SystemTime::now();
    shared.health.listener.frame();
    let routed = match shared
        .routing
        .route(message, shared.config.assumed_utc_offset_minutes)
    {
        Ok(routed) => routed,
        Err(refusal) => return Some(refused(shared, &refusal)),
    };
    note_unknown(shared, &routed);
    let (code, detail) = routed.ack();
    for batch in routed.batches {
        let device_health = shared.health.device(&batch.device.device_id);
        if let Some(h) = device_health {
            h.set_state(ConnectionState::Connected);
            h.frame();
        }
        let count = batch.readings.len() as u64;
        match shared
            .sink
            .deliver(&batch.device, batch.readings, received)
            .await
        {
            Ok(()) => {
                shared.health.listener.readings(count, received);
                if let Some(h) = device_health {
                    h.readings(count, received);
                }
            }
            Err(e) => {
                // Limitation: batches of other devices of this message stored
                // before the refusal are stored again when the sender resends;
                // the database's sample key absorbs them when they carry a
                // device time, not when they fell back to the receive time.
                let refusal = Refusal {
                    header: routed.header,
                    code: AckCode::Reject,
                    detail: AckDetail {
                        condition: 207,
                        location: None,
                        text: format!("{e}; send the message again later"),
                    },
                    kind: "refused",
                };
                return Some(refused(shared, &refusal));
            }
        }
    }
    if let Some(d) = &detail {
        shared.health.listener.error("bad_observation", &d.text);
        log_problem(
            shared,
            "bad_observation",
            &routed.header.control_id,
            &d.text,
        );
    }
    Some(ack(shared, &routed.header, code, detail.as_ref()))
}

/// Puts the observations that are not readings on the status board, logs
/// them and counts them on the listener.
///
/// Limitation: the board keeps the latest value of each code per device, not
/// a history; a unit this gateway does not know is not on the board (the
/// DEBUG log keeps OBX-6 as sent); past [`MAX_UNKNOWN_NAMES`] codes a device
/// gets no new ones, counted as `status_board_full` (the DEBUG log has them).
fn note_unknown<S>(shared: &Shared<S>, routed: &Routed) {
    let mut by_device: BTreeMap<&str, Vec<StatusValue>> = BTreeMap::new();
    for filed in &routed.unknown {
        let u = &filed.observation;
        debug!(device_id = %filed.device_id, code = %u.code, sub_id = %u.sub_id,
            reason = ?u.reason, value = ?u.value,
            unit = ?u.unit.as_ref().map(ToString::to_string), "HL7 observation not mapped");
        by_device
            .entry(&filed.device_id)
            .or_default()
            .push(filed.status.clone());
    }
    for (device_id, values) in by_device {
        let (_, left_out) = shared
            .status
            .update_bounded(device_id, values, MAX_UNKNOWN_NAMES);
        if left_out > 0 {
            let text = format!("{device_id}: {left_out} new codes over {MAX_UNKNOWN_NAMES}");
            shared.health.listener.error("status_board_full", &text);
        }
    }
    if let Some(first) = routed.unknown.first() {
        let count = routed.unknown.len();
        let text = format!("{count} unmapped, first {}", first.observation.code);
        shared.health.listener.error("unmapped_observation", &text);
    }
}

fn refused<S>(shared: &Shared<S>, refusal: &Refusal) -> String {
    shared
        .health
        .listener
        .error(refusal.kind, &refusal.detail.text);
    log_problem(
        shared,
        refusal.kind,
        &refusal.header.control_id,
        &refusal.detail.text,
    );
    ack(shared, &refusal.header, refusal.code, Some(&refusal.detail))
}

fn log_problem<S>(shared: &Shared<S>, kind: &'static str, control_id: &str, text: &str) {
    let allowed = shared
        .throttle
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .allow(Instant::now());
    if let Some(suppressed) = allowed {
        warn!(
            kind,
            control_id,
            reason = text,
            suppressed,
            "HL7 message not accepted in full"
        );
    }
}

fn ack<S>(
    shared: &Shared<S>,
    header: &crate::protocols::hl7::MessageHeader,
    code: AckCode,
    detail: Option<&AckDetail>,
) -> String {
    let now = SystemTime::now();
    let n = shared.acks.fetch_add(1, Ordering::Relaxed);
    let millis = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    // Unique per gateway run and short enough for MSH-10 (20 characters).
    let control_id = format!("HS{millis}{:03}", n % 1000);
    let timestamp = Hl7Time::utc(now).to_string();
    build_ack(header, code, detail, &control_id, &timestamp)
}

#[cfg(test)]
#[path = "listener_tests.rs"]
mod tests;
