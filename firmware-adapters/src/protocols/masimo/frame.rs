//! Masimo byte stream to lines.
//!
//! A line ends at CR or LF (either, both, in any order); empty lines are skipped.
//! A line is cut to start at its first `MM/DD/YY HH:MM:SS` timestamp: bytes before
//! it (power-on noise, a half line after a reconnect) are reported as garbage, and
//! a line with no timestamp at all is garbage. A line longer than the limit is
//! dropped up to its line end, so the framer never holds more than the limit.

use super::MasimoError;

/// Default longest line accepted, in bytes. Real lines are under 250 bytes.
pub const MAX_LINE_BYTES: usize = 512;

/// Length of `MM/DD/YY HH:MM:SS`.
pub(crate) const TIMESTAMP_LEN: usize = 17;

/// Turns a Masimo byte stream into lines that start at a timestamp.
#[derive(Debug, Clone)]
pub struct LineFramer {
    line: Vec<u8>,
    limit: usize,
    /// Dropping the rest of an over-long line until its line end.
    discarding: bool,
}

impl Default for LineFramer {
    fn default() -> Self {
        Self::with_limit(MAX_LINE_BYTES)
    }
}

impl LineFramer {
    /// A framer with the default line limit, [`MAX_LINE_BYTES`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A framer that drops lines longer than `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            line: Vec::new(),
            limit,
            discarding: false,
        }
    }

    /// Feeds the next bytes; returns the lines (without line end) and problems
    /// they completed, in order. An unfinished line waits for the next call.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Result<Vec<u8>, MasimoError>> {
        let mut out = Vec::new();
        for &byte in bytes {
            self.push_byte(byte, &mut out);
        }
        out
    }

    fn push_byte(&mut self, byte: u8, out: &mut Vec<Result<Vec<u8>, MasimoError>>) {
        if byte == b'\r' || byte == b'\n' {
            if !self.discarding && !self.line.is_empty() {
                let line = std::mem::take(&mut self.line);
                finish(line, out);
            }
            self.discarding = false;
        } else if self.discarding {
        } else if self.line.len() >= self.limit {
            out.push(Err(MasimoError::LineTooLong { limit: self.limit }));
            self.line = Vec::new();
            self.discarding = true;
        } else {
            self.line.push(byte);
        }
    }
}

/// Cuts a complete line at its timestamp.
fn finish(line: Vec<u8>, out: &mut Vec<Result<Vec<u8>, MasimoError>>) {
    match line.windows(TIMESTAMP_LEN).position(is_timestamp) {
        Some(0) => out.push(Ok(line)),
        Some(start) => {
            out.push(Err(MasimoError::Garbage { skipped: start }));
            out.push(Ok(line.get(start..).unwrap_or_default().to_vec()));
        }
        None => out.push(Err(MasimoError::Garbage {
            skipped: line.len(),
        })),
    }
}

/// Whether `bytes` has the shape `dd/dd/dd dd:dd:dd` (values are checked later).
pub(crate) fn is_timestamp(bytes: &[u8]) -> bool {
    const SHAPE: &[u8; TIMESTAMP_LEN] = b"dd/dd/dd dd:dd:dd";
    bytes.len() == TIMESTAMP_LEN
        && bytes.iter().zip(SHAPE).all(|(&b, &s)| match s {
            b'd' => b.is_ascii_digit(),
            other => b == other,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &[u8] = b"09/15/10 15:10:29 SPO2=097% BPM=064 PI=11.82% ALARM=20 EXC=800";

    fn lines(out: Vec<Result<Vec<u8>, MasimoError>>) -> Vec<Vec<u8>> {
        out.into_iter().filter_map(Result::ok).collect()
    }

    #[test]
    fn empty_input_and_one_byte_yield_nothing() {
        let mut framer = LineFramer::new();
        assert!(framer.feed(b"").is_empty());
        assert!(framer.feed(b"0").is_empty());
        assert!(framer.feed(b"\r\n\r\n").len() == 1);
    }

    #[test]
    fn partial_line_waits_for_its_line_end() {
        let mut framer = LineFramer::new();
        let (head, tail) = LINE.split_at(20);
        assert!(framer.feed(head).is_empty());
        assert!(framer.feed(tail).is_empty());
        assert_eq!(lines(framer.feed(b"\r\n")), vec![LINE.to_vec()]);
    }

    #[test]
    fn lf_cr_and_crlf_all_end_lines() {
        let mut bytes = LINE.to_vec();
        bytes.extend_from_slice(b"\n\r");
        bytes.extend_from_slice(LINE);
        bytes.push(b'\r');
        bytes.extend_from_slice(LINE);
        bytes.push(b'\n');
        assert_eq!(lines(LineFramer::new().feed(&bytes)).len(), 3);
    }

    #[test]
    fn garbage_before_the_timestamp_is_cut_and_counted() {
        let mut bytes = b"\x00\xFFxx".to_vec();
        bytes.extend_from_slice(LINE);
        bytes.push(b'\n');
        let out = LineFramer::new().feed(&bytes);
        assert_eq!(out[0], Err(MasimoError::Garbage { skipped: 4 }));
        assert_eq!(out[1], Ok(LINE.to_vec()));
    }

    #[test]
    fn line_without_timestamp_is_garbage() {
        let out = LineFramer::new().feed(b"SPO2=097 BPM=064\r\n");
        assert_eq!(out, vec![Err(MasimoError::Garbage { skipped: 16 })]);
    }

    #[test]
    fn maximum_length_line_passes_and_one_more_byte_is_dropped() {
        let mut framer = LineFramer::with_limit(LINE.len());
        assert_eq!(lines(framer.feed(&[LINE, b"\n"].concat())).len(), 1);
        let too_long = [LINE, b" X=1\n", LINE, b"\n"].concat();
        let out = framer.feed(&too_long);
        assert_eq!(out[0], Err(MasimoError::LineTooLong { limit: LINE.len() }));
        assert_eq!(out[1], Ok(LINE.to_vec()));
        assert_eq!(out.len(), 2);
    }
}
