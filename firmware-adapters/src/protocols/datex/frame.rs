//! Datex DRI byte stream to records: flags, escapes and the 8-bit checksum.
//!
//! Every `7E` flag ends the current candidate frame and opens the next, so
//! frames may share a flag or have one each, and idle flags (`7E 7E`) are
//! skipped. The bytes between two flags are unescaped; the last unescaped byte
//! is the checksum of the ones before it. A good candidate becomes a record and
//! the framer is in step. A bad one right after a good frame is reported as what
//! it is (checksum, escape, too short) and not counted again; out of step, its
//! bytes count as garbage, reported once the next good frame is found (or every
//! [`GARBAGE_REPORT_BYTES`] bytes if none comes). Bytes before the first flag are
//! garbage too. A candidate growing past [`MAX_RECORD_BYTES`] plus its checksum
//! is dropped up to the next flag and counted as garbage, so the framer never
//! holds more than one record.

use std::iter;

use super::record::{HEADER_BYTES, MAX_RECORD_BYTES};
use super::DatexError;

/// Opens and closes a frame.
pub const FLAG: u8 = 0x7E;
/// Escapes a `7E` or `7D` inside a frame.
pub const ESCAPE: u8 = 0x7D;
/// An escaped byte is sent XOR this (bit 5 cleared for `7E` and `7D`).
const ESCAPE_XOR: u8 = 0x20;
/// Garbage is reported at least this often while no frame is found.
pub const GARBAGE_REPORT_BYTES: usize = 4096;

/// The DRI checksum: the low 8 bits of the sum of the unescaped record bytes.
pub fn checksum(record: &[u8]) -> u8 {
    record.iter().fold(0u8, |sum, &b| sum.wrapping_add(b))
}

/// Frames a record: flag, escaped record and checksum, flag.
///
/// The checksum is escaped like data. devices.md 2.1 notes that VSCapture's
/// transmitter leaves it unescaped (marked uncertain there); its receiver
/// unescapes it like data, so an escaped checksum is what both readings accept.
pub fn encode_frame(record: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(record.len() + 4);
    out.push(FLAG);
    for &byte in record.iter().chain(iter::once(&checksum(record))) {
        escape_into(byte, &mut out);
    }
    out.push(FLAG);
    out
}

/// Appends one byte, escaped if it is a flag or an escape.
pub(crate) fn escape_into(byte: u8, out: &mut Vec<u8>) {
    if byte == FLAG || byte == ESCAPE {
        out.extend_from_slice(&[ESCAPE, byte ^ ESCAPE_XOR]);
    } else {
        out.push(byte);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first flag.
    Hunting,
    /// Between flags, collecting a candidate.
    InFrame,
    /// Dropping an over-long candidate up to the next flag.
    Discarding,
}

/// Turns a DRI byte stream into checked records (checksum removed).
#[derive(Debug, Clone)]
pub struct DatexFramer {
    state: State,
    /// The unescaped bytes of the current candidate, checksum included.
    buf: Vec<u8>,
    /// The candidate's length on the wire, escapes included.
    wire_len: usize,
    /// The previous byte was an unconsumed escape.
    escaped: bool,
    /// The first bad escape sequence of the candidate, by the byte after `7D`.
    bad_escape: Option<u8>,
    /// The last candidate was a good frame.
    in_step: bool,
    /// Bytes skipped out of step, not yet reported.
    skipped: usize,
}

impl Default for DatexFramer {
    fn default() -> Self {
        Self::new()
    }
}

impl DatexFramer {
    /// A framer waiting for the first flag.
    pub fn new() -> Self {
        Self {
            state: State::Hunting,
            buf: Vec::new(),
            wire_len: 0,
            escaped: false,
            bad_escape: None,
            in_step: false,
            skipped: 0,
        }
    }

    /// Feeds the next bytes; returns the records and problems they completed, in
    /// order. Bytes of an unfinished frame wait for the next call.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<Vec<u8>, DatexError>> {
        let mut out = Vec::new();
        for &byte in bytes {
            match (self.state, byte) {
                (State::InFrame, FLAG) => self.close(&mut out),
                (_, FLAG) => self.state = State::InFrame,
                (State::InFrame, _) => self.take(byte, &mut out),
                (State::Hunting | State::Discarding, _) => self.skip(1, &mut out),
            }
        }
        out
    }

    fn take(&mut self, byte: u8, out: &mut Vec<Result<Vec<u8>, DatexError>>) {
        self.wire_len += 1;
        let value = if self.escaped {
            self.escaped = false;
            if byte != 0x5E && byte != 0x5D {
                self.bad_escape.get_or_insert(byte);
            }
            byte ^ ESCAPE_XOR
        } else if byte == ESCAPE {
            self.escaped = true;
            return;
        } else {
            byte
        };
        if self.buf.len() > MAX_RECORD_BYTES {
            let dropped = self.wire_len;
            self.reset_candidate();
            self.in_step = false;
            self.state = State::Discarding;
            self.skip(dropped, out);
            return;
        }
        self.buf.push(value);
    }

    /// A flag ended the current candidate: check it.
    fn close(&mut self, out: &mut Vec<Result<Vec<u8>, DatexError>>) {
        if self.wire_len == 0 {
            return;
        }
        // Tolerance: a dangling escape right before the flag can only be a
        // checksum of 7D sent unescaped (devices.md 2.1); the checksum decides.
        if std::mem::take(&mut self.escaped) {
            self.buf.push(ESCAPE);
        }
        let wire_len = self.wire_len;
        let result = self.check();
        self.reset_candidate();
        match result {
            Ok(record) => {
                self.flush_garbage(out);
                out.push(Ok(record));
                self.in_step = true;
            }
            Err(err) if self.in_step => {
                out.push(Err(err));
                self.in_step = false;
            }
            Err(_) => self.skip(wire_len, out),
        }
    }

    fn check(&self) -> Result<Vec<u8>, DatexError> {
        if let Some(next) = self.bad_escape {
            return Err(DatexError::BadEscape { next });
        }
        let Some((&found, record)) = self.buf.split_last() else {
            return Err(DatexError::TooShort { len: 0 });
        };
        if record.len() < HEADER_BYTES {
            return Err(DatexError::TooShort { len: record.len() });
        }
        let expected = checksum(record);
        if expected == found {
            Ok(record.to_vec())
        } else {
            Err(DatexError::Checksum { expected, found })
        }
    }

    fn reset_candidate(&mut self) {
        self.buf.clear();
        self.wire_len = 0;
        self.escaped = false;
        self.bad_escape = None;
    }

    fn skip(&mut self, bytes: usize, out: &mut Vec<Result<Vec<u8>, DatexError>>) {
        self.skipped += bytes;
        if self.skipped >= GARBAGE_REPORT_BYTES {
            self.flush_garbage(out);
        }
    }

    fn flush_garbage(&mut self, out: &mut Vec<Result<Vec<u8>, DatexError>>) {
        if self.skipped > 0 {
            out.push(Err(DatexError::Garbage {
                skipped: self.skipped,
            }));
            self.skipped = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 41-byte record (header-sized) whose bytes are `fill`, framed.
    fn framed(fill: u8) -> (Vec<u8>, Vec<u8>) {
        let record = vec![fill; HEADER_BYTES + 1];
        (encode_frame(&record), record)
    }

    #[test]
    fn empty_input_one_byte_and_idle_flags_yield_nothing() {
        let mut framer = DatexFramer::new();
        assert!(framer.feed(&[]).is_empty());
        assert!(framer.feed(&[FLAG]).is_empty());
        assert!(framer.feed(&[FLAG, FLAG, FLAG]).is_empty());
    }

    #[test]
    fn partial_frame_waits_for_its_closing_flag() {
        let (frame, record) = framed(0x11);
        let mut framer = DatexFramer::new();
        let (head, tail) = frame.split_at(frame.len() - 1);
        assert!(framer.feed(head).is_empty());
        assert_eq!(framer.feed(tail), vec![Ok(record)]);
    }

    #[test]
    fn frames_sharing_a_flag_both_come_out() {
        let (a, ra) = framed(0x11);
        let (b, rb) = framed(0x7E);
        let mut stream = a;
        stream.extend_from_slice(&b[1..]);
        assert_eq!(DatexFramer::new().feed(&stream), vec![Ok(ra), Ok(rb)]);
    }

    #[test]
    fn bad_checksum_after_a_good_frame_is_reported_once() {
        let (good, record) = framed(0x11);
        let mut bad = good.clone();
        let at = bad.len() - 2;
        bad[at] ^= 0x01;
        let stream = [&good[..], &bad[..], &good[..]].concat();
        let out = DatexFramer::new().feed(&stream);
        let checksum = checksum(&record);
        let err = DatexError::Checksum {
            expected: checksum,
            found: checksum ^ 0x01,
        };
        assert_eq!(out, vec![Ok(record.clone()), Err(err), Ok(record)]);
    }

    #[test]
    fn garbage_before_the_first_flag_is_counted() {
        let (frame, record) = framed(0x22);
        let stream = [&[0x00, 0x7D, 0xFF][..], &frame].concat();
        let out = DatexFramer::new().feed(&stream);
        assert_eq!(
            out,
            vec![Err(DatexError::Garbage { skipped: 3 }), Ok(record)]
        );
    }

    #[test]
    fn short_frames_and_bad_escapes_are_reported_in_step() {
        let (frame, record) = framed(0x33);
        let mut stream = frame.clone();
        stream.extend_from_slice(&[0x01, 0x01, FLAG]);
        stream.extend_from_slice(&frame);
        stream.extend_from_slice(&[ESCAPE, 0x41, FLAG]);
        let out = DatexFramer::new().feed(&stream);
        let expected = vec![
            Ok(record.clone()),
            Err(DatexError::TooShort { len: 1 }),
            Ok(record),
            Err(DatexError::BadEscape { next: 0x41 }),
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn an_unescaped_7d_checksum_is_accepted() {
        // 40 x 0x19 = 0x3E8; 0xE8 + 0x95 = 0x17D, so the checksum is 7D.
        let mut record = vec![0x19; HEADER_BYTES];
        record.push(0x95);
        assert_eq!(checksum(&record), 0x7D);
        let mut stream = vec![FLAG];
        stream.extend_from_slice(&record);
        stream.extend_from_slice(&[ESCAPE, FLAG]);
        assert_eq!(DatexFramer::new().feed(&stream), vec![Ok(record)]);
    }

    #[test]
    fn a_maximum_length_record_passes_and_one_more_byte_is_dropped() {
        let longest = vec![0x01; MAX_RECORD_BYTES];
        let mut framer = DatexFramer::new();
        assert_eq!(framer.feed(&encode_frame(&longest)), vec![Ok(longest)]);
        let too_long = encode_frame(&[0x01; MAX_RECORD_BYTES + 1]);
        let (frame, record) = framed(0x44);
        let out = framer.feed(&[&too_long[..], &frame[1..]].concat());
        // 1 491 record bytes and the checksum: 1 492 bytes between the flags.
        let skipped = MAX_RECORD_BYTES + 2;
        assert_eq!(out, vec![Err(DatexError::Garbage { skipped }), Ok(record)]);
    }

    #[test]
    fn endless_garbage_is_reported_without_growing() {
        let mut framer = DatexFramer::new();
        let garbage = Err(DatexError::Garbage { skipped: 4096 });
        assert_eq!(framer.feed(&[0x00; 9000]), vec![garbage.clone(); 2]);
        let mut inside = vec![FLAG];
        inside.extend_from_slice(&[0x55; 9000]);
        let out = framer.feed(&inside);
        assert_eq!(out, vec![garbage; 2]);
        assert!(framer.buf.capacity() <= 2 * (MAX_RECORD_BYTES + 1));
    }
}
