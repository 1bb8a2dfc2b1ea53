//! IntelliVue MIB/RS-232 frames: BOF/EOF delimiting, transparency and the FCS.
//!
//! The framer is a small state machine over single bytes. Out of a frame it
//! hunts for a BOF, counting every other byte as garbage (reported when the next
//! frame starts, or every [`GARBAGE_REPORT_BYTES`] bytes if none comes). In a
//! frame it collects unescaped bytes until EOF, then checks, in this order, the
//! size, the FCS, the header and the header's length field. A BOF always starts a
//! new frame, even in the middle of one or right after an escape byte, so a lost
//! EOF costs one frame, never the next. The buffer never holds more than one
//! frame of at most `limit` unescaped bytes.

use super::IntellivueError;

/// Beginning of frame (devices.md §2.2, serial framing).
pub const BOF: u8 = 0xC0;
/// End of frame.
pub const EOF: u8 = 0xC1;
/// Transparency escape: the next byte was XORed with [`ESCAPE_XOR`].
pub const ESC: u8 = 0x7D;
/// What an escaped byte was XORed with.
pub const ESCAPE_XOR: u8 = 0x20;
/// Frame header byte 1: the protocol id.
pub const PROTOCOL_ID: u8 = 0x11;
/// Frame header byte 2: the message type.
pub const MESSAGE_TYPE: u8 = 0x01;
/// Header (4 bytes) plus FCS (2 bytes): the smallest frame.
pub const FRAME_OVERHEAD: usize = 6;
/// The most user data the u16 header length can announce.
pub const MAX_USER_DATA: usize = u16::MAX as usize;
/// The default frame limit in unescaped bytes: the largest frame the header allows.
pub const MAX_FRAME_BYTES: usize = MAX_USER_DATA + FRAME_OVERHEAD;
/// Garbage is reported at least this often while no frame starts.
pub const GARBAGE_REPORT_BYTES: usize = 1024;

/// Reflected CRC-16/CCITT polynomial of the PPP FCS-16 (RFC 1662).
const FCS_POLY: u16 = 0x8408;
/// The FCS register before the first byte.
const FCS_INIT: u16 = 0xFFFF;

/// The frame check sequence: CRC-16/X-25 (the ones' complement of the PPP
/// FCS-16) over header and user data, unescaped. It goes on the wire LSB first.
pub fn fcs(bytes: &[u8]) -> u16 {
    !fcs_register(FCS_INIT, bytes)
}

/// The FCS register after `bytes`, without the final complement.
pub(crate) fn fcs_register(init: u16, bytes: &[u8]) -> u16 {
    bytes.iter().fold(init, |mut crc, &byte| {
        crc ^= u16::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 0 {
                crc >> 1
            } else {
                (crc >> 1) ^ FCS_POLY
            };
        }
        crc
    })
}

/// Wraps user data (one session or data PDU) in a frame: BOF, header, data,
/// FCS (LSB first), EOF, with BOF, EOF and ESC escaped everywhere in between,
/// the FCS included (as OpenICE does; see the module docs).
///
/// # Errors
///
/// [`IntellivueError::TooLong`] when the user data exceeds [`MAX_USER_DATA`].
pub fn encode_frame(user_data: &[u8]) -> Result<Vec<u8>, IntellivueError> {
    let len = u16::try_from(user_data.len()).map_err(|_| IntellivueError::TooLong {
        item: "frame user data",
        len: user_data.len(),
        max: MAX_USER_DATA,
    })?;
    let mut raw = Vec::with_capacity(user_data.len() + FRAME_OVERHEAD);
    raw.extend_from_slice(&[PROTOCOL_ID, MESSAGE_TYPE]);
    raw.extend_from_slice(&len.to_be_bytes());
    raw.extend_from_slice(user_data);
    raw.extend_from_slice(&fcs(&raw).to_le_bytes());
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 8 + 2);
    out.push(BOF);
    for byte in raw {
        if matches!(byte, BOF | EOF | ESC) {
            out.extend_from_slice(&[ESC, byte ^ ESCAPE_XOR]);
        } else {
            out.push(byte);
        }
    }
    out.push(EOF);
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Outside a frame, looking for BOF.
    Hunting,
    /// Inside a frame.
    InFrame,
    /// Inside a frame, right after ESC.
    Escaped,
    /// Dropping an over-long frame up to its EOF (or the next BOF).
    Discarding,
}

/// Turns an IntelliVue MIB byte stream into frames' user data.
#[derive(Debug, Clone)]
pub struct IntellivueFramer {
    /// Unescaped bytes of the current frame: header, user data, FCS.
    buf: Vec<u8>,
    state: State,
    /// The most unescaped bytes one frame may hold.
    limit: usize,
    /// Bytes skipped while hunting, not yet reported.
    skipped: usize,
}

impl Default for IntellivueFramer {
    fn default() -> Self {
        Self::with_limit(MAX_FRAME_BYTES)
    }
}

impl IntellivueFramer {
    /// A framer that accepts the largest frame the header allows.
    pub fn new() -> Self {
        Self::default()
    }

    /// A framer that drops frames of more than `limit` unescaped bytes (header
    /// and FCS included). A limit below [`FRAME_OVERHEAD`] accepts no frame.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            state: State::Hunting,
            limit,
            skipped: 0,
        }
    }

    /// Feeds the next bytes; returns the user data of each good frame and the
    /// problems found, in order. An unfinished frame waits for the next call.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<Vec<u8>, IntellivueError>> {
        let mut out = Vec::new();
        for &byte in bytes {
            self.push_byte(byte, &mut out);
        }
        out
    }

    fn push_byte(&mut self, byte: u8, out: &mut Vec<Result<Vec<u8>, IntellivueError>>) {
        if byte == BOF {
            if matches!(self.state, State::InFrame | State::Escaped) {
                out.push(Err(IntellivueError::Unterminated {
                    len: self.buf.len(),
                }));
            }
            self.flush_garbage(out);
            self.buf.clear();
            self.state = State::InFrame;
            return;
        }
        match self.state {
            State::Hunting => {
                self.skipped += 1;
                if self.skipped >= GARBAGE_REPORT_BYTES {
                    self.flush_garbage(out);
                }
            }
            State::Discarding => {
                if byte == EOF {
                    self.state = State::Hunting;
                }
            }
            State::InFrame => match byte {
                EOF => {
                    let frame = std::mem::take(&mut self.buf);
                    out.push(check(&frame));
                    self.state = State::Hunting;
                }
                ESC => self.state = State::Escaped,
                _ => self.push_unescaped(byte, out),
            },
            State::Escaped => {
                if byte == EOF {
                    out.push(Err(IntellivueError::Aborted {
                        len: self.buf.len(),
                    }));
                    self.buf.clear();
                    self.state = State::Hunting;
                } else {
                    self.state = State::InFrame;
                    self.push_unescaped(byte ^ ESCAPE_XOR, out);
                }
            }
        }
    }

    fn push_unescaped(&mut self, byte: u8, out: &mut Vec<Result<Vec<u8>, IntellivueError>>) {
        if self.buf.len() < self.limit {
            self.buf.push(byte);
        } else {
            out.push(Err(IntellivueError::FrameTooLong { limit: self.limit }));
            self.buf = Vec::new();
            self.state = State::Discarding;
        }
    }

    fn flush_garbage(&mut self, out: &mut Vec<Result<Vec<u8>, IntellivueError>>) {
        if self.skipped > 0 {
            out.push(Err(IntellivueError::Garbage {
                skipped: self.skipped,
            }));
            self.skipped = 0;
        }
    }
}

/// Checks one unescaped frame and returns its user data.
fn check(frame: &[u8]) -> Result<Vec<u8>, IntellivueError> {
    let too_short = || IntellivueError::FrameTooShort { len: frame.len() };
    let (covered, fcs_bytes) = frame.split_last_chunk::<2>().ok_or_else(too_short)?;
    let (header, data) = covered.split_first_chunk::<4>().ok_or_else(too_short)?;
    let found = u16::from_le_bytes(*fcs_bytes);
    let expected = fcs(covered);
    if expected != found {
        return Err(IntellivueError::Fcs { expected, found });
    }
    let [protocol_id, message_type, len_hi, len_lo] = *header;
    if (protocol_id, message_type) != (PROTOCOL_ID, MESSAGE_TYPE) {
        return Err(IntellivueError::BadHeader {
            protocol_id,
            message_type,
        });
    }
    let declared = usize::from(u16::from_be_bytes([len_hi, len_lo]));
    if declared != data.len() {
        return Err(IntellivueError::FrameLength {
            declared,
            actual: data.len(),
        });
    }
    Ok(data.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(out: Vec<Result<Vec<u8>, IntellivueError>>) -> Vec<Vec<u8>> {
        out.into_iter().filter_map(Result::ok).collect()
    }

    #[test]
    fn empty_input_and_one_byte_yield_nothing() {
        let mut framer = IntellivueFramer::new();
        assert!(framer.feed(&[]).is_empty());
        assert!(framer.feed(&[BOF]).is_empty());
        assert!(IntellivueFramer::new().feed(&[0x11]).is_empty());
    }

    #[test]
    fn partial_frame_waits_for_more_bytes() {
        let bytes = encode_frame(&[1, 2, 3]).unwrap();
        let mut framer = IntellivueFramer::new();
        for &b in &bytes[..bytes.len() - 1] {
            assert!(framer.feed(&[b]).is_empty());
        }
        assert_eq!(framer.feed(&[EOF]), vec![Ok(vec![1, 2, 3])]);
    }

    #[test]
    fn escaped_bytes_in_data_and_fcs_round_trip() {
        // devices.md §2.2: C0, C1 and 7D become 7D + byte XOR 20.
        let bytes = encode_frame(&[BOF, EOF, ESC]).unwrap();
        assert_eq!(&bytes[5..11], &[0x7D, 0xE0, 0x7D, 0xE1, 0x7D, 0x5D]);
        assert_eq!(
            frames(IntellivueFramer::new().feed(&bytes)),
            vec![vec![BOF, EOF, ESC]]
        );
    }

    #[test]
    fn too_short_frames_are_reported() {
        let out = IntellivueFramer::new().feed(&[BOF, 0x11, 0x01, EOF, BOF, EOF]);
        assert_eq!(
            out,
            vec![
                Err(IntellivueError::FrameTooShort { len: 2 }),
                Err(IntellivueError::FrameTooShort { len: 0 }),
            ]
        );
    }

    #[test]
    fn abort_sequence_drops_the_frame() {
        let mut bytes = vec![BOF, 0x11, 0x01, 0x00, ESC, EOF];
        bytes.extend(encode_frame(&[9]).unwrap());
        let out = IntellivueFramer::new().feed(&bytes);
        assert_eq!(
            out,
            vec![Err(IntellivueError::Aborted { len: 3 }), Ok(vec![9])]
        );
    }

    #[test]
    fn lost_eof_costs_only_its_own_frame() {
        let mut bytes = encode_frame(&[1]).unwrap();
        bytes.pop();
        bytes.extend(encode_frame(&[2]).unwrap());
        let out = IntellivueFramer::new().feed(&bytes);
        assert_eq!(
            out,
            vec![Err(IntellivueError::Unterminated { len: 7 }), Ok(vec![2])]
        );
    }

    #[test]
    fn header_and_length_field_are_checked_after_the_fcs() {
        let build = |raw: &[u8]| {
            let mut raw = raw.to_vec();
            raw.extend(fcs(&raw).to_le_bytes());
            let mut f = vec![BOF];
            f.extend(raw);
            f.push(EOF);
            f
        };
        let out = IntellivueFramer::new().feed(&build(&[0x12, 0x01, 0x00, 0x01, 0xAA]));
        let header = IntellivueError::BadHeader {
            protocol_id: 0x12,
            message_type: 0x01,
        };
        assert_eq!(out, vec![Err(header)]);
        let out = IntellivueFramer::new().feed(&build(&[0x11, 0x01, 0x00, 0x02, 0xAA]));
        let length = IntellivueError::FrameLength {
            declared: 2,
            actual: 1,
        };
        assert_eq!(out, vec![Err(length)]);
    }

    #[test]
    fn maximum_length_frame_passes_and_one_more_byte_is_dropped() {
        let data = vec![0x42; 10];
        let mut framer = IntellivueFramer::with_limit(10 + FRAME_OVERHEAD);
        assert_eq!(
            frames(framer.feed(&encode_frame(&data).unwrap())),
            vec![data]
        );
        let mut bytes = encode_frame(&[0x42; 11]).unwrap();
        bytes.extend(encode_frame(&[7]).unwrap());
        let out = framer.feed(&bytes);
        let limit = 10 + FRAME_OVERHEAD;
        assert_eq!(
            out,
            vec![Err(IntellivueError::FrameTooLong { limit }), Ok(vec![7])]
        );
    }

    #[test]
    fn endless_garbage_is_reported_without_growing() {
        let out = IntellivueFramer::new().feed(&vec![0x00; 2100]);
        assert_eq!(
            out,
            vec![Err(IntellivueError::Garbage { skipped: 1024 }); 2]
        );
    }
}
