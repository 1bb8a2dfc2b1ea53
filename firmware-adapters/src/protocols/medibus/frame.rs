//! Medibus slow-data frames: the frame type, its encoder and the framer.
//!
//! The framer removes realtime bytes (bit 7 set) and XON/XOFF wherever they
//! fall, even inside a frame. ESC or SOH opens a frame and CR closes the most
//! recently opened one. Because a device command may arrive in the middle of a
//! response, up to [`MAX_OPEN_FRAMES`] frames may be open at once: the inner one
//! closes first and the outer one then carries on. When one more opens, the
//! oldest is dropped as garbage (a frame whose CR was lost). Bytes outside every
//! frame are garbage, reported before the next frame or problem (or every
//! [`GARBAGE_REPORT_BYTES`] bytes). A frame longer than [`MAX_FRAME_BYTES`] is
//! reported and dropped up to its CR, so the framer never holds more than
//! `MAX_OPEN_FRAMES * MAX_FRAME_BYTES` bytes.

use super::{Command, MedibusError};

/// Opens a command.
pub const ESC: u8 = 0x1B;
/// Opens a response.
pub const SOH: u8 = 0x01;
/// Closes a frame.
pub const CR: u8 = 0x0D;
/// Flow control bytes, ignored wherever they appear.
const XON: u8 = 0x11;
const XOFF: u8 = 0x13;
/// Longest frame kept, from ESC or SOH to the CR. A full code page of 6-byte
/// measured-data items (256 codes) needs 1 541.
pub const MAX_FRAME_BYTES: usize = 2048;
/// Frames open at once: a response and a command inside it.
pub const MAX_OPEN_FRAMES: usize = 2;
/// Garbage is reported at least this often while no frame is found.
pub const GARBAGE_REPORT_BYTES: usize = 4096;

/// Who sent a frame, by its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// ESC: a command (from either side).
    Command,
    /// SOH: a response to a command.
    Response,
}

impl FrameKind {
    fn start(self) -> u8 {
        match self {
            Self::Command => ESC,
            Self::Response => SOH,
        }
    }
}

/// One slow-data frame, without start byte, checksum and CR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MedibusFrame {
    /// Command or response.
    pub kind: FrameKind,
    /// The command byte (echoed in a response); see [`Command`].
    pub command: u8,
    /// Arguments of a command, data of a response.
    pub data: Vec<u8>,
}

impl MedibusFrame {
    /// A command frame.
    pub fn command(command: Command, args: &[u8]) -> Self {
        Self {
            kind: FrameKind::Command,
            command: command.code(),
            data: args.to_vec(),
        }
    }

    /// A response frame.
    pub fn response(command: Command, data: &[u8]) -> Self {
        Self {
            kind: FrameKind::Response,
            command: command.code(),
            data: data.to_vec(),
        }
    }

    /// The documented command this frame carries, if any.
    pub fn known_command(&self) -> Option<Command> {
        Command::from_code(self.command)
    }

    /// The frame on the wire: start byte, command, data, checksum as two
    /// upper-case hex digits, CR.
    ///
    /// # Errors
    ///
    /// [`MedibusError::BadDataByte`] for a command or data byte the slow
    /// channel cannot carry: ESC, SOH, CR, XON, XOFF or one with bit 7 set.
    pub fn to_bytes(&self) -> Result<Vec<u8>, MedibusError> {
        let bad = (std::iter::once(&self.command).chain(&self.data)).find(|&&b| !is_slow_data(b));
        if let Some(&byte) = bad {
            return Err(MedibusError::BadDataByte { byte });
        }
        Ok(encode(self.kind, self.command, &self.data))
    }
}

/// A command without arguments, ready for the wire.
pub fn encode_command(command: Command) -> Vec<u8> {
    encode(FrameKind::Command, command.code(), &[])
}

/// An empty response (what the host answers to a device's ICC or NOP).
pub fn encode_empty_response(command: Command) -> Vec<u8> {
    encode(FrameKind::Response, command.code(), &[])
}

fn encode(kind: FrameKind, command: u8, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 5);
    out.extend_from_slice(&[kind.start(), command]);
    out.extend_from_slice(data);
    let sum = checksum(&out);
    out.extend_from_slice(&[hex_digit(sum >> 4), hex_digit(sum & 0x0F), CR]);
    out
}

/// The Medibus checksum: the sum of the bytes from ESC or SOH through the last
/// data byte, modulo 256.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |sum, &b| sum.wrapping_add(b))
}

fn is_slow_data(byte: u8) -> bool {
    byte < 0x80 && !matches!(byte, ESC | SOH | CR | XON | XOFF)
}

fn hex_digit(nibble: u8) -> u8 {
    b"0123456789ABCDEF"
        .get(usize::from(nibble))
        .copied()
        .unwrap_or(b'0')
}

/// Turns a Medibus byte stream into slow-data frames.
#[derive(Debug, Clone, Default)]
pub struct MedibusFramer {
    /// Open frames, innermost last, each from its start byte on.
    open: Vec<Vec<u8>>,
    /// Dropping an over-long frame up to its CR.
    discarding: bool,
    /// Bytes outside any frame, not yet reported.
    skipped: usize,
    /// Realtime bytes set aside so far.
    realtime: u64,
}

impl MedibusFramer {
    /// A framer with no open frame.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many realtime bytes (bit 7 set) were removed from the stream so far.
    /// They are not decoded here.
    pub fn realtime_bytes(&self) -> u64 {
        self.realtime
    }

    /// Feeds the next bytes; returns the frames and problems they completed, in
    /// order. Unfinished frames wait for the next call.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<MedibusFrame, MedibusError>> {
        let mut out = Vec::new();
        for &byte in bytes {
            self.push_byte(byte, &mut out);
        }
        out
    }

    fn push_byte(&mut self, byte: u8, out: &mut Vec<Result<MedibusFrame, MedibusError>>) {
        match byte {
            b if b & 0x80 != 0 => self.realtime = self.realtime.saturating_add(1),
            XON | XOFF => {}
            ESC | SOH => {
                self.discarding = false;
                self.open.push(vec![byte]);
                if self.open.len() > MAX_OPEN_FRAMES {
                    let oldest = self.open.remove(0);
                    self.skip(oldest.len(), out);
                }
            }
            CR if self.discarding => self.discarding = false,
            CR => match self.open.pop() {
                Some(frame) => self.emit(finish(&frame), out),
                None => self.skip(1, out),
            },
            _ if self.discarding => {}
            _ => match self.open.last_mut() {
                Some(frame) if frame.len() >= MAX_FRAME_BYTES => {
                    self.open.pop();
                    self.discarding = true;
                    let limit = MAX_FRAME_BYTES;
                    self.emit(Err(MedibusError::TooLong { limit }), out);
                }
                Some(frame) => frame.push(byte),
                None => self.skip(1, out),
            },
        }
    }

    fn emit(
        &mut self,
        item: Result<MedibusFrame, MedibusError>,
        out: &mut Vec<Result<MedibusFrame, MedibusError>>,
    ) {
        self.flush_garbage(out);
        out.push(item);
    }

    fn skip(&mut self, bytes: usize, out: &mut Vec<Result<MedibusFrame, MedibusError>>) {
        self.skipped += bytes;
        if self.skipped >= GARBAGE_REPORT_BYTES {
            self.flush_garbage(out);
        }
    }

    fn flush_garbage(&mut self, out: &mut Vec<Result<MedibusFrame, MedibusError>>) {
        if self.skipped > 0 {
            out.push(Err(MedibusError::Garbage {
                skipped: self.skipped,
            }));
            self.skipped = 0;
        }
    }
}

/// Checks one frame (start byte to the byte before CR) and splits it. The
/// checksum digits may be upper or lower case.
fn finish(frame: &[u8]) -> Result<MedibusFrame, MedibusError> {
    let &[start, command, ref data @ .., high, low] = frame else {
        return Err(MedibusError::TooShort { len: frame.len() });
    };
    let nibble = |c: u8| char::from(c).to_digit(16);
    let (Some(h), Some(l)) = (nibble(high), nibble(low)) else {
        return Err(MedibusError::BadChecksumText { high, low });
    };
    // Two hex digits are at most 0xFF.
    let found = u8::try_from(h * 16 + l).unwrap_or(u8::MAX);
    let expected = checksum(&[start, command]).wrapping_add(checksum(data));
    if found != expected {
        return Err(MedibusError::Checksum { expected, found });
    }
    let kind = if start == ESC {
        FrameKind::Command
    } else {
        FrameKind::Response
    };
    Ok(MedibusFrame {
        kind,
        command,
        data: data.to_vec(),
    })
}
