//! Read coalescing: the values of a register map merged into as few read
//! requests as possible. Pure.
//!
//! Values of one table are sorted by address and swept left to right; a value
//! joins the current request when it starts at most `max_gap` addresses after the
//! request's end and the request stays within the protocol's limit
//! ([`MAX_READ_REGISTERS`] or [`MAX_READ_BITS`]); otherwise it starts a new one.
//! For values that do not overlap (profile validation ensures that) this greedy
//! sweep gives the fewest requests, by the usual exchange argument. Bits of one
//! register, which do overlap, share a request.

use crate::profile::modbus::{ModbusValue, Table};

/// Most registers one read of holding or input registers may ask for
/// (Modbus Application Protocol v1.1b3, sections 6.3 and 6.4: 1 to 125).
pub const MAX_READ_REGISTERS: u16 = 125;
/// Most bits one read of coils or discrete inputs may ask for
/// (Modbus Application Protocol v1.1b3, sections 6.1 and 6.2: 1 to 2000).
pub const MAX_READ_BITS: u16 = 2000;

/// What one value occupies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// The table.
    pub table: Table,
    /// The first address.
    pub address: u16,
    /// Registers or bits.
    pub width: u16,
}

/// One read request and the values it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadRequest {
    /// The table (and so the function code).
    pub table: Table,
    /// The first address read.
    pub address: u16,
    /// Registers or bits read.
    pub count: u16,
    /// Indices of the values (into the profile's `values`) it holds, by address.
    pub values: Vec<usize>,
}

impl ReadRequest {
    /// Where a value starting at `address` begins in this request's response.
    pub fn offset(&self, address: u16) -> usize {
        usize::from(address.saturating_sub(self.address))
    }
}

/// The most a request of `table` may read.
pub fn limit(table: Table) -> u16 {
    if table.is_bits() {
        MAX_READ_BITS
    } else {
        MAX_READ_REGISTERS
    }
}

/// The requests that read every value of a profile's register map.
pub fn plan(values: &[ModbusValue], max_gap: u16) -> Vec<ReadRequest> {
    let spans: Vec<Span> = values
        .iter()
        .map(|v| Span {
            table: v.table,
            address: v.start(),
            width: v.width(),
        })
        .collect();
    coalesce(&spans, max_gap)
}

/// Merges spans into requests; each request lists the indices of its spans.
/// Requests come ordered by table, then address.
pub fn coalesce(spans: &[Span], max_gap: u16) -> Vec<ReadRequest> {
    let mut order: Vec<usize> = (0..spans.len()).collect();
    order.sort_by_key(|&i| (spans[i].table, spans[i].address, i));
    let mut requests: Vec<ReadRequest> = Vec::new();
    // The current request's end, exclusive, as u32 so address 65535 fits.
    let mut end = 0u32;
    for i in order {
        let s = spans[i];
        let (start, stop) = (
            u32::from(s.address),
            u32::from(s.address) + u32::from(s.width.max(1)),
        );
        if let Some(r) = requests.last_mut() {
            let joined_end = end.max(stop);
            let fits = joined_end - u32::from(r.address) <= u32::from(limit(s.table));
            if r.table == s.table && start <= end + u32::from(max_gap) && fits {
                end = joined_end;
                r.count = u16::try_from(end - u32::from(r.address)).unwrap_or(u16::MAX);
                r.values.push(i);
                continue;
            }
        }
        end = stop;
        let count = u16::try_from(stop - start).unwrap_or(u16::MAX);
        requests.push(ReadRequest {
            table: s.table,
            address: s.address,
            count,
            values: vec![i],
        });
    }
    requests
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(table: Table, address: u16, width: u16) -> Span {
        Span {
            table,
            address,
            width,
        }
    }

    fn shape(requests: &[ReadRequest]) -> Vec<(Table, u16, u16, Vec<usize>)> {
        requests
            .iter()
            .map(|r| (r.table, r.address, r.count, r.values.clone()))
            .collect()
    }

    use Table::{Coil, DiscreteInput, HoldingRegister as Hr, InputRegister as Ir};

    #[test]
    fn neighbours_merge_into_one_read_and_tables_stay_apart() {
        let spans = [
            span(Hr, 2, 2),
            span(Hr, 0, 1),
            span(Ir, 0, 1),
            span(Hr, 1, 1),
            span(Coil, 5, 1),
        ];
        assert_eq!(
            shape(&coalesce(&spans, 0)),
            [
                (Coil, 5, 1, vec![4]),
                (Ir, 0, 1, vec![2]),
                (Hr, 0, 4, vec![1, 3, 0])
            ]
        );
    }

    #[test]
    fn small_gaps_are_read_through_and_large_ones_split() {
        let spans = [span(Hr, 0, 1), span(Hr, 4, 1), span(Hr, 20, 2)];
        assert_eq!(
            shape(&coalesce(&spans, 3)),
            [(Hr, 0, 5, vec![0, 1]), (Hr, 20, 2, vec![2])]
        );
        assert_eq!(coalesce(&spans, 2).len(), 3);
        assert_eq!(shape(&coalesce(&spans, 15)), [(Hr, 0, 22, vec![0, 1, 2])]);
    }

    #[test]
    fn bits_of_one_register_share_a_read() {
        let spans = [span(Hr, 10, 1), span(Hr, 10, 1), span(Hr, 10, 2)];
        assert_eq!(shape(&coalesce(&spans, 0)), [(Hr, 10, 2, vec![0, 1, 2])]);
    }

    #[test]
    fn requests_never_exceed_the_protocol_limits() {
        let regs: Vec<Span> = (0..300).map(|a| span(Ir, a, 1)).collect();
        let counts: Vec<u16> = coalesce(&regs, 8).iter().map(|r| r.count).collect();
        assert_eq!(counts, [125, 125, 50]);
        let bits: Vec<Span> = (0..4500).map(|a| span(DiscreteInput, a, 1)).collect();
        let counts: Vec<u16> = coalesce(&bits, 8).iter().map(|r| r.count).collect();
        assert_eq!(counts, [2000, 2000, 500]);
        // A 4-register value that would cross the limit starts the next request.
        let spans = [span(Hr, 0, 123), span(Hr, 123, 4)];
        assert_eq!(
            shape(&coalesce(&spans, 0)),
            [(Hr, 0, 123, vec![0]), (Hr, 123, 4, vec![1])]
        );
    }

    #[test]
    fn every_value_is_in_exactly_one_request_that_covers_it() {
        // A deterministic spread of values, widths and gaps.
        let mut x = 0x2545_F491_u32;
        let mut spans = Vec::new();
        for _ in 0..500 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let table = [Coil, DiscreteInput, Ir, Hr][(x % 4) as usize];
            let width = if table.is_bits() {
                1
            } else {
                [1, 2, 4, 10][(x >> 4) as usize % 4]
            };
            spans.push(span(table, (x >> 8) as u16 % 3000, width));
        }
        for gap in [0, 1, 8, 100] {
            let requests = coalesce(&spans, gap);
            let mut seen = vec![0; spans.len()];
            for r in &requests {
                assert!(r.count >= 1 && r.count <= limit(r.table), "{r:?}");
                for &i in &r.values {
                    seen[i] += 1;
                    let s = spans[i];
                    assert_eq!(s.table, r.table);
                    assert!(
                        s.address >= r.address
                            && r.offset(s.address) + usize::from(s.width) <= usize::from(r.count)
                    );
                }
            }
            assert!(seen.iter().all(|&n| n == 1), "gap {gap}");
        }
    }

    #[test]
    fn the_last_address_is_reachable() {
        let spans = [span(Hr, 65_534, 2), span(Coil, 65_535, 1)];
        assert_eq!(
            shape(&coalesce(&spans, 8)),
            [(Coil, 65_535, 1, vec![1]), (Hr, 65_534, 2, vec![0])]
        );
    }
}
