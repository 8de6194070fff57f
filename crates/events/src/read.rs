//! Reading access events from JSON Lines.
//!
//! One object per line; blank lines are skipped; unknown fields are ignored
//! (serde's default); a malformed line becomes a [`LineError`] carrying its
//! 1-based line number and reading carries on with the next line.

use hearth_core::AccessEvent;
use std::fmt;
use std::io::BufRead;

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
    serde_json::from_slice(trimmed).map(Some).map_err(|e| {
        // serde_json counts lines inside the one line it was given: keep the column.
        let text = e.to_string();
        let what = text
            .rsplit_once(" at line ")
            .map(|(w, _)| w)
            .unwrap_or(&text);
        LineError {
            line: number,
            message: format!("{what} (column {})", e.column()),
        }
    })
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
