//! Ingest benchmark: the gateway's path against raw binary COPY, in one run.
//!
//! ```text
//! cargo bench -p collector --bench ingest            # 1,000,000 samples
//! cargo bench -p collector --bench ingest -- 200000  # another count
//! ```
//!
//! Needs the TimescaleDB of `deploy/timescaledb.sh` (or the server named by
//! `HEALTHSPHERE_BENCH_DATABASE_URL`'s maintenance database). It creates a scratch
//! database, migrates it, and runs each part in a child process of its own so that
//! each reports its own peak memory:
//!
//! - baseline: a minimal client (tokio-postgres' `BinaryCopyInWriter`) copies the
//!   rows straight into the `vitals` hypertable, 10,000 rows a transaction;
//! - path: the gateway's path: intake appends batches of 1,000 samples to the
//!   spool (fdatasync per append), while the writer drains it into the same
//!   hypertable in transactions of 10,000 rows with its progress row.
//!
//! Both write the same rows: 100 devices, 10 metrics each, one sample per device
//! and metric per millisecond of device time. Each part runs twice with the table
//! truncated in between; the faster run of each counts. The run prints both rates,
//! their ratio, and the peak resident memory (VmHWM) of each process.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use collector::normalize::ClockPolicy;
use collector::{CollectorMetrics, Ingest, Normalizer, Origin, Quality, Sample, Spool};
use collector::{SpoolConfig, Writer, WriterConfig};
use firmware_adapters::Metric;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, NoTls};

const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:55432/postgres";
const DEVICES: usize = 100;
const BATCH_ROWS: usize = 10_000;
const APPEND_BATCH: usize = 1_000;
const ROUNDS: usize = 2;
/// 2026-01-01T00:00:00Z.
const T0_US: i64 = 1_767_225_600_000_000;

#[expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    match args.first().map(String::as_str) {
        Some("child-baseline") => {
            let (url, n) = (&args[1], args[2].parse().expect("count"));
            let rate = runtime.block_on(baseline(url, n));
            println!("RESULT {rate} {}", peak_rss_kib());
        }
        Some("child-path") => {
            let (url, n) = (&args[1], args[2].parse().expect("count"));
            let rate = runtime.block_on(path(url, n));
            println!("RESULT {rate} {}", peak_rss_kib());
        }
        other => {
            let n = other.and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
            runtime.block_on(parent(n));
        }
    }
}

#[expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]
async fn parent(n: usize) {
    let admin = std::env::var("HEALTHSPHERE_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
    let name = format!("hs_bench_{}", std::process::id());
    let admin_client = connect(&admin).await;
    admin_client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create database");
    let url = with_dbname(&admin, &name);
    let mut client = connect(&url).await;
    let report = collector::schema::migrate(&mut client)
        .await
        .expect("migrate");
    println!(
        "ingest benchmark: {n} samples, TimescaleDB {} ({} edition), {} rows per transaction",
        report.timescaledb_version, report.edition, BATCH_ROWS
    );

    let mut best = [(0.0f64, 0u64); 2];
    for round in 0..ROUNDS {
        for (i, part) in ["baseline", "path"].into_iter().enumerate() {
            client
                .batch_execute("TRUNCATE vitals; TRUNCATE ingest_progress")
                .await
                .expect("truncate");
            let (rate, rss) = child(part, &url, n);
            let rows: i64 = client
                .query_one("SELECT count(*) FROM vitals", &[])
                .await
                .unwrap()
                .get(0);
            assert_eq!(rows as usize, n, "{part} stored {rows} rows, expected {n}");
            println!(
                "  round {} {part:<8}: {rate:>10.0} samples/s, peak memory {} MiB",
                round + 1,
                rss / 1024
            );
            if rate > best[i].0 {
                best[i] = (rate, rss);
            }
        }
    }
    drop(client);
    let _ = admin_client
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .await;

    let (raw, raw_rss) = best[0];
    let (gw, gw_rss) = best[1];
    println!(
        "raw binary COPY (baseline): {raw:>10.0} samples/s  (peak memory {} MiB)",
        raw_rss / 1024
    );
    println!(
        "gateway spool + writer:     {gw:>10.0} samples/s  (peak memory {} MiB)",
        gw_rss / 1024
    );
    println!("ratio gateway / raw COPY:   {:.2}", gw / raw);
}

/// Runs one part in a child process; returns (samples per second, peak KiB).
fn child(part: &str, url: &str, n: usize) -> (f64, u64) {
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(exe)
        .args([format!("child-{part}"), url.to_owned(), n.to_string()])
        .output()
        .expect("run the benchmark child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("RESULT "))
        .unwrap_or_else(|| {
            panic!("{part} failed: {}", String::from_utf8_lossy(&out.stderr));
        });
    let mut fields = line.split_whitespace().skip(1);
    let rate = fields.next().and_then(|f| f.parse().ok()).expect("rate");
    let rss = fields.next().and_then(|f| f.parse().ok()).expect("rss");
    (rate, rss)
}

/// Sample `i` of the run: devices and metrics round-robin, device time
/// advancing a millisecond per round, so every row has a distinct key.
fn sample(i: usize, origins: &[Origin]) -> Sample {
    let device = i % DEVICES;
    let metric = Metric::ALL[(i / DEVICES) % 10];
    let tick = (i / (DEVICES * 10)) as i64;
    Sample {
        time_us: T0_US + tick * 1_000,
        received_us: T0_US + tick * 1_000 + 250,
        origin: origins[device].clone(),
        metric,
        value: 60.0 + (i % 40) as f64,
        quality: Quality::empty(),
    }
}

fn origins() -> Vec<Origin> {
    (0..DEVICES)
        .map(|d| {
            Origin::new(
                "bench-site",
                &format!("bed-{d:03}"),
                &format!("monitor-{d:03}"),
            )
        })
        .collect()
}

async fn baseline(url: &str, n: usize) -> f64 {
    let origins = origins();
    let samples: Vec<Sample> = (0..n).map(|i| sample(i, &origins)).collect();
    let mut client = connect(url).await;
    let types = [
        Type::TIMESTAMPTZ,
        Type::TIMESTAMPTZ,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
        Type::FLOAT8,
        Type::INT2,
    ];
    let started = Instant::now();
    for chunk in samples.chunks(BATCH_ROWS) {
        let tx = client.transaction().await.expect("begin");
        let sink = tx
            .copy_in(
                "COPY vitals (time, received_at, tenant_id, bed_id, device_id, metric, value, \
                 quality) FROM STDIN (FORMAT binary)",
            )
            .await
            .expect("copy in");
        let writer = BinaryCopyInWriter::new(sink, &types);
        futures_util::pin_mut!(writer);
        for s in chunk {
            let time = system_time(s.time_us);
            let received = system_time(s.received_us);
            let quality = s.quality.bits() as i16;
            writer
                .as_mut()
                .write(&[
                    &time,
                    &received,
                    &&*s.origin.tenant_id,
                    &&*s.origin.bed_id,
                    &&*s.origin.device_id,
                    &s.metric.name(),
                    &s.value,
                    &quality,
                ])
                .await
                .expect("write row");
        }
        writer.finish().await.expect("finish copy");
        tx.commit().await.expect("commit");
    }
    n as f64 / started.elapsed().as_secs_f64()
}

async fn path(url: &str, n: usize) -> f64 {
    let dir = tempfile::tempdir().expect("spool directory");
    let config = SpoolConfig {
        dir: dir.path().to_owned(),
        max_bytes: 4 << 30,
        segment_bytes: 16 << 20,
        fsync: true,
    };
    let spool = Arc::new(Spool::open(config).expect("open spool").0);
    let metrics = CollectorMetrics::unregistered();
    let ingest = Ingest::new(
        Arc::clone(&spool),
        Normalizer::new(ClockPolicy::default()),
        metrics.clone(),
        16,
    );
    let writer_config = WriterConfig {
        database_url: url.to_owned(),
        batch_max_rows: BATCH_ROWS,
        batch_max_wait: Duration::from_millis(50),
        retry_initial: Duration::from_millis(50),
        retry_max: Duration::from_secs(1),
        connect_timeout: Duration::from_secs(5),
    };
    let writer = Writer::new(writer_config, Arc::clone(&spool), metrics);
    let mut progress = writer.progress();
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    let origins = origins();

    let started = Instant::now();
    let writer_task = tokio::spawn(writer.run(stop_rx));
    for start in (0..n).step_by(APPEND_BATCH) {
        let batch: Vec<Sample> = (start..n.min(start + APPEND_BATCH))
            .map(|i| sample(i, &origins))
            .collect();
        ingest.accept_samples(batch).await.expect("append");
    }
    progress
        .wait_for(|&p| p >= n as u64)
        .await
        .expect("writer alive");
    let rate = n as f64 / started.elapsed().as_secs_f64();
    writer_task.abort();
    rate
}

async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.expect("connect");
    tokio::spawn(conn);
    client
}

fn system_time(unix_us: i64) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_micros(u64::try_from(unix_us).expect("after 1970"))
}

fn with_dbname(url: &str, name: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let host_end = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |i| scheme_end + i);
    format!("{}/{name}", &url[..host_end])
}

/// Peak resident set size of this process, KiB (VmHWM).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}
