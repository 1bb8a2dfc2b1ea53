//! The database goes away during ingest and comes back: every sample arrives once.

use std::time::Duration;

use firmware_adapters::Metric;
use healthsphere_tests::{count_vitals, server_addr, wait_until, PgProxy, TestDb};

use crate::stack::{migrated, samples, Stack, T0_US};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_during_ingest_loses_and_duplicates_nothing() {
    let Some(db) = TestDb::create("outage").await else {
        return;
    };
    migrated(&db).await;
    let proxy = PgProxy::start(server_addr(&db.url)).await;
    let stack = Stack::new(1 << 30, 256 * 1024);
    let mut writer = stack.start_writer(&proxy.url_for(&db.url));

    let mut accepted = 0u64;
    let mut next_chunk = 0i64;
    let mut send = |n: usize| {
        let batch = samples(
            "mon-1",
            Metric::HeartRate,
            T0_US + next_chunk * 1_000_000,
            n,
        );
        next_chunk += 1;
        batch
    };
    for _ in 0..5 {
        accepted += stack.ingest.accept_samples(send(1_000)).await.unwrap() as u64;
    }
    writer.committed(5_000).await;

    // Cut the database off while devices keep sending.
    proxy.set_down(true);
    let errors_before = stack.metrics.write_errors.get();
    for _ in 0..10 {
        // Intake is never blocked by the outage.
        accepted += stack.ingest.accept_samples(send(1_000)).await.unwrap() as u64;
    }
    let metrics = stack.metrics.clone();
    wait_until(
        "the writer to notice the outage",
        Duration::from_secs(20),
        || {
            let failed = metrics.write_errors.get() > errors_before;
            async move { failed }
        },
    )
    .await;
    assert_eq!(stack.metrics.db_up.get(), 0);
    assert!(
        *writer.progress.borrow() < accepted,
        "nothing can commit while down"
    );
    for _ in 0..5 {
        accepted += stack.ingest.accept_samples(send(1_000)).await.unwrap() as u64;
    }

    proxy.set_down(false);
    writer.committed(accepted).await;
    writer.stop().await;

    let client = db.client().await;
    let accepted = i64::try_from(accepted).unwrap();
    assert_eq!(count_vitals(&client).await, (accepted, accepted));
    // Order was kept: each chunk's samples carry values 0..1000 in time order.
    let out_of_order: i64 = client
        .query_one(
            "SELECT count(*) FROM (SELECT value, lag(value) OVER (ORDER BY time) AS prev
             FROM vitals) v WHERE value <> 0 AND value <> prev + 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(out_of_order, 0);
    assert_eq!(stack.metrics.db_up.get(), 1);
    db.drop_db().await;
}
