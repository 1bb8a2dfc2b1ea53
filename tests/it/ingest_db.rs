//! Samples in, exactly that many rows out; replays absorbed.

use firmware_adapters::Metric;
use healthsphere_tests::{count_vitals, TestDb};

use crate::stack::{migrated, samples, Stack, T0_US};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n_samples_in_n_rows_out() {
    let Some(db) = TestDb::create("n_in_n_out").await else {
        return;
    };
    migrated(&db).await;
    let stack = Stack::new(1 << 30, 1 << 20);
    let mut writer = stack.start_writer(&db.url);

    let mut total = 0u64;
    for (d, device) in ["mon-1", "mon-2", "mon-3"].iter().enumerate() {
        for chunk in 0..20 {
            let start = T0_US + chunk * 1_000_000;
            let batch = samples(device, Metric::ALL[d], start, 1_000);
            total += stack.ingest.accept_samples(batch).await.expect("accept") as u64;
        }
    }
    assert_eq!(total, 60_000);
    writer.committed(total).await;

    let client = db.client().await;
    assert_eq!(count_vitals(&client).await, (60_000, 60_000));
    // Every index of every device arrived with its own value.
    let row = client
        .query_one(
            "SELECT sum(value)::float8, count(DISTINCT device_id) FROM vitals",
            &[],
        )
        .await
        .unwrap();
    let expected_sum = 3.0 * 20.0 * (999.0 * 1000.0 / 2.0);
    assert_eq!(
        (row.get::<_, f64>(0), row.get::<_, i64>(1)),
        (expected_sum, 3)
    );
    assert_eq!(stack.metrics.rows_written.get(), 60_000);
    assert_eq!(stack.spool.stats().pending, 0);
    writer.stop().await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_without_recorded_progress_creates_no_duplicates() {
    let Some(db) = TestDb::create("replay").await else {
        return;
    };
    migrated(&db).await;
    let stack = Stack::new(1 << 30, 1 << 20);
    let n = stack
        .ingest
        .accept_samples(samples("mon-1", Metric::Spo2, T0_US, 3_000))
        .await
        .unwrap();
    let mut writer = stack.start_writer(&db.url);
    writer.committed(n as u64).await;
    writer.stop().await;

    // Lose the progress on both sides, as after restoring an older backup and a
    // spool whose acknowledgement hint never reached the disk. The active segment
    // still holds the committed records, so all of them are replayed.
    let client = db.client().await;
    client
        .batch_execute("DELETE FROM ingest_progress")
        .await
        .unwrap();
    let dir = stack.dir;
    std::fs::remove_file(dir.path().join("acked")).unwrap();
    let stack = Stack::open(dir, 1 << 30, 1 << 20);
    assert_eq!(stack.spool.stats().pending, 3_000);
    let later = samples("mon-1", Metric::Spo2, T0_US + 3_000_000, 500);
    stack.ingest.accept_samples(later).await.unwrap();
    let mut writer = stack.start_writer(&db.url);
    writer.committed(3_500).await;
    writer.stop().await;

    assert_eq!(count_vitals(&client).await, (3_500, 3_500));
    assert_eq!(stack.metrics.rows_written.get(), 500);
    assert_eq!(stack.metrics.replayed.get(), 3_000);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_resumes_after_the_recorded_progress() {
    let Some(db) = TestDb::create("resume").await else {
        return;
    };
    migrated(&db).await;
    let stack = Stack::new(1 << 30, 1 << 20);
    stack
        .ingest
        .accept_samples(samples("mon-1", Metric::HeartRate, T0_US, 2_000))
        .await
        .unwrap();
    let mut writer = stack.start_writer(&db.url);
    writer.committed(2_000).await;
    writer.stop().await;

    // The acknowledgement hint is stale (as if the process died right after the
    // commit), but the database knows how far it got.
    std::fs::write(stack.dir.path().join("acked"), "0").unwrap();
    let dir = stack.dir;
    let stack = Stack::open(dir, 1 << 30, 1 << 20);
    let start = T0_US + 2_000_000;
    stack
        .ingest
        .accept_samples(samples("mon-1", Metric::HeartRate, start, 1_000))
        .await
        .unwrap();
    let mut writer = stack.start_writer(&db.url);
    writer.committed(3_000).await;
    writer.stop().await;

    let client = db.client().await;
    assert_eq!(count_vitals(&client).await, (3_000, 3_000));
    // Nothing went through the replay path: the skipped range was never re-sent.
    assert_eq!(stack.metrics.rows_written.get(), 1_000);
    db.drop_db().await;
}
