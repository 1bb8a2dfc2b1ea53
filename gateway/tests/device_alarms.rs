//! Device-reported alarms end to end: a simulated vaccine fridge served over
//! Modbus TCP with the shipped `vaccine-fridge` register map sets and drops its
//! alarm bits; the Modbus adapter puts them on the status board, the gateway's
//! bridge relays them, and the alerting runtime's event stream shows them with
//! the priorities the profile gives, never re-derived.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use alerting::engine::EngineConfig;
use alerting::notice::LiveEvent;
use alerting::runtime::{self, AlertingMetrics, RuntimeConfig};
use alerting::Priority;
use firmware_adapters::health::{AdapterHealth, AdapterMetrics, HealthRegistry};
use firmware_adapters::modbus::sim::{serve_tcp, ModbusSim};
use firmware_adapters::modbus::{self, ModbusDevice, StatusBoard};
use firmware_adapters::profile::modbus::{ModbusConnection, TcpConnection};
use firmware_adapters::profile::Profile;
use firmware_adapters::sink::{DeviceRef, ReadingSink, Refused};
use firmware_adapters::Reading;
use gateway::device_alarms;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch};

const DEVICE: &str = "pharmacy-fridge-2";

/// Readings are not what this test is about.
struct Discard;

impl ReadingSink for Discard {
    async fn deliver(
        &self,
        _device: &DeviceRef,
        _readings: Vec<Reading>,
        _received: SystemTime,
    ) -> Result<(), Refused> {
        Ok(())
    }
}

/// The shipped profile, polled fast so the test does not wait on the
/// fridge's 5 s interval; the register map and priorities are unchanged.
fn fridge_profile() -> Profile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/profiles/vaccine-fridge.toml");
    let text = std::fs::read_to_string(path).expect("shipped profile");
    let text = text
        .replace("poll_interval_ms = 5000", "poll_interval_ms = 100")
        .replace("timeout_ms = 1000", "timeout_ms = 80");
    Profile::parse(&text).expect("profile parses")
}

/// Waits for the event about `rule` named `name`, skipping others.
async fn next_event(
    events: &mut broadcast::Receiver<Arc<LiveEvent>>,
    name: &str,
    rule: &str,
) -> Arc<LiveEvent> {
    let wait = async {
        loop {
            let ev = events.recv().await.expect("event stream open");
            if ev.name() == name && ev.alarm().is_some_and(|n| &*n.rule == rule) {
                return ev;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("no {name} for {rule}"))
}

#[tokio::test]
async fn a_fridge_alarm_bit_is_relayed_with_the_profile_priority() {
    let (stop, shutdown) = watch::channel(false);
    let modbus_profile = Arc::new(fridge_profile().modbus.expect("modbus"));
    let sim = ModbusSim::new();
    sim.add_profile(1, Arc::clone(&modbus_profile), 7);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(serve_tcp(listener, sim.clone(), shutdown.clone()));

    let connection = ModbusConnection::Tcp(TcpConnection {
        host: "127.0.0.1".into(),
        port,
        unit_id: 1,
    });
    let device = ModbusDevice {
        device: DeviceRef::new(DEVICE, "pharmacy"),
        profile: modbus_profile,
        connection,
        health: AdapterHealth::new(
            "modbus_tcp",
            DEVICE,
            AdapterMetrics::unregistered(),
            HealthRegistry::default(),
        ),
    };
    let board = StatusBoard::new();
    let adapter = modbus::spawn(vec![device], Arc::new(Discard), board.clone(), &shutdown)
        .expect("one device");

    let (_live_tx, live) = broadcast::channel(16);
    let cfg = RuntimeConfig::new(EngineConfig::new("site-1", "boot-1"));
    let metrics = AlertingMetrics::unregistered();
    let (handle, _task) = runtime::spawn(cfg, live, None, Vec::new(), metrics, shutdown.clone());
    let mut events = handle.subscribe();
    let bed_of: device_alarms::BedOf = Box::new(|d| (d == DEVICE).then(|| Arc::from("pharmacy")));
    device_alarms::spawn(&board, bed_of, handle.clone(), shutdown.clone());

    let hot = format!("device:{DEVICE}:high_temperature_alarm");
    let battery = format!("device:{DEVICE}:battery_low_alarm");
    assert!(sim.set_flag(1, "high_temperature_alarm", true));
    let ev = next_event(&mut events, "alarm:raised", &hot).await;
    let n = ev.alarm().unwrap();
    assert_eq!((&*n.bed, n.priority), ("pharmacy", Priority::High));
    assert!(sim.set_flag(1, "battery_low_alarm", true));
    let ev = next_event(&mut events, "alarm:raised", &battery).await;
    assert_eq!(ev.alarm().unwrap().priority, Priority::Low);

    // The bits drop: the low alarm resolves; the high one latches until
    // acknowledged, with its condition cleared.
    assert!(sim.set_flag(1, "battery_low_alarm", false));
    next_event(&mut events, "alarm:resolved", &battery).await;
    assert!(sim.set_flag(1, "high_temperature_alarm", false));
    let ev = next_event(&mut events, "alarm:updated", &hot).await;
    let n = ev.alarm().unwrap();
    assert_eq!(
        (n.change, n.condition_present),
        ("condition_cleared", false)
    );

    stop.send(true).unwrap();
    for t in adapter {
        t.await.unwrap();
    }
}
