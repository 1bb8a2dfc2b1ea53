//! The spool's operations: open and recover, append with the full policy, read, ack.

use super::*;

const ID_FILE: &str = "spool-id";
const ACKED_FILE: &str = "acked";
/// The most bytes one read pulls from a segment; bounds the reader's memory.
const READ_CHUNK_BYTES: u64 = 4 * 1024 * 1024;

impl Spool {
    /// Opens the spool in `config.dir`, creating it when missing, and recovers it
    /// after a crash (see the module docs).
    ///
    /// # Errors
    ///
    /// When the directory or its files cannot be read or written. Damaged records are
    /// cut and reported, never an error.
    pub fn open(config: SpoolConfig) -> Result<(Self, RecoveryReport), SpoolError> {
        let dir = &config.dir;
        fs::create_dir_all(dir).map_err(|e| SpoolError::io(dir, e))?;
        let id = read_or_create_id(dir)?;
        let mut acked = read_acked(dir);

        let mut segments = VecDeque::new();
        let mut cuts = Vec::new();
        for (first_seq, path) in segment::list(dir)? {
            let (seg, cut) = Segment::recover(path, first_seq)?;
            cuts.extend(cut);
            if seg.end_seq <= acked || seg.bytes == 0 {
                seg.remove()?;
            } else {
                segments.push_back(seg);
            }
        }
        let next_seq = segments.back().map_or(acked, |s| s.end_seq.max(acked));
        acked = acked.min(next_seq);
        let (active_seg, active) = Segment::create(dir, next_seq)?;
        segments.push_back(active_seg);
        let total_bytes = segments.iter().map(|s| s.bytes).sum();

        let state = State {
            segments,
            active,
            next_seq,
            acked,
            total_bytes,
            frame: Vec::new(),
            cursor: None,
        };
        let spool = Self {
            config,
            id,
            state: Mutex::new(state),
            appended: watch::Sender::new(next_seq),
        };
        let pending = spool.stats().pending;
        Ok((
            spool,
            RecoveryReport {
                cuts,
                pending,
                next_seq,
            },
        ))
    }

    /// The spool's permanent identifier.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The spool's settings.
    pub fn config(&self) -> &SpoolConfig {
        &self.config
    }

    /// A receiver of the next sequence number to be appended; it changes after
    /// every append.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.appended.subscribe()
    }

    /// Appends `entries` and, unless fsync is off, makes them durable before
    /// returning. Applies the full policy of the module docs.
    ///
    /// # Errors
    ///
    /// [`SpoolError::Full`] when nothing can be shed; [`SpoolError::Io`] when the
    /// write fails, in which case nothing of the batch counts as appended.
    pub fn append(&self, entries: &Entries) -> Result<Appended, SpoolError> {
        let mut st = self.lock();
        let st = &mut *st;
        st.frame.clear();
        let mut shed = Shed::default();
        let mut victims = Vec::new();
        let mut freed = 0;
        let mut needed = entries.framed_len();
        while st.total_bytes - freed + needed > self.config.max_bytes {
            let after = victims.last().map_or(0, |&v| v + 1);
            let Some(victim) = next_victim(st, after) else {
                let max_bytes = self.config.max_bytes;
                return Err(SpoolError::Full {
                    needed_bytes: needed,
                    max_bytes,
                });
            };
            let staged_before = st.frame.len();
            stage_keep_records(st, victim, &mut shed)?;
            needed += (st.frame.len() - staged_before) as u64;
            freed += st.segments[victim].bytes;
            victims.push(victim);
        }
        let first_new = st.next_seq + shed.carried;
        let mut seq = first_new;
        let mut keep = shed.carried;
        for (keep_this, payload) in entries.iter() {
            record::encode(seq, keep_this, payload, &mut st.frame);
            keep += u64::from(keep_this);
            seq += 1;
        }
        self.write_frame(st, seq - st.next_seq, keep)?;
        // Shed segments go only now that the records carried out of them are durable.
        shed.segments = victims.len() as u64;
        for &v in victims.iter().rev() {
            let seg = st.segments.remove(v).expect("victim index in range");
            seg.remove()?;
            st.total_bytes -= seg.bytes;
        }
        if !victims.is_empty() {
            st.cursor = None;
            segment::sync_dir(&self.config.dir)?;
        }
        if st
            .segments
            .back()
            .is_some_and(|s| s.bytes >= self.config.segment_bytes)
        {
            self.roll(st)?;
        }
        self.appended.send_replace(st.next_seq);
        Ok(Appended {
            seqs: first_new..seq,
            shed,
        })
    }

    /// Reads up to `max_records` payloads starting at sequence number `from_seq`
    /// into `buf` (which is cleared first). Returns an empty batch when nothing is
    /// there yet.
    ///
    /// # Errors
    ///
    /// When a segment file cannot be read.
    pub fn read(
        &self,
        from_seq: u64,
        max_records: usize,
        buf: &mut Vec<u8>,
    ) -> Result<ReadBatch, SpoolError> {
        buf.clear();
        let mut st = self.lock();
        let Some(start) = st.segments.iter().position(|s| s.end_seq > from_seq) else {
            return Ok(ReadBatch {
                first_seq: from_seq,
                ..ReadBatch::default()
            });
        };
        let first_seq = from_seq.max(st.segments[start].first_seq);
        let mut batch = ReadBatch {
            first_seq,
            payloads: Vec::new(),
            skipped: first_seq - from_seq,
        };
        let mut seq = first_seq;
        let mut chunk = Vec::new();
        let mut cursor = st.cursor;
        for seg in st.segments.iter().skip(start) {
            if batch.payloads.len() >= max_records || seg.end_seq <= seq {
                break;
            }
            let (mut pos, mut scan_from) = match cursor {
                Some((first, offset, at)) if first == seg.first_seq && at == seq => (offset, seq),
                _ => (0, seg.first_seq),
            };
            while pos < seg.bytes && batch.payloads.len() < max_records {
                seg.read_range(pos, (seg.bytes - pos).min(READ_CHUNK_BYTES), &mut chunk)?;
                // Records before `seq` are skipped, so scan far enough to pass them.
                let skip = usize::try_from(seq - scan_from).unwrap_or(usize::MAX);
                let want = max_records - batch.payloads.len();
                let found = record::scan(&chunk, scan_from, want.saturating_add(skip));
                for r in found.records.iter().filter(|r| r.seq >= seq) {
                    let start = buf.len();
                    buf.extend_from_slice(&chunk[r.payload.clone()]);
                    batch.payloads.push(start..buf.len());
                }
                scan_from += found.records.len() as u64;
                seq = seq.max(scan_from);
                pos += found.valid_len as u64;
                if found.records.is_empty() {
                    // Only a record larger than a chunk could cause this, and record
                    // sizes are bounded well below it.
                    break;
                }
            }
            cursor = Some((seg.first_seq, pos, seq));
        }
        st.cursor = cursor;
        Ok(batch)
    }

    /// Records that everything below `below_seq` is in the database, and removes
    /// the closed segments that hold nothing else.
    ///
    /// # Errors
    ///
    /// When a segment cannot be removed or a new one created.
    pub fn ack(&self, below_seq: u64) -> Result<(), SpoolError> {
        let mut st = self.lock();
        let st = &mut *st;
        if below_seq <= st.acked {
            return Ok(());
        }
        st.acked = below_seq.min(st.next_seq);
        // The active segment stays even when fully acknowledged; it is removed once
        // it is closed, or at the next open.
        while st.segments.len() > 1 && st.segments[0].end_seq <= st.acked {
            let seg = st.segments.pop_front().expect("len checked");
            seg.remove()?;
            st.total_bytes -= seg.bytes;
        }
        write_acked(&self.config.dir, st.acked);
        Ok(())
    }

    /// The sequence number below which everything is acknowledged.
    pub fn acked(&self) -> u64 {
        self.lock().acked
    }

    /// The spool's size now.
    pub fn stats(&self) -> Stats {
        let st = self.lock();
        let oldest = st.segments.front().map_or(st.next_seq, |s| s.first_seq);
        Stats {
            bytes: st.total_bytes,
            pending: st.next_seq - st.acked.max(oldest).min(st.next_seq),
            next_seq: st.next_seq,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves the state as the last completed
        // operation made it: every mutation happens after its I/O succeeded.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes `st.frame`, holding `records` records of which `keep` are keep
    /// records, to the active segment.
    fn write_frame(&self, st: &mut State, records: u64, keep: u64) -> Result<(), SpoolError> {
        let active = st
            .segments
            .back_mut()
            .expect("an active segment always exists");
        let path = &active.path;
        let result = st.active.write_all(&st.frame).and_then(|()| {
            if self.config.fsync {
                st.active.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = result {
            // Cut back whatever part of the batch reached the file, so the segment
            // stays a clean run of records.
            let _ = st.active.set_len(active.bytes);
            return Err(SpoolError::io(path, e));
        }
        active.bytes += st.frame.len() as u64;
        active.end_seq += records;
        active.keep_records += keep;
        st.total_bytes += st.frame.len() as u64;
        st.next_seq += records;
        Ok(())
    }

    /// Closes the active segment and starts a new one.
    fn roll(&self, st: &mut State) -> Result<(), SpoolError> {
        let active = st.segments.back().expect("an active segment always exists");
        if self.config.fsync {
            st.active
                .sync_all()
                .map_err(|e| SpoolError::io(&active.path, e))?;
        }
        let (seg, file) = Segment::create(&self.config.dir, st.next_seq)?;
        st.segments.push_back(seg);
        st.active = file;
        Ok(())
    }
}

/// The first closed segment at or after index `from` that holds continuous
/// (sheddable) records.
fn next_victim(st: &State, from: usize) -> Option<usize> {
    let closed = st.segments.len() - 1;
    (from..closed).find(|&i| {
        let s = &st.segments[i];
        s.keep_records < s.end_seq - s.first_seq
    })
}

/// Appends the still-unacknowledged keep records of segment `victim` to
/// `st.frame`, renumbered to follow the records staged before them, and counts
/// what the shed drops.
fn stage_keep_records(st: &mut State, victim: usize, shed: &mut Shed) -> Result<(), SpoolError> {
    let seg = &st.segments[victim];
    let mut bytes = Vec::new();
    seg.read_range(0, seg.bytes, &mut bytes)?;
    let scan = record::scan(&bytes, seg.first_seq, usize::MAX);
    for r in scan.records.iter().filter(|r| r.seq >= st.acked) {
        if r.keep {
            let seq = st.next_seq + shed.carried;
            record::encode(seq, true, &bytes[r.payload.clone()], &mut st.frame);
            shed.carried += 1;
        } else {
            shed.dropped += 1;
        }
    }
    Ok(())
}

fn read_or_create_id(dir: &Path) -> Result<String, SpoolError> {
    let path = dir.join(ID_FILE);
    match fs::read_to_string(&path) {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(SpoolError::io(&path, e)),
    }
    let mut raw = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw)
        .map_err(|_| SpoolError::io(&path, io::Error::other("no system randomness")))?;
    let id: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let tmp = dir.join(format!("{ID_FILE}.tmp"));
    let write = || -> io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(id.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &path)
    };
    write().map_err(|e| SpoolError::io(&path, e))?;
    segment::sync_dir(dir)?;
    Ok(id)
}

fn read_acked(dir: &Path) -> u64 {
    fs::read_to_string(dir.join(ACKED_FILE))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Best effort: the file is a hint (see the module docs), so a failure to write it
/// costs at most a replay after a restart.
fn write_acked(dir: &Path, acked: u64) {
    let tmp = dir.join(format!("{ACKED_FILE}.tmp"));
    let _ =
        fs::write(&tmp, acked.to_string()).and_then(|()| fs::rename(&tmp, dir.join(ACKED_FILE)));
}
