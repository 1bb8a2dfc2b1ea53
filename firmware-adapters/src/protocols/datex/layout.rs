//! The wire layout of the basic physiological class: groups, fields, scales,
//! label codes and status codes.
//!
//! The basic class is a run of groups. Each group is a 6-byte header (u32
//! status, u16 label) followed by its values, consecutive little-endian i16s.
//! [`GROUPS`] lists each group's start offset and its fields in order, so the
//! offset of field `k` of a group is `start + 6 + 2k`. The groups follow each
//! other without gaps, as a test checks. That rule reproduces every offset that
//! devices.md 2.1 gives; for O2, N2O and AA it only names the fields ("et, fi,
//! +mac_sum for AA"), so their offsets follow from that rule alone.

/// Values below this are status codes, not measurements.
pub const STATUS_LIMIT: i16 = -32001;
/// The status code for "invalid or no data".
pub const NO_DATA: i16 = -32767;
/// Bytes of a group header: u32 status, u16 label.
pub(crate) const GROUP_HEADER_BYTES: usize = 6;

/// How a raw i16 becomes a physical value: `raw / divisor`, in `ucum`. A scale
/// of 0.01 is a divisor of 100: dividing gives the double nearest the decimal
/// value the monitor meant (37.05, not 37.050000000000004).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// What the raw value is divided by.
    pub divisor: f64,
    /// The UCUM code of the result.
    pub ucum: &'static str,
}

const fn scale(divisor: f64, ucum: &'static str) -> Option<Scale> {
    Some(Scale { divisor, ucum })
}

const PER_MIN: Option<Scale> = scale(1.0, "/min");
const CENTI_MMHG: Option<Scale> = scale(100.0, "mm[Hg]");
const DECI_MMHG: Option<Scale> = scale(10.0, "mm[Hg]");
const CENTI_MM: Option<Scale> = scale(100.0, "mm");
const CENTI_CEL: Option<Scale> = scale(100.0, "Cel");
const CENTI_PCT: Option<Scale> = scale(100.0, "%");
const CENTI_CMH2O: Option<Scale> = scale(100.0, "cm[H2O]");
const DECI_ML: Option<Scale> = scale(10.0, "mL");
const CENTI_L_MIN: Option<Scale> = scale(100.0, "L/min");
/// devices.md gives no scale: the value is kept raw only.
const UNDOCUMENTED: Option<Scale> = None;

pub(crate) type FieldSpec = (&'static str, Option<Scale>);

const ECG: &[FieldSpec] = &[
    ("hr", PER_MIN),
    ("st1", CENTI_MM),
    ("st2", CENTI_MM),
    ("st3", CENTI_MM),
    ("imp_rr", PER_MIN),
];
const PRESSURE: &[FieldSpec] = &[
    ("sys", CENTI_MMHG),
    ("dia", CENTI_MMHG),
    ("mean", CENTI_MMHG),
    ("hr", UNDOCUMENTED),
];
const TEMPERATURE: &[FieldSpec] = &[("temp", CENTI_CEL)];
const SPO2: &[FieldSpec] = &[
    ("spo2", CENTI_PCT),
    ("pr", PER_MIN),
    ("ir_amp", UNDOCUMENTED),
    ("svo2", UNDOCUMENTED),
];
// CO2 rr scale: devices.md 2.7 ("co2.rr ... x1").
const CO2: &[FieldSpec] = &[
    ("et", CENTI_PCT),
    ("fi", CENTI_PCT),
    ("rr", PER_MIN),
    ("amb_press", DECI_MMHG),
];
const GAS: &[FieldSpec] = &[("et", CENTI_PCT), ("fi", CENTI_PCT)];
const AA: &[FieldSpec] = &[
    ("et", CENTI_PCT),
    ("fi", CENTI_PCT),
    ("mac_sum", UNDOCUMENTED),
];
const FLOW_VOL: &[FieldSpec] = &[
    ("rr", UNDOCUMENTED),
    ("ppeak", CENTI_CMH2O),
    ("peep", CENTI_CMH2O),
    ("pplat", CENTI_CMH2O),
    ("tv_insp", DECI_ML),
    ("tv_exp", DECI_ML),
    ("compliance", UNDOCUMENTED),
    ("mv_exp", CENTI_L_MIN),
];

/// A group of the basic class. Invasive pressures and temperatures are numbered
/// from 1 as on the monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    /// ECG: heart rate, ST levels, impedance respiration rate.
    Ecg,
    /// Invasive pressure channel P1-P4; its label says which pressure.
    Invasive(u8),
    /// Non-invasive blood pressure.
    Nibp,
    /// Temperature channel T1-T4.
    Temperature(u8),
    /// Pulse oximetry.
    Spo2,
    /// Airway CO2 with respiration rate and ambient pressure.
    Co2,
    /// Airway O2.
    O2,
    /// Airway N2O.
    N2o,
    /// Anaesthetic agent.
    Aa,
    /// Airway flow and volume.
    FlowVolume,
}

pub(crate) struct GroupSpec {
    pub(crate) group: Group,
    /// Offset in the subrecord (class offset + 4), devices.md 2.1.
    pub(crate) at: usize,
    pub(crate) fields: &'static [FieldSpec],
}

const fn g(group: Group, at: usize, fields: &'static [FieldSpec]) -> GroupSpec {
    GroupSpec { group, at, fields }
}

/// The decoded groups of the basic class, in wire order (devices.md 2.1). The
/// rest of the class (CO/wedge, NMT, ECG extra, SvO2, P5, P6) has no offsets
/// there and is not decoded.
pub(crate) const GROUPS: [GroupSpec; 16] = [
    g(Group::Ecg, 4, ECG),
    g(Group::Invasive(1), 20, PRESSURE),
    g(Group::Invasive(2), 34, PRESSURE),
    g(Group::Invasive(3), 48, PRESSURE),
    g(Group::Invasive(4), 62, PRESSURE),
    g(Group::Nibp, 76, PRESSURE),
    g(Group::Temperature(1), 90, TEMPERATURE),
    g(Group::Temperature(2), 98, TEMPERATURE),
    g(Group::Temperature(3), 106, TEMPERATURE),
    g(Group::Temperature(4), 114, TEMPERATURE),
    g(Group::Spo2, 122, SPO2),
    g(Group::Co2, 136, CO2),
    g(Group::O2, 150, GAS),
    g(Group::N2o, 160, GAS),
    g(Group::Aa, 170, AA),
    g(Group::FlowVolume, 182, FLOW_VOL),
];

/// Invasive pressure label codes named in devices.md 2.1 (others stay numbers).
const PRESSURE_LABELS: &[(u16, &str)] = &[
    (1, "ART"),
    (2, "CVP"),
    (3, "PA"),
    (4, "RAP"),
    (5, "RVP"),
    (6, "LAP"),
    (7, "ICP"),
    (8, "ABP"),
    (22, "FEMV"),
];

/// The name of an invasive pressure label code, where devices.md gives one.
pub fn pressure_label_name(label: u16) -> Option<&'static str> {
    PRESSURE_LABELS
        .iter()
        .find(|&&(code, _)| code == label)
        .map(|&(_, name)| name)
}

/// Every field: group, name, offset in the subrecord, scale.
pub(crate) fn layout() -> impl Iterator<Item = (Group, &'static str, usize, Option<Scale>)> {
    GROUPS.iter().flat_map(|spec| {
        let first = spec.at + GROUP_HEADER_BYTES;
        (spec.fields.iter().enumerate())
            .map(move |(k, &(name, scale))| (spec.group, name, first + 2 * k, scale))
    })
}

/// A raw value: a measurement or a status code (values below -32001).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriValue {
    /// A measurement, raw (apply the field's [`Scale`]).
    Number(i16),
    /// A status code instead of a measurement.
    Status(DriStatus),
}

/// Why a field holds no measurement (devices.md 2.1, "Invalid markers").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriStatus {
    /// -32767: invalid or no data.
    NoData,
    /// -32766: not updated.
    NotUpdated,
    /// -32765: discontinuity.
    Discontinuity,
    /// -32764: under the measuring range.
    UnderRange,
    /// -32763: over the measuring range.
    OverRange,
    /// -32762: not calibrated.
    NotCalibrated,
    /// Another code below -32001, not named in the sources.
    Other(i16),
}

impl DriValue {
    /// Classifies a raw field value.
    pub fn from_raw(raw: i16) -> Self {
        if raw >= STATUS_LIMIT {
            return Self::Number(raw);
        }
        Self::Status(match raw {
            -32767 => DriStatus::NoData,
            -32766 => DriStatus::NotUpdated,
            -32765 => DriStatus::Discontinuity,
            -32764 => DriStatus::UnderRange,
            -32763 => DriStatus::OverRange,
            -32762 => DriStatus::NotCalibrated,
            other => DriStatus::Other(other),
        })
    }
}

#[cfg(test)]
pub(crate) fn field_offsets() -> Vec<(Group, &'static str, usize)> {
    layout()
        .map(|(group, name, at, _)| (group, name, at))
        .collect()
}

#[cfg(test)]
pub(crate) fn group_spans() -> Vec<(usize, usize)> {
    let len = |s: &GroupSpec| GROUP_HEADER_BYTES + 2 * s.fields.len();
    GROUPS.iter().map(|s| (s.at, s.at + len(s))).collect()
}
