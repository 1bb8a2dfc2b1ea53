//! The simulator's Modbus RTU server, on any byte stream (a serial port, one end
//! of a pseudo-terminal, an in-memory pipe).
//!
//! Framing (Modbus over Serial Line v1.02, section 2.5.1): unit id, PDU, CRC-16
//! (polynomial 0xA001 reflected, initial 0xFFFF, low byte first). Frames are found
//! by length, not by the 3.5-character silence, which byte streams do not keep:
//! the read functions (0x01 to 0x06) are eight bytes, 0x0F and 0x10 carry a byte
//! count. A frame whose CRC does not match, or an unknown function, costs one
//! byte and the search resumes at the next, so the server resynchronises after
//! line noise. Unit 0 (broadcast) and unit ids with no unit get no answer.

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::watch;
use tokio_serial::{SerialPortBuilderExt as _, SerialStream};
use tracing::{debug, info};

use super::{ModbusSim, Reply};

/// Largest RTU frame (Modbus over Serial Line v1.02, section 2.5.1).
const MAX_FRAME: usize = 256;

/// CRC-16/MODBUS of `bytes`.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc = 0xFFFFu16;
    for &b in bytes {
        crc ^= u16::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// Opens a serial device at `baud_rate`, 8N1, for [`serve_rtu`]: a real port or
/// one end of a pseudo-terminal pair such as
/// `socat pty,raw,echo=0,link=bus-dev pty,raw,echo=0,link=bus-gw` (the two
/// links name the device and the gateway side).
///
/// # Errors
///
/// When the device cannot be opened or configured.
pub fn open_serial(path: &str, baud_rate: u32) -> std::io::Result<SerialStream> {
    Ok(tokio_serial::new(path, baud_rate).open_native_async()?)
}

/// Serves `sim` on `io` until `shutdown` turns true or the stream ends.
pub async fn serve_rtu<T>(mut io: T, sim: ModbusSim, mut shutdown: watch::Receiver<bool>)
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf: Vec<u8> = Vec::with_capacity(MAX_FRAME * 2);
    let mut chunk = [0u8; MAX_FRAME];
    loop {
        let n = tokio::select! {
            read = io.read(&mut chunk) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
                continue;
            }
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Some((unit, pdu)) = next_frame(&mut buf) {
            let Reply::Send(response, delay) = sim.respond(unit, &pdu) else {
                continue;
            };
            if unit == 0 {
                continue;
            }
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if io.write_all(&frame(unit, &response)).await.is_err() {
                break;
            }
        }
    }
    info!("Simulated Modbus RTU server stopped");
}

/// A response frame: unit, PDU, CRC low byte first.
fn frame(unit: u8, pdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pdu.len() + 3);
    out.push(unit);
    out.extend_from_slice(pdu);
    out.extend_from_slice(&crc16(&out).to_le_bytes());
    out
}

/// Takes the first complete, valid request frame off `buf`, skipping garbage.
/// `None` when more bytes are needed.
fn next_frame(buf: &mut Vec<u8>) -> Option<(u8, Vec<u8>)> {
    loop {
        let length = match buf.get(1)? {
            0x01..=0x06 => 8,
            0x0F | 0x10 => 9 + usize::from(*buf.get(6)?),
            _ => {
                debug!(byte = buf[0], "Simulated Modbus RTU server skipped a byte");
                buf.remove(0);
                continue;
            }
        };
        if buf.len() < length {
            return None;
        }
        let (body, crc) = buf[..length].split_at(length - 2);
        if crc16(body).to_le_bytes() == crc {
            let found = (body[0], body[1..].to_vec());
            buf.drain(..length);
            return Some(found);
        }
        debug!(byte = buf[0], "Simulated Modbus RTU server skipped a byte");
        buf.remove(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_the_specification_example() {
        // Modbus over Serial Line v1.02, section 6.2.2 style example: read holding
        // registers of unit 1 from 0, count 1 is 01 03 00 00 00 01 84 0A.
        assert_eq!(
            crc16(&[0x01, 0x03, 0x00, 0x00, 0x00, 0x01]).to_le_bytes(),
            [0x84, 0x0A]
        );
        assert_eq!(crc16(b"123456789"), 0x4B37);
    }

    #[test]
    fn frames_are_found_after_garbage_and_across_partial_reads() {
        let request = frame(7, &[0x04, 0x00, 0x10, 0x00, 0x02]);
        let mut buf = vec![0xFF, 0x00, 0x13];
        buf.extend_from_slice(&request[..5]);
        assert_eq!(next_frame(&mut buf), None);
        buf.extend_from_slice(&request[5..]);
        assert_eq!(
            next_frame(&mut buf),
            Some((7, vec![0x04, 0x00, 0x10, 0x00, 0x02]))
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn a_corrupted_frame_is_skipped_and_the_next_one_found() {
        let mut bad = frame(1, &[0x03, 0, 0, 0, 1]);
        bad[3] ^= 0x40;
        let good = frame(2, &[0x03, 0, 5, 0, 1]);
        let mut buf = [bad, good].concat();
        assert_eq!(next_frame(&mut buf), Some((2, vec![0x03, 0, 5, 0, 1])));
        // A lone byte is not a frame.
        let mut one = vec![0x01];
        assert_eq!(next_frame(&mut one), None);
        assert_eq!(next_frame(&mut Vec::new()), None);
    }
}
