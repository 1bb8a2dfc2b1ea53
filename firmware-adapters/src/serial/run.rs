//! The loop of one serial device: open the port, run the session over it,
//! watch for silence, and reopen with backoff when the port goes away.
//!
//! States (as [`ConnectionState`]):
//!
//! - `connecting`: the port is open and the session started, but no good
//!   frame has arrived since (re)initialisation;
//! - `connected`: good frames arrive;
//! - `backing_off`: the port could not be opened or was lost (a USB adapter
//!   unplugged reads as an I/O error or end of file); the loop waits
//!   `reopen_initial_ms`, doubling up to `reopen_max_ms`, then opens the path
//!   again. The delay returns to the initial one after the next good frame.
//!
//! The watchdog: when nothing at all arrives for `watchdog_ms` the device is
//! counted `silence`, drops to `connecting`, and the session starts again from
//! its handshake (re-select the format, re-send the request, ICC), once per
//! watchdog period while the silence lasts. The port stays open: a pulled
//! RS-232 cable behind a USB adapter leaves the port in place.

use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::session::{Output, Session};
use crate::backoff::Backoff;
use crate::health::{AdapterHealth, ConnectionState};
use crate::modbus::StatusBoard;
use crate::sink::{DeviceRef, ReadingSink};
use crate::throttle::Throttle;

/// How often repeated warnings of one device are logged at most.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// Opens the device's port.
pub(crate) trait Opener: Send + Sync + 'static {
    /// The open port.
    type Port: AsyncRead + AsyncWrite + Unpin + Send;

    /// Opens the port.
    fn open(&self) -> io::Result<Self::Port>;

    /// The path, for logs.
    fn target(&self) -> &str;
}

/// Everything one device's loop needs besides the port and the session.
#[derive(Debug)]
pub(crate) struct Context<S> {
    pub(crate) device: DeviceRef,
    pub(crate) health: AdapterHealth,
    pub(crate) status: StatusBoard,
    pub(crate) sink: Arc<S>,
    pub(crate) watchdog: Duration,
    pub(crate) backoff: Backoff,
}

/// Why a port was left.
enum Left {
    Shutdown,
    /// The port could not be opened.
    Unavailable(io::Error),
    /// The open port failed or ended.
    Lost(io::Error),
}

/// Runs `session` on ports from `opener` until `shutdown` turns true.
pub(crate) async fn run<O: Opener, K: Session, S: ReadingSink>(
    opener: O,
    mut session: K,
    mut ctx: Context<S>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut log = Throttle::new(LOG_EVERY);
    while !*shutdown.borrow() {
        ctx.health.set_state(ConnectionState::Connecting);
        let left = match opener.open() {
            Ok(port) => serve(port, &mut session, &mut ctx, &mut shutdown).await,
            Err(e) => {
                ctx.health.error("open", &e.to_string());
                Left::Unavailable(e)
            }
        };
        let error = match left {
            Left::Shutdown => break,
            Left::Unavailable(e) => e,
            Left::Lost(e) => {
                ctx.health.error("port_lost", &e.to_string());
                e
            }
        };
        let delay = ctx.backoff.next_delay();
        ctx.health.set_state(ConnectionState::BackingOff);
        if let Some(suppressed) = log.allow(Instant::now()) {
            warn!(port = %opener.target(), %error, attempt = ctx.backoff.attempt(),
                backoff = ?delay, suppressed, "Serial port unavailable");
        }
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            _ = shutdown.changed() => break,
        }
    }
    info!(port = %opener.target(), "Serial device stopped");
}

async fn serve<P, K, S>(
    mut port: P,
    session: &mut K,
    ctx: &mut Context<S>,
    shutdown: &mut watch::Receiver<bool>,
) -> Left
where
    P: AsyncRead + AsyncWrite + Unpin + Send,
    K: Session,
    S: ReadingSink,
{
    let mut log = Throttle::new(LOG_EVERY);
    let mut connected = false;
    let mut out = Output::default();
    let now = Instant::now();
    session.start(now, &mut out);
    let mut heard = now;
    let mut buf = [0u8; 1024];
    loop {
        if let Err(e) = apply(&mut port, out, ctx, &mut connected, &mut log).await {
            return Left::Lost(e);
        }
        out = Output::default();
        let watchdog_at = heard + ctx.watchdog;
        let tick_at = session.next_tick();
        tokio::select! {
            read = port.read(&mut buf) => {
                let n = match read {
                    Ok(0) => return Left::Lost(io::ErrorKind::UnexpectedEof.into()),
                    Ok(n) => n,
                    Err(e) => return Left::Lost(e),
                };
                heard = Instant::now();
                session.receive(&buf[..n], heard, &mut out);
            }
            () = tokio::time::sleep_until(watchdog_at) => {
                let silent = heard.elapsed();
                ctx.health.error("silence", &format!("nothing received for {silent:?}"));
                ctx.health.set_state(ConnectionState::Connecting);
                connected = false;
                if let Some(suppressed) = log.allow(Instant::now()) {
                    warn!(device_id = %ctx.device.device_id, silent = ?silent, suppressed,
                        "Serial device silent; initialising the protocol again");
                }
                heard = Instant::now();
                session.start(heard, &mut out);
            }
            () = sleep_until_some(tick_at) => session.tick(Instant::now(), &mut out),
            _ = shutdown.changed() => return Left::Shutdown,
        }
    }
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Hands on what the session decoded, then sends what it asked for.
async fn apply<P, S>(
    port: &mut P,
    out: Output,
    ctx: &mut Context<S>,
    connected: &mut bool,
    log: &mut Throttle,
) -> io::Result<()>
where
    P: AsyncWrite + Unpin,
    S: ReadingSink,
{
    for _ in 0..out.frames {
        ctx.health.frame();
    }
    if out.frames > 0 {
        ctx.backoff.reset();
        if !*connected {
            *connected = true;
            ctx.health.set_state(ConnectionState::Connected);
            info!(device_id = %ctx.device.device_id, "Serial device talking");
        }
    }
    for (kind, detail) in &out.errors {
        ctx.health.error(kind, detail);
        if let Some(suppressed) = log.allow(Instant::now()) {
            warn!(device_id = %ctx.device.device_id, kind, error = %detail, suppressed,
                "Serial data rejected");
        }
    }
    if !out.raw.is_empty() {
        for changed in ctx.status.update(&ctx.device.device_id, out.raw) {
            debug!(device_id = %ctx.device.device_id, status = %changed.name,
                value = %changed.value, "Unmapped device value");
        }
    }
    for readings in out.batches {
        let n = readings.len() as u64;
        let received = SystemTime::now();
        match ctx.sink.deliver(&ctx.device, readings, received).await {
            Ok(()) => ctx.health.readings(n, received),
            Err(refused) => ctx.health.error("refused", &refused.reason),
        }
    }
    // Written last: readings already decoded are delivered even when the
    // port fails on this write.
    if !out.send.is_empty() {
        port.write_all(&out.send).await?;
        port.flush().await?;
    }
    Ok(())
}
