//! Register maps into values: raw registers or bits, to a typed value, to a
//! scaled reading or a device status. Pure; the inverse (`encode_*`) serves the
//! simulator and the round-trip tests.
//!
//! Multi-register values are put into one big-endian byte string first: the
//! registers in `word_order` (big: the first register is the most significant
//! word), each register's two bytes in `byte_order` (big: high byte first, as the
//! Modbus standard sends them). A 32-bit value whose bytes are ABCD (most
//! significant first) arrives as:
//!
//! | word_order | byte_order | registers    |
//! |------------|------------|--------------|
//! | big        | big        | `AB` `CD`    |
//! | little     | big        | `CD` `AB`    |
//! | big        | little     | `BA` `DC`    |
//! | little     | little     | `DC` `BA`    |
//!
//! Strings are two ASCII characters per register, the first in the high byte
//! with `byte_order = "big"`; they end at the first NUL, and trailing spaces are
//! removed. Bytes outside ASCII become U+FFFD.

use crate::modbus::error::DecodeError;
use crate::modbus::status::{StatusData, StatusValue};
use crate::profile::modbus::{DataType, Meaning, ModbusValue, Order};
use crate::Reading;

/// A value as the device stores it, before scaling.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    /// An integer type.
    Int(i64),
    /// `f32` or `f64`.
    Float(f64),
    /// A string.
    Text(String),
    /// A coil or a discrete input.
    Bit(bool),
}

/// The part of a response that holds one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slice<'a> {
    /// Registers, for the register tables.
    Registers(&'a [u16]),
    /// Bits, for coils and discrete inputs.
    Bits(&'a [bool]),
}

/// What one mapped value became.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A reading of a metric, for the sink.
    Reading(Reading),
    /// A device status, for the status board.
    Status(StatusValue),
}

/// Registers as one big-endian byte string.
pub fn to_bytes(words: &[u16], word_order: Order, byte_order: Order) -> Vec<u8> {
    let mut ordered = words.to_vec();
    if word_order == Order::Little {
        ordered.reverse();
    }
    ordered
        .iter()
        .flat_map(|w| match byte_order {
            Order::Big => w.to_be_bytes(),
            Order::Little => w.to_le_bytes(),
        })
        .collect()
}

/// The inverse of [`to_bytes`]; an odd last byte is padded with 0.
pub fn from_bytes(bytes: &[u8], word_order: Order, byte_order: Order) -> Vec<u16> {
    let mut words: Vec<u16> = bytes
        .chunks(2)
        .map(|c| {
            let pair = [c[0], c.get(1).copied().unwrap_or(0)];
            match byte_order {
                Order::Big => u16::from_be_bytes(pair),
                Order::Little => u16::from_le_bytes(pair),
            }
        })
        .collect();
    if word_order == Order::Little {
        words.reverse();
    }
    words
}

/// Decodes registers holding a `ty` value. Strings take all of `words`.
///
/// # Errors
///
/// [`DecodeError::Short`] when `words` is shorter than the type.
pub fn decode_raw(
    ty: DataType,
    words: &[u16],
    word_order: Order,
    byte_order: Order,
) -> Result<Raw, DecodeError> {
    let needed = usize::from(ty.registers().unwrap_or(1));
    if words.len() < needed {
        return Err(DecodeError::Short {
            expected: needed,
            got: words.len(),
        });
    }
    let words = if ty == DataType::String {
        words
    } else {
        &words[..needed]
    };
    let b = to_bytes(words, word_order, byte_order);
    let raw = match ty {
        DataType::U16 => Raw::Int(i64::from(u16::from_be_bytes(take(&b)))),
        DataType::I16 => Raw::Int(i64::from(i16::from_be_bytes(take(&b)))),
        DataType::U32 => Raw::Int(i64::from(u32::from_be_bytes(take(&b)))),
        DataType::I32 => Raw::Int(i64::from(i32::from_be_bytes(take(&b)))),
        DataType::F32 => Raw::Float(f64::from(f32::from_be_bytes(take(&b)))),
        DataType::F64 => Raw::Float(f64::from_be_bytes(take(&b))),
        DataType::String => Raw::Text(text(&b)),
    };
    Ok(raw)
}

/// The first `N` bytes, zero-padded if there are fewer (callers check lengths).
fn take<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut a = [0; N];
    for (d, s) in a.iter_mut().zip(bytes) {
        *d = *s;
    }
    a
}

fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&c| c == 0).unwrap_or(bytes.len());
    let s: String = bytes[..end]
        .iter()
        .map(|&c| {
            if c.is_ascii() {
                char::from(c)
            } else {
                char::REPLACEMENT_CHARACTER
            }
        })
        .collect();
    s.trim_end().to_owned()
}

/// Encodes a raw value as `ty` registers; integers wrap to the type's width,
/// strings are cut or NUL-padded to `length_registers`.
pub fn encode_raw(
    ty: DataType,
    raw: &Raw,
    word_order: Order,
    byte_order: Order,
    length_registers: u16,
) -> Vec<u16> {
    let int = match raw {
        Raw::Int(i) => *i,
        // Saturating float-to-int is the intent.
        Raw::Float(f) => f.round() as i64,
        Raw::Bit(b) => i64::from(*b),
        Raw::Text(_) => 0,
    };
    let float = match raw {
        // Device integers are at most 32 bits: exact in an f64.
        Raw::Int(i) => *i as f64,
        Raw::Float(f) => *f,
        Raw::Bit(b) => f64::from(u8::from(*b)),
        Raw::Text(_) => 0.0,
    };
    // Integers wrap to the type's width (two's complement), floats round to it.
    let bytes: Vec<u8> = match ty {
        DataType::U16 | DataType::I16 => (int as u16).to_be_bytes().to_vec(),
        DataType::U32 | DataType::I32 => (int as u32).to_be_bytes().to_vec(),
        DataType::F32 => (float as f32).to_be_bytes().to_vec(),
        DataType::F64 => float.to_be_bytes().to_vec(),
        DataType::String => {
            let mut b = match raw {
                Raw::Text(s) => s.as_bytes().to_vec(),
                _ => Vec::new(),
            };
            b.resize(usize::from(length_registers) * 2, 0);
            b
        }
    };
    from_bytes(&bytes, word_order, byte_order)
}

/// Decodes one mapped value from its slice of a response.
///
/// # Errors
///
/// When the slice is too short, or a number is not finite (a NaN float).
pub fn decode(value: &ModbusValue, slice: Slice<'_>) -> Result<Decoded, DecodeError> {
    let width = usize::from(value.width());
    let raw = match slice {
        Slice::Bits(bits) => Raw::Bit(*bits.first().ok_or(DecodeError::Short {
            expected: 1,
            got: 0,
        })?),
        Slice::Registers(words) => {
            let words = words.get(..width).ok_or(DecodeError::Short {
                expected: width,
                got: words.len(),
            })?;
            decode_raw(
                value.data_type(),
                words,
                value.word_order(),
                value.byte_order(),
            )?
        }
    };
    match value.meaning() {
        Meaning::Metric { metric, unit } => {
            let number = scaled(value, &raw)?;
            let mut reading = Reading::new(metric, number);
            reading.unit = unit;
            Ok(Decoded::Reading(reading))
        }
        Meaning::Status {
            name,
            bit,
            unit,
            alarm,
        } => {
            let data = match (raw, bit) {
                (Raw::Bit(b), _) => StatusData::Flag(b),
                (Raw::Int(i), Some(bit)) => StatusData::Flag((i >> bit) & 1 == 1),
                (Raw::Text(s), _) => StatusData::Text(s),
                (raw, _) => StatusData::Number(scaled(value, &raw)?),
            };
            Ok(Decoded::Status(StatusValue {
                name: name.to_owned(),
                value: data,
                unit,
                alarm,
            }))
        }
    }
}

/// `raw * scale + offset`, refusing NaN and infinities.
fn scaled(value: &ModbusValue, raw: &Raw) -> Result<f64, DecodeError> {
    let x = match raw {
        // Device integers are at most 32 bits: exact in an f64.
        Raw::Int(i) => *i as f64,
        Raw::Float(f) => *f,
        Raw::Bit(b) => f64::from(u8::from(*b)),
        Raw::Text(_) => f64::NAN,
    };
    let v = x * value.scale + value.offset;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(DecodeError::NotFinite { raw: x })
    }
}

/// Registers that make a numeric value decode to `x`, rounded to the type's
/// resolution and saturated at its limits (the inverse of [`decode`]).
pub fn encode_number(value: &ModbusValue, x: f64) -> Vec<u16> {
    let ty = value.data_type();
    let unscaled = (x - value.offset) / value.scale;
    let raw = match ty {
        DataType::F32 | DataType::F64 => Raw::Float(unscaled),
        _ => {
            let (lo, hi) = int_range(ty);
            // Clamped to the type's range first, so the cast is exact.
            let i = unscaled.round().clamp(lo, hi) as i64;
            Raw::Int(i)
        }
    };
    encode_raw(
        ty,
        &raw,
        value.word_order(),
        value.byte_order(),
        value.width(),
    )
}

fn int_range(ty: DataType) -> (f64, f64) {
    match ty {
        DataType::U16 => (0.0, f64::from(u16::MAX)),
        DataType::I16 => (f64::from(i16::MIN), f64::from(i16::MAX)),
        DataType::U32 => (0.0, f64::from(u32::MAX)),
        _ => (f64::from(i32::MIN), f64::from(i32::MAX)),
    }
}

/// Registers holding `words` with bit `bit` of the integer value set to `on`.
pub fn with_bit(value: &ModbusValue, words: &[u16], bit: u8, on: bool) -> Vec<u16> {
    let ty = value.data_type();
    let current = match decode_raw(ty, words, value.word_order(), value.byte_order()) {
        Ok(Raw::Int(i)) => i,
        _ => 0,
    };
    let mask = 1i64 << bit;
    let next = if on { current | mask } else { current & !mask };
    encode_raw(
        ty,
        &Raw::Int(next),
        value.word_order(),
        value.byte_order(),
        value.width(),
    )
}

#[cfg(test)]
#[path = "mapping_tests.rs"]
mod tests;
