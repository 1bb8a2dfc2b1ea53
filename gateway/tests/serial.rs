//! The gateway binary with a serial bedside device: a simulated Masimo
//! Radical-7 on one end of a socat pseudo-terminal pair, the gateway (shipped
//! profile, `[device.serial]`) on the other, readings in TimescaleDB.
//!
//! Needs socat and the database; skips without them unless
//! `HEALTHSPHERE_REQUIRE_PEERS=1` / `HEALTHSPHERE_REQUIRE_DB=1`.

mod support;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use firmware_adapters::profile::ProfileSet;
use firmware_adapters::serial::sim::{self, SimConfig, SimScenario};
use healthsphere_tests::{wait_until, TestDb};
use support::Gateway;
use tokio::sync::watch;

struct Socat(Child);

impl Drop for Socat {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A pty pair: the device end and the gateway end; `None` without socat.
fn socat(dir: &Path) -> Option<(Socat, PathBuf, PathBuf)> {
    let (device, gateway) = (dir.join("device-tty"), dir.join("gateway-tty"));
    let address = |p: &Path| format!("pty,raw,echo=0,link={}", p.display());
    let spawned = Command::new("socat")
        .args(["-d", "-d", &address(&device), &address(&gateway)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = spawned else {
        let required = std::env::var("HEALTHSPHERE_REQUIRE_PEERS").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "socat is missing and HEALTHSPHERE_REQUIRE_PEERS=1"
        );
        return None;
    };
    let stderr = child.stderr.take().expect("piped");
    let socat = Socat(child);
    // socat makes both links before it starts moving data. Its stderr is
    // drained to the end, so a late notice never meets a closed pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("starting data transfer loop") {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("socat starts its transfer loop");
    Some((socat, device, gateway))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serial_oximeter_lands_in_timescaledb_through_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_socat, device_end, gateway_end)) = socat(dir.path()) else {
        return;
    };
    let Some(db) = TestDb::create("gateway_serial").await else {
        return;
    };
    let profiles = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/profiles");
    let config = dir.path().join("gateway.toml");
    let text = format!(
        "[site]\ntenant_id = \"it-site\"\nward_id = \"ward-it\"\n\n\
         [spool]\ndir = \"{spool}\"\nmax_bytes = 268435456\nsegment_bytes = 1048576\n\n\
         [database]\nurl = \"{url}\"\nbatch_max_wait_ms = 50\n\n\
         [api]\nlisten = \"127.0.0.1:0\"\n\n\
         [profiles]\ndirs = [\"{profiles}\"]\n\n\
         [[device]]\ndevice_id = \"spo2-1\"\nbed_id = \"bed-1\"\nprofile = \"masimo-radical7\"\n\
         [device.serial]\npath = \"{port}\"\n",
        spool = dir.path().join("spool").display(),
        url = db.url,
        profiles = profiles.display(),
        port = gateway_end.display(),
    );
    std::fs::write(&config, text).unwrap();

    let set = ProfileSet::load(&[profiles]).unwrap();
    let profile = set.get("masimo-radical7").unwrap().serial.clone().unwrap();
    let port = sim::open(device_end.to_str().unwrap(), &profile).unwrap();
    let (stop, shutdown) = watch::channel(false);
    let device = tokio::spawn(sim::serve(
        port,
        sim::model_for(&profile),
        SimConfig::new(SimScenario::Normal),
        shutdown,
    ));

    let gateway = Gateway::start(&config, &dir.path().join("gateway.log"));
    let client = db.client().await;
    let count = |metric: &'static str| {
        let client = &client;
        async move {
            client
                .query_one(
                    "SELECT count(*) FROM vitals WHERE device_id = 'spo2-1' AND bed_id = 'bed-1' \
                     AND tenant_id = 'it-site' AND metric = $1",
                    &[&metric],
                )
                .await
                .map_or(0, |r| r.get::<_, i64>(0))
        }
    };
    // Rows appear in another process's database: there is no signal to await.
    wait_until(
        "SpO2 rows from the serial oximeter",
        Duration::from_secs(30),
        || async { count("spo2").await >= 2 },
    )
    .await;
    assert!(count("pulse_rate").await >= 1);
    assert!(count("perfusion_index").await >= 1);
    let status = gateway.terminate().await;
    assert!(status.success(), "gateway exit: {status:?}");
    // Every reading of a line arrived with the line: same count per metric.
    assert_eq!(count("spo2").await, count("pulse_rate").await);
    stop.send_replace(true);
    let _ = device.await;
    db.drop_db().await;
}
