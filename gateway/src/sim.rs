//! Drives the configured simulated bedside monitors into the collector.
//!
//! Each simulator ticks on its own interval and hands its readings to the
//! collector like a real adapter would. The readings carry a device time of
//! `start + tick * interval`: unique per tick, and never ahead of the wall clock,
//! because a late tick is delayed rather than bunched with the next one.

use std::time::{Duration, SystemTime};

use collector::{Ingest, Origin};
use firmware_adapters::sim::BedsideSim;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::{info, warn, Instrument};

use crate::config::SimulatorSection;

/// Starts one task per simulator; each stops when `shutdown` turns true.
pub fn spawn(
    sims: &[SimulatorSection],
    tenant_id: &str,
    ingest: &Ingest,
    shutdown: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    sims.iter()
        .map(|cfg| {
            let origin = Origin::new(tenant_id, &cfg.bed_id, &cfg.device_id);
            let span =
                tracing::info_span!("device", device_id = %cfg.device_id, adapter = "simulator");
            let task = run_one(cfg.clone(), origin, ingest.clone(), shutdown.clone());
            tokio::spawn(task.instrument(span))
        })
        .collect()
}

async fn run_one(
    cfg: SimulatorSection,
    origin: Origin,
    ingest: Ingest,
    mut shutdown: watch::Receiver<bool>,
) {
    let period = Duration::from_millis(cfg.interval_ms);
    let nibp_every = cfg.nibp_interval_ms / cfg.interval_ms.max(1);
    let mut sim = BedsideSim::new(cfg.seed, cfg.scenario, nibp_every);
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let start = SystemTime::now();
    let mut failures = 0u64;
    info!(bed_id = %origin.bed_id, "Simulated monitor started");
    for tick in 0u32.. {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            break;
        }
        let readings = sim.tick(start + period * tick);
        match ingest.accept(&origin, &readings, SystemTime::now()).await {
            Ok(_) if failures > 0 => {
                info!(failures, "Simulated monitor readings accepted again");
                failures = 0;
            }
            Ok(_) => {}
            Err(e) => {
                // One line per run of failures, not one per tick.
                if failures == 0 {
                    warn!(error = %e, "Simulated monitor readings refused");
                }
                failures += 1;
            }
        }
    }
    info!("Simulated monitor stopped");
}
