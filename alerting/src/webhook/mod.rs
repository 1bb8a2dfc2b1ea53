//! Webhooks to pagers and phone systems: signed JSON, retried with backoff.
//!
//! One task per endpoint delivers alarm events in order. The body is the
//! event's JSON (`{"event": "alarm:raised", "data": {...}}`, see
//! [`crate::notice`]); the signature scheme is in [`sign`]. A delivery is an
//! HTTP 2xx; anything else (no connection, no answer within the timeout, a
//! non-2xx status) is retried with exponential backoff from `retry_initial`
//! to `retry_max`, at most `max_attempts` times. Every attempt is recorded in
//! `webhook_deliveries` when the alarm log is configured.
//!
//! An endpoint that gives up on a delivery raises the technical alarm
//! `webhook_unreachable:{name}` (bed `_gateway`); its next successful delivery
//! clears it. While an endpoint retries, later events wait in its bounded
//! queue; a full queue drops (and counts) further events for that endpoint
//! only.

pub mod http;
pub mod sign;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use firmware_adapters::backoff::Backoff;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::notice::LiveEvent;
use crate::rules::Priority;
use crate::runtime::{AlertingHandle, Sink};
use crate::store::{DeliveryRow, StoreHandle};

use http::HttpUrl;

/// A shared secret; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// A secret of these bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// One webhook endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Name in metrics, logs, the delivery table and the technical alarm.
    pub name: Arc<str>,
    /// Where to POST.
    pub url: HttpUrl,
    /// The HMAC key.
    pub secret: Secret,
    /// Alarms below this priority are not sent.
    pub min_priority: Priority,
    /// Time limit of one attempt (connect, send, status line).
    pub timeout: Duration,
    /// Attempts per event, at least 1.
    pub max_attempts: u32,
    /// First retry delay.
    pub retry_initial: Duration,
    /// Longest retry delay.
    pub retry_max: Duration,
}

/// A bounded queue for an endpoint; give the [`Sink`] to the runtime and the
/// receiver to [`spawn`].
pub fn channel(name: &str, capacity: usize) -> (Sink, mpsc::Receiver<Arc<LiveEvent>>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let sink = Sink {
        name: format!("webhook:{name}").into(),
        tx,
    };
    (sink, rx)
}

/// Starts delivering to `endpoint`. `alerting` receives the endpoint's
/// status (for its technical alarm); `store` records attempts.
pub fn spawn(
    endpoint: Endpoint,
    tenant: Arc<str>,
    events: mpsc::Receiver<Arc<LiveEvent>>,
    alerting: AlertingHandle,
    store: Option<StoreHandle>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let task = Dispatcher {
        own_alarm: format!("webhook_unreachable:{}", endpoint.name),
        endpoint,
        tenant,
        alerting,
        store,
        down: false,
    };
    tokio::spawn(task.run(events, shutdown))
}

struct Dispatcher {
    endpoint: Endpoint,
    own_alarm: String,
    tenant: Arc<str>,
    alerting: AlertingHandle,
    store: Option<StoreHandle>,
    down: bool,
}

/// How one attempt ended.
enum Attempt {
    Delivered(u16),
    Failed(Option<u16>, String),
}

impl Dispatcher {
    async fn run(
        mut self,
        mut events: mpsc::Receiver<Arc<LiveEvent>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        loop {
            let ev = tokio::select! {
                biased;
                _ = shutdown.wait_for(|&s| s) => break,
                ev = events.recv() => match ev {
                    Some(ev) => ev,
                    None => break,
                },
            };
            if !self.wanted(&ev) {
                continue;
            }
            tokio::select! {
                biased;
                _ = shutdown.wait_for(|&s| s) => break,
                () = self.deliver(&ev) => {}
            }
        }
        debug!(endpoint = %self.endpoint.name, "Webhook dispatcher stopped");
    }

    /// Alarm events at or above the endpoint's priority, except this
    /// endpoint's own unreachable alarm (it could not be delivered anyway).
    fn wanted(&self, ev: &LiveEvent) -> bool {
        ev.alarm()
            .is_some_and(|n| n.priority >= self.endpoint.min_priority && *n.rule != *self.own_alarm)
    }

    async fn deliver(&mut self, ev: &LiveEvent) {
        let Some(notice) = ev.alarm() else { return };
        let body = match serde_json::to_vec(ev) {
            Ok(b) => b,
            Err(e) => {
                warn!(error = %e, "Alarm event could not be encoded for a webhook");
                return;
            }
        };
        let mut backoff = Backoff::new(self.endpoint.retry_initial, self.endpoint.retry_max)
            .unwrap_or_else(|_| {
                Backoff::new(Duration::from_millis(500), Duration::from_secs(30))
                    .expect("constant delays are valid")
            });
        let attempts = self.endpoint.max_attempts.max(1);
        for attempt in 1..=attempts {
            let result = self.attempt(ev.name(), &notice.event_id, &body).await;
            let last = attempt == attempts;
            match result {
                Attempt::Delivered(status) => {
                    self.record(&notice.event_id, attempt, "delivered", Some(status), None);
                    if std::mem::take(&mut self.down) {
                        self.alerting.endpoint_status(&self.endpoint.name, true);
                    }
                    return;
                }
                Attempt::Failed(status, error) => {
                    let outcome = if last { "gave_up" } else { "retrying" };
                    warn!(endpoint = %self.endpoint.name, event_id = %notice.event_id, attempt,
                        status, error = %error, outcome, "Webhook delivery failed");
                    self.record(&notice.event_id, attempt, outcome, status, Some(error));
                }
            }
            if !last {
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
        if !self.down {
            self.down = true;
            self.alerting.endpoint_status(&self.endpoint.name, false);
        }
    }

    async fn attempt(&self, event: &str, event_id: &str, body: &[u8]) -> Attempt {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let signature = sign::sign(self.endpoint.secret.expose(), ts, body);
        let headers = [
            ("Content-Type", "application/json".to_owned()),
            (sign::EVENT_HEADER, event.to_owned()),
            (sign::EVENT_ID_HEADER, event_id.to_owned()),
            (sign::TIMESTAMP_HEADER, ts.to_string()),
            (sign::SIGNATURE_HEADER, signature),
        ];
        match http::post(&self.endpoint.url, &headers, body, self.endpoint.timeout).await {
            Ok(status) if (200..300).contains(&status) => Attempt::Delivered(status),
            Ok(status) => Attempt::Failed(Some(status), format!("HTTP status {status}")),
            Err(e) => Attempt::Failed(None, e.to_string()),
        }
    }

    fn record(
        &self,
        event_id: &str,
        attempt: u32,
        outcome: &str,
        status: Option<u16>,
        error: Option<String>,
    ) {
        if let Some(store) = &self.store {
            store.record_delivery(DeliveryRow {
                time: SystemTime::now(),
                tenant_id: self.tenant.to_string(),
                endpoint: self.endpoint.name.to_string(),
                event_id: event_id.to_owned(),
                attempt: i32::try_from(attempt).unwrap_or(i32::MAX),
                outcome: outcome.to_owned(),
                http_status: status.map(i32::from),
                error,
            });
        }
    }
}
