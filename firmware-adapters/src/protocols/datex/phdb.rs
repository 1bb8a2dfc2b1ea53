//! PHDB physiological subrecords and the decoded basic class (displayed
//! values), with the mapping of its fields to the vocabulary. The layout is in
//! `layout.rs`.

use super::layout::{layout, GROUPS, NO_DATA};
use super::record::{le_i16, le_u16, le_u32};
use super::{DatexError, DriRecord, DriValue, Group, MainType, Scale};
use crate::{Metric, Reading, Unit, Validity};

/// Length of a physiological subrecord.
pub const PHYSIOLOGICAL_BYTES: usize = 278;

const MARKER_AT: usize = 274;
const CLASS_INFO_AT: usize = 276;

// === impl PhysiologicalSubrecord ===

/// Which class a physiological subrecord carries (bits 8-11 of its class word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhdbClass {
    /// 0: basic.
    Basic,
    /// 1: extended class 1.
    Ext1,
    /// 2: extended class 2.
    Ext2,
    /// 3: extended class 3.
    Ext3,
    /// Any other value.
    Other(u8),
}

/// One 278-byte physiological subrecord: u32 time, 270-byte class data, u8
/// marker, u8 reserved, u16 `cl_drilvl_subt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhysiologicalSubrecord {
    bytes: Vec<u8>,
}

impl PhysiologicalSubrecord {
    /// Reads the first 278 bytes of a subrecord.
    ///
    /// # Errors
    ///
    /// [`DatexError::ShortSubrecord`] when fewer arrived.
    pub fn parse(data: &[u8]) -> Result<Self, DatexError> {
        let bytes = data
            .get(..PHYSIOLOGICAL_BYTES)
            .ok_or(DatexError::ShortSubrecord {
                len: data.len(),
                expected: PHYSIOLOGICAL_BYTES,
            })?;
        Ok(Self {
            bytes: bytes.to_vec(),
        })
    }

    /// Seconds since 1970 on the monitor clock (time zone not stated).
    pub fn time(&self) -> u32 {
        le_u32(&self.bytes, 0)
    }

    /// The marker byte, raw.
    pub fn marker(&self) -> u8 {
        self.bytes.get(MARKER_AT).copied().unwrap_or_default()
    }

    /// `cl_drilvl_subt`, raw; bits 8-11 are the class.
    pub fn class_info(&self) -> u16 {
        le_u16(&self.bytes, CLASS_INFO_AT)
    }

    /// The class this subrecord carries.
    pub fn class(&self) -> PhdbClass {
        let [_, high] = self.class_info().to_le_bytes();
        match high & 0x0F {
            0 => PhdbClass::Basic,
            1 => PhdbClass::Ext1,
            2 => PhdbClass::Ext2,
            3 => PhdbClass::Ext3,
            other => PhdbClass::Other(other),
        }
    }

    /// The 278 bytes as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The basic-class values, or `None` for another class.
    pub fn basic(&self) -> Option<BasicValues> {
        (self.class() == PhdbClass::Basic).then(|| BasicValues::decode(&self.bytes))
    }
}

impl DriRecord {
    /// The physiological subrecords of a PHDB record.
    ///
    /// # Errors
    ///
    /// [`DatexError::NotPhdb`] for another main type; [`DatexError::ShortSubrecord`]
    /// when a subrecord is shorter than 278 bytes.
    pub fn physiological(&self) -> Result<Vec<PhysiologicalSubrecord>, DatexError> {
        if self.header.main_type != MainType::Phdb {
            return Err(DatexError::NotPhdb {
                main_type: self.header.main_type.raw(),
            });
        }
        (self.subrecords.iter())
            .map(|sub| PhysiologicalSubrecord::parse(&sub.data))
            .collect()
    }
}

// === impl BasicValues ===

/// A group's header: status bits and label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupHeader {
    /// Which group.
    pub group: Group,
    /// Status bits, raw; see [`Self::EXISTS`] and [`Self::ACTIVE`].
    pub status: u32,
    /// Label code (for invasive pressures: 1 ART, 2 CVP, ... 8 ABP).
    pub label: u16,
}

impl GroupHeader {
    /// Status bit 0: the parameter exists.
    pub const EXISTS: u32 = 0x0001;
    /// Status bit 1: the parameter is active.
    pub const ACTIVE: u32 = 0x0002;

    /// Whether the monitor reports the parameter as existing.
    pub fn exists(&self) -> bool {
        self.status & Self::EXISTS != 0
    }

    /// Whether the monitor reports the parameter as active.
    pub fn active(&self) -> bool {
        self.status & Self::ACTIVE != 0
    }
}

/// One field of the basic class, raw, with its documented scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BasicField {
    /// The group it belongs to.
    pub group: Group,
    /// The DRI field name (`hr`, `sys`, `et`, ...).
    pub name: &'static str,
    /// The value as sent.
    pub raw: i16,
    /// How to scale it; `None` where devices.md gives no scale.
    pub scale: Option<Scale>,
}

impl BasicField {
    /// The value, or the status code sent in its place.
    pub fn value(&self) -> DriValue {
        DriValue::from_raw(self.raw)
    }

    /// The scaled value, when it is a measurement with a documented scale.
    pub fn physical(&self) -> Option<f64> {
        match (self.value(), self.scale) {
            (DriValue::Number(raw), Some(scale)) => Some(f64::from(raw) / scale.divisor),
            _ => None,
        }
    }
}

/// The decoded basic class: every group header and every field, in wire order.
#[derive(Debug, Clone, PartialEq)]
pub struct BasicValues {
    groups: Vec<GroupHeader>,
    fields: Vec<BasicField>,
}

impl Default for BasicValues {
    /// All groups absent (status 0, label 0), every field "no data": the start
    /// for a simulated monitor.
    fn default() -> Self {
        let mut values = Self::decode(&[0; PHYSIOLOGICAL_BYTES]);
        for field in &mut values.fields {
            field.raw = NO_DATA;
        }
        values
    }
}

impl BasicValues {
    fn decode(bytes: &[u8]) -> Self {
        let groups = (GROUPS.iter())
            .map(|spec| GroupHeader {
                group: spec.group,
                status: le_u32(bytes, spec.at),
                label: le_u16(bytes, spec.at + 4),
            })
            .collect();
        let fields = layout()
            .map(|(group, name, at, scale)| BasicField {
                group,
                name,
                raw: le_i16(bytes, at),
                scale,
            })
            .collect();
        Self { groups, fields }
    }

    /// The group headers, in wire order.
    pub fn groups(&self) -> &[GroupHeader] {
        &self.groups
    }

    /// One group's header.
    pub fn group(&self, group: Group) -> Option<&GroupHeader> {
        self.groups.iter().find(|h| h.group == group)
    }

    /// Every field, in wire order.
    pub fn fields(&self) -> &[BasicField] {
        &self.fields
    }

    /// One field by group and DRI name.
    pub fn field(&self, group: Group, name: &str) -> Option<&BasicField> {
        self.fields
            .iter()
            .find(|f| f.group == group && f.name == name)
    }

    /// Sets a group's status and label; `false` if there is no such group.
    pub fn set_group(&mut self, group: Group, status: u32, label: u16) -> bool {
        let header = self.groups.iter_mut().find(|h| h.group == group);
        header
            .map(|h| (h.status, h.label) = (status, label))
            .is_some()
    }

    /// Sets a field's raw value; `false` if there is no such field.
    pub fn set(&mut self, group: Group, name: &str, raw: i16) -> bool {
        let field = (self.fields.iter_mut()).find(|f| f.group == group && f.name == name);
        field.map(|f| f.raw = raw).is_some()
    }

    /// The 278-byte basic-class subrecord (marker 0, class word 0).
    pub fn to_bytes(&self, time: u32) -> Vec<u8> {
        let mut out = vec![0u8; PHYSIOLOGICAL_BYTES];
        put(&mut out, 0, &time.to_le_bytes());
        for (spec, header) in GROUPS.iter().zip(&self.groups) {
            put(&mut out, spec.at, &header.status.to_le_bytes());
            put(&mut out, spec.at + 4, &header.label.to_le_bytes());
        }
        for ((.., at, _), field) in layout().zip(&self.fields) {
            put(&mut out, at, &field.raw.to_le_bytes());
        }
        out
    }

    /// The values that map to the vocabulary, as readings. See the module docs
    /// for the mapping and for validity.
    pub fn readings(&self) -> Vec<Reading> {
        self.fields.iter().filter_map(|f| self.reading(f)).collect()
    }

    /// The measurements that gave no reading (no metric in the vocabulary, an
    /// undocumented scale, or an EtCO2 without ambient pressure), kept raw so
    /// nothing the monitor sent is lost. [`Self::group`] gives their labels.
    pub fn unmapped(&self) -> Vec<&BasicField> {
        (self.fields.iter())
            .filter(|f| matches!(f.value(), DriValue::Number(_)) && self.reading(f).is_none())
            .collect()
    }

    fn reading(&self, field: &BasicField) -> Option<Reading> {
        let header = self.group(field.group)?;
        let (metric, unit) = metric_for(field.group, field.name, header.label)?;
        let value = if metric == Metric::EtCo2 {
            // devices.md 2.1: EtCO2 mmHg = et x amb x 1e-5 (raw values).
            let amb = self.field(Group::Co2, "amb_press")?.value();
            match (field.value(), amb) {
                (DriValue::Number(et), DriValue::Number(amb)) => {
                    f64::from(et) * f64::from(amb) / 100_000.0
                }
                _ => return None,
            }
        } else {
            field.physical()?
        };
        let validity = if header.exists() {
            Validity::Valid
        } else {
            Validity::Questionable
        };
        Some(Reading {
            metric,
            value,
            unit,
            device_time: None,
            validity,
        })
    }
}

/// The metric and unit of a field, given its group's label.
fn metric_for(group: Group, name: &str, label: u16) -> Option<(Metric, Unit)> {
    let arterial = matches!(label, 1 | 8);
    let mapped = match (group, name) {
        (Group::Ecg, "hr") => (Metric::HeartRate, Unit::PerMinute),
        (Group::Ecg, "imp_rr") | (Group::Co2, "rr") => (Metric::RespiratoryRate, Unit::PerMinute),
        (Group::Invasive(_), "sys") if arterial => (Metric::ArterialSystolic, Unit::MmHg),
        (Group::Invasive(_), "dia") if arterial => (Metric::ArterialDiastolic, Unit::MmHg),
        (Group::Invasive(_), "mean") if arterial => (Metric::ArterialMean, Unit::MmHg),
        (Group::Nibp, "sys") => (Metric::NibpSystolic, Unit::MmHg),
        (Group::Nibp, "dia") => (Metric::NibpDiastolic, Unit::MmHg),
        (Group::Nibp, "mean") => (Metric::NibpMean, Unit::MmHg),
        (Group::Spo2, "spo2") => (Metric::Spo2, Unit::Percent),
        (Group::Spo2, "pr") => (Metric::PulseRate, Unit::PerMinute),
        (Group::Co2, "et") => (Metric::EtCo2, Unit::MmHg),
        _ => return None,
    };
    Some(mapped)
}

fn put(out: &mut [u8], at: usize, bytes: &[u8]) {
    if let Some(slot) = out.get_mut(at..at + bytes.len()) {
        slot.copy_from_slice(bytes);
    }
}
