//! The crash-safe local spool: store-and-forward between device intake and the
//! database.
//!
//! A reading is acknowledged to its device only after it is in the spool, and it
//! leaves the spool only after the database has committed it. The spool is our own
//! segment log rather than an embedded database such as redb: its one job is an
//! append-only queue with a single reader, and a log does that with one sequential
//! write and one fdatasync per batch, with recovery that is a linear scan anyone
//! can audit. A B-tree store pays for random access and page copy-on-write that a
//! queue never uses.
//!
//! # On disk
//!
//! A directory holds:
//! - `spool-id`: a random identifier written once. The database records the
//!   writer's progress under it, so two gateways never confuse their progress.
//! - `acked`: the sequence number below which everything is in the database. A
//!   hint only, written without fsync: the database's own record of progress is the
//!   authority, and a stale hint costs a replay that the database absorbs.
//! - `NNNNNNNNNNNNNNNNNNNN.seg`: segments named by the sequence number of their first
//!   record, each a run of records framed as described in `record.rs`: length,
//!   CRC-32C, sequence number, flags, payload. Sequence numbers are contiguous within
//!   a segment and increase across segments.
//!
//! # Crash safety
//!
//! Records are appended with one `write` per batch, then `fdatasync` (unless fsync is
//! switched off for benchmarks), before [`Spool::append`] returns. New segment files
//! are made durable with a directory fsync. On [`Spool::open`] every segment is
//! scanned; at the first record that is incomplete (a torn write after power loss)
//! or fails its checksum, the file is cut there and the cut is reported in the
//! [`RecoveryReport`]. Recovery never fails because of damaged records, only when
//! the directory itself cannot be read or written.
//!
//! # When the spool is full
//!
//! The spool is bounded by `max_bytes`. When an append would exceed it:
//! 1. The oldest segment that holds any continuous (dense, per-second) samples is
//!    shed: its continuous samples are dropped, and its samples marked keep
//!    (episodic measurements such as a cuff blood pressure, which cannot be taken
//!    again) are carried forward to the head of the spool with new sequence numbers.
//!    This repeats until the append fits.
//! 2. If no segment holds continuous samples any more, the append is refused with
//!    [`SpoolError::Full`]. The caller does not acknowledge the readings, so a device
//!    whose protocol retransmits will send them again later.
//!
//! Keep samples are therefore never shed; they can only be refused at intake when
//! the whole spool is keep samples. Shed and carried counts are returned in
//! [`Shed`] so the caller can expose them as metrics and logs.
//!
//! # Invariants
//!
//! - One process opens a spool directory at a time (the gateway's config names it).
//! - One reader ([`Spool::read`]) at a time; it reads in sequence order.
//! - A record carried forward may exist twice on disk for a moment (before the shed
//!   segment is removed). Replaying both is harmless: the database's key absorbs
//!   the second copy.

mod record;
mod segment;

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use segment::Cut;
use segment::Segment;
use tokio::sync::watch;

/// Spool settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolConfig {
    /// The directory that holds the spool; created when missing.
    pub dir: PathBuf,
    /// Upper bound of the bytes on disk; see the module docs for the full policy.
    pub max_bytes: u64,
    /// A segment is closed and a new one started once it reaches this size. It is
    /// also the unit of shedding.
    pub segment_bytes: u64,
    /// Whether appends wait for `fdatasync`. Only benchmarks turn this off.
    pub fsync: bool,
}

/// A spool operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// A file or directory of the spool could not be read or written.
    #[error("spool file {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// The append does not fit and nothing may be shed to make room.
    #[error("spool is full: {needed_bytes} more bytes do not fit in {max_bytes}")]
    Full {
        /// Bytes the refused append needed.
        needed_bytes: u64,
        /// The configured bound.
        max_bytes: u64,
    },
}

impl SpoolError {
    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Payloads waiting to be appended, each with its keep flag.
#[derive(Debug, Default)]
pub struct Entries {
    bytes: Vec<u8>,
    /// (keep, end offset of the payload in `bytes`)
    items: Vec<(bool, usize)>,
}

impl Entries {
    /// Adds one payload, written by `encode` into the provided buffer.
    pub fn push(&mut self, keep: bool, encode: impl FnOnce(&mut Vec<u8>)) {
        encode(&mut self.bytes);
        self.items.push((keep, self.bytes.len()));
    }

    /// The number of payloads.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there is nothing to append.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Removes every payload, keeping the allocation.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.items.clear();
    }

    fn iter(&self) -> impl Iterator<Item = (bool, &[u8])> {
        let starts = std::iter::once(0).chain(self.items.iter().map(|&(_, end)| end));
        self.items
            .iter()
            .zip(starts)
            .map(|(&(keep, end), start)| (keep, &self.bytes[start..end]))
    }

    fn framed_len(&self) -> u64 {
        (self.bytes.len() + self.items.len() * record::HEADER_BYTES) as u64
    }
}

/// What room had to be made for an append.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shed {
    /// Segments removed.
    pub segments: u64,
    /// Continuous samples dropped.
    pub dropped: u64,
    /// Keep samples carried forward to the head.
    pub carried: u64,
}

/// The result of an append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// Sequence numbers given to the appended payloads.
    pub seqs: Range<u64>,
    /// What was shed to make room.
    pub shed: Shed,
}

/// What [`Spool::open`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Damaged or incomplete tails that were cut off.
    pub cuts: Vec<Cut>,
    /// Records waiting for the database.
    pub pending: u64,
    /// The sequence number the next append gets.
    pub next_seq: u64,
}

/// Records read by [`Spool::read`]: payload ranges into the caller's buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadBatch {
    /// Sequence number of the first payload.
    pub first_seq: u64,
    /// Each payload's bytes in the buffer passed to `read`.
    pub payloads: Vec<Range<usize>>,
    /// Records between the requested sequence number and `first_seq` that no longer
    /// exist because they were shed.
    pub skipped: u64,
}

impl ReadBatch {
    /// One past the last sequence number read.
    pub fn end_seq(&self) -> u64 {
        self.first_seq + self.payloads.len() as u64
    }
}

/// A point-in-time view of the spool's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Bytes of segment files on disk.
    pub bytes: u64,
    /// Records not yet acknowledged by the database.
    pub pending: u64,
    /// The sequence number the next append gets.
    pub next_seq: u64,
}

/// The spool. See the module documentation.
#[derive(Debug)]
pub struct Spool {
    config: SpoolConfig,
    id: String,
    state: Mutex<State>,
    /// The next sequence number to be appended, for readers waiting for data.
    appended: watch::Sender<u64>,
}

#[derive(Debug)]
struct State {
    /// Oldest first; the last one is the active segment.
    segments: VecDeque<Segment>,
    active: File,
    next_seq: u64,
    acked: u64,
    total_bytes: u64,
    frame: Vec<u8>,
    /// Where the single reader stopped: (segment first_seq, byte offset, seq).
    cursor: Option<(u64, u64, u64)>,
}

mod ops;

#[cfg(test)]
mod tests;
