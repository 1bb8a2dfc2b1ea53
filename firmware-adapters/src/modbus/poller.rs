//! One device's polling state: its read plan, its schedule and backoff, and
//! what a poll does with the answers.
//!
//! A poll sends the plan's requests in turn, each under the profile's
//! `timeout_ms`. Data is decoded into readings (delivered to the sink in one
//! batch) and statuses (put on the status board). An exception answer skips that
//! request's values, is counted (`exception`) and logged, and the poll goes on: the
//! device is talking. A timeout or a transport error ends the poll; what was read
//! before it is still delivered, and the caller drops the link.

use std::time::{Duration, SystemTime};

use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::error::{ExceptionCode, LinkError};
use super::link::{Link, Response};
use super::mapping::{self, Decoded, Slice};
use super::plan::{self, ReadRequest};
use super::status::{StatusBoard, StatusData, StatusValue};
use super::ModbusDevice;
use crate::backoff::Backoff;
use crate::health::ConnectionState;
use crate::sink::ReadingSink;
use crate::throttle::Throttle;
use crate::Reading;

/// How often one device's repeated failures are logged at most.
const LOG_EVERY: Duration = Duration::from_secs(60);

/// One device's state in a link's polling loop.
#[derive(Debug)]
pub(crate) struct Poller {
    pub(crate) device: ModbusDevice,
    plan: Vec<ReadRequest>,
    interval: Duration,
    pub(crate) timeout: Duration,
    backoff: Backoff,
    /// When the next poll is due.
    pub(crate) next_at: Instant,
    state: ConnectionState,
    fail_log: Throttle,
    refuse_log: Throttle,
}

impl Poller {
    pub(crate) fn new(device: ModbusDevice, backoff: Backoff, now: Instant) -> Self {
        let profile = &device.profile;
        Self {
            plan: plan::plan(&profile.values, profile.max_gap_addresses),
            interval: Duration::from_millis(profile.poll_interval_ms),
            timeout: Duration::from_millis(profile.timeout_ms),
            backoff,
            next_at: now,
            state: ConnectionState::Connecting,
            fail_log: Throttle::new(LOG_EVERY),
            refuse_log: Throttle::new(LOG_EVERY),
            device,
        }
    }

    fn device_id(&self) -> &str {
        &self.device.device.device_id
    }

    fn unit_id(&self) -> u8 {
        self.device.connection.unit_id()
    }

    fn set_state(&mut self, state: ConnectionState) {
        if self.state != state {
            self.state = state;
            self.device.health.set_state(state);
        }
    }

    /// Marks a retry of a device that was backing off.
    pub(crate) fn begin(&mut self) {
        if self.state == ConnectionState::BackingOff {
            self.set_state(ConnectionState::Connecting);
        }
    }

    /// Polls every value once over `link`.
    pub(crate) async fn poll<L: Link, S: ReadingSink>(
        &mut self,
        link: &mut L,
        sink: &S,
        status: &StatusBoard,
    ) -> Result<(), LinkError> {
        let mut readings = Vec::new();
        let mut statuses = Vec::new();
        let mut failure = None;
        for i in 0..self.plan.len() {
            let request = &self.plan[i];
            let answer = match tokio::time::timeout(
                self.timeout,
                link.read(self.unit_id(), request),
            )
            .await
            {
                Err(_) => Err(LinkError::Timeout {
                    timeout: self.timeout,
                }),
                Ok(answer) => answer,
            };
            match answer {
                Ok(Ok(response)) => {
                    self.device.health.frame();
                    self.decode(i, &response, &mut readings, &mut statuses);
                }
                Ok(Err(code)) => self.refused(i, code),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        self.deliver(readings, sink).await;
        for changed in status.update(self.device_id(), statuses) {
            let (id, name, value) = (self.device_id(), &changed.name, &changed.value);
            // Bits and text change rarely and matter (a door, an alarm); numbers
            // move with every poll.
            if matches!(value, StatusData::Number(_)) {
                debug!(device_id = %id, status = %name, value = %value,
                    "Modbus device status changed");
            } else {
                info!(device_id = %id, status = %name, value = %value,
                    "Modbus device status changed");
            }
        }
        failure.map_or(Ok(()), Err)
    }

    fn decode(
        &mut self,
        i: usize,
        response: &Response,
        readings: &mut Vec<Reading>,
        statuses: &mut Vec<StatusValue>,
    ) {
        let request = &self.plan[i];
        for &v in &request.values {
            let value = &self.device.profile.values[v];
            let at = request.offset(value.start());
            let slice = match response {
                Response::Registers(w) => Slice::Registers(w.get(at..).unwrap_or_default()),
                Response::Bits(b) => Slice::Bits(b.get(at..).unwrap_or_default()),
            };
            match mapping::decode(value, slice) {
                Ok(Decoded::Reading(r)) => readings.push(r),
                Ok(Decoded::Status(s)) => statuses.push(s),
                Err(e) => {
                    self.device.health.error("decode", &e.to_string());
                    if let Some(suppressed) = self.refuse_log.allow(Instant::now()) {
                        warn!(device_id = %self.device.device.device_id, table = %value.table,
                            address = value.address, error = %e, suppressed,
                            "Modbus value not decoded");
                    }
                }
            }
        }
    }

    fn refused(&mut self, i: usize, code: ExceptionCode) {
        let request = &self.plan[i];
        let detail = format!(
            "{code} reading {} {} to {}",
            request.table,
            request.address,
            u32::from(request.address) + u32::from(request.count) - 1
        );
        self.device.health.error("exception", &detail);
        if let Some(suppressed) = self.refuse_log.allow(Instant::now()) {
            warn!(device_id = %self.device.device.device_id, table = %request.table,
                address = request.address, count = request.count, exception = %code, suppressed,
                "Modbus device answered with an exception");
        }
    }

    async fn deliver<S: ReadingSink>(&mut self, readings: Vec<Reading>, sink: &S) {
        if readings.is_empty() {
            return;
        }
        let received = SystemTime::now();
        let count = readings.len() as u64;
        match sink.deliver(&self.device.device, readings, received).await {
            Ok(()) => self.device.health.readings(count, received),
            Err(e) => {
                // The next poll reads fresh values; these are lost.
                self.device.health.error("refused", &e.to_string());
                if let Some(suppressed) = self.refuse_log.allow(Instant::now()) {
                    warn!(device_id = %self.device_id(), error = %e, count, suppressed,
                        "Modbus readings refused");
                }
            }
        }
    }

    /// Schedules the next poll after one that was due at `due` got answers.
    pub(crate) fn answered(&mut self, due: Instant, now: Instant) {
        if self.state != ConnectionState::Connected {
            info!(device_id = %self.device_id(), unit_id = self.unit_id(),
                attempt = self.backoff.attempt(), "Modbus device answering");
        }
        self.backoff.reset();
        self.set_state(ConnectionState::Connected);
        self.next_at = next_tick(due, self.interval, now);
    }

    /// Backs off after the device failed to answer.
    pub(crate) fn failed(&mut self, error: &LinkError, now: Instant) {
        self.device.health.error(error.kind(), &error.to_string());
        let delay = self.backoff.next_delay();
        self.next_at = now + delay;
        self.set_state(ConnectionState::BackingOff);
        if let Some(suppressed) = self.fail_log.allow(now) {
            warn!(device_id = %self.device_id(), unit_id = self.unit_id(), error = %error,
                attempt = self.backoff.attempt(), backoff = ?delay, suppressed,
                "Modbus device poll failed");
        } else {
            debug!(device_id = %self.device_id(), error = %error, backoff = ?delay,
                "Modbus device poll failed");
        }
    }

    /// Records that the link itself could not be opened.
    pub(crate) fn link_down(&mut self, error: &LinkError) {
        self.device.health.error(error.kind(), &error.to_string());
        self.set_state(ConnectionState::BackingOff);
    }
}

/// The first tick of the `interval` grid through `due` that is after `now`, so a
/// late poll is followed by the next regular one instead of a burst.
pub(crate) fn next_tick(due: Instant, interval: Duration, now: Instant) -> Instant {
    let next = due + interval;
    if next > now {
        return next;
    }
    let behind = now.duration_since(next).as_nanos();
    let step = interval.as_nanos().max(1);
    let skipped = u32::try_from(behind / step + 1).unwrap_or(u32::MAX);
    next + interval * skipped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_polls_skip_to_the_next_tick_of_the_grid() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        assert_eq!(next_tick(t0, s, t0 + Duration::from_millis(300)), t0 + s);
        assert_eq!(
            next_tick(t0, s, t0 + Duration::from_millis(2500)),
            t0 + 3 * s
        );
        assert_eq!(next_tick(t0, s, t0 + 2 * s), t0 + 3 * s);
    }
}
