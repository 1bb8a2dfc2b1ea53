//! Turning an adapter's [`Reading`] into a stored [`Sample`].
//!
//! Normalization converts the value into the metric's canonical unit, sets the
//! quality flags and chooses the sample's time. It rejects only what cannot be
//! stored meaningfully: a value that is not a finite number, or one whose unit
//! measures something else. Everything else is kept and flagged, because a value
//! outside the plausible range may be an artefact or a patient in trouble, and that
//! call belongs to a clinician.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use firmware_adapters::{Reading, UnitError, Validity};

use crate::sample::{Origin, Quality, Sample};

/// Why a reading was not accepted. The variant names are the `reason` label of the
/// `collector_samples_rejected_total` metric.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Rejection {
    /// The value is NaN or infinite.
    #[error("value is not a finite number")]
    NotFinite,
    /// The value's unit cannot be converted into the metric's canonical unit.
    #[error(transparent)]
    Unit(#[from] UnitError),
    /// The spool is full and the sample may not displace anything (see the spool's
    /// full policy).
    #[error("spool is full")]
    SpoolFull,
    /// The spool could not write to its disk.
    #[error("spool write failed")]
    SpoolIo,
}

impl Rejection {
    /// The bounded label used in metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::NotFinite => "not_finite",
            Self::Unit(_) => "unit",
            Self::SpoolFull => "spool_full",
            Self::SpoolIo => "spool_io",
        }
    }
}

/// How far a device clock may stray from the gateway's before the receive time
/// is used instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockPolicy {
    /// A device time further ahead than this is not trusted.
    pub max_ahead: Duration,
    /// A device time further behind than this is not trusted. Devices that
    /// replay stored data after a reconnect send old times on purpose, so this is
    /// generous.
    pub max_behind: Duration,
}

impl Default for ClockPolicy {
    fn default() -> Self {
        Self {
            max_ahead: Duration::from_secs(5 * 60),
            max_behind: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// Converts readings into samples for one site.
#[derive(Debug, Clone, Default)]
pub struct Normalizer {
    clock: ClockPolicy,
}

impl Normalizer {
    /// A normalizer with the given clock policy.
    pub fn new(clock: ClockPolicy) -> Self {
        Self { clock }
    }

    /// Normalizes one reading received at `received` from the device at `origin`.
    ///
    /// # Errors
    ///
    /// A [`Rejection`] when the value cannot be stored meaningfully.
    pub fn normalize(
        &self,
        reading: &Reading,
        origin: &Origin,
        received: SystemTime,
    ) -> Result<Sample, Rejection> {
        if !reading.value.is_finite() {
            return Err(Rejection::NotFinite);
        }
        let metric = reading.metric;
        let value = reading
            .unit
            .convert(reading.value, metric.canonical_unit())?;
        let mut quality = Quality::empty();
        match reading.validity {
            Validity::Valid => {}
            Validity::Questionable => quality.insert(Quality::QUESTIONABLE),
            Validity::Invalid => quality.insert(Quality::DEVICE_INVALID),
        }
        if !metric.is_plausible(value) {
            quality.insert(Quality::IMPLAUSIBLE);
        }
        let time = match reading.device_time {
            Some(t) if self.is_sane(t, received) => t,
            _ => {
                quality.insert(Quality::RECEIVE_TIME);
                received
            }
        };
        Ok(Sample {
            time_us: unix_micros(time),
            received_us: unix_micros(received),
            origin: origin.clone(),
            metric,
            value,
            quality,
        })
    }

    fn is_sane(&self, device: SystemTime, received: SystemTime) -> bool {
        match device.duration_since(received) {
            Ok(ahead) => ahead <= self.clock.max_ahead,
            Err(behind) => behind.duration() <= self.clock.max_behind,
        }
    }
}

/// Microseconds since the Unix epoch; times before 1970 (a device with a flat
/// clock battery) come out negative, and the clock policy replaces them.
pub fn unix_micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

#[cfg(test)]
mod tests {
    use firmware_adapters::{Metric, Unit};

    use super::*;

    fn origin() -> Origin {
        Origin::new("site", "bed-1", "mon-1")
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_750_000_000)
    }

    fn normalize(r: &Reading) -> Result<Sample, Rejection> {
        Normalizer::default().normalize(r, &origin(), now())
    }

    #[test]
    fn converts_into_the_canonical_unit() {
        let mut r = Reading::new(Metric::EtCo2, 5.0);
        r.unit = Unit::KiloPascal;
        let s = normalize(&r).unwrap();
        assert!((s.value - 37.503).abs() < 0.001, "{}", s.value);
        assert_eq!(s.quality, Quality::RECEIVE_TIME);
    }

    #[test]
    fn implausible_value_is_kept_and_flagged() {
        let s = normalize(&Reading::new(Metric::HeartRate, 412.0).at(now())).unwrap();
        assert_eq!(s.value, 412.0);
        assert_eq!(s.quality, Quality::IMPLAUSIBLE);
    }

    #[test]
    fn device_validity_becomes_a_flag() {
        let mut r = Reading::new(Metric::Spo2, 88.0).at(now());
        r.validity = Validity::Invalid;
        assert_eq!(normalize(&r).unwrap().quality, Quality::DEVICE_INVALID);
        r.validity = Validity::Questionable;
        assert_eq!(normalize(&r).unwrap().quality, Quality::QUESTIONABLE);
    }

    #[test]
    fn nan_and_infinity_are_rejected() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let err = normalize(&Reading::new(Metric::HeartRate, v)).unwrap_err();
            assert_eq!(err.reason(), "not_finite");
        }
    }

    #[test]
    fn wrong_dimension_is_rejected() {
        let mut r = Reading::new(Metric::HeartRate, 70.0);
        r.unit = Unit::MmHg;
        assert_eq!(normalize(&r).unwrap_err().reason(), "unit");
    }

    #[test]
    fn sane_device_time_is_honoured() {
        let t = now() - Duration::from_secs(30);
        let s = normalize(&Reading::new(Metric::HeartRate, 70.0).at(t)).unwrap();
        assert_eq!(s.time_us, unix_micros(t));
        assert_eq!(s.received_us, unix_micros(now()));
        assert_eq!(s.quality, Quality::empty());
    }

    #[test]
    fn insane_device_time_falls_back_to_receive_time() {
        let cases = [
            now() + Duration::from_secs(600),
            now() - Duration::from_secs(2 * 86_400),
            UNIX_EPOCH,
        ];
        for t in cases {
            let s = normalize(&Reading::new(Metric::HeartRate, 70.0).at(t)).unwrap();
            assert_eq!(s.time_us, unix_micros(now()), "{t:?}");
            assert!(s.quality.contains(Quality::RECEIVE_TIME));
        }
    }

    #[test]
    fn times_before_the_epoch_are_negative() {
        assert_eq!(unix_micros(UNIX_EPOCH - Duration::from_micros(5)), -5);
    }
}
