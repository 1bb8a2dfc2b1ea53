//! Stable, reversible FHIR Observation ids, and the vital-signs profiles a
//! metric's Observation declares.
//!
//! A stored sample is identified by its tenant, bed, device, metric and time
//! (the collector's unique key). Its Observation id is
//! `<metric>.<micros>.<key>`: the metric name with `_` written `-`, the
//! sample time in microseconds since the Unix epoch, and the first 8 bytes of
//! SHA-256 over `tenant NUL bed NUL device` in hex (so equal bed and device
//! names at two sites give different ids). For example
//! `heart-rate.1764496800123456.3f0c9a1e5b7d2c44`. At most 19 + 1 + 16 + 1 +
//! 16 = 53 characters of FHIR's id alphabet `[A-Za-z0-9-.]{1,64}`.
//!
//! Reading by id finds the samples of that metric at that instant (the
//! hypertable's time index) and keeps the one whose bed and device hash to
//! the key. Row-level security scopes the lookup to the caller's site, and
//! the tenant in the hash makes another site's id name nothing here. Limit:
//! two pairs of bed and device of one site whose hashes share 64 bits, with
//! samples of the same metric at the same microsecond, would collide, and
//! the first found would be served.

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use firmware_adapters::vocab::Metric;
use ring::digest;

use crate::audit::hex;

/// The parts of an Observation id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObservationKey {
    pub(crate) metric: Metric,
    pub(crate) time: SystemTime,
    /// 16 hex digits: the hash of bed and device.
    pub(crate) source: String,
}

/// Where a sample comes from: the parts of its key besides metric and time.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The site.
    pub tenant: &'a str,
    /// The bed.
    pub bed: &'a str,
    /// The device.
    pub device: &'a str,
}

/// The hash of site, bed and device in an id.
pub(crate) fn source_hash(src: Source<'_>) -> String {
    let key = format!("{}\u{0}{}\u{0}{}", src.tenant, src.bed, src.device);
    hex(&digest::digest(&digest::SHA256, key.as_bytes()).as_ref()[..8])
}

/// The id of a sample.
pub(crate) fn encode(src: Source<'_>, metric: Metric, time: SystemTime) -> String {
    let micros = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros());
    format!(
        "{}.{micros}.{}",
        metric.name().replace('_', "-"),
        source_hash(src)
    )
}

/// The parts of `id`, if this API could have issued it.
pub(crate) fn decode(id: &str) -> Option<ObservationKey> {
    let mut parts = id.split('.');
    let (name, micros, source) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some()
        || source.len() != 16
        || !source
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        || micros.is_empty()
        || micros.len() > 17
        || !micros.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let metric = Metric::from_str(&name.replace('-', "_")).ok()?;
    if name.contains('_') {
        return None;
    }
    let time = UNIX_EPOCH + Duration::from_micros(micros.parse().ok()?);
    Some(ObservationKey {
        metric,
        time,
        source: source.to_owned(),
    })
}

const BASE: &str = "http://hl7.org/fhir/StructureDefinition/vitalsigns";

/// The FHIR R4 vital-signs profiles an Observation of `metric` conforms to
/// when its subject is a Patient: the base profile for codes in the vital
/// signs value set, and the specific one where FHIR defines it. Empty for
/// metrics outside the set (perfusion index, invasive pressures, EtCO2,
/// mean NIBP, room temperatures). Systolic and diastolic NIBP are served as
/// separate Observations, which the blood-pressure panel profile does not
/// describe, so they declare only the base profile.
pub(crate) fn profiles(metric: Metric) -> &'static [&'static str] {
    match metric {
        Metric::HeartRate | Metric::PulseRate => {
            &[BASE, "http://hl7.org/fhir/StructureDefinition/heartrate"]
        }
        Metric::RespiratoryRate => &[BASE, "http://hl7.org/fhir/StructureDefinition/resprate"],
        Metric::BodyTemperature => &[BASE, "http://hl7.org/fhir/StructureDefinition/bodytemp"],
        Metric::Spo2 => &[BASE, "http://hl7.org/fhir/StructureDefinition/oxygensat"],
        Metric::NibpSystolic | Metric::NibpDiastolic => &[BASE],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src<'a>(tenant: &'a str, bed: &'a str, device: &'a str) -> Source<'a> {
        Source {
            tenant,
            bed,
            device,
        }
    }

    #[test]
    fn ids_round_trip_and_fit_the_fhir_alphabet() {
        let t = UNIX_EPOCH + Duration::from_micros(1_764_496_800_123_456);
        for metric in Metric::ALL {
            let id = encode(src("st-mary", "bed-1", "mon-1"), metric, t);
            assert!(id.len() <= 64, "{id}");
            assert!(id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.'));
            let key = decode(&id).unwrap();
            assert_eq!((key.metric, key.time), (metric, t));
            assert_eq!(key.source, source_hash(src("st-mary", "bed-1", "mon-1")));
        }
        let h = |t, b, d| source_hash(src(t, b, d));
        assert_ne!(h("t", "bed-1", "mon-1"), h("t", "bed-1", "mon-2"));
        assert_ne!(h("t", "a", "bc"), h("t", "ab", "c"));
        assert_ne!(h("st-mary", "b", "d"), h("st-john", "b", "d"));
    }

    #[test]
    fn foreign_ids_are_refused() {
        for bad in [
            "",
            "heart-rate",
            "heart-rate.1.0123456789abcdef.x",
            "heart_rate.1.0123456789abcdef",
            "heart-rate.1.0123456789ABCDEF",
            "heart-rate..0123456789abcdef",
            "heart-rate.99999999999999999999.0123456789abcdef",
            "colour.1.0123456789abcdef",
            "heart-rate.1.0123",
        ] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn specific_profiles_only_where_fhir_defines_them() {
        assert!(profiles(Metric::HeartRate).contains(&BASE));
        assert!(profiles(Metric::PerfusionIndex).is_empty());
        assert_eq!(profiles(Metric::NibpSystolic), [BASE]);
    }
}
