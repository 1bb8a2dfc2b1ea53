//! `GET /api/v1/live`: live events over a WebSocket.
//!
//! The upgrade request is authenticated like any other (bearer token in the
//! `Authorization` header); every signed-in role may connect, and what it
//! receives follows its permissions. A client with `VitalsRead` (a
//! pharmacist only under active break-the-glass access) sends
//! subscriptions as JSON text frames naming one bed, patient or ward,
//! `{"subscribe": {"bed": "bed-1"}}`, `{"subscribe": {"patient": "<id>"}}`,
//! `{"subscribe": {"ward": "icu"}}` (and `unsubscribe` alike), and receives
//! `{"event": "patient:vitals:update", "bed": ..., "patient": ...,
//! "samples": [...]}` for its tenant's followed beds, never another
//! tenant's; `patient` is present when a patient or ward subscription
//! resolved the bed's current patient. Patients and wards are resolved
//! through current admissions (see the `live_subs` module). Every subscription
//! is audited, naming each patient whose data it opens.
//!
//! Alarm events of the alerting runtime for subscribed beds follow in its
//! own form, `{"event": "alarm:raised" | "alarm:updated" | "alarm:resolved"
//! | "emergency:broadcast", "data": <alarm notice>}`: same site only, and
//! technical alarms only for roles that cannot act on alarms, nothing for
//! roles without `AlarmsRead`. An
//! `emergency:broadcast` (an escalation nobody accepted) goes to every such
//! connection of the site, whatever beds it follows.
//!
//! A slow client never slows the gateway: each connection has its own queue
//! of [`QUEUE_EVENTS`] events; when it is full, or the connection fell behind
//! the live bus, the queue is dropped, the client gets
//! `{"event": "dropped", "reason": "slow_consumer"}` and the connection is
//! closed. The session is checked again every [`SESSION_CHECK`]; a logout,
//! revocation or timeout closes the socket with `{"event": "session_ended"}`.
//!
//! The hospital modules' events (`appointment:status:change`,
//! `staff:message:new`, `inventory:stock:low`) come as `{"event": <name>,
//! "data": {...}}` to the connections their audience names (see
//! [`crate::events`]); they need no subscription.
//!
//! Limitation: browsers cannot set `Authorization` on a WebSocket; a
//! browser client needs a same-origin proxy that adds it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use alerting::notice::LiveEvent;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::Extension;
use collector::LiveBatch;
use futures_util::{SinkExt as _, StreamExt as _};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{broadcast, Notify};

use crate::auth::jwt::Claims;
use crate::auth::session;
use crate::events::ModuleEvent;
use crate::http::Principal;
use crate::live_subs::{self, Subscriptions, Topic};
use crate::problem::ApiError;
use crate::roles::{best_access, Access, Permission};
use crate::state::AppState;
use crate::time::rfc3339;

/// Events a connection may have waiting before it counts as slow.
pub const QUEUE_EVENTS: usize = 256;
/// How often a live connection's session is checked again.
pub const SESSION_CHECK: Duration = Duration::from_secs(60);
/// Longest wait for one frame to be written before the client counts as gone.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Most beds, patients and wards one connection may follow.
pub const MAX_SUBSCRIPTIONS: usize = 64;

/// Where live batches come from: a new receiver of the live bus per call.
pub type LiveSource = Arc<dyn Fn() -> broadcast::Receiver<LiveBatch> + Send + Sync>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Target {
    bed: Option<String>,
    ward: Option<String>,
    patient: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
enum ClientMessage {
    Subscribe(Target),
    Unsubscribe(Target),
}

/// The per-connection queue between the bus reader and the socket writer.
#[derive(Debug, Default)]
struct Outbox {
    queue: Mutex<(VecDeque<Utf8Bytes>, bool)>,
    ready: Notify,
}

impl Outbox {
    /// Queues `frame`; when the queue is full, replaces everything with the
    /// slow-consumer notice and marks the connection closing. Returns false
    /// once closing.
    fn push(&self, frame: Utf8Bytes) -> bool {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if q.1 {
            return false;
        }
        if q.0.len() >= QUEUE_EVENTS {
            q.0.clear();
            q.0.push_back(notice("dropped", "slow_consumer"));
            q.1 = true;
        } else {
            q.0.push_back(frame);
        }
        drop(q);
        self.ready.notify_one();
        true
    }

    /// Queues a final notice and marks the connection closing.
    fn close_with(&self, frame: Utf8Bytes) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        if !q.1 {
            q.0.push_back(frame);
            q.1 = true;
        }
        drop(q);
        self.ready.notify_one();
    }

    /// The next frame, and whether it is the last.
    async fn pop(&self) -> (Utf8Bytes, bool) {
        loop {
            {
                let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(f) = q.0.pop_front() {
                    let last = q.1 && q.0.is_empty();
                    return (f, last);
                }
            }
            self.ready.notified().await;
        }
    }
}

fn notice(event: &str, reason: &str) -> Utf8Bytes {
    Utf8Bytes::from(json!({"event": event, "reason": reason}).to_string())
}

/// The upgrade handler.
pub async fn live(
    State(state): State<AppState>,
    Extension(mut who): Extension<Principal>,
    Extension(claims): Extension<Claims>,
    ws: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws =
        ws.map_err(|e| ApiError::malformed(format!("a WebSocket upgrade is required: {e}")))?;
    let source = state.live.clone().ok_or_else(ApiError::unavailable)?;
    let core = crate::api::core(&state)?;
    let vitals = vitals_access(&core, &mut who, &claims).await?;
    let alarms = state
        .alerting
        .as_ref()
        .filter(|_| best_access(&who.roles, Permission::AlarmsRead) == Access::Allow)
        .map(|a| (a.tenant().to_owned(), a.handle().subscribe()));
    let modules = core.events.subscribe();
    Ok(ws
        .max_message_size(4096)
        .on_upgrade(move |socket| async move {
            let feeds = Feeds {
                source,
                alarms,
                modules,
            };
            serve(socket, feeds, core, who, claims, vitals).await;
        }))
}

/// Whether the caller may follow vitals: by role, or by the break-the-glass
/// access of their session, which is then recorded on `who` so that the
/// audit entries of their subscriptions are flagged.
async fn vitals_access(
    core: &crate::core::ApiCore,
    who: &mut Principal,
    claims: &Claims,
) -> Result<bool, ApiError> {
    match best_access(&who.roles, Permission::VitalsRead) {
        Access::Allow => Ok(true),
        Access::Deny => Ok(false),
        Access::BreakGlass => {
            who.break_glass = session::touch(core, &who.tenant, claims).await?.break_glass;
            Ok(who.break_glass.is_some())
        }
    }
}

/// What a connection reads besides its client.
struct Feeds {
    source: LiveSource,
    alarms: Option<(String, broadcast::Receiver<Arc<LiveEvent>>)>,
    modules: broadcast::Receiver<Arc<ModuleEvent>>,
}

async fn serve(
    socket: WebSocket,
    feeds: Feeds,
    core: Arc<crate::core::ApiCore>,
    mut who: Principal,
    claims: Claims,
    mut vitals: bool,
) {
    let Feeds {
        source,
        mut alarms,
        mut modules,
    } = feeds;
    let (mut sink, mut stream) = socket.split();
    let outbox = Arc::new(Outbox::default());
    let beds: Arc<Mutex<Subscriptions>> = Arc::default();
    let writer = {
        let outbox = Arc::clone(&outbox);
        tokio::spawn(async move {
            loop {
                let (frame, last) = outbox.pop().await;
                let sent =
                    tokio::time::timeout(SEND_TIMEOUT, sink.send(Message::Text(frame))).await;
                if !matches!(sent, Ok(Ok(()))) {
                    return;
                }
                if last {
                    let _ = sink.send(Message::Close(None)).await;
                    return;
                }
            }
        })
    };
    let mut bus = source();
    let mut checks = tokio::time::interval(SESSION_CHECK);
    checks.tick().await;
    loop {
        tokio::select! {
            incoming = stream.next() => {
                let Some(Ok(msg)) = incoming else { break };
                if !handle_client(&core, &who, vitals, &beds, &outbox, msg).await {
                    break;
                }
            }
            batch = bus.recv() => match batch {
                Ok(batch) => {
                    if !forward(&who, &beds, &outbox, &batch) {
                        break;
                    }
                }
                Err(e) => {
                    feed_ended(&outbox, &e);
                    break;
                }
            },
            ev = next_alarm(&mut alarms) => match ev {
                Ok(ev) => {
                    let site = alarms.as_ref().map_or("", |a| a.0.as_str());
                    if !forward_alarm(&who, site, &beds, &outbox, &ev) {
                        break;
                    }
                }
                Err(e @ broadcast::error::RecvError::Lagged(_)) => {
                    feed_ended(&outbox, &e);
                    break;
                }
                // Alerting stopped: vitals go on.
                Err(broadcast::error::RecvError::Closed) => alarms = None,
            },
            ev = modules.recv() => match ev {
                Ok(ev) => {
                    if !forward_module(&who, &beds, &outbox, &ev) {
                        break;
                    }
                }
                Err(e) => {
                    feed_ended(&outbox, &e);
                    break;
                }
            },
            _ = checks.tick() => {
                if session::touch(&core, &who.tenant, &claims).await.is_err() {
                    outbox.close_with(notice("session_ended", "sign in again"));
                    break;
                }
                if vitals && who.break_glass.is_some() {
                    // Break-the-glass access is time-bounded: when it ends,
                    // so does the following of vitals it allowed.
                    vitals = matches!(vitals_access(&core, &mut who, &claims).await, Ok(true));
                    if !vitals {
                        *beds.lock().unwrap_or_else(PoisonError::into_inner) =
                            Subscriptions::default();
                        if !outbox.push(notice("unsubscribed", "break-the-glass access ended")) {
                            break;
                        }
                    }
                }
                if let Err(e) = live_subs::refresh(&core, &who, &beds).await {
                    // Keep following what was resolved before.
                    tracing::warn!(request_id = %who.ctx.request_id, code = e.code(),
                        "Live subscriptions not refreshed");
                }
            }
        }
    }
    // Let the writer deliver the final notice, bounded by its send timeout.
    let _ = tokio::time::timeout(SEND_TIMEOUT, writer).await;
    tracing::debug!(request_id = %who.ctx.request_id, "Live connection closed");
}

/// Closes the connection with the notice for a feed that failed: it fell
/// behind (the client is too slow) or closed (the gateway is stopping).
fn feed_ended(outbox: &Outbox, e: &broadcast::error::RecvError) {
    outbox.close_with(match e {
        broadcast::error::RecvError::Lagged(_) => notice("dropped", "slow_consumer"),
        broadcast::error::RecvError::Closed => notice("closed", "shutdown"),
    });
}

/// Applies one client frame. False when the connection should end.
async fn handle_client(
    core: &crate::core::ApiCore,
    who: &Principal,
    vitals: bool,
    beds: &Mutex<Subscriptions>,
    outbox: &Outbox,
    msg: Message,
) -> bool {
    let text = match msg {
        Message::Text(t) => t,
        Message::Close(_) => return false,
        _ => return true,
    };
    let reply = |event: &str, detail: String| {
        Utf8Bytes::from(json!({"event": event, "detail": detail}).to_string())
    };
    let parsed: Result<ClientMessage, _> = serde_json::from_str(text.as_str());
    let (subscribe, target) = match parsed {
        Ok(ClientMessage::Subscribe(t)) => (true, t),
        Ok(ClientMessage::Unsubscribe(t)) => (false, t),
        Err(e) => return outbox.push(reply("error", format!("unreadable message: {e}"))),
    };
    if !vitals {
        return outbox.push(reply(
            "error",
            "following beds, patients and wards needs permission to read vitals".to_owned(),
        ));
    }
    let topic = match (target.bed, target.patient, target.ward) {
        (Some(b), None, None) if crate::api::is_identifier(&b) => Topic::Bed(b),
        (None, Some(p), None) if p.len() == 32 && p.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Topic::Patient(p)
        }
        (None, None, Some(w)) if crate::api::is_identifier(&w) => Topic::Ward(w),
        _ => {
            return outbox.push(reply(
                "error",
                "name one bed, patient or ward by its identifier".to_owned(),
            ))
        }
    };
    let id = topic.id().to_owned();
    if !subscribe {
        beds.lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&topic);
        return outbox.push(reply("unsubscribed", id));
    }
    let full = beds.lock().unwrap_or_else(PoisonError::into_inner).len() >= MAX_SUBSCRIPTIONS;
    if full {
        return outbox.push(reply("error", "too many subscriptions".to_owned()));
    }
    match live_subs::subscribe(core, who, &topic).await {
        Ok(Some(resolved)) => {
            beds.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(topic.clone(), resolved);
            outbox.push(reply("subscribed", id))
        }
        Ok(None) => outbox.push(reply("error", format!("no such {} {id}", topic.kind()))),
        Err(_) => outbox.push(reply(
            "error",
            "the subscription could not be recorded".to_owned(),
        )),
    }
}

/// Queues the caller's tenant's samples of subscribed beds, one event per
/// bed. False once the connection is closing.
fn forward(
    who: &Principal,
    beds: &Mutex<Subscriptions>,
    outbox: &Outbox,
    batch: &LiveBatch,
) -> bool {
    let beds = beds
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .followed();
    if beds.is_empty() {
        return true;
    }
    let mut by_bed: std::collections::BTreeMap<&str, Vec<serde_json::Value>> = Default::default();
    for s in batch.iter() {
        if &*s.origin.tenant_id != who.tenant.as_str() || !beds.contains_key(&*s.origin.bed_id) {
            continue;
        }
        let time =
            std::time::UNIX_EPOCH + Duration::from_micros(u64::try_from(s.time_us).unwrap_or(0));
        by_bed.entry(&s.origin.bed_id).or_default().push(json!({
            "metric": s.metric.name(),
            "value": s.value,
            "unit": s.metric.canonical_unit().ucum(),
            "time": rfc3339(time),
            "device_id": &*s.origin.device_id,
            "quality": s.quality.bits(),
        }));
    }
    for (bed, samples) in by_bed {
        let mut frame = json!({"event": "patient:vitals:update", "bed": bed, "samples": samples});
        if let Some(Some(patient)) = beds.get(bed) {
            frame["patient"] = json!(patient);
        }
        if !outbox.push(Utf8Bytes::from(frame.to_string())) {
            return false;
        }
    }
    true
}

/// The next event of the alerting runtime; never, without one.
async fn next_alarm(
    alarms: &mut Option<(String, broadcast::Receiver<Arc<LiveEvent>>)>,
) -> Result<Arc<LiveEvent>, broadcast::error::RecvError> {
    match alarms {
        Some((_, rx)) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Queues an alarm event (`alarm:raised`, `alarm:updated`,
/// `alarm:resolved`) of a followed bed, or an `emergency:broadcast` of any
/// bed, that the caller may see (same site; technical alarms only for roles
/// that cannot act on alarms). Other events of the runtime are not forwarded here.
/// False once the connection is closing.
fn forward_alarm(
    who: &Principal,
    site: &str,
    beds: &Mutex<Subscriptions>,
    outbox: &Outbox,
    ev: &LiveEvent,
) -> bool {
    let Some(n) = ev.alarm() else {
        return true;
    };
    // An exhausted escalation concerns everyone on the site who may see it,
    // whatever beds they follow; other events go to followers of the bed,
    // directly or through a patient's or ward's admissions.
    let subscribed = matches!(ev, LiveEvent::Emergency(_))
        || beds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .followed()
            .contains_key(n.bed.as_ref());
    if !subscribed || !crate::api::alarms::visible(who, site, n) {
        return true;
    }
    match serde_json::to_string(ev) {
        Ok(text) => outbox.push(text.into()),
        Err(e) => {
            tracing::error!(error = %e, "Alarm event encoding failed");
            true
        }
    }
}

/// Queues a hospital module's event when its audience includes the caller.
/// False once the connection is closing.
fn forward_module(
    who: &Principal,
    beds: &Mutex<Subscriptions>,
    outbox: &Outbox,
    ev: &ModuleEvent,
) -> bool {
    let subs = beds.lock().unwrap_or_else(PoisonError::into_inner);
    let reaches = ev.reaches(who, |w| subs.follows_ward(w));
    drop(subs);
    !reaches || outbox.push(ev.frame().into())
}
