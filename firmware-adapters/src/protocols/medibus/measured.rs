//! Code page 1 measured data: 6-byte items, the code table and readings.
//!
//! A measured-data response (`SOH 0x24 ... checksum CR`) holds items of two hex
//! characters (the code) and four ASCII characters (the value, right-aligned,
//! with digits, `.`, `-` and spaces). A value that is not a number is missing.

use super::{Command, FrameKind, MedibusError, MedibusFrame};
use crate::{Metric, Reading, Unit, Validity};

/// Bytes per measured-data item.
pub const ITEM_BYTES: usize = 6;
/// Characters of an item's value.
pub const VALUE_CHARS: usize = 4;

/// What a code page 1 code measures, as far as the sources say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cp1Code {
    /// The code.
    pub code: u8,
    /// What it measures.
    pub name: &'static str,
    /// The unit of its value (UCUM), where the source gives one.
    pub ucum: Option<&'static str>,
    /// The metric and unit of its readings, if it maps to the vocabulary.
    pub metric: Option<(Metric, Unit)>,
}

const fn c(
    code: u8,
    name: &'static str,
    ucum: &'static str,
    metric: Option<(Metric, Unit)>,
) -> Cp1Code {
    let ucum = if ucum.is_empty() { None } else { Some(ucum) };
    Cp1Code {
        code,
        name,
        ucum,
        metric,
    }
}

const PULSE: Option<(Metric, Unit)> = Some((Metric::PulseRate, Unit::PerMinute));
const RESP: Option<(Metric, Unit)> = Some((Metric::RespiratoryRate, Unit::PerMinute));

/// The code page 1 codes devices.md 2.3 lists (from OpenICE's
/// `measured-data-cp1.map`). See the module docs of [`super`] for why each
/// unmapped code stays raw.
pub const CP1_CODES: &[Cp1Code] = &[
    c(0xE1, "pulse rate (oximeter)", "/min", PULSE),
    c(0xEB, "SpO2", "%", Some((Metric::Spo2, Unit::Percent))),
    c(0xDF, "derived pulse rate", "/min", None),
    c(0xD6, "respiratory rate", "/min", RESP),
    c(0xD5, "respiratory rate from CO2", "/min", RESP),
    c(0xE6, "etCO2", "mm[Hg]", Some((Metric::EtCo2, Unit::MmHg))),
    c(
        0xE3,
        "etCO2",
        "kPa",
        Some((Metric::EtCo2, Unit::KiloPascal)),
    ),
    c(0xDB, "etCO2", "%", None),
    c(0xF0, "inspiratory O2", "%", None),
    c(0xEF, "expiratory O2", "%", None),
    c(0x7D, "peak airway pressure", "mbar", None),
    c(0x78, "PEEP", "mbar", None),
    c(0x74, "plateau pressure", "mbar", None),
    c(0x73, "mean airway pressure", "mbar", None),
    c(0x88, "tidal volume", "mL", None),
    c(0xB8, "minute volume", "", None),
    c(0x6B, "ambient pressure", "mbar", None),
];

/// The table entry of a code page 1 code, if devices.md lists it.
pub fn cp1_code(code: u8) -> Option<&'static Cp1Code> {
    CP1_CODES.iter().find(|entry| entry.code == code)
}

/// One measured-data item: a code and its value text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeasuredItem {
    /// The code page 1 code.
    pub code: u8,
    /// The value as sent: up to four printable characters, padding spaces
    /// included on receive, right-aligned with spaces on send.
    pub value: String,
}

impl MeasuredItem {
    /// An item for a number shown with `decimals` digits after the point, if
    /// it fits the four characters.
    pub fn from_number(code: u8, value: f64, decimals: usize) -> Option<Self> {
        let value = format!("{value:.decimals$}");
        (value.len() <= VALUE_CHARS).then_some(Self { code, value })
    }

    /// The value, or `None` when it is not a number (dashes, blanks).
    pub fn number(&self) -> Option<f64> {
        let text = self.value.trim_matches(' ');
        let digits = text.strip_prefix('-').unwrap_or(text);
        let points = digits.bytes().filter(|&b| b == b'.').count();
        let shape_ok = points <= 1
            && digits.bytes().any(|b| b.is_ascii_digit())
            && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        shape_ok.then(|| text.parse().ok()).flatten()
    }

    /// The code's table entry, if devices.md lists it.
    pub fn describe(&self) -> Option<&'static Cp1Code> {
        cp1_code(self.code)
    }

    /// The metric and unit this item's readings have, if any.
    pub fn metric(&self) -> Option<(Metric, Unit)> {
        self.describe().and_then(|entry| entry.metric)
    }
}

/// A decoded code page 1 measured-data response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MeasuredData {
    /// The items, in the order sent.
    pub items: Vec<MeasuredItem>,
}

impl MeasuredData {
    /// Decodes the data of a measured-data response.
    ///
    /// # Errors
    ///
    /// [`MedibusError::BadDataLength`] unless the data is whole 6-byte items;
    /// [`MedibusError::BadItem`] for a code that is not two hex digits or a
    /// value that is not printable ASCII.
    pub fn parse(data: &[u8]) -> Result<Self, MedibusError> {
        if data.len() % ITEM_BYTES != 0 {
            return Err(MedibusError::BadDataLength { len: data.len() });
        }
        let items = (data.chunks(ITEM_BYTES).enumerate())
            .map(|(index, item)| parse_item(item).ok_or(MedibusError::BadItem { index }))
            .collect::<Result<_, _>>()?;
        Ok(Self { items })
    }

    /// Decodes a frame that should be a code page 1 measured-data response.
    ///
    /// # Errors
    ///
    /// [`MedibusError::NotMeasuredData`] for any other frame; then as
    /// [`Self::parse`].
    pub fn from_frame(frame: &MedibusFrame) -> Result<Self, MedibusError> {
        let wanted = Command::MeasuredCp1.code();
        if frame.kind != FrameKind::Response || frame.command != wanted {
            let command = frame.command;
            return Err(MedibusError::NotMeasuredData { command });
        }
        Self::parse(&frame.data)
    }

    /// The response data: each item as two upper-case hex digits and its value
    /// right-aligned in four characters.
    ///
    /// # Errors
    ///
    /// [`MedibusError::ValueTooLong`] for a value of more than four characters
    /// or with a byte that is not printable ASCII.
    pub fn to_data(&self) -> Result<Vec<u8>, MedibusError> {
        let mut out = Vec::with_capacity(self.items.len() * ITEM_BYTES);
        for item in &self.items {
            let printable = item.value.bytes().all(|b| (0x20..0x7F).contains(&b));
            if item.value.len() > VALUE_CHARS || !printable {
                let value = item.value.clone();
                return Err(MedibusError::ValueTooLong { value });
            }
            let field = format!("{:02X}{:>4}", item.code, item.value);
            out.extend_from_slice(field.as_bytes());
        }
        Ok(out)
    }

    /// The whole response frame, ready for the wire (for a simulated device).
    ///
    /// # Errors
    ///
    /// As [`Self::to_data`].
    pub fn to_frame(&self) -> Result<Vec<u8>, MedibusError> {
        MedibusFrame::response(Command::MeasuredCp1, &self.to_data()?).to_bytes()
    }

    /// The items with a number and a mapped code, as readings. Medibus code
    /// page 1 carries no validity, so every reading is `Valid`.
    pub fn readings(&self) -> Vec<Reading> {
        let to_reading = |item: &MeasuredItem| {
            let (metric, unit) = item.metric()?;
            Some(Reading {
                metric,
                value: item.number()?,
                unit,
                device_time: None,
                validity: Validity::Valid,
            })
        };
        self.items.iter().filter_map(to_reading).collect()
    }

    /// The items with a number that gave no reading (unknown or unmapped code),
    /// kept raw so nothing the device sent is lost.
    pub fn unmapped(&self) -> Vec<&MeasuredItem> {
        (self.items.iter())
            .filter(|item| item.number().is_some() && item.metric().is_none())
            .collect()
    }
}

fn parse_item(item: &[u8]) -> Option<MeasuredItem> {
    let (code, value) = item.split_at_checked(2)?;
    let code = std::str::from_utf8(code).ok()?;
    if !code.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let code = u8::from_str_radix(code, 16).ok()?;
    if !value.iter().all(|b| (0x20..0x7F).contains(b)) {
        return None;
    }
    let value = String::from_utf8(value.to_vec()).ok()?;
    Some(MeasuredItem { code, value })
}
