//! Reading access events from JSON Lines.
//!
//! One object per line; blank lines are skipped; unknown fields are ignored
//! (serde's default); a malformed line becomes a [`LineError`] carrying its
//! 1-based line number and reading carries on with the next line.

use hearth_core::{AccessEvent, DeviceType, EventKind, Timestamp, VerifyMethod};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use std::io::BufRead;
use std::net::IpAddr;

/// A line that could not be read as an access event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the input.
    pub line: u64,
    /// What was wrong, e.g. `missing field `ip` at line 1 column 80`.
    pub message: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for LineError {}

/// Parses one line (without its newline). `Ok(None)` for a blank line.
pub fn parse_line(line: &[u8], number: u64) -> Result<Option<AccessEvent>, LineError> {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let parsed = serde_json::from_slice::<Wire>(trimmed).and_then(Wire::into_event);
    parsed.map(Some).map_err(|e| {
        // serde_json counts lines inside the one line it was given: keep the column.
        let text = e.to_string();
        let what = text
            .rsplit_once(" at line ")
            .map(|(w, _)| w)
            .unwrap_or(&text);
        LineError {
            line: number,
            message: match e.column() {
                0 => what.to_owned(),
                col => format!("{what} (column {col})"),
            },
        }
    })
}

/// The access event as it is on the wire, borrowing the timestamp so the
/// common `YYYY-MM-DDTHH:MM:SSZ` form is read without the general RFC 3339
/// parser. Fields and rules mirror [`AccessEvent`] (a test checks it).
#[derive(Deserialize)]
struct Wire<'a> {
    #[serde(borrow)]
    ts: Cow<'a, str>,
    account: String,
    device: String,
    device_type: DeviceType,
    ip: IpAddr,
    kind: EventKind,
    #[serde(default)]
    method: Option<VerifyMethod>,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    country: Option<String>,
    #[serde(default)]
    city: Option<String>,
    #[serde(default)]
    lat: Option<f64>,
    #[serde(default)]
    lon: Option<f64>,
    #[serde(default)]
    asn: Option<u32>,
    #[serde(default)]
    anonymous: Option<bool>,
    #[serde(default)]
    id: Option<String>,
}

impl Wire<'_> {
    fn into_event(self) -> Result<AccessEvent, serde_json::Error> {
        let ts = match fast_utc(self.ts.as_bytes()) {
            Some(ts) => ts,
            None => Timestamp::parse(&self.ts).map_err(serde::de::Error::custom)?,
        };
        Ok(AccessEvent {
            ts,
            account: self.account.into(),
            device: self.device.into(),
            device_type: self.device_type,
            ip: self.ip,
            kind: self.kind,
            method: self.method,
            user_agent: self.user_agent,
            country: self.country,
            city: self.city,
            lat: self.lat,
            lon: self.lon,
            asn: self.asn,
            anonymous: self.anonymous,
            id: self.id,
        })
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly (seconds 00-59); anything else goes to
/// [`Timestamp::parse`].
fn fast_utc(b: &[u8]) -> Option<Timestamp> {
    if b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m)
        || d < 1
        || d > month_days[(m - 1) as usize]
        || hh > 23
        || mm > 59
        || ss > 59
    {
        return None;
    }
    // Days from civil (H. Hinnant).
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(Timestamp::from_secs(
        days * 86_400 + hh * 3600 + mm * 60 + ss,
    ))
}

/// What one call to [`Events::next`] yields.
#[derive(Debug)]
pub enum Item {
    Event(AccessEvent),
    Malformed(LineError),
}

/// A streaming iterator over the events of a JSONL input. It keeps one line
/// in memory at a time. I/O errors end the iteration and are kept in
/// [`Events::io_error`].
pub struct Events<R> {
    input: R,
    buf: Vec<u8>,
    line: u64,
    bytes: u64,
    io_error: Option<std::io::Error>,
}

impl<R: BufRead> Events<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            buf: Vec::with_capacity(512),
            line: 0,
            bytes: 0,
            io_error: None,
        }
    }

    /// Bytes consumed so far (for a progress bar).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Lines consumed so far.
    pub fn lines_read(&self) -> u64 {
        self.line
    }

    /// The I/O error that ended the iteration, if any.
    pub fn take_io_error(&mut self) -> Option<std::io::Error> {
        self.io_error.take()
    }
}

impl<R: BufRead> Iterator for Events<R> {
    type Item = Item;

    fn next(&mut self) -> Option<Item> {
        loop {
            self.buf.clear();
            match self.input.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(n) => {
                    self.line += 1;
                    self.bytes += n as u64;
                    match parse_line(&self.buf, self.line) {
                        Ok(Some(ev)) => return Some(Item::Event(ev)),
                        Ok(None) => continue,
                        Err(e) => return Some(Item::Malformed(e)),
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.io_error = Some(e);
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_events_reports_bad_lines_and_ignores_unknown_fields() {
        let input = concat!(
            r#"{"ts":"2026-03-01T20:15:00Z","account":"a-17","device":"d-3","device_type":"tv","ip":"203.0.113.7","kind":"playback","user_agent":"x","country":"PT","city":"Lisbon","lat":38.72,"lon":-9.14,"asn":3243,"extra":{"nested":1}}"#,
            "\n\n",
            "not json\n",
            r#"{"ts":"2026-03-01T20:15:00Z","account":"a-17","device":"d-3","device_type":"fridge","ip":"203.0.113.7","kind":"playback"}"#,
            "\n",
            r#"{"ts":"2026-03-01T20:16:00Z","account":"a-17","device":"d-4","device_type":"mobile","ip":"2001:db8::1","kind":"verified","method":"sms"}"#,
        );
        let items: Vec<Item> = Events::new(input.as_bytes()).collect();
        assert_eq!(items.len(), 4);
        assert!(matches!(&items[0], Item::Event(e) if e.asn == Some(3243)));
        assert!(matches!(&items[1], Item::Malformed(e) if e.line == 3));
        match &items[2] {
            Item::Malformed(e) => {
                assert_eq!(e.line, 4);
                assert!(
                    e.to_string()
                        .starts_with("line 4: unknown variant `fridge`"),
                    "{e}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&items[3], Item::Event(e) if e.ip.is_ipv6()));
        let bad_ts = parse_line(br#"{"ts":"yesterday","account":"a","device":"d","device_type":"tv","ip":"1.2.3.4","kind":"sign_in"}"#, 9);
        assert_eq!(
            bad_ts.unwrap_err().to_string(),
            r#"line 9: not an RFC 3339 timestamp: "yesterday" (expected e.g. 2026-03-01T20:15:00Z)"#
        );
    }

    #[test]
    fn the_fast_timestamp_path_agrees_with_rfc3339() {
        let mut seed = 42u64;
        for _ in 0..20_000 {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let secs = (seed >> 20) as i64 % 253_402_300_799;
            let s = Timestamp::from_secs(secs).to_string();
            assert_eq!(
                fast_utc(s.as_bytes()),
                Some(Timestamp::from_secs(secs)),
                "{s}"
            );
        }
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
            "2026-01-01T00:00:60Z",
            "2026-01-01 00:00:00Z",
        ] {
            assert_eq!(fast_utc(bad.as_bytes()), None, "{bad}");
        }
        assert_eq!(
            fast_utc(b"2024-02-29T12:00:00Z"),
            Timestamp::parse("2024-02-29T12:00:00Z").ok()
        );
    }

    #[test]
    fn the_wire_form_reads_every_field_of_an_access_event() {
        let line = r#"{"ts":"2026-03-01T21:15:00.250+01:00","account":"a","device":"d","device_type":"console","ip":"::1","kind":"verified","method":"sign_in_code","user_agent":"u","country":"PT","city":"Lisbon","lat":1.5,"lon":-2.5,"asn":7,"anonymous":true,"id":"ev-1"}"#;
        let ours = parse_line(line.as_bytes(), 1).unwrap().unwrap();
        let serde: AccessEvent = serde_json::from_str(line).unwrap();
        assert_eq!(ours, serde);
        assert_eq!(ours.id.as_deref(), Some("ev-1"));
        // Decisions and events are written with whole seconds.
        let whole = line.replace(".250", "");
        let ours = parse_line(whole.as_bytes(), 1).unwrap().unwrap();
        let back = serde_json::to_string(&ours).unwrap();
        assert_eq!(parse_line(back.as_bytes(), 1).unwrap().unwrap(), ours);
    }

    #[test]
    fn invalid_utf8_is_one_bad_line() {
        let mut input = b"\xff\xfe\n".to_vec();
        input.extend_from_slice(br#"{"ts":"2026-03-01T20:15:00Z","account":"a","device":"d","device_type":"tv","ip":"1.2.3.4","kind":"sign_in"}"#);
        let items: Vec<Item> = Events::new(&input[..]).collect();
        assert!(matches!(&items[0], Item::Malformed(e) if e.line == 1));
        assert!(matches!(&items[1], Item::Event(_)));
    }
}
