//! Writing decisions as JSON Lines, byte-for-byte what `serde_json` writes for
//! [`Decision`], without the formatting machinery of the `time` crate on the
//! hot path (replay writes one line per event).

use hearth_core::{Decision, Timestamp};
use std::io::{self, Write};

/// Writes `d` as one JSON object followed by a newline.
pub fn write_decision<W: Write>(out: &mut W, d: &Decision) -> io::Result<()> {
    out.write_all(b"{\"account\":")?;
    serde_json::to_writer(&mut *out, d.account.as_str())?;
    out.write_all(b",\"device\":")?;
    serde_json::to_writer(&mut *out, d.device.as_str())?;
    out.write_all(b",\"ts\":\"")?;
    write_ts(out, d.ts)?;
    out.write_all(b"\",\"decision\":")?;
    serde_json::to_writer(&mut *out, &d.decision)?;
    out.write_all(b",\"channels\":[")?;
    for (i, c) in d.channels.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, c)?;
    }
    out.write_all(if d.defer_allowed {
        b"],\"defer_allowed\":true,\"score\":"
    } else {
        b"],\"defer_allowed\":false,\"score\":"
    })?;
    serde_json::to_writer(&mut *out, &d.score)?;
    out.write_all(b",\"reasons\":[")?;
    for (i, r) in d.reasons.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, r)?;
    }
    out.write_all(b"]}\n")
}

/// RFC 3339 in UTC with whole seconds, as `Timestamp`'s `Display` writes it.
fn write_ts<W: Write>(out: &mut W, ts: Timestamp) -> io::Result<()> {
    let secs = ts.secs();
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        // Outside four-digit years: let Display decide.
        return write!(out, "{ts}");
    }
    let mut buf = *b"0000-00-00T00:00:00Z";
    let put = |buf: &mut [u8; 20], at: usize, v: i64, width: usize| {
        let mut v = v;
        for k in (0..width).rev() {
            buf[at + k] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(&mut buf, 0, y, 4);
    put(&mut buf, 5, m, 2);
    put(&mut buf, 8, d, 2);
    put(&mut buf, 11, rem / 3600, 2);
    put(&mut buf, 14, rem % 3600 / 60, 2);
    put(&mut buf, 17, rem % 60, 2);
    out.write_all(&buf)
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_core::{Channel, Outcome, Reason};

    #[test]
    fn same_bytes_as_serde_json() {
        let mut seed = 0x1234_5678_u64;
        for i in 0..20_000i64 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            // Whole range of four-digit years, plus milliseconds.
            let ms = (seed >> 11) as i64 % 253_402_300_799_000 - 62_135_596_800_000 / 2;
            let d = Decision {
                account: format!("a-\"{i}\"\\é").into(),
                device: "d-3".into(),
                ts: Timestamp::from_millis(ms),
                decision: if i % 2 == 0 {
                    Outcome::Verify
                } else {
                    Outcome::Allow
                },
                channels: if i % 2 == 0 {
                    vec![Channel::Email, Channel::Sms]
                } else {
                    vec![]
                },
                defer_allowed: i % 3 == 0,
                score: (i % 1000) as f64 / 1000.0,
                reasons: vec![Reason::NewDevice, Reason::OutsideHousehold],
            };
            let mut ours = Vec::new();
            write_decision(&mut ours, &d).unwrap();
            let mut theirs = serde_json::to_vec(&d).unwrap();
            theirs.push(b'\n');
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                String::from_utf8(theirs).unwrap()
            );
        }
    }
}
