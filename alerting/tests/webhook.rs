//! Webhooks against a real HTTP receiver (axum) that verifies every signature
//! itself with ring, following the scheme documented in `webhook::sign`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use alerting::engine::EngineConfig;
use alerting::notice::LiveEvent;
use alerting::runtime::{self, AlertingHandle, AlertingMetrics, Clock, RuntimeConfig, Sink};
use alerting::store::{self, StoreConfig, StoreHandle, StoreMetrics, MIGRATIONS};
use alerting::webhook::{self, http::HttpUrl, Endpoint, Secret};
use alerting::Priority;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use collector::{LiveBatch, Origin, Quality, Sample};
use firmware_adapters::Metric;
use healthsphere_tests::TestDb;
use ring::hmac;
use tokio::sync::{broadcast, mpsc, watch};

const SECRET: &[u8] = b"pager-shared-secret";

/// What the receiver saw: event header, event id, parsed body, signature ok.
type Seen = (String, String, serde_json::Value, bool);

/// An axum receiver on 127.0.0.1:0 that answers 503 to the first
/// `fail_first` requests, then 204 to verified ones and 401 to the rest.
async fn receiver(fail_first: u32) -> (String, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let calls = Arc::new(AtomicU32::new(0));
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            let calls = Arc::clone(&calls);
            async move {
                let header = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let ts = header("x-healthsphere-timestamp");
                let sig = header("x-healthsphere-signature");
                let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET);
                let mut msg = format!("v1:{ts}:").into_bytes();
                msg.extend_from_slice(&body);
                let expected: String = hmac::sign(&key, &msg)
                    .as_ref()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let fresh = ts.parse::<u64>().is_ok_and(|t| t.abs_diff(now) <= 300);
                let ok = fresh && sig == format!("v1={expected}");
                if calls.fetch_add(1, Ordering::SeqCst) < fail_first {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let json = serde_json::from_slice(&body).unwrap_or_default();
                let _ = tx.send((
                    header("x-healthsphere-event"),
                    header("x-healthsphere-event-id"),
                    json,
                    ok,
                ));
                if ok {
                    StatusCode::NO_CONTENT
                } else {
                    StatusCode::UNAUTHORIZED
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), rx)
}

/// The next delivery the receiver saw, within 10 s.
async fn next(seen: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await
        .expect("a delivery within 10 s")
        .expect("receiver running")
}

fn endpoint(name: &str, url: &str) -> Endpoint {
    Endpoint {
        name: name.into(),
        url: HttpUrl::parse(url).unwrap(),
        secret: Secret::new(SECRET),
        min_priority: Priority::Medium,
        timeout: Duration::from_millis(500),
        max_attempts: 3,
        retry_initial: Duration::from_millis(20),
        retry_max: Duration::from_millis(100),
    }
}

fn batch(bed: &str, metric: Metric, value: f64) -> LiveBatch {
    let at = Clock::start().now().as_micros();
    vec![Sample {
        time_us: at,
        received_us: at,
        origin: Origin::new("site", bed, "mon-1"),
        metric,
        value,
        quality: Quality::empty(),
    }]
    .into()
}

struct Rig {
    live: broadcast::Sender<LiveBatch>,
    handle: AlertingHandle,
    stop: watch::Sender<bool>,
}

/// Runtime with one webhook endpoint (and the alarm log when given).
fn start(ep: Endpoint, store: Option<StoreHandle>, stop: watch::Sender<bool>) -> Rig {
    let (sink, rx) = webhook::channel(&ep.name, 64);
    let mut sinks: Vec<Sink> = vec![sink];
    sinks.extend(store.iter().map(|s| s.sink.clone()));
    let (live, live_rx) = broadcast::channel(64);
    let cfg = RuntimeConfig::new(EngineConfig::new("site", "wh"));
    let (handle, _task) = runtime::spawn(
        cfg,
        live_rx,
        None,
        sinks,
        AlertingMetrics::unregistered(),
        stop.subscribe(),
    );
    webhook::spawn(
        ep,
        "site".into(),
        rx,
        handle.clone(),
        store,
        stop.subscribe(),
    );
    Rig { live, handle, stop }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_signed_retried_and_verified_by_the_receiver() {
    let (url, mut seen) = receiver(1).await;
    let (stop, _) = watch::channel(false);
    let rig = start(endpoint("pager", &url), None, stop);
    // Low-priority NEWS2 alarms stay below the endpoint's medium threshold.
    rig.live.send(batch("bed-4", Metric::Spo2, 75.0)).unwrap();
    let (event, id, body, ok) = next(&mut seen).await;
    assert!(ok, "signature verified by the receiver");
    assert_eq!(event, "alarm:raised");
    assert_eq!(body["event"], "alarm:raised");
    assert_eq!(body["data"]["rule"], "spo2_desat");
    assert_eq!(body["data"]["bed"], "bed-4");
    assert_eq!(body["data"]["priority"], "high");
    assert_eq!(body["data"]["event_id"], id.as_str());
    // The first attempt got 503; this was the retry of the same event.
    rig.handle
        .acknowledge("bed-4", "spo2_desat", "nurse")
        .await
        .unwrap();
    let (_, second_id, body, ok) = next(&mut seen).await;
    assert!(ok);
    assert_eq!(body["data"]["change"], "acknowledged");
    assert_eq!(body["data"]["actor"], "nurse");
    assert_ne!(second_id, id);
    rig.stop.send_replace(true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_that_never_answers_raises_a_technical_alarm_and_attempts_are_recorded() {
    let Some(db) = TestDb::create("webhook_deliveries").await else {
        return;
    };
    let mut client = db.client().await;
    collector::schema::migrate_with(&mut client, &[MIGRATIONS])
        .await
        .unwrap();
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", silent.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let (stop, _) = watch::channel(false);
    let (store, _writer) = store::spawn_writer(
        StoreConfig::new(&db.url),
        StoreMetrics::unregistered(),
        stop.subscribe(),
    );
    let mut ep = endpoint("nursecall", &url);
    ep.timeout = Duration::from_millis(150);
    ep.max_attempts = 2;
    let rig = start(ep, Some(store), stop);
    let mut events = rig.handle.subscribe();
    rig.live.send(batch("bed-9", Metric::Spo2, 70.0)).unwrap();
    let tech = loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("the technical alarm within 10 s")
            .unwrap();
        if let LiveEvent::AlarmRaised(n) = &*ev {
            if n.rule.starts_with("webhook_unreachable") {
                break n.clone();
            }
        }
    };
    assert_eq!(&*tech.rule, "webhook_unreachable:nursecall");
    assert_eq!(&*tech.bed, "_gateway");
    let raised_id = rig
        .handle
        .open_alarms()
        .await
        .unwrap()
        .into_iter()
        .find(|n| &*n.rule == "spo2_desat")
        .map(|n| n.occurrence);
    assert_eq!(raised_id, Some(1));
    let deliveries = || async {
        client
            .query(
                "SELECT attempt, outcome, error FROM webhook_deliveries
                  WHERE endpoint = 'nursecall' ORDER BY time, attempt LIMIT 2",
                &[],
            )
            .await
            .unwrap()
    };
    // The store writes in the background; bounded, so a lost record fails.
    healthsphere_tests::wait_until("two delivery records", Duration::from_secs(30), || async {
        deliveries().await.len() == 2
    })
    .await;
    let rows = deliveries().await;
    let got: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, [(1, "retrying".to_owned()), (2, "gave_up".to_owned())]);
    assert!(rows[0]
        .get::<_, Option<String>>(2)
        .unwrap()
        .contains("no answer"));
    rig.stop.send_replace(true);
    drop(client);
    db.drop_db().await;
}
