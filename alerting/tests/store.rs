//! The alarm log against the real TimescaleDB: every transition is stored with
//! time and actor, history is queryable, and an outage loses nothing queued.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alerting::engine::{EngineConfig, LimitOverride, OverrideScope};
use alerting::runtime::{self, AlertingMetrics, Clock, RuntimeConfig};
use alerting::store::{self, HistoryQuery, StoreConfig, StoreMetrics, MIGRATIONS};
use alerting::StaffId;
use collector::{LiveBatch, Origin, Quality, Sample};
use firmware_adapters::Metric;
use healthsphere_tests::{server_addr, wait_until, PgProxy, TestDb};
use tokio::sync::{broadcast, watch};

async fn migrated(db: &TestDb) {
    let mut client = db.client().await;
    let report = collector::schema::migrate_with(&mut client, &[MIGRATIONS])
        .await
        .expect("migrate");
    assert!(report.applied.contains(&1001) && report.applied.contains(&1002));
}

fn batch(bed: &str, metric: Metric, at_us: i64, value: f64) -> LiveBatch {
    vec![Sample {
        time_us: at_us,
        received_us: at_us,
        origin: Origin::new("site-a", bed, "mon-1"),
        metric,
        value,
        quality: Quality::empty(),
    }]
    .into()
}

async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

fn fast(url: &str) -> StoreConfig {
    StoreConfig {
        retry_initial: Duration::from_millis(50),
        retry_max: Duration::from_millis(200),
        connect_timeout: Duration::from_secs(2),
        ..StoreConfig::new(url)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transitions_are_stored_with_time_and_actor_and_queryable() {
    let Some(db) = TestDb::create("alarm_store").await else {
        return;
    };
    migrated(&db).await;
    let (stop, stop_rx) = watch::channel(false);
    let (store, writer) =
        store::spawn_writer(fast(&db.url), StoreMetrics::unregistered(), stop_rx.clone());
    let (live, live_rx) = broadcast::channel(64);
    let cfg = RuntimeConfig::new(EngineConfig::new("site-a", "t1"));
    let (handle, task) = runtime::spawn(
        cfg,
        live_rx,
        None,
        vec![store.sink.clone()],
        AlertingMetrics::unregistered(),
        stop_rx,
    );
    let mut events = handle.subscribe();
    let now = Clock::start().now().as_micros();
    live.send(batch("bed-1", Metric::Spo2, now, 75.0)).unwrap();
    live.send(batch("bed-2", Metric::NibpSystolic, now, 200.0))
        .unwrap();
    while events.recv().await.unwrap().name() != "alarm:raised" {}
    handle
        .acknowledge("bed-2", "nibp_systolic", "nurse-kim")
        .await
        .unwrap();
    handle
        .set_override(LimitOverride {
            scope: OverrideScope::Bed("bed-1".into()),
            rule: "spo2_low".into(),
            low: Some(85.0),
            high: None,
            by: StaffId::from("dr-lee"),
            reason: "chronic lung disease".into(),
        })
        .await
        .unwrap();
    // A normal systolic resolves the acknowledged medium alarm.
    live.send(batch(
        "bed-2",
        Metric::NibpSystolic,
        now + 60_000_000,
        120.0,
    ))
    .unwrap();

    let client = db.client().await;
    wait_until("five alarm log rows", Duration::from_secs(20), || {
        let c = &client;
        async move {
            count(
                c,
                "SELECT count(*) FROM alarm_events WHERE bed_id = 'bed-2'",
            )
            .await
                >= 3
        }
    })
    .await;
    let q = HistoryQuery {
        tenant_id: "site-a".into(),
        bed_id: Some("bed-2".into()),
        rule_id: Some("nibp_systolic".into()),
        state: None,
        from: UNIX_EPOCH,
        to: SystemTime::now() + Duration::from_secs(3_600),
        limit: 100,
    };
    let rows = store::history(&client, &q).await.unwrap();
    let changes: Vec<(&str, &str)> = rows
        .iter()
        .rev()
        .map(|r| (r.change.as_str(), r.actor.as_str()))
        .collect();
    assert_eq!(
        changes,
        [
            ("raised", "system"),
            ("acknowledged", "nurse-kim"),
            ("resolved", "system")
        ]
    );
    let resolved = store::history(
        &client,
        &HistoryQuery {
            state: Some("resolved".into()),
            ..q.clone()
        },
    )
    .await
    .unwrap();
    assert_eq!(resolved.len(), 1);
    assert_eq!(
        resolved[0].time,
        UNIX_EPOCH + Duration::from_micros((now + 60_000_000) as u64)
    );
    let other_tenant = store::history(
        &client,
        &HistoryQuery {
            tenant_id: "site-b".into(),
            ..q.clone()
        },
    )
    .await
    .unwrap();
    assert!(other_tenant.is_empty());
    wait_until("the override audit row", Duration::from_secs(20), || {
        let c = &client;
        async move {
            count(
                c,
                "SELECT count(*) FROM alarm_events WHERE change = 'limits_changed'",
            )
            .await
                == 1
        }
    })
    .await;
    let audit = client
        .query_one(
            "SELECT actor, detail->>'reason', (detail->>'low')::float8 FROM alarm_events WHERE change = 'limits_changed'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audit.get::<_, String>(0), "dr-lee");
    assert_eq!(audit.get::<_, String>(1), "chronic lung disease");
    assert_eq!(audit.get::<_, f64>(2), 85.0);

    stop.send_replace(true);
    task.await.unwrap();
    writer.await.unwrap();
    drop(client);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_queued_during_an_outage_are_written_once_when_it_ends() {
    let Some(db) = TestDb::create("alarm_store_outage").await else {
        return;
    };
    migrated(&db).await;
    let proxy = PgProxy::start(server_addr(&db.url)).await;
    proxy.set_down(true);
    let metrics = StoreMetrics::unregistered();
    let (stop, stop_rx) = watch::channel(false);
    let (store, writer) = store::spawn_writer(
        fast(&proxy.url_for(&db.url)),
        metrics.clone(),
        stop_rx.clone(),
    );
    let (live, live_rx) = broadcast::channel(256);
    let cfg = RuntimeConfig::new(EngineConfig::new("site-a", "t2"));
    let (_handle, task) = runtime::spawn(
        cfg,
        live_rx,
        None,
        vec![store.sink.clone()],
        AlertingMetrics::unregistered(),
        stop_rx,
    );
    let now = Clock::start().now().as_micros();
    for bed in 0..20 {
        live.send(batch(
            &format!("bed-{bed}"),
            Metric::NibpSystolic,
            now,
            200.0,
        ))
        .unwrap();
    }
    let m = metrics.clone();
    wait_until("a failed write", Duration::from_secs(20), || {
        let failed = m.write_errors.get() > 0;
        async move { failed }
    })
    .await;
    proxy.set_down(false);
    let client = db.client().await;
    wait_until("20 raised rows", Duration::from_secs(30), || {
        let c = &client;
        async move { count(c, "SELECT count(*) FROM alarm_events WHERE change = 'raised' AND rule_id = 'nibp_systolic'").await == 20 }
    })
    .await;
    assert_eq!(
        count(
            &client,
            "SELECT count(DISTINCT event_id) - count(*) FROM alarm_events"
        )
        .await,
        0
    );
    stop.send_replace(true);
    task.await.unwrap();
    writer.await.unwrap();
    drop(client);
    db.drop_db().await;
}
