//! MLLP (Minimal Lower Layer Protocol) block framing.
//!
//! A block is `0B` + message + `1C 0D`. The framer is a small state machine:
//!
//! - **idle**: wait for `0B`; CR and LF between blocks are ignored, other bytes
//!   are counted as garbage and reported when the next block starts;
//! - **in message**: collect bytes up to `1C`. A `0B` here means the previous
//!   message lost its end: it is reported as truncated and a new one starts. A
//!   message reaching the size limit is reported and dropped (**discarding** until
//!   `1C` or `0B`), so the framer never holds more than the limit;
//! - **after end**: `1C` completes the message at once (a sender that waits for its
//!   ACK must not wait on us for one more byte); the `0D` that should follow is
//!   consumed if it comes. A sender that omits it still works.

use super::MllpError;

/// Start of block.
pub const START_BLOCK: u8 = 0x0B;
/// End of block, followed by [`CARRIAGE_RETURN`].
pub const END_BLOCK: u8 = 0x1C;
/// The byte that closes a block after [`END_BLOCK`].
pub const CARRIAGE_RETURN: u8 = 0x0D;
/// Default largest message accepted, in bytes (PCD-01 numerics are a few KiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1 << 20;

/// Garbage is reported at least this often while no block starts.
const GARBAGE_REPORT_BYTES: usize = 64 * 1024;

/// Wraps a message in an MLLP block.
pub fn encode(message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(START_BLOCK);
    out.extend_from_slice(message);
    out.extend_from_slice(&[END_BLOCK, CARRIAGE_RETURN]);
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    InMessage,
    Discarding,
    AfterEnd,
}

/// Turns an MLLP byte stream into messages.
#[derive(Debug, Clone)]
pub struct MllpFramer {
    state: State,
    message: Vec<u8>,
    limit: usize,
    skipped: usize,
}

impl Default for MllpFramer {
    fn default() -> Self {
        Self::with_limit(DEFAULT_MAX_MESSAGE_BYTES)
    }
}

impl MllpFramer {
    /// A framer with the default size limit, [`DEFAULT_MAX_MESSAGE_BYTES`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A framer that drops messages longer than `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            state: State::Idle,
            message: Vec::new(),
            limit,
            skipped: 0,
        }
    }

    /// Feeds the next bytes; returns the messages (without the envelope) and
    /// problems they completed, in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<Vec<u8>, MllpError>> {
        let mut out = Vec::new();
        let mut rest = bytes;
        while let Some((&byte, tail)) = rest.split_first() {
            if self.state == State::InMessage {
                // Copy the run of ordinary bytes at once, up to the limit;
                // the byte after it goes through the state machine.
                let run = rest
                    .iter()
                    .position(|&b| b == START_BLOCK || b == END_BLOCK)
                    .unwrap_or(rest.len());
                let take = run.min(self.limit.saturating_sub(self.message.len()));
                if take > 0 {
                    self.message.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                    continue;
                }
            }
            self.push_byte(byte, &mut out);
            rest = tail;
        }
        out
    }

    fn push_byte(&mut self, byte: u8, out: &mut Vec<Result<Vec<u8>, MllpError>>) {
        match self.state {
            State::InMessage => match byte {
                END_BLOCK => {
                    out.push(Ok(std::mem::take(&mut self.message)));
                    self.state = State::AfterEnd;
                }
                START_BLOCK => {
                    let len = self.message.len();
                    out.push(Err(MllpError::Truncated { len }));
                    self.message.clear();
                }
                _ => self.collect(byte, out),
            },
            State::Discarding => match byte {
                END_BLOCK => self.state = State::AfterEnd,
                START_BLOCK => self.start(out),
                _ => {}
            },
            State::AfterEnd if byte == CARRIAGE_RETURN => self.state = State::Idle,
            State::Idle | State::AfterEnd => {
                self.state = State::Idle;
                if byte == START_BLOCK {
                    self.start(out);
                } else {
                    self.skip(byte, out);
                }
            }
        }
    }

    fn start(&mut self, out: &mut Vec<Result<Vec<u8>, MllpError>>) {
        self.flush_garbage(out);
        self.message.clear();
        self.state = State::InMessage;
    }

    fn collect(&mut self, byte: u8, out: &mut Vec<Result<Vec<u8>, MllpError>>) {
        if self.message.len() < self.limit {
            self.message.push(byte);
            return;
        }
        out.push(Err(MllpError::TooLong { limit: self.limit }));
        self.message = Vec::new();
        self.state = State::Discarding;
    }

    fn skip(&mut self, byte: u8, out: &mut Vec<Result<Vec<u8>, MllpError>>) {
        if byte == b'\r' || byte == b'\n' {
            return;
        }
        self.skipped += 1;
        if self.skipped >= GARBAGE_REPORT_BYTES {
            self.flush_garbage(out);
        }
    }

    fn flush_garbage(&mut self, out: &mut Vec<Result<Vec<u8>, MllpError>>) {
        if self.skipped > 0 {
            out.push(Err(MllpError::Garbage {
                skipped: self.skipped,
            }));
            self.skipped = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::test_rng::TestRng;

    fn messages(out: Vec<Result<Vec<u8>, MllpError>>) -> Vec<Vec<u8>> {
        out.into_iter().filter_map(Result::ok).collect()
    }

    #[test]
    fn envelope_matches_recomputed_vector() {
        // devices.md 2.8 #13: first byte 0B, last two 1C 0D.
        let block = encode(b"MSH|^~\\&\r");
        assert_eq!(block.first(), Some(&0x0B));
        assert!(block.ends_with(&[0x1C, 0x0D]));
        assert_eq!(
            messages(MllpFramer::new().feed(&block)),
            vec![b"MSH|^~\\&\r".to_vec()]
        );
    }

    #[test]
    fn empty_input_one_byte_and_empty_block() {
        let mut framer = MllpFramer::new();
        assert!(framer.feed(&[]).is_empty());
        assert!(framer.feed(&[0x0B]).is_empty());
        assert_eq!(framer.feed(&[0x1C, 0x0D]), vec![Ok(Vec::new())]);
    }

    #[test]
    fn partial_block_waits_for_its_end() {
        let block = encode(b"MSH|^~\\&|A\rPID|1\r");
        let mut framer = MllpFramer::new();
        for byte in &block[..block.len() - 2] {
            assert!(framer.feed(&[*byte]).is_empty());
        }
        assert_eq!(messages(framer.feed(&block[block.len() - 2..])).len(), 1);
    }

    #[test]
    fn end_block_without_carriage_return_still_completes() {
        let mut framer = MllpFramer::new();
        assert_eq!(messages(framer.feed(b"\x0BA\x1C")), vec![b"A".to_vec()]);
        assert_eq!(messages(framer.feed(b"\x0BB\x1C\x0D")), vec![b"B".to_vec()]);
    }

    #[test]
    fn garbage_before_a_block_is_skipped_and_counted() {
        let mut bytes = b"hello\r\n\x00".to_vec();
        bytes.extend(encode(b"MSG"));
        let out = MllpFramer::new().feed(&bytes);
        assert_eq!(
            out,
            vec![Err(MllpError::Garbage { skipped: 6 }), Ok(b"MSG".to_vec())]
        );
    }

    #[test]
    fn lost_end_block_is_reported_and_next_message_kept() {
        let out = MllpFramer::new().feed(b"\x0Bfirst\x0Bsecond\x1C\x0D");
        assert_eq!(
            out,
            vec![Err(MllpError::Truncated { len: 5 }), Ok(b"second".to_vec())]
        );
    }

    #[test]
    fn maximum_size_passes_and_one_byte_more_is_dropped() {
        let mut framer = MllpFramer::with_limit(8);
        assert_eq!(messages(framer.feed(&encode(b"12345678"))).len(), 1);
        let out = framer.feed(&[encode(b"123456789"), encode(b"ok")].concat());
        assert_eq!(
            out,
            vec![Err(MllpError::TooLong { limit: 8 }), Ok(b"ok".to_vec())]
        );
    }

    #[test]
    fn random_noise_and_splits_keep_every_block() {
        let mut rng = TestRng::new(99);
        for round in 0..300 {
            let mut stream = Vec::new();
            let mut expected = Vec::new();
            for i in 0..5u8 {
                // Garbage without 0B / 1C, as a line never carries them.
                let noise: Vec<u8> = rng
                    .garbage(30)
                    .into_iter()
                    .filter(|b| *b != 0x0B && *b != 0x1C)
                    .collect();
                stream.extend(noise);
                let body: Vec<u8> = rng
                    .garbage(200)
                    .into_iter()
                    .map(|b| b'A' + (b % 26))
                    .chain([i])
                    .collect();
                stream.extend(encode(&body));
                expected.push(body);
            }
            let mut framer = MllpFramer::with_limit(256);
            let mut found = Vec::new();
            for chunk in rng.chunks(&stream, 64) {
                found.extend(messages(framer.feed(chunk)));
            }
            assert_eq!(found, expected, "round {round}");
            let _ = framer.feed(&rng.bytes(1000));
            assert!(framer.message.len() <= 256);
        }
    }
}
