//! The server side of the Modbus read functions, on PDUs: a register bank and a
//! request in, a response out. Pure; shared by the TCP and RTU simulators.
//!
//! Supported: read coils (0x01), read discrete inputs (0x02), read holding
//! registers (0x03), read input registers (0x04). Anything else is answered
//! with exception 0x01 (illegal function), as a device would. Quantities follow
//! the Modbus Application Protocol v1.1b3 (sections 6.1 to 6.4).

use std::collections::BTreeMap;

use crate::modbus::error::ExceptionCode;
use crate::modbus::plan::limit;
use crate::profile::modbus::Table;

/// The four tables of one simulated unit. Addresses never written read as 0.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bank {
    coils: BTreeMap<u16, bool>,
    discrete_inputs: BTreeMap<u16, bool>,
    input_registers: BTreeMap<u16, u16>,
    holding_registers: BTreeMap<u16, u16>,
    /// Addresses that answer with an exception instead of data.
    refused: BTreeMap<(Table, u16), ExceptionCode>,
}

impl Bank {
    fn words(&mut self, table: Table) -> &mut BTreeMap<u16, u16> {
        match table {
            Table::InputRegister => &mut self.input_registers,
            _ => &mut self.holding_registers,
        }
    }

    fn bits_of(&mut self, table: Table) -> &mut BTreeMap<u16, bool> {
        match table {
            Table::DiscreteInput => &mut self.discrete_inputs,
            _ => &mut self.coils,
        }
    }

    /// Stores `words` from `address` on (register tables).
    pub fn set_registers(&mut self, table: Table, address: u16, words: &[u16]) {
        let map = self.words(table);
        for (a, w) in (address..=u16::MAX).zip(words) {
            map.insert(a, *w);
        }
    }

    /// `count` registers from `address` (0 where never written).
    pub fn registers(&mut self, table: Table, address: u16, count: u16) -> Vec<u16> {
        let map = self.words(table);
        (0..count)
            .map(|i| {
                address
                    .checked_add(i)
                    .and_then(|a| map.get(&a))
                    .copied()
                    .unwrap_or(0)
            })
            .collect()
    }

    /// Sets one bit (bit tables).
    pub fn set_bit(&mut self, table: Table, address: u16, on: bool) {
        self.bits_of(table).insert(address, on);
    }

    /// `count` bits from `address`.
    pub fn bits(&mut self, table: Table, address: u16, count: u16) -> Vec<bool> {
        let map = self.bits_of(table);
        (0..count)
            .map(|i| {
                address
                    .checked_add(i)
                    .and_then(|a| map.get(&a))
                    .copied()
                    .unwrap_or(false)
            })
            .collect()
    }

    /// Makes reads covering `address` answer with `code`; `None` undoes it.
    pub fn refuse(&mut self, table: Table, address: u16, code: Option<ExceptionCode>) {
        match code {
            Some(code) => self.refused.insert((table, address), code),
            None => self.refused.remove(&(table, address)),
        };
    }

    /// The response PDU to a request PDU.
    pub fn respond(&mut self, request: &[u8]) -> Vec<u8> {
        let function = request.first().copied().unwrap_or(0);
        match self.read(request) {
            Ok(data) => {
                let mut out = vec![function, u8::try_from(data.len()).unwrap_or(u8::MAX)];
                out.extend(data);
                out
            }
            Err(code) => vec![function | 0x80, code.0],
        }
    }

    fn read(&mut self, request: &[u8]) -> Result<Vec<u8>, ExceptionCode> {
        let table = match request.first() {
            Some(0x01) => Table::Coil,
            Some(0x02) => Table::DiscreteInput,
            Some(0x03) => Table::HoldingRegister,
            Some(0x04) => Table::InputRegister,
            _ => return Err(ExceptionCode::ILLEGAL_FUNCTION),
        };
        let [_, a0, a1, c0, c1] = request else {
            return Err(ExceptionCode::ILLEGAL_DATA_VALUE);
        };
        let (address, count) = (
            u16::from_be_bytes([*a0, *a1]),
            u16::from_be_bytes([*c0, *c1]),
        );
        if count == 0 || count > limit(table) {
            return Err(ExceptionCode::ILLEGAL_DATA_VALUE);
        }
        if u32::from(address) + u32::from(count) > 1 << 16 {
            return Err(ExceptionCode::ILLEGAL_DATA_ADDRESS);
        }
        let last = address + (count - 1);
        if let Some((_, code)) = self.refused.range((table, address)..=(table, last)).next() {
            return Err(*code);
        }
        if table.is_bits() {
            Ok(pack_bits(&self.bits(table, address, count)))
        } else {
            Ok(self
                .registers(table, address, count)
                .iter()
                .flat_map(|w| w.to_be_bytes())
                .collect())
        }
    }
}

/// Bits packed eight to a byte, the first in the least significant bit.
fn pack_bits(bits: &[bool]) -> Vec<u8> {
    bits.chunks(8)
        .map(|chunk| {
            chunk
                .iter()
                .enumerate()
                .fold(0u8, |byte, (i, &on)| byte | (u8::from(on) << i))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_are_read_big_endian_with_unwritten_ones_as_zero() {
        let mut bank = Bank::default();
        bank.set_registers(Table::HoldingRegister, 1, &[0x1234, 0xABCD]);
        assert_eq!(
            bank.respond(&[3, 0, 0, 0, 3]),
            [3, 6, 0, 0, 0x12, 0x34, 0xAB, 0xCD]
        );
        // Input registers are another table.
        assert_eq!(bank.respond(&[4, 0, 1, 0, 1]), [4, 2, 0, 0]);
    }

    #[test]
    fn bits_are_packed_least_significant_first() {
        let mut bank = Bank::default();
        for a in [0, 2, 8] {
            bank.set_bit(Table::Coil, a, true);
        }
        assert_eq!(
            bank.respond(&[1, 0, 0, 0, 10]),
            [1, 2, 0b0000_0101, 0b0000_0001]
        );
    }

    #[test]
    fn bad_requests_get_the_standard_exceptions() {
        let mut bank = Bank::default();
        assert_eq!(bank.respond(&[0x2B, 0x0E]), [0xAB, 0x01]);
        assert_eq!(bank.respond(&[3, 0, 0, 0, 126]), [0x83, 0x03]);
        assert_eq!(bank.respond(&[1, 0, 0, 0x07, 0xD1]), [0x81, 0x03]);
        assert_eq!(bank.respond(&[3, 0xFF, 0xFF, 0, 2]), [0x83, 0x02]);
        assert_eq!(bank.respond(&[3, 0]), [0x83, 0x03]);
        assert_eq!(bank.respond(&[]), [0x80, 0x01]);
    }

    #[test]
    fn refused_addresses_answer_with_their_exception() {
        let mut bank = Bank::default();
        bank.refuse(
            Table::InputRegister,
            7,
            Some(ExceptionCode::SERVER_DEVICE_FAILURE),
        );
        assert_eq!(bank.respond(&[4, 0, 5, 0, 3]), [0x84, 0x04]);
        assert_eq!(bank.respond(&[4, 0, 8, 0, 3]), [4, 6, 0, 0, 0, 0, 0, 0]);
        bank.refuse(Table::InputRegister, 7, None);
        assert_eq!(bank.respond(&[4, 0, 7, 0, 1]), [4, 2, 0, 0]);
    }
}
