//! PostgreSQL binary COPY encoding of samples, and the SQL of the two load paths.
//!
//! Binary COPY is the fastest way into PostgreSQL (no text parsing on the server).
//! The format: a fixed header, then per row a 16-bit field count and, per field, a
//! 32-bit byte length followed by the value in its binary send format; a trailer of
//! -1 ends the data. Timestamps are microseconds since 2000-01-01 UTC.

use bytes::{BufMut, BytesMut};

use crate::sample::Sample;

/// The columns every load path writes, in the order [`encode`] writes them.
macro_rules! columns {
    () => {
        "time, received_at, tenant_id, bed_id, device_id, metric, value, quality"
    };
}

/// Fast path: rows go straight into the hypertable.
pub(crate) const COPY_VITALS: &str =
    concat!("COPY vitals (", columns!(), ") FROM STDIN (FORMAT binary)");

/// Replay path: rows go into a session-local staging table first...
pub(crate) const CREATE_STAGING: &str =
    "CREATE TEMP TABLE IF NOT EXISTS vitals_replay (LIKE vitals) ON COMMIT DELETE ROWS";
pub(crate) const COPY_STAGING: &str = concat!(
    "COPY vitals_replay (",
    columns!(),
    ") FROM STDIN (FORMAT binary)"
);
/// ...and are inserted from there, skipping rows the hypertable already has.
pub(crate) const MERGE_STAGING: &str = concat!(
    "INSERT INTO vitals (",
    columns!(),
    ") SELECT ",
    columns!(),
    " FROM vitals_replay ON CONFLICT DO NOTHING"
);

/// Records progress in the same transaction as the rows.
pub(crate) const SAVE_PROGRESS: &str =
    "INSERT INTO ingest_progress (spool_id, next_seq, updated_at) VALUES ($1, $2, now()) \
     ON CONFLICT (spool_id) DO UPDATE \
     SET next_seq = GREATEST(ingest_progress.next_seq, EXCLUDED.next_seq), updated_at = now()";

pub(crate) const LOAD_PROGRESS: &str = "SELECT next_seq FROM ingest_progress WHERE spool_id = $1";

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";
const FIELDS: i16 = 8;
/// 2000-01-01T00:00:00Z in microseconds since the Unix epoch.
const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;

/// Encodes `samples` as one complete binary COPY stream.
pub(crate) fn encode(samples: &[Sample]) -> BytesMut {
    let mut out = BytesMut::with_capacity(19 + samples.len() * 96 + 2);
    out.put_slice(SIGNATURE);
    out.put_i32(0); // flags: no OIDs
    out.put_i32(0); // header extension length
    for s in samples {
        out.put_i16(FIELDS);
        put_i64(&mut out, s.time_us - PG_EPOCH_UNIX_US);
        put_i64(&mut out, s.received_us - PG_EPOCH_UNIX_US);
        put_text(&mut out, &s.origin.tenant_id);
        put_text(&mut out, &s.origin.bed_id);
        put_text(&mut out, &s.origin.device_id);
        put_text(&mut out, s.metric.name());
        out.put_i32(8);
        out.put_f64(s.value);
        out.put_i32(2);
        // The quality bits are a u16 in memory and a smallint in the table; the
        // cast keeps the bit pattern.
        out.put_i16(s.quality.bits() as i16);
    }
    out.put_i16(-1);
    out
}

fn put_i64(out: &mut BytesMut, v: i64) {
    out.put_i32(8);
    out.put_i64(v);
}

fn put_text(out: &mut BytesMut, s: &str) {
    let len = i32::try_from(s.len()).expect("identifiers are at most 255 bytes");
    out.put_i32(len);
    out.put_slice(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use firmware_adapters::Metric;

    use super::*;
    use crate::sample::{Origin, Quality};

    #[test]
    fn encodes_header_row_and_trailer() {
        let s = Sample {
            time_us: PG_EPOCH_UNIX_US + 1,
            received_us: PG_EPOCH_UNIX_US + 2,
            origin: Origin::new("t", "b", "d"),
            metric: Metric::Spo2,
            value: 1.0,
            quality: Quality::IMPLAUSIBLE,
        };
        let out = encode(&[s]);
        assert_eq!(&out[..11], SIGNATURE);
        let row = &out[19..out.len() - 2];
        assert_eq!(&row[..2], &8i16.to_be_bytes());
        assert_eq!(&row[2..6], &8i32.to_be_bytes());
        assert_eq!(&row[6..14], &1i64.to_be_bytes());
        // tenant "t": length 1 then the byte, after the two timestamps.
        assert_eq!(&row[26..31], &[0, 0, 0, 1, b't']);
        assert_eq!(&row[row.len() - 2..], &4i16.to_be_bytes());
        assert_eq!(&out[out.len() - 2..], &(-1i16).to_be_bytes());
    }
}
