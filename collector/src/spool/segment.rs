//! Segment files: naming, recovery after a crash, and reads.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::record::{self, Stop};
use super::SpoolError;

const SUFFIX: &str = ".seg";

/// One segment file: records `first_seq..end_seq`, `bytes` long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub(crate) first_seq: u64,
    pub(crate) end_seq: u64,
    pub(crate) bytes: u64,
    /// Records flagged keep (never shed) in this segment.
    pub(crate) keep_records: u64,
    pub(crate) path: PathBuf,
}

/// What recovery cut from one segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cut {
    /// The segment file.
    pub path: PathBuf,
    /// Where the valid records end.
    pub offset: u64,
    /// How many bytes after that were removed.
    pub bytes: u64,
    /// Whether the bytes were a torn (incomplete) last write or damaged records.
    pub torn: bool,
}

impl Segment {
    pub(crate) fn path_for(dir: &Path, first_seq: u64) -> PathBuf {
        dir.join(format!("{first_seq:020}{SUFFIX}"))
    }

    /// Parses a segment file name into its first sequence number.
    pub(crate) fn parse_name(name: &str) -> Option<u64> {
        let digits = name.strip_suffix(SUFFIX)?;
        (digits.len() == 20).then(|| digits.parse().ok()).flatten()
    }

    /// Creates an empty segment file and makes its directory entry durable.
    pub(crate) fn create(dir: &Path, first_seq: u64) -> Result<(Self, File), SpoolError> {
        let path = Self::path_for(dir, first_seq);
        let file = OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .read(true)
            .open(&path)
            .map_err(|e| SpoolError::io(&path, e))?;
        sync_dir(dir)?;
        let seg = Self {
            first_seq,
            end_seq: first_seq,
            bytes: 0,
            keep_records: 0,
            path,
        };
        Ok((seg, file))
    }

    /// Opens an existing segment, validates every record and cuts off whatever
    /// follows the last valid one.
    pub(crate) fn recover(
        path: PathBuf,
        first_seq: u64,
    ) -> Result<(Self, Option<Cut>), SpoolError> {
        let bytes = fs::read(&path).map_err(|e| SpoolError::io(&path, e))?;
        let scan = record::scan(&bytes, first_seq, usize::MAX);
        let keep_records = scan.records.iter().filter(|r| r.keep).count() as u64;
        let valid = scan.valid_len as u64;
        let cut = match scan.stop {
            None => None,
            Some(stop) => {
                let file = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|e| SpoolError::io(&path, e))?;
                file.set_len(valid).map_err(|e| SpoolError::io(&path, e))?;
                file.sync_all().map_err(|e| SpoolError::io(&path, e))?;
                Some(Cut {
                    path: path.clone(),
                    offset: valid,
                    bytes: bytes.len() as u64 - valid,
                    torn: stop == Stop::Truncated,
                })
            }
        };
        let end_seq = first_seq + scan.records.len() as u64;
        Ok((
            Self {
                first_seq,
                end_seq,
                bytes: valid,
                keep_records,
                path,
            },
            cut,
        ))
    }

    /// Reads `len` bytes from `offset` into `buf`, replacing its content.
    pub(crate) fn read_range(
        &self,
        offset: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<(), SpoolError> {
        let mut file = File::open(&self.path).map_err(|e| SpoolError::io(&self.path, e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| SpoolError::io(&self.path, e))?;
        buf.clear();
        let want = len.min(self.bytes.saturating_sub(offset));
        file.take(want)
            .read_to_end(buf)
            .map_err(|e| SpoolError::io(&self.path, e))?;
        if (buf.len() as u64) < want {
            let e = io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "segment shorter than recorded",
            );
            return Err(SpoolError::io(&self.path, e));
        }
        Ok(())
    }

    pub(crate) fn remove(&self) -> Result<(), SpoolError> {
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(SpoolError::io(&self.path, e)),
        }
    }
}

/// Makes created, renamed or removed directory entries durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), SpoolError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| SpoolError::io(dir, e))
}

/// The segment files in `dir`, oldest first.
pub(crate) fn list(dir: &Path) -> Result<Vec<(u64, PathBuf)>, SpoolError> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| SpoolError::io(dir, e))? {
        let entry = entry.map_err(|e| SpoolError::io(dir, e))?;
        let name = entry.file_name();
        if let Some(first_seq) = name.to_str().and_then(Segment::parse_name) {
            found.push((first_seq, entry.path()));
        }
    }
    found.sort_unstable_by_key(|(seq, _)| *seq);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_in_sequence_order() {
        let a = Segment::path_for(Path::new("/s"), 9);
        let b = Segment::path_for(Path::new("/s"), 10);
        assert!(a < b);
        let name = b.file_name().unwrap().to_str().unwrap();
        assert_eq!(Segment::parse_name(name), Some(10));
        assert_eq!(Segment::parse_name("10.seg"), None);
        assert_eq!(Segment::parse_name("spool-id"), None);
    }
}
