//! The simulator's Modbus TCP server.
//!
//! Framing (Modbus Messaging on TCP/IP Implementation Guide v1.0b, section 3.1):
//! each request and response is an MBAP header of seven bytes (transaction id,
//! protocol id 0, length of what follows including the unit id, unit id), then
//! the PDU. A length outside 2 to 254 closes the connection, as it would on a
//! real device; the response echoes the transaction id and unit id.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, info};

use super::{ModbusSim, Reply};

/// Longest PDU plus the unit id (Modbus Application Protocol v1.1b3, section 4.1:
/// a PDU is at most 253 bytes).
const MAX_MBAP_LENGTH: u16 = 254;

/// Serves `sim` on `listener` until `shutdown` turns true.
pub async fn serve_tcp(listener: TcpListener, sim: ModbusSim, mut shutdown: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
                continue;
            }
        };
        match accepted {
            Ok((stream, peer)) => {
                debug!(peer_addr = %peer, "Simulated Modbus TCP client connected");
                connections.spawn(serve_connection(stream, sim.clone()));
            }
            Err(e) => debug!(error = %e, "Simulated Modbus TCP accept failed"),
        }
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    connections.shutdown().await;
    info!("Simulated Modbus TCP server stopped");
}

async fn serve_connection(mut stream: TcpStream, sim: ModbusSim) {
    let mut header = [0u8; 7];
    loop {
        if stream.read_exact(&mut header).await.is_err() {
            return;
        }
        let length = u16::from_be_bytes([header[4], header[5]]);
        if !(2..=MAX_MBAP_LENGTH).contains(&length) || header[2..4] != [0, 0] {
            debug!(
                length,
                "Simulated Modbus TCP server closing on a bad header"
            );
            return;
        }
        let mut pdu = vec![0u8; usize::from(length - 1)];
        if stream.read_exact(&mut pdu).await.is_err() {
            return;
        }
        let (response, delay) = match sim.respond(header[6], &pdu) {
            Reply::Send(response, delay) => (response, delay),
            Reply::Nothing => continue,
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let length = u16::try_from(response.len() + 1).unwrap_or(MAX_MBAP_LENGTH);
        let mut frame = Vec::with_capacity(response.len() + 7);
        frame.extend_from_slice(&header[..4]);
        frame.extend_from_slice(&length.to_be_bytes());
        frame.push(header[6]);
        frame.extend_from_slice(&response);
        if stream.write_all(&frame).await.is_err() {
            return;
        }
    }
}
