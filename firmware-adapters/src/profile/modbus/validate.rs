//! Checks of a `[modbus]` profile section beyond what serde checks: timing,
//! addresses (including vendor reference numbers), types, meanings, overlaps and
//! duplicates. Every problem is reported with its key path.

use std::collections::BTreeMap;

use super::{DataType, ModbusProfile, ModbusValue, Table, MAX_STRING_REGISTERS};
use crate::check::Problem;
use crate::profile::is_identifier;
use crate::Metric;

impl ModbusProfile {
    pub(crate) fn validate(&self, problems: &mut Vec<Problem>) {
        let mut bad =
            |key: &str, msg: String| problems.push(Problem::new(format!("modbus.{key}"), msg));
        for (key, v) in [
            ("poll_interval_ms", self.poll_interval_ms),
            ("timeout_ms", self.timeout_ms),
        ] {
            if v == 0 {
                bad(key, "must be at least 1".into());
            }
        }
        if self.timeout_ms >= self.poll_interval_ms && self.poll_interval_ms > 0 {
            let msg = format!(
                "must be less than poll_interval_ms ({}), or polls would pile up",
                self.poll_interval_ms
            );
            bad("timeout_ms", msg);
        }
        if self.backoff_initial_ms == 0 || self.backoff_initial_ms > self.backoff_max_ms {
            bad(
                "backoff_initial_ms",
                format!(
                    "must be between 1 and backoff_max_ms ({})",
                    self.backoff_max_ms
                ),
            );
        }
        if self.values.is_empty() {
            bad("values", "needs at least one [[modbus.values]]".into());
        }
        for (i, v) in self.values.iter().enumerate() {
            validate_value(v, &format!("modbus.values[{i}]"), problems);
        }
        check_overlaps(&self.values, problems);
        check_duplicates(&self.values, problems);
    }
}

fn validate_value(v: &ModbusValue, path: &str, problems: &mut Vec<Problem>) {
    let mut bad =
        |key: &str, msg: String| problems.push(Problem::new(format!("{path}.{key}"), msg));
    if let Some(msg) = address_problem(v.table, v.address) {
        bad("address", msg);
    } else if v.address + u32::from(v.width()) - 1 > u32::from(u16::MAX) {
        bad(
            "address",
            format!("the value's {} addresses run past 65535", v.width()),
        );
    }
    if v.table.is_bits() {
        for (key, given) in [
            ("type", v.data_type.is_some()),
            ("byte_order", v.byte_order.is_some()),
            ("word_order", v.word_order.is_some()),
            ("bit", v.bit.is_some()),
        ] {
            if given {
                bad(
                    key,
                    format!("a {} is a single bit; leave out {key}", v.table),
                );
            }
        }
    }
    let ty = v.data_type();
    match (ty, v.length_registers) {
        (DataType::String, None) => bad(
            "length_registers",
            "a string needs its length in registers".into(),
        ),
        (DataType::String, Some(n)) if n == 0 || n > MAX_STRING_REGISTERS => {
            bad(
                "length_registers",
                format!("must be between 1 and {MAX_STRING_REGISTERS}"),
            );
        }
        (DataType::String, Some(_)) | (_, None) => {}
        (_, Some(_)) => bad("length_registers", "only type string takes a length".into()),
    }
    if v.word_order.is_some() && ty.registers().is_none_or(|n| n < 2) {
        bad("word_order", "applies to 32- and 64-bit types only".into());
    }
    if !v.scale.is_finite() || v.scale == 0.0 {
        bad("scale", "must be a finite number other than 0".into());
    }
    if !v.offset.is_finite() {
        bad("offset", "must be a finite number".into());
    }
    if !v.is_number() && (v.scale != 1.0 || v.offset != 0.0) {
        bad(
            "scale",
            "scale and offset apply to numbers, not to bits or text".into(),
        );
    }
    match (v.metric, &v.status) {
        (Some(_), Some(_)) => bad("status", "a value is a metric or a status, not both".into()),
        (None, None) => bad("metric", "needs a metric (a reading) or a status".into()),
        (Some(metric), None) => validate_metric(v, metric, &mut bad),
        (None, Some(name)) => validate_status(v, name, &mut bad),
    }
    let is_flag = v.status.is_some() && (v.table.is_bits() || v.bit.is_some());
    if v.alarm_priority.is_some() && !is_flag {
        bad(
            "alarm_priority",
            "only a flag status (a coil, a discrete input or a register bit) can be \
             a device alarm"
                .into(),
        );
    }
}

fn validate_metric(v: &ModbusValue, metric: Metric, bad: &mut impl FnMut(&str, String)) {
    if !v.is_number() {
        let msg = format!("{metric} needs a number; map bits and text to a status");
        bad("metric", msg);
    }
    if let Some(unit) = v.unit {
        if unit.convert(1.0, metric.canonical_unit()).is_err() {
            bad(
                "unit",
                format!(
                    "{unit} cannot measure {metric} (canonical unit {})",
                    metric.canonical_unit()
                ),
            );
        }
    }
}

fn validate_status(v: &ModbusValue, name: &str, bad: &mut impl FnMut(&str, String)) {
    if !is_identifier(name) {
        bad(
            "status",
            "must be 1 to 64 letters, digits, - _ . / or :".into(),
        );
    }
    if let Some(bit) = v.bit {
        let ty = v.data_type();
        match ty.registers() {
            Some(n) if ty.is_integer() && u16::from(bit) < n * 16 => {}
            Some(n) if ty.is_integer() => bad("bit", format!("must be below {}", n * 16)),
            _ => bad(
                "bit",
                "picks a bit of an integer type (u16, i16, u32, i32)".into(),
            ),
        }
    }
    if v.unit.is_some() && !v.is_number() {
        bad("unit", "only a numeric status has a unit".into());
    }
}

/// Why `address` is not a PDU address of `table`, if it is not.
fn address_problem(table: Table, address: u32) -> Option<String> {
    let beyond = || {
        Some(format!(
            "`{address}` is beyond the PDU address range 0 to 65535"
        ))
    };
    let (digit, number) = if address > u32::from(u16::MAX) {
        // Six-digit vendor numbering: 400001 and up.
        (address / 100_000, address % 100_000)
    } else if matches!(address, 10_001..=19_999 | 30_001..=39_999 | 40_001..=49_999) {
        (address / 10_000, address % 10_000)
    } else {
        return None;
    };
    let meant = match digit {
        1 => Table::DiscreteInput,
        3 => Table::InputRegister,
        4 => Table::HoldingRegister,
        _ => return beyond(),
    };
    if address <= u32::from(u16::MAX) && meant != table {
        // 30001 among the holding registers is unusual but not vendor numbering.
        return None;
    }
    match number.checked_sub(1) {
        Some(pdu) if pdu <= u32::from(u16::MAX) => Some(format!(
            "`{address}` looks like vendor {digit}xxxx numbering; the profile takes the \
             0-based PDU address: table = \"{meant}\", address = {pdu}"
        )),
        _ => beyond(),
    }
}

/// Values of one table must not share registers, except bits of one register.
fn check_overlaps(values: &[ModbusValue], problems: &mut Vec<Problem>) {
    let mut spans: Vec<(Table, u32, u32, usize)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (v.table, v.address, v.address + u32::from(v.width()), i))
        .collect();
    spans.sort_unstable();
    for (k, &(table, start, _, j)) in spans.iter().enumerate() {
        let b = &values[j];
        let earlier = spans[..k]
            .iter()
            .filter(|(t, _, e, _)| *t == table && *e > start);
        for &(_, s, e, i) in earlier {
            let a = &values[i];
            let bits_of_one = a.bit.is_some()
                && b.bit.is_some()
                && a.address == b.address
                && a.data_type() == b.data_type();
            if bits_of_one && a.bit != b.bit {
                continue;
            }
            let what = if bits_of_one {
                "the same bit as"
            } else {
                "addresses with"
            };
            let msg = format!("shares {what} values[{i}] ({table} {s} to {})", e - 1);
            problems.push(Problem::new(format!("modbus.values[{j}].address"), msg));
            break;
        }
    }
}

/// A metric or a status name is mapped once.
fn check_duplicates(values: &[ModbusValue], problems: &mut Vec<Problem>) {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, v) in values.iter().enumerate() {
        let (key, name) = match (&v.metric, &v.status) {
            (Some(m), _) => ("metric", m.name().to_owned()),
            (None, Some(s)) => ("status", s.clone()),
            (None, None) => continue,
        };
        if let Some(first) = seen.insert(format!("{key}:{name}"), i) {
            let msg = format!("`{name}` is already mapped by values[{first}]");
            problems.push(Problem::new(format!("modbus.values[{i}].{key}"), msg));
        }
    }
}
