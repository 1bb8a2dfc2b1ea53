//! Nonin byte stream to frames: a sliding window over at most 5 bytes.
//!
//! The framer keeps one frame's worth of bytes. When the window is full it checks
//! the sync bits (and, for formats 2 and 7, the checksum). A good window becomes a
//! frame and the framer is in step. A bad window is slid by one byte. Right after
//! a good frame it is reported as a bad frame (sync or checksum) and its bytes are
//! not counted again; out of step, each byte slid past counts as garbage, reported
//! once the next good frame is found (or every [`GARBAGE_REPORT_BYTES`] bytes if
//! none comes). Sliding rather than dropping a whole bad frame means a lost byte
//! costs one frame, not two.

use super::NoninError;

/// Garbage is reported at least this often while no frame is found.
const GARBAGE_REPORT_BYTES: usize = 1024;

/// The serial data format the oximeter was told to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataFormat {
    /// 5-byte frames `01 STATUS PLETH FLOAT CHK`, 8-bit pleth.
    Format2,
    /// 5-byte frames `STATUS PLETH_MSB PLETH_LSB FLOAT CHK`, 16-bit pleth.
    Format7,
    /// 4-byte records `STATUS1 HR SPO2 STATUS2`, once a second.
    Format8,
}

impl DataFormat {
    /// Frame length in bytes.
    pub const fn frame_len(self) -> usize {
        match self {
            Self::Format2 | Self::Format7 => 5,
            Self::Format8 => 4,
        }
    }

    /// The format number the device uses (`ZZ` in the select-format command).
    pub const fn number(self) -> u8 {
        match self {
            Self::Format2 => 2,
            Self::Format7 => 7,
            Self::Format8 => 8,
        }
    }
}

/// The STATUS byte of a format 2 or 7 frame. See the module docs for the bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameStatus(pub u8);

impl FrameStatus {
    /// Bit 0: first frame of a packet.
    pub const SYNC: u8 = 0x01;
    /// Bit 1: green perfusion (with RPRF: yellow).
    pub const GPRF: u8 = 0x02;
    /// Bit 2: red perfusion (with GPRF: yellow).
    pub const RPRF: u8 = 0x04;
    /// Bit 3: sensor alarm, the sensor gives unusable data.
    pub const SNSA: u8 = 0x08;
    /// Bit 4: out of track, no consecutive good pulses.
    pub const OOT: u8 = 0x10;
    /// Bit 5: artifact, a beat did not match the pulse interval.
    pub const ARTF: u8 = 0x20;
    /// Bit 6: sensor disconnected (OEM III; reserved on the 9560).
    pub const SNSD: u8 = 0x40;

    /// Whether `bit` (one of the constants) is set.
    pub const fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }
}

/// One frame of format 2 or 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SerialFrame {
    /// The STATUS byte.
    pub status: FrameStatus,
    /// The plethysmogram sample (8 bits in format 2, 16 bits in format 7).
    pub pleth: u16,
    /// The FLOAT byte, whose meaning depends on the frame's place in the packet.
    pub float: u8,
}

/// One format 8 record: the four bytes as sent. Decoding is in the accessors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format8Frame {
    /// STATUS1: flags and heart rate bits 8-7.
    pub status1: u8,
    /// Heart rate bits 6-0.
    pub hr_low: u8,
    /// SpO2 in percent, 127 when missing.
    pub spo2: u8,
    /// STATUS2: SmartPoint, sensor alarm, low battery.
    pub status2: u8,
}

/// A frame of whichever format the framer was built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A format 2 or 7 frame; group 25 of them with a
    /// [`super::PacketAssembler`].
    Serial(SerialFrame),
    /// A format 8 record.
    Format8(Format8Frame),
}

/// Turns a Nonin byte stream into frames, resynchronising after noise.
#[derive(Debug, Clone)]
pub struct NoninFramer {
    format: DataFormat,
    window: [u8; 5],
    len: usize,
    in_step: bool,
    /// Bytes slid past out of step, not yet reported.
    skipped: usize,
    /// Bytes of an already reported bad frame still to slide past uncounted.
    forgiven: usize,
}

impl NoninFramer {
    /// A framer for one data format.
    pub fn new(format: DataFormat) -> Self {
        Self {
            format,
            window: [0; 5],
            len: 0,
            in_step: false,
            skipped: 0,
            forgiven: 0,
        }
    }

    /// The format this framer expects.
    pub fn format(&self) -> DataFormat {
        self.format
    }

    /// Feeds the next bytes; returns the frames and problems they completed, in
    /// order. Bytes of an unfinished frame wait for the next call.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<Frame, NoninError>> {
        let mut out = Vec::new();
        for &byte in bytes {
            self.push_byte(byte, &mut out);
        }
        out
    }

    fn push_byte(&mut self, byte: u8, out: &mut Vec<Result<Frame, NoninError>>) {
        let frame_len = self.format.frame_len();
        if let Some(slot) = self.window.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
        if self.len < frame_len {
            return;
        }
        match check(self.format, &self.window) {
            Ok(frame) => {
                self.forgiven = 0;
                self.flush_garbage(out);
                out.push(Ok(frame));
                self.len = 0;
                self.in_step = true;
            }
            Err(err) => {
                if self.in_step {
                    out.push(Err(err));
                    self.in_step = false;
                    self.forgiven = frame_len;
                }
                self.slide(out);
            }
        }
    }

    fn slide(&mut self, out: &mut Vec<Result<Frame, NoninError>>) {
        self.window.rotate_left(1);
        self.len -= 1;
        if self.forgiven > 0 {
            self.forgiven -= 1;
            return;
        }
        self.skipped += 1;
        if self.skipped >= GARBAGE_REPORT_BYTES {
            self.flush_garbage(out);
        }
    }

    fn flush_garbage(&mut self, out: &mut Vec<Result<Frame, NoninError>>) {
        if self.skipped > 0 {
            out.push(Err(NoninError::Garbage {
                skipped: self.skipped,
            }));
            self.skipped = 0;
        }
    }
}

/// Validates a full window and decodes it.
fn check(format: DataFormat, w: &[u8; 5]) -> Result<Frame, NoninError> {
    let [b1, b2, b3, b4, chk] = *w;
    match format {
        DataFormat::Format2 => {
            if b1 != 0x01 || b2 & 0x80 == 0 {
                return Err(NoninError::BadSync { first: b1 });
            }
            verify_checksum([b1, b2, b3, b4], chk)?;
            Ok(Frame::Serial(SerialFrame {
                status: FrameStatus(b2),
                pleth: u16::from(b3),
                float: b4,
            }))
        }
        DataFormat::Format7 => {
            if b1 & 0x80 == 0 {
                return Err(NoninError::BadSync { first: b1 });
            }
            verify_checksum([b1, b2, b3, b4], chk)?;
            Ok(Frame::Serial(SerialFrame {
                status: FrameStatus(b1),
                pleth: u16::from_be_bytes([b2, b3]),
                float: b4,
            }))
        }
        DataFormat::Format8 => {
            if b1 & 0x80 == 0 || (b2 | b3 | b4) & 0x80 != 0 {
                return Err(NoninError::BadSync { first: b1 });
            }
            Ok(Frame::Format8(Format8Frame {
                status1: b1,
                hr_low: b2,
                spo2: b3,
                status2: b4,
            }))
        }
    }
}

/// The format 2/7 checksum: the sum of the first four bytes modulo 256.
pub(crate) fn checksum(bytes: [u8; 4]) -> u8 {
    bytes.iter().fold(0u8, |sum, &b| sum.wrapping_add(b))
}

fn verify_checksum(bytes: [u8; 4], found: u8) -> Result<(), NoninError> {
    let expected = checksum(bytes);
    if expected == found {
        Ok(())
    } else {
        Err(NoninError::Checksum { expected, found })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::test_rng::TestRng;

    fn frames(out: &[Result<Frame, NoninError>]) -> Vec<Frame> {
        out.iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect()
    }

    fn f2(status: u8, pleth: u8, float: u8) -> Vec<u8> {
        let mut f = vec![0x01, status, pleth, float];
        f.push(checksum([0x01, status, pleth, float]));
        f
    }

    #[test]
    fn format2_checksum_matches_recomputed_vector() {
        // devices.md 2.8 #7: 01 81 AF 00 -> 31, the last frame of the NoninPulseOx
        // example stream. Cross-checked with crccheck's Checksum8 (see mod tests).
        assert_eq!(checksum([0x01, 0x81, 0xAF, 0x00]), 0x31);
        let out = NoninFramer::new(DataFormat::Format2).feed(&[0x01, 0x81, 0xAF, 0x00, 0x31]);
        let expected = SerialFrame {
            status: FrameStatus(0x81),
            pleth: 0xAF,
            float: 0x00,
        };
        assert_eq!(out, vec![Ok(Frame::Serial(expected))]);
    }

    #[test]
    fn empty_input_and_one_byte_yield_nothing() {
        for format in [
            DataFormat::Format2,
            DataFormat::Format7,
            DataFormat::Format8,
        ] {
            let mut framer = NoninFramer::new(format);
            assert!(framer.feed(&[]).is_empty());
            assert!(framer.feed(&[0x81]).is_empty());
        }
    }

    #[test]
    fn partial_frame_waits_for_more_bytes() {
        let mut framer = NoninFramer::new(DataFormat::Format7);
        assert!(framer.feed(&[0x81, 0x12]).is_empty());
        assert!(framer.feed(&[0x34, 0x00]).is_empty());
        let out = framer.feed(&[0x81u8.wrapping_add(0x12).wrapping_add(0x34)]);
        let Some(Ok(Frame::Serial(frame))) = out.first() else {
            panic!("no frame: {out:?}");
        };
        assert_eq!(frame.pleth, 0x1234);
        assert!(frame.status.has(FrameStatus::SYNC));
    }

    #[test]
    fn bad_checksum_in_step_is_reported_and_dropped() {
        let mut bytes = f2(0x81, 0x10, 0x00);
        let mut bad = f2(0x80, 0x11, 0x4A);
        bad[4] ^= 0xFF;
        bytes.extend_from_slice(&bad);
        bytes.extend(f2(0x80, 0x12, 0x60));
        let out = NoninFramer::new(DataFormat::Format2).feed(&bytes);
        assert_eq!(out.len(), 3, "{out:?}");
        assert!(matches!(out[1], Err(NoninError::Checksum { found, .. }) if found == bad[4]));
        assert_eq!(frames(&out).len(), 2);
    }

    #[test]
    fn garbage_before_a_valid_frame_is_skipped_and_counted() {
        let mut bytes = vec![0x00, 0xFF, 0x01, 0x02, 0x7E];
        bytes.extend(f2(0x81, 0x43, 0x00));
        let out = NoninFramer::new(DataFormat::Format2).feed(&bytes);
        assert_eq!(out[0], Err(NoninError::Garbage { skipped: 5 }));
        assert_eq!(frames(&out).len(), 1);
    }

    #[test]
    fn format8_needs_bit7_in_first_byte_only() {
        // devices.md 2.8 #8: HR 72, SpO2 97, no flags.
        let mut framer = NoninFramer::new(DataFormat::Format8);
        let out = framer.feed(&[0x48, 0x80, 0x48, 0x61, 0x00]);
        assert_eq!(out[0], Err(NoninError::Garbage { skipped: 1 }));
        let expected = Format8Frame {
            status1: 0x80,
            hr_low: 0x48,
            spo2: 0x61,
            status2: 0x00,
        };
        assert_eq!(out[1], Ok(Frame::Format8(expected)));
        assert_eq!(
            framer.feed(&[0x80, 0x48, 0xE1, 0x00]),
            vec![Err(NoninError::BadSync { first: 0x80 })]
        );
    }

    #[test]
    fn endless_garbage_is_reported_without_growing() {
        let mut framer = NoninFramer::new(DataFormat::Format2);
        let out = framer.feed(&vec![0x00; 3000]);
        assert_eq!(out, vec![Err(NoninError::Garbage { skipped: 1024 }); 2]);
    }

    #[test]
    fn random_bytes_and_random_splits_never_lose_step_for_long() {
        let mut rng = TestRng::new(7);
        for format in [
            DataFormat::Format2,
            DataFormat::Format7,
            DataFormat::Format8,
        ] {
            for round in 0..200 {
                let valid: Vec<Vec<u8>> =
                    (0..10).map(|i| valid_frame(format, &mut rng, i)).collect();
                let mut stream = rng.garbage(40);
                for f in &valid {
                    stream.extend_from_slice(f);
                }
                let mut framer = NoninFramer::new(format);
                let mut found = Vec::new();
                for chunk in rng.chunks(&stream, 9) {
                    found.extend(frames(&framer.feed(chunk)));
                }
                // A false frame inside the garbage may eat into the first valid
                // one; from the second on, every frame must come out, in order.
                let tail: Vec<Frame> = valid[1..].iter().map(|f| one(format, f)).collect();
                assert!(found.ends_with(&tail), "{format:?} round {round}");
                let noise = rng.bytes(500);
                let _ = NoninFramer::new(format).feed(&noise);
            }
        }
    }

    fn valid_frame(format: DataFormat, rng: &mut TestRng, i: u8) -> Vec<u8> {
        let (a, b) = (rng.byte(), rng.byte());
        match format {
            DataFormat::Format2 => f2(0x80 | (a & 0x7E), b, i),
            DataFormat::Format7 => {
                let head = [0x80 | a, b, i, a];
                let mut f = head.to_vec();
                f.push(checksum(head));
                f
            }
            DataFormat::Format8 => vec![0x80 | a, b & 0x7F, i & 0x7F, a & 0x7F],
        }
    }

    fn one(format: DataFormat, bytes: &[u8]) -> Frame {
        let out = NoninFramer::new(format).feed(bytes);
        frames(&out)[0]
    }
}
