//! Alarm latency benchmark: from a sample on the collector's live bus to the
//! `alarm_raised` event on the alerting runtime's event stream, without load
//! (baseline) and while the collector ingests at least 50,000 samples/s, in
//! one run.
//!
//! ```text
//! cargo bench -p alerting --bench alarm_latency          # 400 probes per run
//! cargo bench -p alerting --bench alarm_latency -- 1000
//! cargo bench -p alerting --bench alarm_latency -- 1000 120000   # load rate
//! ```
//!
//! A real `collector::Ingest` appends to a spool in a temporary directory with
//! fdatasync per append (as the gateway runs) and publishes on its live bus;
//! the alerting runtime subscribes to the bus as in the gateway. A load task
//! feeds batches of 1,000 samples of 50 load beds at a paced rate (60,000
//! samples/s unless a second argument says otherwise)
//! (normal values: they are evaluated but raise nothing). A probe sends one
//! SpO2 sample of 70 % through the same `Ingest::accept_samples`, which raises
//! `spo2_desat` (high priority, no on-delay); the probe then acknowledges and
//! clears it for the next round. Two latencies per probe:
//! - bus to event: from the moment a dedicated thread subscribed to the live
//!   bus receives the probe's batch to the moment a dedicated thread
//!   subscribed to the event stream receives the alarm;
//! - accept to event: from the `accept_samples` call, so including the spool
//!   append and its fdatasync, which run before the sample is published.
//!
//! Limits: both watcher threads compete for the same two cores as the load,
//! so under load their wake-up delay is part of the figures.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alerting::engine::EngineConfig;
use alerting::notice::LiveEvent;
use alerting::runtime::{self, AlertingMetrics, RuntimeConfig};
use collector::normalize::ClockPolicy;
use collector::{
    CollectorMetrics, Ingest, Normalizer, Origin, Quality, Sample, Spool, SpoolConfig,
};
use firmware_adapters::Metric;
use tokio::sync::{mpsc, watch};

const PROBE_BED: &str = "probe-bed";
const LOAD_BEDS: usize = 50;
const LOAD_BATCH: usize = 1_000;
const LOAD_DEFAULT_PER_S: f64 = 60_000.0;

/// What one run measured.
#[derive(Debug)]
struct Run {
    bus: Vec<Duration>,
    accept: Vec<Duration>,
    timeouts: usize,
    ingest_per_s: f64,
    lagged: u64,
}

#[expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| args.iter().filter_map(|a| a.parse::<f64>().ok()).nth(i);
    let probes = number(0).map_or(400, |n| n as usize);
    let rate = number(1).unwrap_or(LOAD_DEFAULT_PER_S);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let base = rt.block_on(measure(probes, None));
    let loaded = rt.block_on(measure(probes, Some(rate)));
    println!(
        "Alarm latency: live bus -> alerting runtime -> event stream, {probes} probes per run"
    );
    println!("spool with fdatasync per append; load {LOAD_BATCH}-sample batches, {LOAD_BEDS} beds, target {rate:.0} samples/s");
    println!(
        "{:<32} {:>9} {:>9} {:>9} {:>9} {:>8} {:>7}",
        "path", "p50", "p99", "max", "ingest/s", "timeouts", "lagged"
    );
    let show = |name: &str, run: &Run, lat: &[Duration]| {
        let (p50, p99, max) = stats(lat);
        println!(
            "{name:<32} {:>9} {:>9} {:>9} {:>9.0} {:>8} {:>7}",
            ms(p50),
            ms(p99),
            ms(max),
            run.ingest_per_s,
            run.timeouts,
            run.lagged
        );
        p99
    };
    let b_bus = show("bus->event, no load", &base, &base.bus);
    let l_bus = show("bus->event, under load", &loaded, &loaded.bus);
    let b_acc = show("accept->event, no load", &base, &base.accept);
    let l_acc = show("accept->event, under load", &loaded, &loaded.accept);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "p99 ratio under load / no load: bus->event {:.2}, accept->event {:.2}",
        ratio(l_bus, b_bus),
        ratio(l_acc, b_acc)
    );
    println!(
        "goal p99 bus->event under load < 5 ms: {}",
        if l_bus < Duration::from_millis(5) {
            "met"
        } else {
            "NOT met"
        }
    );
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn stats(lat: &[Duration]) -> (Duration, Duration, Duration) {
    let mut v = lat.to_vec();
    v.sort();
    let at = |p: usize| v.get((v.len() * p / 100).min(v.len().saturating_sub(1)));
    let get = |p| at(p).copied().unwrap_or_default();
    (get(50), get(99), v.last().copied().unwrap_or_default())
}

fn now_us() -> i64 {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

fn sample(origin: &Origin, time_us: i64, metric: Metric, value: f64) -> Sample {
    Sample {
        time_us,
        received_us: time_us,
        origin: origin.clone(),
        metric,
        value,
        quality: Quality::empty(),
    }
}

fn ingest(dir: PathBuf) -> Ingest {
    let config = SpoolConfig {
        dir,
        max_bytes: 8 << 30,
        segment_bytes: 64 << 20,
        fsync: true,
    };
    let spool = Arc::new(Spool::open(config).expect("open spool").0);
    let metrics = CollectorMetrics::unregistered();
    Ingest::new(
        spool,
        Normalizer::new(ClockPolicy::default()),
        metrics,
        1_024,
    )
}

/// A thread that stamps the arrival of every probe desaturation on the bus.
fn watch_bus(ingest: &Ingest) -> mpsc::UnboundedReceiver<Instant> {
    let mut rx = ingest.subscribe();
    let (tx, out) = mpsc::unbounded_channel();
    std::thread::spawn(move || loop {
        match rx.blocking_recv() {
            Ok(batch) => {
                let probe = batch
                    .iter()
                    .any(|s| &*s.origin.bed_id == PROBE_BED && s.value < 80.0);
                if probe && tx.send(Instant::now()).is_err() {
                    return;
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    });
    out
}

/// A thread that stamps every probe `spo2_desat` raise on the event stream.
fn watch_events(handle: &runtime::AlertingHandle) -> mpsc::UnboundedReceiver<Instant> {
    let mut rx = handle.subscribe();
    let (tx, out) = mpsc::unbounded_channel();
    std::thread::spawn(move || loop {
        match rx.blocking_recv() {
            Ok(ev) => {
                let hit = matches!(&*ev, LiveEvent::AlarmRaised(n)
                    if &*n.bed == PROBE_BED && &*n.rule == "spo2_desat");
                if hit && tx.send(Instant::now()).is_err() {
                    return;
                }
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    });
    out
}

async fn load(ingest: Ingest, rate: f64, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) {
    let origins: Vec<Origin> = (0..LOAD_BEDS)
        .map(|i| Origin::new("bench", &format!("load-{i:02}"), &format!("mon-{i:02}")))
        .collect();
    let metrics = [
        (Metric::HeartRate, 72.0),
        (Metric::Spo2, 97.0),
        (Metric::RespiratoryRate, 15.0),
        (Metric::PulseRate, 72.0),
    ];
    let started = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let due = started.elapsed().as_secs_f64() * rate;
        if sent.load(Ordering::Relaxed) as f64 >= due {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        let t = now_us();
        let batch = (0..LOAD_BATCH)
            .map(|k| {
                let (metric, value) = metrics[k % metrics.len()];
                sample(&origins[k % LOAD_BEDS], t, metric, value)
            })
            .collect();
        ingest.accept_samples(batch).await.expect("load append");
        sent.fetch_add(LOAD_BATCH as u64, Ordering::Relaxed);
    }
}

async fn measure(probes: usize, load_rate: Option<f64>) -> Run {
    let with_load = load_rate.is_some();
    let dir = std::env::temp_dir().join(format!(
        "alerting-latency-{}-{with_load}",
        std::process::id()
    ));
    let ingest = ingest(dir.clone());
    let mut bus = watch_bus(&ingest);
    let mut engine = EngineConfig::new("bench", "latency");
    engine.technical.default_silence_timeout = Duration::from_secs(3_600);
    let mut cfg = RuntimeConfig::new(engine);
    cfg.event_capacity = 65_536;
    let metrics = AlertingMetrics::unregistered();
    let (stop_tx, stop_rx) = watch::channel(false);
    let (handle, task) = runtime::spawn(
        cfg,
        ingest.subscribe(),
        None,
        Vec::new(),
        metrics.clone(),
        stop_rx,
    );
    let mut events = watch_events(&handle);

    let stop_load = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let load_task = load_rate.map(|rate| {
        let (stop, sent) = (Arc::clone(&stop_load), Arc::clone(&sent));
        tokio::spawn(load(ingest.clone(), rate, stop, sent))
    });
    let load_started = Instant::now();
    // Let the load reach its pace before probing.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let probe = Origin::new("bench", PROBE_BED, "probe-monitor");
    let mut t = now_us();
    let mut run = Run {
        bus: Vec::with_capacity(probes),
        accept: Vec::with_capacity(probes),
        timeouts: 0,
        ingest_per_s: 0.0,
        lagged: 0,
    };
    for _ in 0..probes {
        tokio::time::sleep(Duration::from_millis(10)).await;
        t += 10_000_000;
        let called = Instant::now();
        ingest
            .accept_samples(vec![sample(&probe, t, Metric::Spo2, 70.0)])
            .await
            .expect("probe append");
        let wait = Duration::from_secs(5);
        let (Ok(Some(on_bus)), Ok(Some(raised))) = (
            tokio::time::timeout(wait, bus.recv()).await,
            tokio::time::timeout(wait, events.recv()).await,
        ) else {
            run.timeouts += 1;
            continue;
        };
        run.bus.push(raised.saturating_duration_since(on_bus));
        run.accept.push(raised.saturating_duration_since(called));
        // Acknowledge, then clear (5 s off-delay on sample time) so the next
        // probe raises a new occurrence.
        handle
            .acknowledge(PROBE_BED, "spo2_desat", "bench")
            .await
            .expect("acknowledge the probe alarm");
        for dt in [1_000_000, 7_000_000] {
            ingest
                .accept_samples(vec![sample(&probe, t + dt, Metric::Spo2, 98.0)])
                .await
                .expect("probe append");
        }
    }
    stop_load.store(true, Ordering::Relaxed);
    if let Some(task) = load_task {
        task.await.expect("load task");
        run.ingest_per_s =
            sent.load(Ordering::Relaxed) as f64 / load_started.elapsed().as_secs_f64();
    }
    run.lagged = metrics.live_lagged.get();
    let _ = stop_tx.send(true);
    task.await.expect("runtime task");
    drop(ingest);
    let _ = std::fs::remove_dir_all(&dir);
    run
}
