//! The API's reload handle served by the gateway's own supervisor: the same
//! reload as SIGHUP, answered with what it did.

use std::path::Path;
use std::sync::Arc;

use collector::normalize::ClockPolicy;
use collector::{CollectorMetrics, Ingest, Normalizer, SiteSink, Spool, SpoolConfig};
use dashboard_api::devices::{DeviceAdmin, ReloadOutcome};
use firmware_adapters::health::{AdapterMetrics, HealthRegistry};
use firmware_adapters::modbus::StatusBoard;
use gateway::adapters::{inventory, supervise, AdapterContext, Adapters};
use gateway::config;
use tokio::sync::watch;

const FRIDGE: &str = "name = \"site-fridge\"\nsilence_timeout_ms = 60000\n\n\
    [modbus]\npoll_interval_ms = 1000\ntimeout_ms = 500\n\n\
    [[modbus.values]]\ntable = \"input_register\"\naddress = 0\ntype = \"i16\"\n\
    metric = \"ambient_temperature\"\nunit = \"Cel\"\n";

fn write_config(dir: &Path, devices: usize) -> std::path::PathBuf {
    let mut text = format!(
        "[site]\ntenant_id = \"it-site\"\nward_id = \"ward-it\"\n\n\
         [spool]\ndir = \"{}\"\nmax_bytes = 268435456\nsegment_bytes = 1048576\n\n\
         [profiles]\ndirs = [\"site\"]\n",
        dir.join("spool").display()
    );
    for i in 0..devices {
        text.push_str(&format!(
            "\n[[device]]\ndevice_id = \"fridge-{i}\"\nbed_id = \"pharmacy-{i}\"\n\
             profile = \"site-fridge\"\n[device.modbus.tcp]\nhost = \"127.0.0.1\"\nport = 1\nunit_id = {}\n",
            i + 1
        ));
    }
    let path = dir.join("gateway.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn api_reload_applies_a_valid_set_and_keeps_the_running_one_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("site")).unwrap();
    std::fs::write(dir.path().join("site/fridge.toml"), FRIDGE).unwrap();
    let path = write_config(dir.path(), 0);
    let cfg = config::load(&path, |_| None).unwrap();

    let (spool, _) = Spool::open(SpoolConfig {
        dir: dir.path().join("spool"),
        max_bytes: 1 << 28,
        segment_bytes: 1 << 20,
        fsync: false,
    })
    .unwrap();
    let metrics = CollectorMetrics::register(&prometheus::Registry::new()).unwrap();
    let ingest = Ingest::new(
        Arc::new(spool),
        Normalizer::new(ClockPolicy::default()),
        metrics,
        16,
    );
    let ctx = AdapterContext {
        sink: SiteSink::new(ingest, "it-site"),
        metrics: AdapterMetrics::unregistered(),
        health: HealthRegistry::default(),
        status: StatusBoard::new(),
        broker: None,
    };
    let (admin, reloads) = DeviceAdmin::new(
        "it-site",
        inventory(&cfg),
        ctx.status.clone(),
        cfg.profiles.dirs.last().cloned(),
    );
    assert_eq!(
        admin.site_profile_dir(),
        Some(dir.path().join("site").as_path())
    );
    let (stop, stopped) = watch::channel(false);
    let adapters = Adapters::start(&cfg, &ctx);
    let task = tokio::spawn(supervise(
        adapters,
        Some(path.clone()),
        ctx,
        Some(reloads),
        stopped,
    ));

    // A configuration with two devices: applied and republished.
    write_config(dir.path(), 2);
    assert_eq!(
        admin.reload().await.unwrap(),
        ReloadOutcome::Applied {
            devices: 2,
            profiles: 1
        }
    );
    let inv = admin.inventory();
    assert_eq!(inv.devices.len(), 2);
    assert_eq!(inv.devices[1].device_id, "fridge-1");

    // A broken profile: refused with the file and key path; the running set
    // stays.
    std::fs::write(
        dir.path().join("site/broken.toml"),
        "name = \"broken\"\nsilence_timeout_ms = 0\n",
    )
    .unwrap();
    let ReloadOutcome::Refused { problems } = admin.reload().await.unwrap() else {
        panic!("a broken profile must be refused");
    };
    assert!(
        problems
            .iter()
            .any(|p| p.contains("broken.toml") && p.contains("silence_timeout_ms")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .all(|p| !p.contains(&*dir.path().to_string_lossy())),
        "no server folders: {problems:?}"
    );
    assert_eq!(admin.inventory().devices.len(), 2);

    stop.send_replace(true);
    task.await.unwrap();
    assert_eq!(
        admin.reload().await,
        Err(dashboard_api::devices::ReloadError::Unavailable)
    );
}
