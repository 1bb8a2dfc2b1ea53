#![allow(
    dead_code,
    reason = "each test binary that includes this module uses a different part"
)]

//! Running the gateway binary in tests.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use gateway::config::DATABASE_URL_ENV;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_gateway");

pub(crate) struct Gateway {
    child: Child,
    log: PathBuf,
}

impl Gateway {
    pub(crate) fn start(config: &Path, log: &Path) -> Self {
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let child = Command::new(BIN)
            .args(["run", "--config"])
            .arg(config)
            .env_remove(DATABASE_URL_ENV)
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(out)
            .spawn()
            .expect("start the gateway");
        Self {
            child,
            log: log.to_owned(),
        }
    }

    pub(crate) fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    pub(crate) async fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
        let waited = tokio::task::spawn_blocking(move || self.child.wait().expect("reap"));
        tokio::time::timeout(Duration::from_secs(30), waited)
            .await
            .expect("gateway stops within 30 s of SIGTERM")
            .expect("join")
    }

    /// Sends a signal by name (`HUP`, `STOP`, `CONT`).
    pub(crate) fn signal(&self, name: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -{name}");
    }

    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
