//! The normalized sample: what the spool holds, the live bus carries and the
//! database stores, and its compact binary encoding for the spool.

use std::sync::Arc;

use firmware_adapters::Metric;

/// Quality flags of a stored sample, as a bit set. Zero means nothing to report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Quality(u16);

impl Quality {
    /// The device marked the value invalid (sensor off, out of measuring range).
    pub const DEVICE_INVALID: Self = Self(1);
    /// The device marked the value questionable (artefact, weak signal).
    pub const QUESTIONABLE: Self = Self(1 << 1);
    /// The value lies outside the metric's physiological plausibility range.
    pub const IMPLAUSIBLE: Self = Self(1 << 2);
    /// The device time was missing or not sane; the receive time was used instead.
    pub const RECEIVE_TIME: Self = Self(1 << 3);

    /// No flag set.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// The raw bits, as stored in the database's `quality` column.
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Flags from raw bits. Unknown bits are kept so a newer writer's flags survive.
    pub const fn from_bits(bits: u16) -> Self {
        Self(bits)
    }

    /// Whether every flag in `other` is set here.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets every flag in `other`.
    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }
}

/// Where a sample came from: the site, the bed (or location) and the device.
///
/// Shared by every sample of one device, so cloning a sample costs three reference
/// count increments, not three string copies.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The hospital site (tenant) that owns the data.
    pub tenant_id: Arc<str>,
    /// The bed, or the location for infrastructure such as a vaccine refrigerator.
    pub bed_id: Arc<str>,
    /// The device instance, unique within the site.
    pub device_id: Arc<str>,
}

impl Origin {
    /// A new origin. Each identifier must be at most [`MAX_ID_BYTES`] long, which
    /// configuration validation enforces before any sample exists.
    pub fn new(tenant_id: &str, bed_id: &str, device_id: &str) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            bed_id: bed_id.into(),
            device_id: device_id.into(),
        }
    }
}

/// The longest tenant, bed or device identifier the spool format can hold.
pub const MAX_ID_BYTES: usize = 255;

/// One normalized measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Measurement time, microseconds since the Unix epoch (UTC).
    pub time_us: i64,
    /// When the gateway received the reading, microseconds since the Unix epoch.
    pub received_us: i64,
    /// Site, bed and device.
    pub origin: Origin,
    /// What was measured.
    pub metric: Metric,
    /// The value in the metric's canonical unit.
    pub value: f64,
    /// What is known to be wrong with the value, if anything.
    pub quality: Quality,
}

/// A spool record could not be decoded into a sample.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The record ends before its fields do.
    #[error("record truncated at byte {offset}")]
    Truncated {
        /// Where the missing bytes would start.
        offset: usize,
    },
    /// A text field is not UTF-8.
    #[error("identifier is not utf-8")]
    NotUtf8,
    /// The metric name is unknown to this version of the gateway.
    #[error("unknown metric `{name}`")]
    UnknownMetric {
        /// The stored name.
        name: String,
    },
}

// Encoding, little-endian, no padding:
//   time_us i64 | received_us i64 | value f64 | quality u16 |
//   metric, tenant_id, bed_id, device_id: each u8 length + UTF-8 bytes.
// The record framing (length, checksum, sequence number) is the spool's.

impl Sample {
    /// Appends the binary encoding of this sample to `out`.
    ///
    /// # Panics
    ///
    /// If an identifier is longer than [`MAX_ID_BYTES`]; configuration validation
    /// rules that out.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.time_us.to_le_bytes());
        out.extend_from_slice(&self.received_us.to_le_bytes());
        out.extend_from_slice(&self.value.to_le_bytes());
        out.extend_from_slice(&self.quality.bits().to_le_bytes());
        let o = &self.origin;
        for text in [self.metric.name(), &o.tenant_id, &o.bed_id, &o.device_id] {
            let len = u8::try_from(text.len()).expect("identifiers are validated to fit a u8");
            out.push(len);
            out.extend_from_slice(text.as_bytes());
        }
    }

    /// Decodes a sample encoded by [`Sample::encode`].
    ///
    /// `origins` interns identifiers so that a batch of samples from one device
    /// shares its strings; pass a fresh [`OriginCache`] when that does not matter.
    ///
    /// # Errors
    ///
    /// When the bytes are not a valid encoding; the spool's checksum makes this a
    /// sign of a format change, not of disk damage.
    pub fn decode(bytes: &[u8], origins: &mut OriginCache) -> Result<Self, DecodeError> {
        let mut r = Cursor { bytes, pos: 0 };
        let time_us = i64::from_le_bytes(r.array()?);
        let received_us = i64::from_le_bytes(r.array()?);
        let value = f64::from_le_bytes(r.array()?);
        let quality = Quality::from_bits(u16::from_le_bytes(r.array()?));
        let metric_name = r.text()?;
        let metric = metric_name
            .parse()
            .map_err(|_| DecodeError::UnknownMetric {
                name: metric_name.to_owned(),
            })?;
        let (tenant, bed, device) = (r.text()?, r.text()?, r.text()?);
        let origin = origins.get(tenant, bed, device);
        Ok(Self {
            time_us,
            received_us,
            origin,
            metric,
            value,
            quality,
        })
    }
}

/// Reuses the last [`Origin`] when consecutive samples share it, which is the
/// common case: adapters append a device's readings together.
#[derive(Debug, Default)]
pub struct OriginCache {
    last: Option<Origin>,
}

impl OriginCache {
    fn get(&mut self, tenant: &str, bed: &str, device: &str) -> Origin {
        match &self.last {
            Some(o) if &*o.device_id == device && &*o.bed_id == bed && &*o.tenant_id == tenant => {
                o.clone()
            }
            _ => {
                let o = Origin::new(tenant, bed, device);
                self.last = Some(o.clone());
                o
            }
        }
    }
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos + n;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(DecodeError::Truncated { offset: self.pos })?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let slice = self.take(N)?;
        Ok(slice.try_into().expect("take returned N bytes"))
    }

    fn text(&mut self) -> Result<&'a str, DecodeError> {
        let [len] = self.array::<1>()?;
        let bytes = self.take(usize::from(len))?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sample {
        Sample {
            time_us: 1_700_000_000_123_456,
            received_us: 1_700_000_000_200_000,
            origin: Origin::new("st-marys", "icu-3/bed-07", "mon-07"),
            metric: Metric::Spo2,
            value: 93.0,
            quality: Quality::QUESTIONABLE,
        }
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let mut buf = Vec::new();
        sample().encode(&mut buf);
        let back = Sample::decode(&buf, &mut OriginCache::default()).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let mut buf = Vec::new();
        sample().encode(&mut buf);
        for len in 0..buf.len() {
            assert!(
                Sample::decode(&buf[..len], &mut OriginCache::default()).is_err(),
                "{len}"
            );
        }
    }

    #[test]
    fn unknown_metric_is_reported_by_name() {
        let mut buf = Vec::new();
        sample().encode(&mut buf);
        // The metric name starts after 26 fixed bytes and its length byte.
        buf[27..31].copy_from_slice(b"spo3");
        let err = Sample::decode(&buf, &mut OriginCache::default()).unwrap_err();
        assert_eq!(
            err,
            DecodeError::UnknownMetric {
                name: "spo3".into()
            }
        );
    }

    #[test]
    fn consecutive_samples_share_their_origin() {
        let mut buf = Vec::new();
        sample().encode(&mut buf);
        let mut cache = OriginCache::default();
        let a = Sample::decode(&buf, &mut cache).unwrap();
        let b = Sample::decode(&buf, &mut cache).unwrap();
        assert!(Arc::ptr_eq(&a.origin.device_id, &b.origin.device_id));
    }

    #[test]
    fn quality_flags_combine() {
        let mut q = Quality::empty();
        q.insert(Quality::IMPLAUSIBLE);
        q.insert(Quality::RECEIVE_TIME);
        assert!(q.contains(Quality::IMPLAUSIBLE));
        assert!(!q.contains(Quality::DEVICE_INVALID));
        assert_eq!(q.bits(), 0b1100);
    }
}
