//! The spool-full policy end to end: while the database is away the spool fills,
//! the oldest continuous samples are shed, episodic ones are kept, and when the
//! database returns it receives exactly what the spool kept.

use firmware_adapters::Metric;
use healthsphere_tests::{count_vitals, TestDb};

use crate::stack::{migrated, samples, Stack, T0_US};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_spool_sheds_continuous_keeps_episodic_and_says_so() {
    let Some(db) = TestDb::create("spool_full").await else {
        return;
    };
    migrated(&db).await;
    // About 70 bytes a record: 64 KiB segments hold some 900 samples.
    let stack = Stack::new(256 * 1024, 64 * 1024);

    let mut accepted = 0u64;
    let mut cuff = 0u64;
    for chunk in 0..40 {
        let start = T0_US + chunk * 1_000_000;
        let hr = samples("mon-1", Metric::HeartRate, start, 500);
        accepted += stack.ingest.accept_samples(hr).await.expect("room is made") as u64;
        // One cuff pressure per chunk: episodic, never shed.
        let nibp = samples("mon-1", Metric::NibpSystolic, start, 1);
        cuff += stack
            .ingest
            .accept_samples(nibp)
            .await
            .expect("room is made") as u64;
    }
    let shed = stack.metrics.spool_shed.get();
    assert!(shed > 0, "the spool must have overflowed");
    assert!(
        stack.metrics.spool_carried.get() > 0,
        "cuff pressures were carried forward"
    );
    assert!(stack.spool.stats().bytes <= 256 * 1024);

    let mut writer = stack.start_writer(&db.url);
    let end = stack.spool.stats().next_seq;
    writer.committed(end).await;
    writer.stop().await;

    let client = db.client().await;
    let stored = accepted + cuff - shed;
    let stored = i64::try_from(stored).unwrap();
    assert_eq!(count_vitals(&client).await, (stored, stored));
    let nibp: i64 = client
        .query_one(
            "SELECT count(*) FROM vitals WHERE metric = 'nibp_systolic'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(nibp, 40, "every cuff pressure survives");
    // What was shed is the oldest heart-rate data: the newest chunk is complete.
    let newest: i64 = client
        .query_one(
            "SELECT count(*) FROM vitals WHERE metric = 'heart_rate' AND time >= $1",
            &[&std::time::SystemTime::UNIX_EPOCH
                .checked_add(std::time::Duration::from_micros(
                    (T0_US + 39_000_000) as u64,
                ))
                .unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(newest, 500);
    db.drop_db().await;
}
