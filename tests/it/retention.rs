//! Retention on the Apache edition: the job drops whole chunks past the
//! period and keeps everything newer.

use collector::retention::drop_expired;
use healthsphere_tests::{count_vitals, TestDb};

use crate::stack::migrated;

#[tokio::test]
async fn chunks_past_the_retention_period_are_dropped_and_newer_ones_kept() {
    let Some(db) = TestDb::create("retention").await else {
        return;
    };
    migrated(&db).await;
    let client = db.client().await;
    // One row 40 days old, one 10 days old, one now: three one-day chunks.
    client
        .batch_execute(
            "INSERT INTO vitals (time, received_at, tenant_id, bed_id, device_id, metric, value)
             SELECT now() - make_interval(days => d), now(), 'st-mary', 'bed-1', 'mon-1',
                    'heart_rate', 70
             FROM unnest(ARRAY[40, 10, 0]) AS d",
        )
        .await
        .unwrap();
    assert_eq!(count_vitals(&client).await.0, 3);

    let dropped = drop_expired(&client, 30).await.unwrap();
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    assert_eq!(count_vitals(&client).await.0, 2);
    let oldest_days: f64 = client
        .query_one(
            "SELECT (extract(epoch FROM now() - min(time)) / 86400)::float8 FROM vitals",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!((9.9..10.1).contains(&oldest_days), "{oldest_days}");

    // Nothing more to drop: a second run is a no-op.
    assert!(drop_expired(&client, 30).await.unwrap().is_empty());
    assert_eq!(drop_expired(&client, 5).await.unwrap().len(), 1);
    assert_eq!(count_vitals(&client).await.0, 1);
    db.drop_db().await;
}
