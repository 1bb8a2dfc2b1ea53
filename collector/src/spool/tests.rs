use std::collections::VecDeque;
use std::fs::OpenOptions;

use super::*;

fn config(dir: &Path) -> SpoolConfig {
    SpoolConfig {
        dir: dir.to_owned(),
        max_bytes: 1 << 30,
        segment_bytes: 1 << 20,
        fsync: false,
    }
}

fn entries(payloads: &[(bool, &[u8])]) -> Entries {
    let mut e = Entries::default();
    for &(keep, p) in payloads {
        e.push(keep, |out| out.extend_from_slice(p));
    }
    e
}

fn bulk(n: usize, tag: u8) -> Entries {
    let mut e = Entries::default();
    for i in 0..n {
        e.push(false, |out| {
            out.extend_from_slice(&[tag, i as u8, 0, 0, 0, 0, 0, 0])
        });
    }
    e
}

fn read_all(spool: &Spool, from: u64) -> (ReadBatch, Vec<Vec<u8>>) {
    let mut buf = Vec::new();
    let batch = spool.read(from, usize::MAX, &mut buf).unwrap();
    let payloads = batch
        .payloads
        .iter()
        .map(|r| buf[r.clone()].to_vec())
        .collect();
    (batch, payloads)
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    segment::list(dir)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

#[test]
fn appended_records_read_back_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (spool, report) = Spool::open(config(dir.path())).unwrap();
    assert_eq!(
        (report.next_seq, report.pending, report.cuts.len()),
        (0, 0, 0)
    );
    let a = spool
        .append(&entries(&[(false, b"one"), (true, b"two")]))
        .unwrap();
    let b = spool.append(&entries(&[(false, b"three")])).unwrap();
    assert_eq!((a.seqs, b.seqs), (0..2, 2..3));
    let (batch, payloads) = read_all(&spool, 0);
    assert_eq!((batch.first_seq, batch.skipped), (0, 0));
    assert_eq!(
        payloads,
        [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
    );
    let (batch, payloads) = read_all(&spool, 2);
    assert_eq!((batch.first_seq, payloads), (2, vec![b"three".to_vec()]));
    assert!(read_all(&spool, 3).0.payloads.is_empty());
}

#[test]
fn reopening_keeps_pending_records_and_the_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let (spool, _) = Spool::open(config(dir.path())).unwrap();
        spool.append(&bulk(5, 1)).unwrap();
        spool.ack(2).unwrap();
        spool.id().to_owned()
    };
    let (spool, report) = Spool::open(config(dir.path())).unwrap();
    assert_eq!(spool.id(), id);
    assert_eq!((report.next_seq, report.pending), (5, 3));
    assert_eq!(spool.acked(), 2);
    let a = spool.append(&bulk(1, 2)).unwrap();
    assert_eq!(a.seqs, 5..6);
    let (batch, payloads) = read_all(&spool, 2);
    assert_eq!((batch.first_seq, payloads.len()), (2, 4));
}

#[test]
fn acknowledged_segments_are_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.segment_bytes = 100;
    let (spool, _) = Spool::open(cfg).unwrap();
    for tag in 0..4 {
        spool.append(&bulk(4, tag)).unwrap(); // 4 * 25 bytes: one segment each
    }
    assert_eq!(segment_files(dir.path()).len(), 5);
    spool.ack(8).unwrap();
    assert_eq!(segment_files(dir.path()).len(), 3);
    assert_eq!(spool.stats().pending, 8);
    let (batch, payloads) = read_all(&spool, 8);
    assert_eq!((batch.first_seq, payloads.len(), payloads[0][0]), (8, 8, 2));
}

#[test]
fn torn_last_record_is_cut_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (spool, _) = Spool::open(config(dir.path())).unwrap();
        spool.append(&bulk(3, 7)).unwrap();
    }
    let file = segment_files(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&file).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(len - 3)
        .unwrap();

    let (spool, report) = Spool::open(config(dir.path())).unwrap();
    assert_eq!(report.cuts.len(), 1);
    let cut = &report.cuts[0];
    assert!(cut.torn);
    assert_eq!((cut.offset, cut.bytes), (50, 22));
    assert_eq!((report.next_seq, report.pending), (2, 2));
    assert_eq!(read_all(&spool, 0).1.len(), 2);
    // The sequence continues after the cut; the torn record was never acknowledged.
    assert_eq!(spool.append(&bulk(1, 8)).unwrap().seqs, 2..3);
}

#[test]
fn damaged_record_is_cut_with_everything_after_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (spool, _) = Spool::open(config(dir.path())).unwrap();
        spool.append(&bulk(4, 7)).unwrap();
    }
    let file = segment_files(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[25 + 20] ^= 0xff; // inside the second record's payload
    std::fs::write(&file, bytes).unwrap();

    let (spool, report) = Spool::open(config(dir.path())).unwrap();
    assert_eq!(report.cuts.len(), 1);
    assert!(!report.cuts[0].torn);
    assert_eq!((report.cuts[0].offset, report.cuts[0].bytes), (25, 75));
    assert_eq!(read_all(&spool, 0).1.len(), 1);
}

#[test]
fn full_spool_sheds_oldest_continuous_and_carries_keep_records() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    // Records are 25 bytes (17 header + 8 payload); 4 make a segment.
    cfg.segment_bytes = 100;
    cfg.max_bytes = 300;
    let (spool, _) = Spool::open(cfg).unwrap();
    let mut first = bulk(3, 0);
    first.push(true, |out| out.extend_from_slice(b"cuff-bp!"));
    spool.append(&first).unwrap(); // seq 0..4, one keep
    spool.append(&bulk(4, 1)).unwrap(); // seq 4..8
    spool.append(&bulk(4, 2)).unwrap(); // seq 8..12: 300 bytes, full

    let a = spool.append(&bulk(1, 3)).unwrap();
    assert_eq!(
        a.shed,
        Shed {
            segments: 1,
            dropped: 3,
            carried: 1
        }
    );
    // The carried record comes first, then the new one.
    assert_eq!(a.seqs, 13..14);
    assert!(spool.stats().bytes <= 300);

    let (batch, payloads) = read_all(&spool, 0);
    assert_eq!(batch.skipped, 4);
    assert_eq!(batch.first_seq, 4);
    assert_eq!(payloads.len(), 10);
    assert_eq!(payloads[8], b"cuff-bp!");
    assert_eq!(payloads[9][0], 3);
}

#[test]
fn spool_of_keep_records_refuses_new_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.segment_bytes = 50;
    cfg.max_bytes = 100;
    let (spool, _) = Spool::open(cfg).unwrap();
    let keep = |tag: u8| entries(&[(true, &[tag; 8]), (true, &[tag; 8])]);
    spool.append(&keep(1)).unwrap();
    spool.append(&keep(2)).unwrap();
    let err = spool.append(&bulk(1, 9)).unwrap_err();
    assert!(
        matches!(
            err,
            SpoolError::Full {
                needed_bytes: 25,
                max_bytes: 100
            }
        ),
        "{err:?}"
    );
    // Nothing was lost: every keep record is still there.
    assert_eq!(read_all(&spool, 0).1.len(), 4);
}

#[test]
fn carried_records_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.segment_bytes = 50;
    cfg.max_bytes = 100;
    {
        let (spool, _) = Spool::open(cfg.clone()).unwrap();
        spool
            .append(&entries(&[(true, b"keep-one"), (false, b"bulk-one")]))
            .unwrap();
        spool.append(&bulk(2, 1)).unwrap();
        spool.append(&bulk(1, 2)).unwrap();
    }
    let (spool, report) = Spool::open(cfg).unwrap();
    assert!(report.cuts.is_empty());
    let payloads = read_all(&spool, 0).1;
    assert!(payloads.iter().any(|p| p == b"keep-one"));
    assert!(!payloads.iter().any(|p| p == b"bulk-one"));
}

/// A randomized run against a simple model: a queue of (seq, payload). No
/// shedding here (the bound is large); the full policy has its own tests.
#[test]
fn behaves_like_a_queue_across_random_operations_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.segment_bytes = 400;
    let mut spool = Spool::open(cfg.clone()).unwrap().0;
    let mut model: VecDeque<(u64, Vec<u8>)> = VecDeque::new();
    let mut next = 0u64;
    let mut read_pos = 0u64;
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut rand = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    for step in 0..3_000 {
        match rand(10) {
            0..=4 => {
                let n = rand(6) as usize + 1;
                let mut e = Entries::default();
                for _ in 0..n {
                    let len = rand(40) as usize;
                    let payload: Vec<u8> = (0..len).map(|i| (next as usize + i) as u8).collect();
                    e.push(rand(2) == 0, |out| out.extend_from_slice(&payload));
                    model.push_back((next, payload));
                    next += 1;
                }
                let a = spool.append(&e).unwrap();
                assert_eq!(a.seqs.end, next, "step {step}");
            }
            5..=7 => {
                let max = rand(8) as usize + 1;
                let mut buf = Vec::new();
                let batch = spool.read(read_pos, max, &mut buf).unwrap();
                let expect: Vec<_> = model
                    .iter()
                    .filter(|(s, _)| *s >= read_pos)
                    .take(max)
                    .collect();
                assert_eq!(batch.payloads.len(), expect.len(), "step {step}");
                for (range, (seq, payload)) in batch.payloads.iter().zip(&expect) {
                    assert_eq!(&buf[range.clone()], &payload[..], "step {step} seq {seq}");
                }
                read_pos = batch.end_seq().max(read_pos);
            }
            8 => {
                let upto = read_pos - rand(read_pos - spool.acked() + 1);
                spool.ack(upto).unwrap();
                model.retain(|(s, _)| *s >= upto);
            }
            _ => {
                drop(spool);
                spool = Spool::open(cfg.clone()).unwrap().0;
                read_pos = spool.acked();
                assert_eq!(spool.stats().next_seq, next, "step {step}");
            }
        }
    }
}
