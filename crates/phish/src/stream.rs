//! `hearth message check`: JSON Lines in, one verdict line out per input line.
//!
//! A line that is not a message (bad JSON, invalid UTF-8, blank, longer than
//! [`MAX_LINE_BYTES`]) yields `{"error":{"line":N,"message":"..."}}` and processing
//! carries on, so output line N always answers input line N.

use crate::{Checker, Label, Message};
use serde::Serialize;
use std::io::{BufRead, Write};

/// Longest input line read (a 1 MB message fits, escaped); the rest of a longer line is
/// skipped and reported.
pub const MAX_LINE_BYTES: usize = 4 << 20;

/// Counts of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub lines: u64,
    pub phishing: u64,
    pub suspicious: u64,
    pub legitimate: u64,
    pub errors: u64,
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    line: u64,
    message: &'a str,
}

/// Read one line (without its `\n`) into `buf`, keeping at most `max` bytes.
/// Returns `None` at end of input, else whether the line was cut.
fn read_line_limited<R: BufRead>(
    input: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut cut = false;
    let mut any = false;
    loop {
        let available = match input.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(if any { Some(cut) } else { None });
        }
        any = true;
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(p) => (&available[..p], Some(p + 1)),
            None => (available, None),
        };
        let room = max.saturating_sub(buf.len());
        if chunk.len() > room {
            cut = true;
        }
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = done.unwrap_or(available.len());
        input.consume(used);
        if done.is_some() {
            return Ok(Some(cut));
        }
    }
}

/// Check every line of `input`, writing one JSON line per input line to `output`.
pub fn check_stream<R: BufRead, W: Write>(
    checker: &Checker,
    mut input: R,
    mut output: W,
) -> std::io::Result<Stats> {
    let mut stats = Stats::default();
    let mut buf = Vec::with_capacity(4096);
    let mut out = Vec::with_capacity(4096);
    while let Some(cut) = read_line_limited(&mut input, &mut buf, MAX_LINE_BYTES)? {
        stats.lines += 1;
        let line_no = stats.lines;
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        // Files saved by some editors start with a UTF-8 byte-order mark.
        if line_no == 1 && buf.starts_with(&[0xef, 0xbb, 0xbf]) {
            buf.drain(..3);
        }
        out.clear();
        let result: Result<Message, String> = if cut {
            Err(format!("line longer than {MAX_LINE_BYTES} bytes"))
        } else if buf.iter().all(u8::is_ascii_whitespace) {
            Err("empty line: expected a JSON object {\"text\":...}".to_string())
        } else {
            serde_json::from_slice::<Message>(&buf).map_err(|e| format!("invalid message: {e}"))
        };
        match result {
            Ok(msg) => {
                let v = checker.check(&msg);
                match v.verdict {
                    Label::Phishing => stats.phishing += 1,
                    Label::Suspicious => stats.suspicious += 1,
                    Label::Legitimate => stats.legitimate += 1,
                }
                serde_json::to_writer(&mut out, &v)?;
            }
            Err(message) => {
                stats.errors += 1;
                let e = ErrorLine {
                    error: ErrorBody {
                        line: line_no,
                        message: &message,
                    },
                };
                serde_json::to_writer(&mut out, &e)?;
            }
        }
        out.push(b'\n');
        output.write_all(&out)?;
    }
    output.flush()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (Vec<serde_json::Value>, Stats) {
        let mut out = Vec::new();
        let stats = check_stream(&Checker::default(), input, &mut out).unwrap();
        let lines = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (lines, stats)
    }

    #[test]
    fn one_answer_per_line_and_errors_carry_on() {
        let input = b"{\"text\":\"see you at 8\"}\nnot json\n\n{\"text\":\"x\",\"sender\":null,\"channel\":\"sms\",\"extra\":1}\n\xff\xfe\n{\"text\":\"last, no newline\"}";
        let mut raw = Vec::new();
        check_stream(&Checker::default(), &input[..], &mut raw).unwrap();
        let raw = String::from_utf8(raw).unwrap();
        let raw: Vec<&str> = raw.lines().collect();
        let (lines, stats) = run(input);
        assert_eq!(lines.len(), 6);
        assert_eq!(stats.lines, 6);
        assert_eq!(stats.errors, 3);
        assert_eq!(lines[1]["error"]["line"], 2);
        assert_eq!(lines[2]["error"]["line"], 3);
        assert_eq!(lines[4]["error"]["line"], 5);
        for i in [0, 3, 5] {
            assert!(raw[i].starts_with("{\"verdict\":"), "line {i}: {}", raw[i]);
            let keys = ["\"verdict\":", "\"score\":", "\"reasons\":", "\"urls\":"]
                .map(|k| raw[i].find(k).unwrap());
            assert!(keys.windows(2).all(|w| w[0] < w[1]), "line {i}: {}", raw[i]);
        }
    }

    #[test]
    fn output_is_exactly_the_contract() {
        let mut out = Vec::new();
        check_stream(
            &Checker::default(),
            &b"{\"text\":\"hi mum\"}\n"[..],
            &mut out,
        )
        .unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(
            s.starts_with("{\"verdict\":\"legitimate\",\"score\":"),
            "{s}"
        );
        assert!(s.ends_with("\"urls\":[]}\n"), "{s}");
    }

    #[test]
    fn byte_order_mark_and_crlf_are_accepted() {
        let (lines, stats) = run(b"\xef\xbb\xbf{\"text\":\"hi\"}\r\n{\"text\":\"yo\"}\r\n");
        assert_eq!(stats.errors, 0, "{lines:?}");
        assert_eq!(stats.lines, 2);
    }

    #[test]
    fn bad_channel_is_an_error_line() {
        let (lines, _) = run(b"{\"text\":\"a\",\"channel\":\"fax\"}\n");
        assert_eq!(lines[0]["error"]["line"], 1);
    }

    #[test]
    fn long_lines_are_cut_and_reported() {
        let mut input = vec![b'x'; MAX_LINE_BYTES + 10];
        input.extend_from_slice(b"\n{\"text\":\"ok\"}\n");
        let (lines, stats) = run(&input);
        assert_eq!(stats.lines, 2);
        assert_eq!(lines[0]["error"]["line"], 1);
        assert_eq!(lines[1]["verdict"], "legitimate");
    }
}
