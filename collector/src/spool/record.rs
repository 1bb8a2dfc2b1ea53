//! Record framing inside a spool segment: pure encode and scan, no I/O.
//!
//! ```text
//! offset  size  field
//! 0       4     payload length, u32 little-endian, at most MAX_PAYLOAD_BYTES
//! 4       4     CRC-32C of bytes 8.. (sequence number, flags and payload)
//! 8       8     sequence number, u64 little-endian
//! 16      1     flags (bit 0: keep, never shed)
//! 17      len   payload
//! ```
//!
//! The checksum covers the sequence number so that a record copied to the wrong
//! place, or a stale block left by the file system after power loss, is caught as
//! well as flipped bits. Sequence numbers inside a segment are contiguous; a scan
//! stops at the first record that breaks that rule.

use std::ops::Range;

/// Bytes before the payload.
pub(crate) const HEADER_BYTES: usize = 17;
/// A payload larger than this is a corrupt length field, not a record. Samples
/// encode to well under 1 KiB.
pub(crate) const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

const FLAG_KEEP: u8 = 1;

/// Appends one framed record to `out`.
///
/// # Panics
///
/// If `payload` is longer than [`MAX_PAYLOAD_BYTES`]; the caller encodes samples,
/// which cannot be that long.
pub(crate) fn encode(seq: u64, keep: bool, payload: &[u8], out: &mut Vec<u8>) {
    assert!(
        payload.len() <= MAX_PAYLOAD_BYTES,
        "spool payload too large"
    );
    let len = u32::try_from(payload.len()).expect("checked against MAX_PAYLOAD_BYTES");
    let start = out.len();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.push(if keep { FLAG_KEEP } else { 0 });
    out.extend_from_slice(payload);
    let crc = crc32c::crc32c(&out[start + 8..]);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// One record found by [`scan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) seq: u64,
    pub(crate) keep: bool,
    /// Where the payload lies in the scanned bytes.
    pub(crate) payload: Range<usize>,
}

/// Why a scan stopped before the end of the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The bytes end inside a record: a write that did not complete.
    Truncated,
    /// A record's checksum, length or sequence number is wrong.
    Corrupt,
}

/// The result of scanning a run of records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scan {
    pub(crate) records: Vec<Found>,
    /// Bytes of whole, valid records from the start of the scan.
    pub(crate) valid_len: usize,
    /// Why the scan stopped early, if it did.
    pub(crate) stop: Option<Stop>,
}

/// Scans `bytes` for records, expecting the first to carry `first_seq` and each
/// next one the following number. Stops after `max_records` records, at the end
/// of the bytes, or at the first invalid record.
pub(crate) fn scan(bytes: &[u8], first_seq: u64, max_records: usize) -> Scan {
    let mut records = Vec::new();
    let mut pos = 0;
    let mut expect = first_seq;
    let mut stop = None;
    while pos < bytes.len() && records.len() < max_records {
        match parse_one(&bytes[pos..], expect) {
            Ok((keep, payload_len)) => {
                let start = pos + HEADER_BYTES;
                records.push(Found {
                    seq: expect,
                    keep,
                    payload: start..start + payload_len,
                });
                pos = start + payload_len;
                expect += 1;
            }
            Err(s) => {
                stop = Some(s);
                break;
            }
        }
    }
    Scan {
        records,
        valid_len: pos,
        stop,
    }
}

fn parse_one(bytes: &[u8], expect_seq: u64) -> Result<(bool, usize), Stop> {
    let header = bytes.get(..HEADER_BYTES).ok_or(Stop::Truncated)?;
    let len = u32::from_le_bytes(header[0..4].try_into().expect("4 bytes")) as usize;
    if len > MAX_PAYLOAD_BYTES {
        return Err(Stop::Corrupt);
    }
    let whole = bytes.get(..HEADER_BYTES + len).ok_or(Stop::Truncated)?;
    let crc = u32::from_le_bytes(header[4..8].try_into().expect("4 bytes"));
    if crc32c::crc32c(&whole[8..]) != crc {
        return Err(Stop::Corrupt);
    }
    let seq = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
    if seq != expect_seq {
        return Err(Stop::Corrupt);
    }
    Ok((header[16] & FLAG_KEEP != 0, len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(first_seq: u64, payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, p) in payloads.iter().enumerate() {
            encode(first_seq + i as u64, i % 2 == 1, p, &mut out);
        }
        out
    }

    #[test]
    fn scans_what_was_encoded() {
        let bytes = framed(40, &[b"a", b"bc", b""]);
        let s = scan(&bytes, 40, usize::MAX);
        assert_eq!(s.stop, None);
        assert_eq!(s.valid_len, bytes.len());
        let seqs: Vec<_> = s.records.iter().map(|r| (r.seq, r.keep)).collect();
        assert_eq!(seqs, vec![(40, false), (41, true), (42, false)]);
        assert_eq!(&bytes[s.records[1].payload.clone()], b"bc");
    }

    #[test]
    fn every_cut_inside_the_last_record_is_a_torn_tail() {
        let bytes = framed(0, &[b"first", b"second"]);
        let first_len = HEADER_BYTES + 5;
        for cut in first_len + 1..bytes.len() {
            let s = scan(&bytes[..cut], 0, usize::MAX);
            assert_eq!(s.records.len(), 1, "cut at {cut}");
            assert_eq!(s.valid_len, first_len);
            assert_eq!(s.stop, Some(Stop::Truncated));
        }
    }

    #[test]
    fn a_flipped_bit_anywhere_is_caught() {
        let bytes = framed(7, &[b"payload"]);
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut bad = bytes.clone();
                bad[i] ^= 1 << bit;
                let s = scan(&bad, 7, usize::MAX);
                assert!(s.records.is_empty(), "byte {i} bit {bit}");
                assert_eq!(s.valid_len, 0);
            }
        }
    }

    #[test]
    fn zero_filled_tail_is_not_a_record() {
        // A file system may leave zeroed blocks past the last write after a crash.
        let mut bytes = framed(0, &[b"x"]);
        let good = bytes.len();
        bytes.resize(good + 4096, 0);
        let s = scan(&bytes, 0, usize::MAX);
        assert_eq!(
            (s.records.len(), s.valid_len, s.stop),
            (1, good, Some(Stop::Corrupt))
        );
    }

    #[test]
    fn out_of_sequence_record_stops_the_scan() {
        let mut bytes = framed(0, &[b"a"]);
        encode(5, false, b"b", &mut bytes);
        let s = scan(&bytes, 0, usize::MAX);
        assert_eq!((s.records.len(), s.stop), (1, Some(Stop::Corrupt)));
    }

    #[test]
    fn scan_honours_the_record_limit() {
        let bytes = framed(0, &[b"a", b"b", b"c"]);
        let s = scan(&bytes, 0, 2);
        assert_eq!((s.records.len(), s.stop), (2, None));
        assert_eq!(s.valid_len, 2 * (HEADER_BYTES + 1));
    }
}
