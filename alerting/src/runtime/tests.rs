//! The runtime under paused tokio time: live batches in, events out, timers
//! and staff actions through the handle.

use std::time::Duration;

use collector::{Origin, Quality, Sample};
use firmware_adapters::Metric;

use super::*;
use crate::lifecycle::{EscalationPath, EscalationStep};

fn batch(bed: &str, metric: Metric, at: Timestamp, value: f64) -> LiveBatch {
    let s = Sample {
        time_us: at.as_micros(),
        received_us: at.as_micros(),
        origin: Origin::new("site", bed, "mon-1"),
        metric,
        value,
        quality: Quality::empty(),
    };
    vec![s].into()
}

struct Rig {
    live: broadcast::Sender<LiveBatch>,
    handle: AlertingHandle,
    events: broadcast::Receiver<Arc<LiveEvent>>,
    sink: mpsc::Receiver<Arc<LiveEvent>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn rig() -> Rig {
    let mut engine = EngineConfig::new("site", "boot");
    let step = |id: &str| EscalationStep {
        recipient: StaffId::from(id),
        ttl: Duration::from_secs(30),
    };
    engine.escalation = Some(EscalationPath::new(vec![step("nurse"), step("charge")]).unwrap());
    engine.technical.default_silence_timeout = Duration::from_secs(3_600);
    let (live, live_rx) = broadcast::channel(64);
    let (sink_tx, sink) = mpsc::channel(64);
    let (stop, stop_rx) = watch::channel(false);
    let sinks = vec![Sink {
        name: "test".into(),
        tx: sink_tx,
    }];
    let metrics = AlertingMetrics::unregistered();
    let (handle, task) = spawn(
        RuntimeConfig::new(engine),
        live_rx,
        None,
        sinks,
        metrics,
        stop_rx,
    );
    let events = handle.subscribe();
    Rig {
        live,
        handle,
        events,
        sink,
        stop,
        task,
    }
}

/// The next alarm event on the stream, skipping vitals and NEWS2.
async fn next_alarm(
    rx: &mut broadcast::Receiver<Arc<LiveEvent>>,
) -> (&'static str, String, &'static str) {
    loop {
        let ev = rx.recv().await.unwrap();
        if let Some(n) = ev.alarm().filter(|n| !n.rule.starts_with("news2_")) {
            return (ev.name(), n.rule.to_string(), n.change);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn desaturation_is_raised_escalated_and_broadcast_when_nobody_accepts() {
    let mut rig = rig();
    let now = Clock::start().now();
    rig.live
        .send(batch("bed-1", Metric::Spo2, now, 75.0))
        .unwrap();
    assert_eq!(
        next_alarm(&mut rig.events).await,
        ("alarm:raised", "spo2_desat".into(), "raised")
    );
    assert_eq!(next_alarm(&mut rig.events).await.2, "escalation_offered");
    // Paused time: the runtime's ticks move the escalation on.
    assert_eq!(next_alarm(&mut rig.events).await.2, "escalation_timed_out");
    let offered = next_alarm(&mut rig.events).await;
    assert_eq!(offered.2, "escalation_offered");
    rig.handle
        .decline("bed-1", "spo2_desat", "charge")
        .await
        .unwrap();
    assert_eq!(next_alarm(&mut rig.events).await.2, "escalation_declined");
    assert_eq!(
        next_alarm(&mut rig.events).await,
        (
            "emergency:broadcast",
            "spo2_desat".into(),
            "escalation_exhausted"
        )
    );
    // The sink got the same alarm events (and no vitals).
    let first = rig.sink.recv().await.unwrap();
    assert_eq!(first.name(), "alarm:raised");
    rig.stop.send_replace(true);
    rig.task.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn handle_actions_reach_the_engine_and_errors_come_back() {
    let mut rig = rig();
    let now = Clock::start().now();
    rig.live
        .send(batch("bed-1", Metric::HeartRate, now, 30.0))
        .unwrap();
    for s in 1..=10 {
        let at = now + Duration::from_secs(s);
        rig.live
            .send(batch("bed-1", Metric::HeartRate, at, 30.0))
            .unwrap();
    }
    assert_eq!(next_alarm(&mut rig.events).await.1, "heart_rate");
    let too_long = rig
        .handle
        .silence("bed-1", "heart_rate", "nurse", Duration::from_secs(600))
        .await;
    assert!(matches!(too_long, Err(ActionError::Lifecycle(_))));
    rig.handle
        .accept("bed-1", "heart_rate", "nurse")
        .await
        .unwrap();
    rig.handle
        .acknowledge("bed-1", "heart_rate", "nurse")
        .await
        .unwrap();
    let open = rig.handle.open_alarms().await.unwrap();
    let hr = open.iter().find(|n| &*n.rule == "heart_rate").unwrap();
    assert_eq!(hr.state, "acknowledged");
    let again = rig.handle.acknowledge("bed-1", "heart_rate", "nurse").await;
    assert!(matches!(again, Err(ActionError::Lifecycle(_))));
    let news = rig.handle.news2("bed-1").await.unwrap().unwrap();
    assert_eq!(news.parts[4].points, Some(3), "pulse 30 scores 3");
    rig.stop.send_replace(true);
    rig.task.await.unwrap();
    let gone = rig.handle.open_alarms().await;
    assert_eq!(gone.unwrap_err(), ActionError::Stopped);
}

#[tokio::test(start_paused = true)]
async fn full_sink_drops_for_that_sink_only_and_counts() {
    let (live, live_rx) = broadcast::channel(64);
    let (tx, _keep_full) = mpsc::channel(1);
    let (_stop, stop_rx) = watch::channel(false);
    let metrics = AlertingMetrics::unregistered();
    let sinks = vec![Sink {
        name: "slow".into(),
        tx,
    }];
    let cfg = RuntimeConfig::new(EngineConfig::new("site", "boot"));
    let (handle, _task) = spawn(cfg, live_rx, None, sinks, metrics.clone(), stop_rx);
    let mut events = handle.subscribe();
    let now = Clock::start().now();
    live.send(batch("bed-1", Metric::Spo2, now, 75.0)).unwrap();
    live.send(batch("bed-2", Metric::Spo2, now, 75.0)).unwrap();
    let mut raised = 0;
    while raised < 2 {
        if events.recv().await.unwrap().name() == "alarm:raised" {
            raised += 1;
        }
    }
    assert!(metrics.sink_dropped.with_label_values(&["slow"]).get() >= 1);
}
