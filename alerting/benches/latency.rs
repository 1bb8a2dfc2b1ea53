//! Alarm latency: a breaching sample handed to the collector's intake until
//! the alarm event comes out of the alerting runtime, with and without the
//! collector ingesting a heavy background load, in one run.
//!
//! ```text
//! cargo bench -p alerting --bench latency             # 2,000 probes
//! cargo bench -p alerting --bench latency -- 500      # another count
//! ```
//!
//! Setup: a real `collector::Ingest` over a spool in a temporary folder (with
//! fdatasync per append, as in production; no database writer), the alerting
//! runtime subscribed to its live bus with the shipped rules. A probe bed
//! alternates cuff systolic 200 and 120 mmHg (`nibp_systolic`, medium, no
//! delay), so every probe raises or resolves an alarm. Two figures per probe,
//! both ending when a subscriber of the runtime's event stream receives the
//! alarm event: *bus->event* starts when a second live-bus subscriber sees
//! the probe's batch (the goal's definition; that subscriber's own wake-up
//! delay can only make it look shorter, never longer, than from the send),
//! *intake->event* starts before `Ingest::accept_samples` and so includes the
//! spool append, which under load waits for the load's fdatasyncs.
//!
//! Baseline: probes with the intake otherwise idle. Load: the same probes
//! while two tasks feed 12 beds x 5 metrics in batches of 1,000 samples at
//! 60,000 samples/s. The run prints p50, p99 and max of both, the load's
//! achieved rate, and the ratio of the p99s.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alerting::engine::EngineConfig;
use alerting::notice::LiveEvent;
use alerting::runtime::{self, AlertingMetrics, RuntimeConfig};
use collector::{
    CollectorMetrics, Ingest, Normalizer, Origin, Quality, Sample, Spool, SpoolConfig,
};
use firmware_adapters::Metric;
use tokio::sync::watch;

const LOAD_RATE: u64 = 60_000;
const LOAD_BATCH: usize = 1_000;
const LOAD_TASKS: u64 = 2;

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

#[expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
fn main() {
    let probes: usize = std::env::args()
        .skip(1)
        .find(|a| a != "--bench")
        .map_or(2_000, |a| a.parse().expect("a probe count"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("temporary folder");
        let spool = Spool::open(SpoolConfig {
            dir: dir.path().to_owned(),
            max_bytes: 4 << 30,
            segment_bytes: 64 << 20,
            fsync: true,
        })
        .expect("spool")
        .0;
        let ingest = Ingest::new(
            Arc::new(spool),
            Normalizer::default(),
            CollectorMetrics::unregistered(),
            4_096,
        );
        let (stop, stop_rx) = watch::channel(false);
        let mut engine = EngineConfig::new("site", "bench");
        engine.technical.default_silence_timeout = Duration::from_secs(3_600);
        let metrics = AlertingMetrics::unregistered();
        let (handle, _task) = runtime::spawn(
            RuntimeConfig::new(engine),
            ingest.subscribe(),
            None,
            Vec::new(),
            metrics.clone(),
            stop_rx,
        );

        let base = measure(&ingest, &handle, probes, 0).await;
        let running = Arc::new(AtomicBool::new(true));
        let sent = Arc::new(AtomicU64::new(0));
        let mut load = Vec::new();
        for task in 0..LOAD_TASKS {
            load.push(tokio::spawn(feed(
                ingest.clone(),
                task,
                Arc::clone(&running),
                Arc::clone(&sent),
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let started = Instant::now();
        let sent_before = sent.load(Ordering::Relaxed);
        let loaded = measure(&ingest, &handle, probes, probes).await;
        let rate =
            (sent.load(Ordering::Relaxed) - sent_before) as f64 / started.elapsed().as_secs_f64();
        running.store(false, Ordering::Relaxed);
        for l in load {
            let _ = l.await;
        }
        stop.send_replace(true);
        let show = |name: &str, v: &[Duration]| {
            println!(
                "{name:<28} p50 {:>8.3} ms   p99 {:>8.3} ms   max {:>8.3} ms   ({} probes)",
                ms(pct(v, 0.50)),
                ms(pct(v, 0.99)),
                ms(*v.last().expect("probes")),
                v.len()
            );
        };
        show("bus->event, idle intake", &base.bus);
        show("bus->event, under load", &loaded.bus);
        show("intake->event, idle", &base.total);
        show("intake->event, under load", &loaded.total);
        println!("background ingest rate      {rate:.0} samples/s (target {LOAD_RATE})");
        println!("samples evaluated by alerting {}", metrics.samples.get());
        println!("live batches missed         {}", metrics.live_lagged.get());
        println!(
            "bus->event p99 ratio load/idle {:.2}",
            ms(pct(&loaded.bus, 0.99)) / ms(pct(&base.bus, 0.99)).max(1e-9)
        );
        let met = pct(&loaded.bus, 0.99) < Duration::from_millis(5);
        println!(
            "goal bus->event p99 < 5 ms under load: {}",
            if met { "met" } else { "NOT met" }
        );
    });
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Sorted latencies: from the intake call, and from the live bus.
struct Latencies {
    total: Vec<Duration>,
    bus: Vec<Duration>,
}

/// `n` probes on bed `probe-{offset}`.
async fn measure(
    ingest: &Ingest,
    handle: &runtime::AlertingHandle,
    n: usize,
    offset: usize,
) -> Latencies {
    let bed = format!("probe-{offset}");
    let mut events = handle.subscribe();
    // A second bus subscriber notes when each probe batch is on the bus.
    let (on_bus_tx, mut on_bus) = tokio::sync::mpsc::unbounded_channel();
    let mut bus = ingest.subscribe();
    let watched = bed.clone();
    let watcher = tokio::spawn(async move {
        while let Ok(batch) = bus.recv().await {
            if batch.first().is_some_and(|s| *s.origin.bed_id == *watched)
                && on_bus_tx.send(Instant::now()).is_err()
            {
                return;
            }
        }
    });
    let mut out = Vec::with_capacity(n);
    let mut from_bus = Vec::with_capacity(n);
    for i in 0..n {
        let value = if i % 2 == 0 { 200.0 } else { 120.0 };
        let t = now_us();
        let s = Sample {
            time_us: t,
            received_us: t,
            origin: Origin::new("site", &bed, "probe"),
            metric: Metric::NibpSystolic,
            value,
            quality: Quality::empty(),
        };
        let start = Instant::now();
        ingest.accept_samples(vec![s]).await.expect("spool append");
        loop {
            match events.recv().await {
                Ok(ev) => {
                    let hit = match &*ev {
                        LiveEvent::AlarmRaised(n) | LiveEvent::AlarmResolved(n) => {
                            *n.bed == *bed && &*n.rule == "nibp_systolic"
                        }
                        _ => false,
                    };
                    if hit {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
        let done = Instant::now();
        out.push(done - start);
        let seen = on_bus.recv().await.expect("bus watcher running");
        from_bus.push(done.saturating_duration_since(seen));
        // Probes are spaced so they measure latency, not queueing of probes.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    watcher.abort();
    out.sort();
    from_bus.sort();
    Latencies {
        total: out,
        bus: from_bus,
    }
}

/// Feeds normal values of 12 beds x 5 metrics at `LOAD_RATE / LOAD_TASKS`.
async fn feed(ingest: Ingest, task: u64, running: Arc<AtomicBool>, sent: Arc<AtomicU64>) {
    let metrics = [
        (Metric::HeartRate, 72.0),
        (Metric::PulseRate, 72.0),
        (Metric::Spo2, 97.0),
        (Metric::RespiratoryRate, 16.0),
        (Metric::PerfusionIndex, 3.0),
    ];
    let origins: Vec<Origin> = (0..12)
        .map(|b| Origin::new("site", &format!("bed-{b}"), &format!("mon-{task}-{b}")))
        .collect();
    let per_batch =
        Duration::from_secs_f64(LOAD_BATCH as f64 * LOAD_TASKS as f64 / LOAD_RATE as f64);
    let mut next = tokio::time::Instant::now();
    let mut t = now_us();
    while running.load(Ordering::Relaxed) {
        let mut batch = Vec::with_capacity(LOAD_BATCH);
        while batch.len() < LOAD_BATCH {
            t += 1;
            for o in &origins {
                for (m, v) in metrics {
                    batch.push(Sample {
                        time_us: t,
                        received_us: t,
                        origin: o.clone(),
                        metric: m,
                        value: v,
                        quality: Quality::empty(),
                    });
                }
            }
        }
        batch.truncate(LOAD_BATCH);
        let n = batch.len() as u64;
        ingest.accept_samples(batch).await.expect("spool append");
        sent.fetch_add(n, Ordering::Relaxed);
        next += per_batch;
        tokio::time::sleep_until(next).await;
    }
}
