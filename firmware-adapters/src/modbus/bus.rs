//! The polling loop of one link: a TCP connection to a device or a TCP gateway,
//! or a serial port shared by the RTU devices on it. One task per link.
//!
//! The devices on a link are polled in turn, the one due soonest first. The link
//! is opened when a poll is due and none is open; when opening fails, every
//! device on it is backing off and the link is retried with its own bounded
//! exponential backoff. When one device's poll times out or fails in transport,
//! that device backs off on its own schedule and the link is dropped (tokio-modbus
//! cannot be trusted after an abandoned call); the next due device reopens it.
//! So a dead unit on a shared RS-485 bus costs at most one timeout per retry,
//! its retries thin out exponentially, and the other units keep their poll rate.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{info, warn};

use super::error::LinkError;
use super::link::Connector;
use super::poller::Poller;
use super::status::StatusBoard;
use crate::backoff::Backoff;
use crate::sink::ReadingSink;
use crate::throttle::Throttle;

/// How often a link's repeated connection failures are logged at most.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// Polls `pollers` over links from `connector` until `shutdown` turns true.
pub(crate) async fn run<C: Connector, S: ReadingSink>(
    connector: C,
    mut pollers: Vec<Poller>,
    mut link_backoff: Backoff,
    sink: Arc<S>,
    status: StatusBoard,
    mut shutdown: watch::Receiver<bool>,
) {
    let connect_timeout = pollers
        .iter()
        .map(|p| p.timeout)
        .max()
        .unwrap_or(Duration::from_secs(1));
    let mut link: Option<C::Link> = None;
    let mut link_retry_at = Instant::now();
    let mut connect_log = Throttle::new(LOG_EVERY);
    while !*shutdown.borrow() {
        let Some(i) = (0..pollers.len()).min_by_key(|&i| pollers[i].next_at) else {
            break;
        };
        let mut due = pollers[i].next_at;
        if link.is_none() {
            due = due.max(link_retry_at);
        }
        // The sender only ever turns the flag on; any change (or its loss) is
        // the signal to stop.
        tokio::select! {
            () = tokio::time::sleep_until(due) => {}
            _ = shutdown.changed() => break,
        }
        pollers[i].begin();
        let open = match link.as_mut() {
            Some(open) => open,
            None => match connect(&connector, connect_timeout).await {
                Ok(opened) => {
                    if link_backoff.attempt() > 0 {
                        info!(link = %connector.target(), attempt = link_backoff.attempt(),
                            "Modbus link open again");
                    }
                    link_backoff.reset();
                    link.insert(opened)
                }
                Err(e) => {
                    let delay = link_backoff.next_delay();
                    link_retry_at = Instant::now() + delay;
                    if let Some(suppressed) = connect_log.allow(Instant::now()) {
                        warn!(link = %connector.target(), error = %e,
                            attempt = link_backoff.attempt(), backoff = ?delay, suppressed,
                            "Modbus link cannot be opened");
                    }
                    for p in &mut pollers {
                        p.link_down(&e);
                    }
                    continue;
                }
            },
        };
        let polled = tokio::select! {
            polled = pollers[i].poll(open, sink.as_ref(), &status) => polled,
            _ = shutdown.changed() => break,
        };
        match polled {
            Ok(()) => pollers[i].answered(due, Instant::now()),
            Err(e) => {
                pollers[i].failed(&e, Instant::now());
                link = None;
            }
        }
    }
    info!(link = %connector.target(), "Modbus link stopped");
}

async fn connect<C: Connector>(connector: &C, timeout: Duration) -> Result<C::Link, LinkError> {
    match tokio::time::timeout(timeout, connector.connect()).await {
        Ok(result) => result,
        Err(_) => Err(LinkError::Timeout { timeout }),
    }
}

#[cfg(test)]
#[path = "bus_tests.rs"]
mod tests;
