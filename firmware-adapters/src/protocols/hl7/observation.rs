//! One OBX segment: its coded fields, value, unit, status, time and equipment,
//! and whether it makes a reading.

use std::fmt;

use super::mapping::{mdc_code, metric_for_code, unit_for_code};
use super::{Hl7Error, Hl7Time, Segment};
use crate::{Metric, Reading, Unit, Validity};

/// A coded element (CE/CWE): identifier, text and coding system, with the MDC
/// code it resolves to (from the primary or the alternate identifier).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Code {
    /// Component 1, e.g. `150456` or `0002-4bb8`.
    pub identifier: String,
    /// Component 2, e.g. `MDC_PULS_OXIM_SAT_O2`.
    pub text: String,
    /// Component 3, e.g. `MDC`, `MDIL`, a vendor's `99XXX`, `UCUM`.
    pub system: String,
    /// The MDC numeric code, when MDC or MDIL coding gives one.
    pub mdc: Option<u32>,
}

impl Code {
    fn read(segment: &Segment, field: usize) -> Option<Self> {
        let c = segment.components(field);
        let get = |i: usize| c.get(i).map_or("", |s| s.as_ref());
        if get(0).is_empty() && get(1).is_empty() {
            return None;
        }
        let alternate = || mdc_code(get(3), get(4), get(5)).filter(|_| !get(3).is_empty());
        Some(Self {
            identifier: get(0).to_owned(),
            text: get(1).to_owned(),
            system: get(2).to_owned(),
            mdc: mdc_code(get(0), get(1), get(2)).or_else(alternate),
        })
    }

    /// The unit this code names: by MDC code, else a UCUM code (or a common
    /// spelling) in the identifier or text.
    fn unit(&self) -> Option<Unit> {
        let by_name = || {
            [&self.identifier, &self.text]
                .into_iter()
                .find_map(|s| s.parse().ok())
        };
        self.mdc.and_then(unit_for_code).or_else(by_name)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}^{}^{}", self.identifier, self.text, self.system)
    }
}

/// OBX-5, by OBX-2 value type.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservationValue {
    /// No value (a device or channel row, or "cannot be obtained").
    Empty,
    /// An NM value.
    Numeric(f64),
    /// Any other value type, as sent (escapes and delimiters included).
    Text(String),
}

/// OBX-18: the equipment that made the observation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EquipmentId {
    /// An EUI-64 (16 hexadecimal digits).
    Eui64(u64),
    /// Any other identifier, as sent.
    Other(String),
}

impl fmt::Display for EquipmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Eui64(id) => write!(f, "{id:016X}"),
            Self::Other(id) => f.write_str(id),
        }
    }
}

/// Why an observation gave no reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmapped {
    /// OBX-5 is empty.
    NoValue,
    /// OBX-3 maps to no metric.
    UnknownCode,
    /// The value is not NM.
    NotNumeric,
    /// OBX-6 is missing or names no unit this gateway knows.
    UnknownUnit,
}

/// One OBX segment, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// OBX-1 set id.
    pub set_id: String,
    /// OBX-2 value type (`NM`, `ST`, ... or empty for device rows).
    pub value_type: String,
    /// OBX-3 observation identifier.
    pub code: Code,
    /// OBX-4 sub-id, in PCD-01 `<MDS>.<VMD>.<channel>.<metric>`, as sent.
    pub sub_id: String,
    /// OBX-5.
    pub value: ObservationValue,
    /// OBX-6 units, with the resolved unit when known.
    pub unit: Option<(Code, Option<Unit>)>,
    /// OBX-11 result status (`R`, `F`, `X`, ...).
    pub status: String,
    /// OBX-14, or else the OBR-7 of the enclosing order.
    pub time: Option<Hl7Time>,
    /// OBX-18.
    pub equipment: Option<EquipmentId>,
    /// The metric OBX-3 maps to.
    pub metric: Option<Metric>,
}

impl Observation {
    pub(crate) fn read(obx: &Segment, obr_time: Option<Hl7Time>) -> Result<Self, Hl7Error> {
        let code = Code::read(obx, 3).ok_or_else(|| Hl7Error::MissingField {
            at: obx.location(3),
        })?;
        let value_type = obx.value(2)?.into_owned();
        let metric = code.mdc.and_then(metric_for_code);
        Ok(Self {
            set_id: obx.value(1)?.into_owned(),
            value: read_value(obx, &value_type)?,
            value_type,
            code,
            sub_id: obx.raw(4).to_owned(),
            unit: Code::read(obx, 6).map(|u| {
                let unit = u.unit();
                (u, unit)
            }),
            status: obx.value(11)?.into_owned(),
            time: read_time(obx, 14)?.or(obr_time),
            equipment: read_equipment(obx),
            metric,
        })
    }

    /// The device's opinion: OBX-11 `X` (cannot be obtained), `D` (deleted) and
    /// `W` (wrong) make the value invalid.
    pub fn validity(&self) -> Validity {
        match self.status.as_str() {
            "X" | "D" | "W" => Validity::Invalid,
            _ => Validity::Valid,
        }
    }

    /// The observation as a reading, or why it is not one.
    ///
    /// # Errors
    ///
    /// The [`Unmapped`] reason when the value, code or unit does not allow one.
    pub fn to_reading(&self, assumed_offset: Option<i32>) -> Result<Reading, Unmapped> {
        let value = match &self.value {
            ObservationValue::Empty => return Err(Unmapped::NoValue),
            ObservationValue::Text(_) => return Err(Unmapped::NotNumeric),
            ObservationValue::Numeric(v) => *v,
        };
        let metric = self.metric.ok_or(Unmapped::UnknownCode)?;
        let unit = self
            .unit
            .as_ref()
            .and_then(|(_, u)| *u)
            .ok_or(Unmapped::UnknownUnit)?;
        Ok(Reading {
            metric,
            value,
            unit,
            device_time: self.time.and_then(|t| t.to_system_time(assumed_offset)),
            validity: self.validity(),
        })
    }
}

fn read_value(obx: &Segment, value_type: &str) -> Result<ObservationValue, Hl7Error> {
    if value_type != "NM" {
        let raw = obx.raw(5);
        return Ok(if raw.is_empty() {
            ObservationValue::Empty
        } else {
            ObservationValue::Text(raw.to_owned())
        });
    }
    let text = obx.value(5)?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(ObservationValue::Empty);
    }
    parse_nm(text)
        .map(ObservationValue::Numeric)
        .ok_or_else(|| Hl7Error::BadField {
            at: obx.location(5),
            value: obx.raw(5).to_owned(),
            reason: "not an NM number",
        })
}

/// HL7 NM: optional sign, digits, optional decimal point; no exponent.
fn parse_nm(text: &str) -> Option<f64> {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let ok = !(int.is_empty() && frac.is_empty()) && digits(int) && digits(frac);
    ok.then(|| text.parse().ok()).flatten()
}

pub(crate) fn read_time(segment: &Segment, field: usize) -> Result<Option<Hl7Time>, Hl7Error> {
    let text = segment.value(field)?;
    if text.is_empty() {
        return Ok(None);
    }
    Hl7Time::parse(&text)
        .map(Some)
        .map_err(|reason| Hl7Error::BadField {
            at: segment.location(field),
            value: text.into_owned(),
            reason,
        })
}

/// OBX-18 as EI (`entity ^ namespace ^ universal id ^ type`): the EUI-64 from
/// the universal id when typed `EUI-64`, or from the entity id.
fn read_equipment(obx: &Segment) -> Option<EquipmentId> {
    let c = obx.components(18);
    let get = |i: usize| c.get(i).map_or("", |s| s.as_ref());
    let typed = (get(3) == "EUI-64").then(|| get(2));
    let eui = typed.into_iter().chain([get(0)]).find_map(|s| {
        let hex = s.len() == 16 && s.bytes().all(|b| b.is_ascii_hexdigit());
        hex.then(|| u64::from_str_radix(s, 16).ok()).flatten()
    });
    let other = || {
        c.iter()
            .find(|s| !s.is_empty())
            .map(|s| EquipmentId::Other(s.clone().into_owned()))
    };
    eui.map(EquipmentId::Eui64).or_else(other)
}
