//! The gateway binary as an operator runs it: killed with SIGKILL mid-ingest,
//! stopped with SIGTERM, restarted on a damaged spool, and `check-config`.

mod support;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use collector::{Spool, SpoolConfig};
use gateway::config::DATABASE_URL_ENV;
use healthsphere_tests::{count_vitals, wait_until, TestDb};
use support::{Gateway, BIN};
use tokio_postgres::Client;

fn write_config(dir: &Path, db_url: Option<&str>, simulators: usize) -> PathBuf {
    let mut text = format!(
        "[site]\ntenant_id = \"it-site\"\nward_id = \"ward-it\"\n\n\
         [spool]\ndir = \"{}\"\nmax_bytes = 268435456\nsegment_bytes = 1048576\n\n\
         [api]\nlisten = \"127.0.0.1:0\"\n",
        dir.join("spool").display()
    );
    if let Some(url) = db_url {
        text.push_str(&format!(
            "\n[database]\nurl = \"{url}\"\nbatch_max_rows = 2000\nbatch_max_wait_ms = 50\n\
             retry_initial_ms = 50\nretry_max_ms = 500\nshutdown_flush_ms = 20000\n"
        ));
    }
    for i in 0..simulators {
        text.push_str(&format!(
            "\n[[simulator]]\ndevice_id = \"sim-{i}\"\nbed_id = \"bed-{i}\"\n\
             interval_ms = 2\nnibp_interval_ms = 20\nseed = {i}\n"
        ));
    }
    let path = dir.join(format!("gateway-{simulators}.toml"));
    std::fs::write(&path, text).expect("write config");
    path
}

/// Opens the spool the way the gateway does and returns the sequence number the
/// next sample would get: the count of every sample ever accepted into it.
fn accepted_by_spool(dir: &Path) -> u64 {
    let config = SpoolConfig {
        dir: dir.join("spool"),
        max_bytes: 268_435_456,
        segment_bytes: 1_048_576,
        fsync: true,
    };
    let (_, report) = Spool::open(config).expect("open the spool");
    report.next_seq
}

async fn rows(client: &Client) -> i64 {
    count_vitals(client).await.0
}

async fn progress(client: &Client) -> i64 {
    client
        .query_opt("SELECT next_seq FROM ingest_progress", &[])
        .await
        .ok()
        .flatten()
        .map_or(0, |r| r.get(0))
}

/// A device's heart-rate series must have no hole: one sample per tick between
/// its first and last.
async fn assert_no_gaps(client: &Client) {
    let gaps = client
        .query(
            "SELECT device_id, count(*),
                    (extract(epoch FROM max(time) - min(time)) * 1000 / 2)::bigint + 1
             FROM vitals WHERE metric = 'heart_rate' GROUP BY device_id",
            &[],
        )
        .await
        .expect("series query");
    assert!(!gaps.is_empty());
    for row in gaps {
        let (device, count, span): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
        assert_eq!(count, span, "{device}: samples missing inside its series");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_ingest_then_restart_stores_every_accepted_sample_once() {
    let Some(db) = TestDb::create("sigkill").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gateway.log");
    let client = db.client().await;

    let gw = Gateway::start(&write_config(dir.path(), Some(&db.url), 4), &log);
    wait_until(
        "rows to reach the database",
        Duration::from_secs(60),
        || async {
            // The table exists once the gateway has migrated.
            client
                .query_one("SELECT count(*) FROM vitals", &[])
                .await
                .is_ok_and(|r| r.get::<_, i64>(0) > 3_000)
        },
    )
    .await;
    gw.kill_9();
    let stored_at_kill = rows(&client).await;

    let accepted = accepted_by_spool(dir.path());
    assert!(
        accepted as i64 > stored_at_kill,
        "the kill must land mid-ingest"
    );

    let gw = Gateway::start(&write_config(dir.path(), Some(&db.url), 0), &log);
    wait_until(
        "the restarted gateway to catch up",
        Duration::from_secs(60),
        || async { progress(&client).await >= accepted as i64 },
    )
    .await;
    let status = gw.terminate().await;
    assert!(status.success(), "{status:?}");

    let accepted = accepted as i64;
    assert_eq!(count_vitals(&client).await, (accepted, accepted));
    assert_no_gaps(&client).await;
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_flushes_the_spool_before_exiting() {
    let Some(db) = TestDb::create("sigterm").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gateway.log");
    let client = db.client().await;

    let gw = Gateway::start(&write_config(dir.path(), Some(&db.url), 2), &log);
    wait_until(
        "rows to reach the database",
        Duration::from_secs(60),
        || async {
            client
                .query_one("SELECT count(*) FROM vitals", &[])
                .await
                .is_ok_and(|r| r.get::<_, i64>(0) > 500)
        },
    )
    .await;
    let text_before = gw.log_text();
    let status = gw.terminate().await;
    assert!(status.success(), "{status:?}");
    assert!(
        text_before.contains("Database schema ready"),
        "{text_before}"
    );

    let accepted = accepted_by_spool(dir.path()) as i64;
    assert_eq!(count_vitals(&client).await, (accepted, accepted));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Writer drained"), "{text}");
    assert!(
        text.contains("Gateway stopped; pending samples stay in the spool pending=0"),
        "{text}"
    );
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn damaged_spool_tail_is_cut_reported_and_the_rest_delivered() {
    let Some(db) = TestDb::create("torn_tail").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("gateway.log");
    let spool_dir = dir.path().join("spool");

    // No database: the gateway spools only, and says so.
    let gw = Gateway::start(&write_config(dir.path(), None, 2), &log);
    wait_until("samples in the spool", Duration::from_secs(30), || async {
        segment_bytes(&spool_dir) > 20_000
    })
    .await;
    gw.kill_9();
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("No database configured"));

    // Power loss in the middle of a write: the last record is incomplete.
    let last = last_non_empty_segment(&spool_dir);
    let len = std::fs::metadata(&last).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&last)
        .unwrap()
        .set_len(len - 7)
        .unwrap();

    let earlier_log = std::fs::metadata(&log).unwrap().len() as usize;
    let gw = Gateway::start(&write_config(dir.path(), Some(&db.url), 0), &log);
    let client = db.client().await;
    let expected = accepted_by_spool_after_gateway(&log, earlier_log, &client).await;
    let status = gw.terminate().await;
    assert!(status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Spool tail cut during recovery"), "{text}");
    assert!(text.contains("torn=true"), "{text}");
    assert_eq!(count_vitals(&client).await, (expected, expected));
    db.drop_db().await;
}

/// Waits until the restarted gateway reports its recovered spool and the database
/// has everything in it; returns that count.
async fn accepted_by_spool_after_gateway(log: &Path, skip: usize, client: &Client) -> i64 {
    let mut next_seq = None;
    wait_until(
        "the gateway to open its spool",
        Duration::from_secs(30),
        || {
            next_seq = std::fs::read_to_string(log).ok().and_then(|t| {
                let line = t
                    .get(skip..)?
                    .lines()
                    .find(|l| l.contains("Spool open"))?
                    .to_owned();
                let value = line
                    .split("next_seq=")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .to_owned();
                value.parse::<i64>().ok()
            });
            let found = next_seq.is_some();
            async move { found }
        },
    )
    .await;
    let expected = next_seq.expect("parsed above");
    assert!(expected > 0);
    wait_until("the spool to drain", Duration::from_secs(60), || async {
        progress(client).await >= expected
    })
    .await;
    expected
}

fn segment_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "seg"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn last_non_empty_segment(dir: &Path) -> PathBuf {
    let mut segs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .filter(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0))
        .collect();
    segs.sort();
    segs.pop().expect("a segment with data")
}

#[test]
fn check_config_lists_every_problem_with_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[site]\ntenant_id = \"x\"\nward = \"w\"\n[spool]\ndir = \"/s\"\nmax_bytes = \"big\"\n",
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&file)
        .env_remove(DATABASE_URL_ENV)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!("{}: 3 problems", file.display())),
        "{err}"
    );
    for key in [
        "site.ward:",
        "site.ward_id: missing key",
        "spool.max_bytes:",
    ] {
        assert!(err.contains(key), "{key} missing from: {err}");
    }

    let good = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/gateway.toml");
    let out = Command::new(BIN)
        .arg("check-config")
        .arg(&good)
        .env_remove(DATABASE_URL_ENV)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains(": ok (site st-marys"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_on_plain_postgres_says_how_to_install_timescaledb() {
    // The machine's PostgreSQL without TimescaleDB, when there is one.
    let plain = std::env::var("HEALTHSPHERE_PLAIN_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    if tokio_postgres::connect(&plain, tokio_postgres::NoTls)
        .await
        .is_err()
    {
        assert!(
            std::env::var("HEALTHSPHERE_REQUIRE_DB").is_err(),
            "no plain PostgreSQL at {plain}"
        );
        return;
    }
    let out = Command::new(BIN)
        .args(["migrate", "--database-url", &plain])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("TimescaleDB extension is not installed"),
        "{err}"
    );
    assert!(err.contains("shared_preload_libraries"), "{err}");
}
