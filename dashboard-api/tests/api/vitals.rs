//! Latest, raw range and aggregate vitals against stored samples.

use axum::http::{Method, StatusCode};
use dashboard_api::roles::Role;
use serde_json::Value;

use crate::support::{cheap_config, code, env};

#[tokio::test]
async fn latest_range_and_aggregates_match_the_stored_samples() {
    let Some(env) = env("vitals_routes", cheap_config()).await else {
        return;
    };
    // Heart rate 60, 62, ..., 78 once a minute from 10:00; SpO2 once at 10:05;
    // one implausible heart rate flagged at 10:03:30.
    env.owner
        .batch_execute(
            "INSERT INTO vitals (time, received_at, tenant_id, bed_id, device_id, metric, value)
             SELECT t, t, 'st-mary', 'bed-1', 'mon-1', 'heart_rate', 60 + 2 * i
             FROM generate_series(0, 9) AS i,
                  LATERAL (SELECT timestamptz '2026-11-30 10:00:00Z' + i * interval '1 minute') AS x(t);
             INSERT INTO vitals (time, received_at, tenant_id, bed_id, device_id, metric, value)
             VALUES ('2026-11-30 10:05:00Z', now(), 'st-mary', 'bed-1', 'ox-1', 'spo2', 97);
             INSERT INTO vitals (time, received_at, tenant_id, bed_id, device_id, metric, value, quality)
             VALUES ('2026-11-30 10:03:30Z', now(), 'st-mary', 'bed-1', 'mon-1', 'heart_rate', 900, 4);
             INSERT INTO vitals (time, received_at, tenant_id, bed_id, device_id, metric, value)
             VALUES (now() - interval '10 seconds', now(), 'st-mary', 'bed-1', 'mon-1', 'heart_rate', 81);",
        )
        .await
        .unwrap();
    env.user("st-mary", "ann", &[Role::Nurse]).await;
    let at = env.login("st-mary", "ann").await;

    let (status, latest) = env
        .call(
            Method::GET,
            "/api/v1/beds/bed-1/vitals/latest",
            Some(&at),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{latest}");
    assert_eq!(
        latest.as_array().unwrap().len(),
        1,
        "only the recent sample is within the hour"
    );
    assert_eq!(latest[0]["value"], 81.0);
    assert_eq!(latest[0]["unit"], "/min");

    let range = "/api/v1/beds/bed-1/vitals?from=2026-11-30T10:00:00Z&to=2026-11-30T10:10:00Z";
    let (status, page) = env
        .call(Method::GET, &format!("{range}&limit=5"), Some(&at), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    let after = page["next_after"].as_str().unwrap();
    let (_, rest) = env
        .call(
            Method::GET,
            &format!("{range}&limit=100&after={after}"),
            Some(&at),
            None,
        )
        .await;
    let total = items.len() + rest["items"].as_array().unwrap().len();
    assert_eq!(total, 12, "10 heart rates, 1 flagged, 1 SpO2: {rest}");
    assert!(rest.get("next_after").is_none());

    let agg = "/api/v1/beds/bed-1/vitals/aggregate?from=2026-11-30T10:00:00Z&to=2026-11-30T10:10:00Z&bucket_secs=300&metric=heart_rate";
    let (status, buckets) = env.call(Method::GET, agg, Some(&at), None).await;
    assert_eq!(status, StatusCode::OK, "{buckets}");
    let b: Vec<(String, f64, f64, f64, i64)> = buckets
        .as_array()
        .unwrap()
        .iter()
        .map(|b: &Value| {
            (
                b["bucket_start"].as_str().unwrap().to_owned(),
                b["min"].as_f64().unwrap(),
                b["max"].as_f64().unwrap(),
                b["mean"].as_f64().unwrap(),
                b["count"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        b,
        [
            (
                "2026-11-30T10:00:00.000000Z".to_owned(),
                60.0,
                68.0,
                64.0,
                5
            ),
            (
                "2026-11-30T10:05:00.000000Z".to_owned(),
                70.0,
                78.0,
                74.0,
                5
            ),
        ],
        "the flagged 900 is left out"
    );

    // Every bad parameter is named.
    let (status, bad) = env
        .call(
            Method::GET,
            "/api/v1/beds/bed-1/vitals/aggregate?from=yesterday&to=2026-11-30T10:10:00Z&bucket_secs=0&metric=mood",
            Some(&at),
            None,
        )
        .await;
    assert_eq!(
        (status, code(&bad)),
        (StatusCode::BAD_REQUEST, "validation_failed")
    );
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["from", "metric", "bucket_secs"], "{bad}");

    // Each read is in the audit log.
    let reads: i64 = env
        .owner
        .query_one(
            "SELECT count(*) FROM audit_log WHERE event LIKE 'vitals.%' AND entity_id = 'bed-1'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(reads, 4);
    env.done().await;
}
