//! The seam between the port loop and a protocol: a pure state machine that
//! takes bytes and the time, and says what to send and what it decoded.
//!
//! The loop in `run` owns the port, the clock and the watchdog; a [`Session`]
//! owns the protocol's state (handshake, polls, keep-alives) and its codecs.
//! Sessions never read a clock or a port, so they are tested with bytes and
//! instants alone.

use std::time::Duration;

use tokio::time::Instant;

use crate::modbus::{StatusData, StatusValue};
use crate::Reading;

/// What one call into a session produced.
#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Bytes to write to the device, in order.
    pub(crate) send: Vec<u8>,
    /// Batches of readings decoded, each from one frame or packet.
    pub(crate) batches: Vec<Vec<Reading>>,
    /// Good frames received.
    pub(crate) frames: u64,
    /// Problems, each with a bounded kind for the error counter.
    pub(crate) errors: Vec<(&'static str, String)>,
    /// Values the vocabulary has no metric for, kept raw under their
    /// protocol code so nothing the device sent is silently lost.
    pub(crate) raw: Vec<StatusValue>,
}

impl Output {
    pub(crate) fn error(&mut self, kind: &'static str, detail: impl ToString) {
        self.errors.push((kind, detail.to_string()));
    }

    pub(crate) fn raw_number(&mut self, name: String, value: f64) {
        self.raw.push(StatusValue {
            name,
            value: StatusData::Number(value),
            unit: None,
            alarm: None,
        });
    }

    pub(crate) fn raw_text(&mut self, name: String, value: String) {
        self.raw.push(StatusValue {
            name,
            value: StatusData::Text(value),
            unit: None,
            alarm: None,
        });
    }

    /// Adds one frame's readings. A batch shares one time, and the database
    /// keeps one value per metric and time, so a second reading of a metric
    /// (a Datex monitor's impedance and CO2 respiration rates, Medibus 0xD6
    /// and 0xD5) goes raw as `<metric>.also` instead of being lost quietly.
    pub(crate) fn batch(&mut self, mut readings: Vec<Reading>) {
        let mut seen = Vec::with_capacity(readings.len());
        readings.retain(|r| {
            if seen.contains(&r.metric) {
                self.raw.push(StatusValue {
                    name: format!("{}.also", r.metric.info().name),
                    value: StatusData::Number(r.value),
                    unit: Some(r.unit),
                    alarm: None,
                });
                false
            } else {
                seen.push(r.metric);
                true
            }
        });
        if !readings.is_empty() {
            self.batches.push(readings);
        }
    }
}

/// One protocol's session with one device.
pub(crate) trait Session: Send {
    /// The port was opened, or the watchdog found the line silent: start the
    /// protocol from the beginning (select the format, send the request, the
    /// ICC). Decoder state from before is dropped.
    fn start(&mut self, now: Instant, out: &mut Output);

    /// Bytes arrived from the device.
    fn receive(&mut self, bytes: &[u8], now: Instant, out: &mut Output);

    /// When the session next wants [`Session::tick`] (a poll, a keep-alive);
    /// `None` for streaming protocols.
    fn next_tick(&self) -> Option<Instant> {
        None
    }

    /// The time of [`Session::next_tick`] came.
    fn tick(&mut self, _now: Instant, _out: &mut Output) {}
}

/// Classifies a codec error as line noise or as a bad frame.
pub(crate) fn noise_kind(framing: bool) -> &'static str {
    if framing {
        "noise"
    } else {
        "decode"
    }
}

/// Half of `d`, at least a millisecond.
pub(crate) fn half(d: Duration) -> Duration {
    (d / 2).max(Duration::from_millis(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Metric;

    #[test]
    fn a_second_reading_of_a_metric_in_one_batch_is_kept_raw() {
        let mut out = Output::default();
        out.batch(vec![
            Reading::new(Metric::RespiratoryRate, 14.0),
            Reading::new(Metric::HeartRate, 70.0),
            Reading::new(Metric::RespiratoryRate, 16.0),
        ]);
        assert_eq!(out.batches[0].len(), 2);
        assert_eq!(out.batches[0][0].value, 14.0);
        assert_eq!(out.raw[0].name, "respiratory_rate.also");
        assert_eq!(out.raw[0].value, StatusData::Number(16.0));
    }
}
