//! Forwarded phishing reports: a raw RFC 822 / MIME e-mail, as it reaches the reporting
//! address, parsed with the `mail-parser` crate into the reported message's text, sender
//! and subject.
//!
//! - The reported message is the innermost attached `message/rfc822` (a forward of a
//!   forward is followed, up to [`MAX_NESTING`] levels); without one, an inline forward
//!   ("---------- Forwarded message ---------", "Message transféré", "Mensagem
//!   encaminhada", "Mensaje reenviado", …) is cut out of the body with its From/Subject.
//! - HTML bodies become text, and the `href` targets of their links are appended (the
//!   visible text of a phishing link rarely shows where it goes).
//! - Other attachments are never decoded or returned: they are counted and ignored.
//! - Input above [`MAX_REPORT_BYTES`] is refused before parsing.

use crate::text::truncate;
use crate::{Channel, Message};
use mail_parser::{MessageParser, PartType};
use serde::Serialize;
use thiserror::Error;

/// Largest raw report accepted by [`parse_report`].
pub const MAX_REPORT_BYTES: usize = 4 * 1024 * 1024;
/// Deepest chain of attached forwards followed.
pub const MAX_NESTING: usize = 8;
/// Longest extracted text kept.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;
/// Most `href` links kept from HTML bodies.
pub const MAX_LINKS: usize = 100;

/// A report that cannot be read.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum MimeError {
    #[error("report too large: {size} bytes, the limit is {limit} bytes; forward only the suspicious message")]
    TooLarge { size: usize, limit: usize },
    #[error("empty report: no message to check")]
    Empty,
    #[error("not an e-mail message: no headers or body could be read")]
    NotMime,
}

/// What was reported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// The reported message's text (HTML converted), followed by its links' targets.
    pub text: String,
    /// The reported message's sender (`Name <addr>` or `addr`), when known.
    pub sender: Option<String>,
    /// The reported message's subject, when known.
    pub subject: Option<String>,
    /// Who forwarded the report (the outer message's From), when known.
    pub reporter: Option<String>,
    /// The reported message came as an attachment or an inline forward.
    pub forwarded: bool,
    /// Link targets found in HTML bodies (also appended to `text`).
    pub links: Vec<String>,
    /// Attachments skipped (neither text nor a forwarded message).
    pub attachments_ignored: usize,
}

impl Report {
    /// The message to give to [`crate::Checker::check`]: subject and text, sender, e-mail channel.
    pub fn message(&self) -> Message {
        let text = match &self.subject {
            Some(s) if !s.is_empty() => format!("{s}\n{}", self.text),
            _ => self.text.clone(),
        };
        Message {
            text,
            sender: self.sender.clone(),
            channel: Some(Channel::Email),
        }
    }
}

/// Parse a raw report of at most [`MAX_REPORT_BYTES`].
pub fn parse_report(raw: &[u8]) -> Result<Report, MimeError> {
    parse_report_with_limit(raw, MAX_REPORT_BYTES)
}

/// Parse a raw report of at most `limit` bytes.
pub fn parse_report_with_limit(raw: &[u8], limit: usize) -> Result<Report, MimeError> {
    if raw.len() > limit {
        return Err(MimeError::TooLarge {
            size: raw.len(),
            limit,
        });
    }
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(MimeError::Empty);
    }
    // mail-parser 0.11 can panic on some malformed multiparts ("Invalid part ID",
    // found by `scripts/fuzz.sh mime_report`): such a message is unreadable, not fatal.
    let outer = std::panic::catch_unwind(|| MessageParser::default().parse(raw))
        .ok()
        .flatten()
        .ok_or(MimeError::NotMime)?;
    let mut report = Report {
        reporter: address_of(&outer),
        ..Report::default()
    };
    // Follow attached forwards to the innermost one.
    let mut target = &outer;
    let mut depth = 0;
    while depth < MAX_NESTING {
        let Some(inner) = target.parts.iter().find_map(|p| match &p.body {
            PartType::Message(m) => Some(m),
            _ => None,
        }) else {
            break;
        };
        target = inner;
        report.forwarded = true;
        depth += 1;
    }
    report.attachments_ignored = target
        .attachments()
        .filter(|p| {
            !matches!(
                p.body,
                PartType::Message(_) | PartType::Text(_) | PartType::Html(_)
            )
        })
        .count();
    if !std::ptr::eq(target, &outer) {
        report.attachments_ignored += outer
            .attachments()
            .filter(|p| {
                !matches!(
                    p.body,
                    PartType::Message(_) | PartType::Text(_) | PartType::Html(_)
                )
            })
            .count();
    }

    let mut text = String::new();
    for i in 0..target.text_body_count().min(16) {
        if let Some(t) = target.body_text(i) {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&t);
            if text.len() > MAX_TEXT_BYTES {
                break;
            }
        }
    }
    for part in target.html_bodies().take(16) {
        if let PartType::Html(html) = &part.body {
            for link in hrefs(html) {
                if report.links.len() >= MAX_LINKS {
                    break;
                }
                if !report.links.contains(&link) {
                    report.links.push(link);
                }
            }
        }
    }
    report.sender = address_of(target);
    report.subject = target.subject().map(str::to_string);

    if !report.forwarded {
        if let Some(inline) = inline_forward(&text) {
            report.forwarded = true;
            if inline.sender.is_some() {
                report.sender = inline.sender;
            }
            if inline.subject.is_some() {
                report.subject = inline.subject;
            }
            text = inline.body;
        }
    }
    for link in &report.links {
        if !text.contains(link.as_str()) {
            text.push('\n');
            text.push_str(link);
        }
    }
    report.text = truncate(text.trim(), MAX_TEXT_BYTES).to_string();
    if report.text.is_empty() && report.subject.is_none() {
        // Not an e-mail at all (a pasted SMS, say): the whole input is the message.
        let plain = String::from_utf8_lossy(raw);
        report.text = truncate(plain.trim(), MAX_TEXT_BYTES).to_string();
        report.sender = None;
        report.reporter = None;
    }
    if report.text.is_empty() && report.subject.is_none() {
        return Err(MimeError::Empty);
    }
    Ok(report)
}

fn address_of(m: &mail_parser::Message<'_>) -> Option<String> {
    let a = m.from()?.first()?;
    let addr = a.address()?;
    Some(match a.name() {
        Some(n) if !n.is_empty() => format!("{n} <{addr}>"),
        _ => addr.to_string(),
    })
}

/// `href` targets of an HTML document that are web links.
fn hrefs(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(p) = lower[from..].find("href") {
        let mut i = from + p + 4;
        from = i;
        let bytes = lower.as_bytes();
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if bytes.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        let quote = match bytes.get(i) {
            Some(&q) if q == b'"' || q == b'\'' => {
                i += 1;
                Some(q)
            }
            _ => None,
        };
        let end = bytes[i.min(bytes.len())..]
            .iter()
            .position(|&b| {
                Some(b) == quote || (quote.is_none() && (b.is_ascii_whitespace() || b == b'>'))
            })
            .map_or(bytes.len(), |e| i + e);
        // `lower` and `html` have the same byte layout (ASCII lowercasing only).
        if let Some(v) = html.get(i..end) {
            let v = v.trim().replace("&amp;", "&");
            let lv = v.to_ascii_lowercase();
            if lv.starts_with("http://") || lv.starts_with("https://") || lv.starts_with("www.") {
                out.push(v);
            }
        }
        from = end.max(from);
        if out.len() >= MAX_LINKS {
            break;
        }
    }
    out
}

struct InlineForward {
    body: String,
    sender: Option<String>,
    subject: Option<String>,
}

/// Markers mail clients put above an inline forward, in EN/FR/PT/ES (lowercase).
const FORWARD_MARKERS: &[&str] = &[
    "---------- forwarded message",
    "begin forwarded message",
    "-------- original message",
    "-----original message-----",
    "message transféré",
    "message d'origine",
    "mensagem encaminhada",
    "mensagem original",
    "mensaje reenviado",
    "mensaje original",
];

fn inline_forward(text: &str) -> Option<InlineForward> {
    let lower = text.to_lowercase();
    // `to_lowercase` may change byte lengths outside ASCII: only use positions when equal.
    if lower.len() != text.len() {
        return None;
    }
    let pos = FORWARD_MARKERS.iter().filter_map(|m| lower.find(m)).min()?;
    let after = text.get(pos..)?;
    let mut lines = after.lines();
    lines.next(); // the marker line
    let (mut sender, mut subject) = (None, None);
    let mut header_done = false;
    let mut body = String::new();
    for line in lines {
        if !header_done {
            let t = line.trim();
            if t.is_empty() && (sender.is_some() || subject.is_some()) {
                header_done = true;
                continue;
            }
            if let Some((k, v)) = t.split_once(':') {
                let k = k.trim().to_lowercase();
                let v = v.trim().to_string();
                match k.as_str() {
                    "from" | "de" => sender = Some(v),
                    "subject" | "objet" | "assunto" | "asunto" => subject = Some(v),
                    "date" | "data" | "fecha" | "to" | "à" | "para" | "a" | "cc" | "envoyé"
                    | "sent" | "enviado" => {}
                    _ => {
                        header_done = true;
                        body.push_str(line);
                        body.push('\n');
                    }
                }
                continue;
            }
            if t.is_empty() {
                continue;
            }
            header_done = true;
        }
        body.push_str(line);
        body.push('\n');
    }
    Some(InlineForward {
        body,
        sender,
        subject,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_are_found() {
        let h = hrefs(
            r#"<a href="https://evil.example/a?x=1&amp;y=2">Netflix</a> <A HREF='http://b.example'>x</a> <a href=mailto:x@y>m</a>"#,
        );
        assert_eq!(
            h,
            vec!["https://evil.example/a?x=1&y=2", "http://b.example"]
        );
    }

    #[test]
    fn inline_forward_is_cut_out() {
        let t = "see below\n\n---------- Forwarded message ---------\nFrom: Netflix <no-reply@netflix-billing.com>\nDate: Mon\nSubject: Payment failed\nTo: me\n\nYour payment failed. Update at netflix-billing.com\n";
        let f = inline_forward(t).unwrap();
        assert_eq!(
            f.sender.as_deref(),
            Some("Netflix <no-reply@netflix-billing.com>")
        );
        assert_eq!(f.subject.as_deref(), Some("Payment failed"));
        assert!(f.body.starts_with("Your payment failed."));
    }
}
