//! Attribute lists, numeric observed values and readings.
//!
//! An attribute list is `{u16 count, u16 length, AVA × count}` and an AVA
//! `{u16 attribute id, u16 length, value}`; the walk trusts only the lengths,
//! so an attribute this codec does not know is kept raw and skipped by length.

use super::mapping::{self, PARTITION_PHYSIO, PARTITION_UNITS};
use super::wire::{put_with_u16_length, u16_len, Reader};
use super::{AbsoluteTime, Float, FloatValue, IntellivueError, MeasurementState, RelativeTime};
use crate::{Metric, Reading, Unit};

/// NU_VAL_OBS: one numeric observed value.
pub const ATTR_NU_VAL_OBS: u16 = 0x0950;
/// NU_CMPD_VAL_OBS: a compound of numeric observed values (NIBP sys/dia/mean).
pub const ATTR_NU_CMPD_VAL_OBS: u16 = 0x094B;
/// The label of the object (kept raw: its layout is not in devices.md).
pub const ATTR_ID_LABEL: u16 = 0x0924;
/// Absolute time stamp ([`AbsoluteTime`]).
pub const ATTR_TIME_STAMP_ABS: u16 = 0x0990;
/// Relative time stamp ([`RelativeTime`]).
pub const ATTR_TIME_STAMP_REL: u16 = 0x0991;
/// Bytes of one NuObsValue.
pub const NU_OBS_VALUE_LEN: usize = 10;

/// One attribute of a list: its id and its value bytes, undecoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The attribute id.
    pub id: u16,
    /// The value bytes.
    pub value: &'a [u8],
}

/// Reads an attribute list from the start of `bytes`; returns its attributes
/// and how many bytes it took (4 + its length field), so a caller walking a
/// larger structure can go on after it.
///
/// # Errors
///
/// A length that overruns the bytes, an AVA that overruns the list, or a count
/// that disagrees with the AVAs the length holds.
pub fn parse_attribute_list(bytes: &[u8]) -> Result<(Vec<Attribute<'_>>, usize), IntellivueError> {
    let mut r = Reader::new(bytes, "attribute list");
    let count = usize::from(r.u16()?);
    let length = usize::from(r.u16()?);
    let mut body = Reader::new(r.take(length)?, "attribute");
    let mut attributes = Vec::with_capacity(count.min(length / 4));
    while body.remaining() > 0 {
        let id = body.u16()?;
        let len = usize::from(body.u16()?);
        let value = body.take(len)?;
        attributes.push(Attribute { id, value });
    }
    if attributes.len() != count {
        return Err(IntellivueError::BadCount {
            item: "attribute list",
            declared: count,
            found: attributes.len(),
        });
    }
    Ok((attributes, 4 + length))
}

/// Encodes an attribute list, computing count and lengths.
///
/// # Errors
///
/// [`IntellivueError::TooLong`] when a count or length does not fit its u16.
pub fn encode_attribute_list(attributes: &[Attribute<'_>]) -> Result<Vec<u8>, IntellivueError> {
    let mut body = Vec::new();
    for attribute in attributes {
        body.extend_from_slice(&attribute.id.to_be_bytes());
        put_with_u16_length(&mut body, "attribute value", attribute.value)?;
    }
    let mut out = Vec::with_capacity(body.len() + 4);
    out.extend_from_slice(&u16_len("attribute list count", attributes.len())?.to_be_bytes());
    put_with_u16_length(&mut out, "attribute list", &body)?;
    Ok(out)
}

/// Why a numeric gives no reading.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Unmapped {
    /// The FLOAT is a special code, not a number.
    NoValue(FloatValue),
    /// The physio id maps to no metric.
    UnknownPhysioId,
    /// The unit code maps to no unit.
    UnknownUnit,
}

/// A NuObsValue: `{u16 physio_id, u16 state, u16 unit_code, FLOAT value}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NumericValue {
    /// Term code in partition 2 (see [`NumericValue::mdc_code`]).
    pub physio_id: u16,
    /// The device's opinion of the value.
    pub state: MeasurementState,
    /// Term code in partition 4.
    pub unit_code: u16,
    /// The value, or a special code.
    pub value: Float,
}

impl NumericValue {
    /// Decodes exactly [`NU_OBS_VALUE_LEN`] bytes.
    ///
    /// # Errors
    ///
    /// [`IntellivueError::BadLength`] for any other length.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IntellivueError> {
        if bytes.len() != NU_OBS_VALUE_LEN {
            return Err(IntellivueError::BadLength {
                item: "NuObsValue",
                declared: NU_OBS_VALUE_LEN,
                available: bytes.len(),
            });
        }
        let mut r = Reader::new(bytes, "NuObsValue");
        Ok(Self {
            physio_id: r.u16()?,
            state: MeasurementState(r.u16()?),
            unit_code: r.u16()?,
            value: Float(r.u32()?),
        })
    }

    /// The ten bytes on the wire.
    pub fn to_bytes(&self) -> [u8; NU_OBS_VALUE_LEN] {
        let mut out = [0u8; NU_OBS_VALUE_LEN];
        let fields = [self.physio_id, self.state.0, self.unit_code];
        let words = fields.iter().flat_map(|f| f.to_be_bytes());
        for (slot, byte) in out.iter_mut().zip(words.chain(self.value.to_be_bytes())) {
            *slot = byte;
        }
        out
    }

    /// The full MDC code of the physio id (`2 × 65536 + physio_id`).
    pub fn mdc_code(&self) -> u32 {
        mapping::mdc_code(PARTITION_PHYSIO, self.physio_id)
    }

    /// The full MDC code of the unit (`4 × 65536 + unit_code`).
    pub fn unit_mdc_code(&self) -> u32 {
        mapping::mdc_code(PARTITION_UNITS, self.unit_code)
    }

    /// The metric, if the physio id maps to one.
    pub fn metric(&self) -> Option<Metric> {
        mapping::metric_for_physio_id(self.physio_id)
    }

    /// The unit, if the unit code is known.
    pub fn unit(&self) -> Option<Unit> {
        mapping::unit_for_code(self.unit_code)
    }

    /// The reading, with the validity of its MeasurementState and no device
    /// time (see the module docs of the protocol).
    ///
    /// # Errors
    ///
    /// The [`Unmapped`] reason when the value, id or unit allows no reading.
    pub fn to_reading(&self) -> Result<Reading, Unmapped> {
        let value = match self.value.value() {
            FloatValue::Number(v) => v,
            special => return Err(Unmapped::NoValue(special)),
        };
        let metric = self.metric().ok_or(Unmapped::UnknownPhysioId)?;
        let unit = self.unit().ok_or(Unmapped::UnknownUnit)?;
        Ok(Reading {
            metric,
            value,
            unit,
            device_time: None,
            validity: self.state.validity(),
        })
    }
}

/// Decodes a compound value `{u16 count, u16 length, NuObsValue × count}`.
///
/// # Errors
///
/// A length that is not `count × 10` or not what is present.
pub fn decode_compound(bytes: &[u8]) -> Result<Vec<NumericValue>, IntellivueError> {
    let mut r = Reader::new(bytes, "compound value");
    let count = usize::from(r.u16()?);
    let body = r.rest_with_u16_length()?;
    let found = body.len() / NU_OBS_VALUE_LEN;
    if found != count || body.len() % NU_OBS_VALUE_LEN != 0 {
        return Err(IntellivueError::BadCount {
            item: "compound value",
            declared: count,
            found,
        });
    }
    body.chunks(NU_OBS_VALUE_LEN)
        .map(NumericValue::from_bytes)
        .collect()
}

/// Encodes a compound value.
///
/// # Errors
///
/// [`IntellivueError::TooLong`] beyond 6 553 members.
pub fn encode_compound(values: &[NumericValue]) -> Result<Vec<u8>, IntellivueError> {
    let body: Vec<u8> = values.iter().flat_map(NumericValue::to_bytes).collect();
    let mut out = u16_len("compound count", values.len())?
        .to_be_bytes()
        .to_vec();
    put_with_u16_length(&mut out, "compound value", &body)?;
    Ok(out)
}

/// An attribute kept as it came: unknown, or known but not decodable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawAttribute {
    /// The attribute id.
    pub id: u16,
    /// The value bytes.
    pub value: Vec<u8>,
}

/// A numeric that gives no reading although it carries a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UnmappedNumeric {
    /// The numeric, with its raw physio id and unit code.
    pub value: NumericValue,
    /// Why it maps to no reading.
    pub reason: Unmapped,
}

/// The decoded attribute list of one numeric object. Nothing is dropped:
/// every attribute lands in a typed field or in [`Self::other`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NumericObservation {
    /// Every NU_VAL_OBS, in order.
    pub values: Vec<NumericValue>,
    /// Every NU_CMPD_VAL_OBS, each with its members in order.
    pub compounds: Vec<Vec<NumericValue>>,
    /// The relative time stamp, if sent.
    pub relative_time: Option<RelativeTime>,
    /// The absolute time stamp, if sent and valid BCD.
    pub absolute_time: Option<AbsoluteTime>,
    /// Attributes with other ids (the label among them), and known attributes
    /// that failed to decode.
    pub other: Vec<RawAttribute>,
    /// Why each known attribute in `other` failed to decode.
    pub problems: Vec<IntellivueError>,
}

impl NumericObservation {
    /// Decodes a whole attribute list (no bytes may follow it).
    ///
    /// # Errors
    ///
    /// When the list structure itself is broken; a single bad attribute value
    /// only goes to [`Self::other`] and [`Self::problems`].
    pub fn decode(list: &[u8]) -> Result<Self, IntellivueError> {
        let (attributes, used) = parse_attribute_list(list)?;
        if used != list.len() {
            return Err(IntellivueError::BadLength {
                item: "attribute list",
                declared: used,
                available: list.len(),
            });
        }
        Ok(Self::from_attributes(&attributes))
    }

    /// Sorts already split attributes into the typed fields.
    pub fn from_attributes(attributes: &[Attribute<'_>]) -> Self {
        let mut this = Self::default();
        for attribute in attributes {
            if let Err(err) = this.take(attribute) {
                this.problems.push(err);
                this.keep_raw(attribute);
            }
        }
        this
    }

    fn take(&mut self, attribute: &Attribute<'_>) -> Result<(), IntellivueError> {
        let mut r = Reader::new(attribute.value, "time stamp");
        match attribute.id {
            ATTR_NU_VAL_OBS => self.values.push(NumericValue::from_bytes(attribute.value)?),
            ATTR_NU_CMPD_VAL_OBS => self.compounds.push(decode_compound(attribute.value)?),
            ATTR_TIME_STAMP_REL => self.relative_time = Some(RelativeTime(r.u32()?)),
            ATTR_TIME_STAMP_ABS => {
                self.absolute_time = Some(AbsoluteTime::from_bcd(r.bytes8()?)?);
            }
            _ => self.keep_raw(attribute),
        }
        Ok(())
    }

    fn keep_raw(&mut self, attribute: &Attribute<'_>) {
        self.other.push(RawAttribute {
            id: attribute.id,
            value: attribute.value.to_vec(),
        });
    }

    /// Every numeric value: the single ones, then the compound members.
    pub fn numerics(&self) -> impl Iterator<Item = &NumericValue> + '_ {
        self.values.iter().chain(self.compounds.iter().flatten())
    }

    /// The numerics that map to readings.
    pub fn readings(&self) -> Vec<Reading> {
        self.numerics()
            .filter_map(|v| v.to_reading().ok())
            .collect()
    }

    /// The numerics that carry a number but map to no reading, with their raw
    /// codes, so that nothing the device measured is lost.
    pub fn unmapped(&self) -> Vec<UnmappedNumeric> {
        self.numerics()
            .filter_map(|&value| match value.to_reading() {
                Ok(_) | Err(Unmapped::NoValue(_)) => None,
                Err(reason) => Some(UnmappedNumeric { value, reason }),
            })
            .collect()
    }
}
