//! What the API knows of the gateway's devices, and the handle it reloads
//! them through.
//!
//! The gateway owns the adapters; the API only reads and asks. A
//! [`DeviceAdmin`] holds the configured devices and loaded profiles (an
//! [`Inventory`] the gateway republishes after every applied reload), the
//! [`StatusBoard`] the adapters write, the site's profile folder uploads go
//! to, and a channel to the gateway's supervisor: a reload request carries a
//! reply slot, and the supervisor runs the same reload it runs on SIGHUP and
//! answers with a [`ReloadOutcome`]. [`ReloadRequests`] is the supervisor's
//! end.
//!
//! Limitation: one reload runs at a time; requests queue (up to
//! [`RELOAD_QUEUE`]) and a full queue is answered with 409.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use firmware_adapters::modbus::StatusBoard;
use firmware_adapters::profile::{DeviceConfig, ProfileSet};
use tokio::sync::{mpsc, oneshot, watch};

/// How many reload requests may wait for the supervisor.
pub const RELOAD_QUEUE: usize = 4;

/// The devices of the running configuration and the profiles loaded with it.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    /// Every configured device, in configuration order.
    pub devices: Vec<DeviceConfig>,
    /// Every loaded profile.
    pub profiles: ProfileSet,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The new configuration was valid; the adapters restarted with it.
    Applied {
        /// Devices now configured.
        devices: usize,
        /// Profiles now loaded.
        profiles: usize,
    },
    /// The new configuration was refused; the running devices stay.
    Refused {
        /// Every problem, `file: key.path: message`.
        problems: Vec<String>,
    },
}

/// Why a reload could not be asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ReloadError {
    /// The gateway runs without a configuration file or the supervisor has
    /// stopped.
    #[error("reloading is not available")]
    Unavailable,
    /// Too many reloads are already waiting.
    #[error("too many reloads are waiting")]
    Busy,
}

/// A reload request: the supervisor answers on `reply`.
pub type ReloadRequest = oneshot::Sender<ReloadOutcome>;

/// The API's view of the devices and its reload handle. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DeviceAdmin {
    tenant: String,
    inventory: watch::Receiver<Arc<Inventory>>,
    status: StatusBoard,
    site_profile_dir: Option<PathBuf>,
    reload: mpsc::Sender<ReloadRequest>,
}

/// The gateway's end: reload requests to serve and the inventory to
/// republish.
#[derive(Debug)]
pub struct ReloadRequests {
    /// Requests, each with its reply slot.
    pub requests: mpsc::Receiver<ReloadRequest>,
    inventory: watch::Sender<Arc<Inventory>>,
}

impl ReloadRequests {
    /// Publishes the devices and profiles of a newly applied configuration.
    pub fn publish(&self, inventory: Inventory) {
        self.inventory.send_replace(Arc::new(inventory));
    }
}

impl DeviceAdmin {
    /// A handle over the devices of site `tenant` (the gateway serves one
    /// site; callers of other tenants are refused): `inventory` and
    /// `status`; uploads go to `site_profile_dir` (none: uploads answer 503).
    pub fn new(
        tenant: &str,
        inventory: Inventory,
        status: StatusBoard,
        site_profile_dir: Option<PathBuf>,
    ) -> (Self, ReloadRequests) {
        let (inv_tx, inv_rx) = watch::channel(Arc::new(inventory));
        let (tx, rx) = mpsc::channel(RELOAD_QUEUE);
        let admin = Self {
            tenant: tenant.to_owned(),
            inventory: inv_rx,
            status,
            site_profile_dir,
            reload: tx,
        };
        let requests = ReloadRequests {
            requests: rx,
            inventory: inv_tx,
        };
        (admin, requests)
    }

    /// The site whose devices these are.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    /// The devices and profiles now running.
    pub fn inventory(&self) -> Arc<Inventory> {
        self.inventory.borrow().clone()
    }

    /// The status board.
    pub fn status(&self) -> &StatusBoard {
        &self.status
    }

    /// The folder uploaded profiles are written to.
    pub fn site_profile_dir(&self) -> Option<&Path> {
        self.site_profile_dir.as_deref()
    }

    /// Asks the supervisor to reload and waits for its answer.
    ///
    /// # Errors
    ///
    /// See [`ReloadError`].
    pub async fn reload(&self) -> Result<ReloadOutcome, ReloadError> {
        let (reply, answer) = oneshot::channel();
        self.reload.try_send(reply).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => ReloadError::Busy,
            mpsc::error::TrySendError::Closed(_) => ReloadError::Unavailable,
        })?;
        answer.await.map_err(|_| ReloadError::Unavailable)
    }
}
