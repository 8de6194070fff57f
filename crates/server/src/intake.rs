//! The SMTP intake: a small ESMTP receiver for mail forwarded to the phishing reporting
//! address (S15). It speaks just enough of RFC 5321 for a mail relay or a member's mail
//! client to hand over a message (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), takes
//! only the reporting address as recipient, and passes each message to the same report
//! path as `POST /v1/reports/phishing`. No TLS and no relaying: put it behind the
//! platform's MX, which does TLS and spam filtering.
//!
//! Bounds: message size (`552` beyond it, also announced with `SIZE`), line length,
//! a timeout per command and per session, recipients per message, errors per session
//! and concurrent sessions (`421` when full).

use crate::app::App;
use crate::service::phishing::{parse_forwarded, NewReport, ReportSource};
use crate::service::{now, ServiceError};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// Longest command line (RFC 5321 asks for 512; extensions make it longer).
const MAX_COMMAND_LINE: usize = 2048;
/// Recipients accepted per message (all must be the reporting address anyway).
const MAX_RECIPIENTS: usize = 10;
/// Wrong commands before the session is closed.
const MAX_ERRORS: u32 = 10;

/// `[intake]` in the configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntakeConfig {
    /// Where to listen for forwarded reports, e.g. `0.0.0.0:2525`; absent = no intake.
    pub listen: Option<SocketAddr>,
    /// The one recipient accepted; absent = `phishing_report_address`.
    pub address: Option<String>,
    /// Largest message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Sessions served at once; more are answered `421` and closed.
    pub max_sessions: usize,
    /// Seconds to wait for each command or data line.
    pub command_timeout_secs: u64,
    /// Seconds a whole session may last.
    pub session_timeout_secs: u64,
    /// The name the greeting gives.
    pub hostname: String,
    /// Reports one source may file (over the API: per client address, or per account when
    /// signed in; over SMTP: per envelope sender) before an hour without reports; 0 = no limit.
    pub reports_per_hour: u32,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            listen: None,
            address: None,
            max_message_bytes: 1024 * 1024,
            max_sessions: 32,
            command_timeout_secs: 60,
            session_timeout_secs: 600,
            hostname: "hearth-intake".into(),
            reports_per_hour: 30,
        }
    }
}

impl IntakeConfig {
    /// The accepted recipient, lowercase.
    pub fn recipient(&self, report_address: &str) -> String {
        self.address
            .as_deref()
            .unwrap_or(report_address)
            .trim()
            .to_ascii_lowercase()
    }
}

/// Binds the intake when `intake.listen` is set and serves it in the background.
/// Returns the bound address (useful with port 0) and the accept loop's task.
pub async fn start(app: &Arc<App>) -> std::io::Result<Option<(SocketAddr, JoinHandle<()>)>> {
    let Some(listen) = app.config.intake.listen else {
        return Ok(None);
    };
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("SMTP intake cannot listen on {listen}: {e}"),
        )
    })?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "SMTP intake listening for forwarded phishing reports");
    Ok(Some((addr, tokio::spawn(serve(app.clone(), listener)))))
}

/// Accepts sessions until the task is aborted.
pub async fn serve(app: Arc<App>, listener: TcpListener) {
    let cfg = &app.config.intake;
    let slots = Arc::new(Semaphore::new(cfg.max_sessions.max(1)));
    let session_timeout = Duration::from_secs(cfg.session_timeout_secs.max(1));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "SMTP intake accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let mut stream = stream;
                let _ = stream
                    .write_all(b"421 4.3.2 Too many sessions, try again later\r\n")
                    .await;
            });
            continue;
        };
        let app = app.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match tokio::time::timeout(session_timeout, session(&app, stream)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "SMTP intake session ended"),
                Err(_) => tracing::debug!(%peer, "SMTP intake session timed out"),
            }
        });
    }
}

enum Line {
    Eof,
    Complete,
    TooLong,
}

/// Reads one line without its CRLF (or bare LF) into `buf`, keeping at most `max` bytes.
async fn read_line<R: AsyncBufRead + Unpin>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    buf.clear();
    let mut too_long = false;
    loop {
        let available = r.fill_buf().await?;
        if available.is_empty() {
            return Ok(Line::Eof);
        }
        let (chunk, end) = match available.iter().position(|&b| b == b'\n') {
            Some(p) => (&available[..p], Some(p + 1)),
            None => (available, None),
        };
        let room = max.saturating_sub(buf.len());
        if chunk.len() > room {
            too_long = true;
        }
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = end.unwrap_or(available.len());
        r.consume(used);
        if end.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(if too_long {
                Line::TooLong
            } else {
                Line::Complete
            });
        }
    }
}

async fn reply<W: AsyncWrite + Unpin>(w: &mut W, text: &str) -> std::io::Result<()> {
    w.write_all(text.as_bytes()).await?;
    w.write_all(b"\r\n").await?;
    w.flush().await
}

/// The address inside `FROM:<…>` / `TO:<…>`, and the parameters after it.
fn path_arg<'a>(arg: &'a str, keyword: &str) -> Option<(&'a str, &'a str)> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let rest = rest.strip_prefix('<')?;
    let end = rest.find('>')?;
    Some((rest[..end].trim(), rest[end + 1..].trim()))
}

/// What a finished DATA becomes: the SMTP reply.
async fn take_message(app: &App, raw: &[u8], mail_from: &str) -> String {
    let limit = app.config.intake.max_message_bytes;
    let parsed = match parse_forwarded(raw, limit) {
        Ok(p) => p,
        Err(e) => return format!("550 5.6.0 {e}"),
    };
    let mut addresses: Vec<&str> = parsed.reporter.iter().map(String::as_str).collect();
    if !mail_from.is_empty() {
        addresses.push(mail_from);
    }
    // Behind an MX every session comes from the relay's address: count per sender instead.
    match app
        .report_budget(&format!("smtp:{}", mail_from.to_ascii_lowercase()), now())
        .await
    {
        Ok(None) => {}
        Ok(Some(_)) => {
            return "450 4.7.1 Too many reports from this sender; try again in an hour".into()
        }
        Err(e) => {
            tracing::warn!(error = %e, "SMTP intake: report budget unavailable");
            return "451 4.3.0 Temporary failure, try again later".into();
        }
    }
    let mut report = NewReport::from_email(&parsed, ReportSource::Smtp);
    match app.account_for_addresses(&addresses).await {
        Ok(account) => report.reporter_account = account,
        Err(e) => {
            tracing::warn!(error = %e, "SMTP intake: reporter lookup failed");
            return "451 4.3.0 Temporary failure, try again later".into();
        }
    }
    match app.report_phishing(report, now()).await {
        Ok(r) => {
            tracing::info!(report = %r.report_id, campaign = %r.campaign_id, "phishing report received over SMTP");
            format!(
                "250 2.0.0 Thank you: report {} filed ({})",
                r.report_id,
                r.checked.verdict.verdict.as_str()
            )
        }
        Err(ServiceError::Invalid { message, .. }) => format!("550 5.6.0 {message}"),
        Err(e) => {
            tracing::warn!(error = %e, "SMTP intake: report not stored");
            "451 4.3.0 Temporary failure, try again later".into()
        }
    }
}

/// One SMTP session, from greeting to QUIT (or a timeout, or too many errors).
async fn session(app: &App, stream: TcpStream) -> std::io::Result<()> {
    let cfg = &app.config.intake;
    let recipient = cfg.recipient(&app.config.phishing_report_address);
    let max = cfg.max_message_bytes;
    let command_timeout = Duration::from_secs(cfg.command_timeout_secs.max(1));
    let (r, mut w) = stream.into_split();
    let mut r = BufReader::with_capacity(8 * 1024, r);
    reply(
        &mut w,
        &format!("220 {} ESMTP Hearth phishing report intake", cfg.hostname),
    )
    .await?;

    let mut greeted = false;
    let mut mail_from: Option<String> = None;
    let mut rcpts = 0usize;
    let mut errors = 0u32;
    let mut line = Vec::with_capacity(256);
    loop {
        if errors >= MAX_ERRORS {
            reply(&mut w, "421 4.7.0 Too many errors, closing").await?;
            return Ok(());
        }
        let read = tokio::time::timeout(
            command_timeout,
            read_line(&mut r, &mut line, MAX_COMMAND_LINE),
        )
        .await;
        match read {
            Err(_) => {
                reply(&mut w, "421 4.4.2 Timeout, closing").await?;
                return Ok(());
            }
            Ok(Err(e)) => return Err(e),
            Ok(Ok(Line::Eof)) => return Ok(()),
            Ok(Ok(Line::TooLong)) => {
                errors += 1;
                reply(&mut w, "500 5.5.2 Line too long").await?;
                continue;
            }
            Ok(Ok(Line::Complete)) => {}
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim();
        let (verb, arg) = match text.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim()),
            None => (text.to_ascii_uppercase(), ""),
        };
        match verb.as_str() {
            "EHLO" => {
                greeted = true;
                mail_from = None;
                rcpts = 0;
                let msg = format!(
                    "250-{} Hello\r\n250-SIZE {max}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES",
                    cfg.hostname
                );
                reply(&mut w, &msg).await?;
            }
            "HELO" => {
                greeted = true;
                mail_from = None;
                rcpts = 0;
                reply(&mut w, &format!("250 {}", cfg.hostname)).await?;
            }
            "MAIL" => {
                if !greeted {
                    errors += 1;
                    reply(&mut w, "503 5.5.1 Say EHLO first").await?;
                    continue;
                }
                if mail_from.is_some() {
                    errors += 1;
                    reply(&mut w, "503 5.5.1 Nested MAIL command").await?;
                    continue;
                }
                let Some((from, params)) = path_arg(arg, "FROM:") else {
                    errors += 1;
                    reply(&mut w, "501 5.5.4 Syntax: MAIL FROM:<address>").await?;
                    continue;
                };
                let declared = params.split_whitespace().find_map(|p| {
                    let (k, v) = p.split_once('=')?;
                    k.eq_ignore_ascii_case("SIZE")
                        .then(|| v.parse::<usize>().ok())
                        .flatten()
                });
                if declared.is_some_and(|n| n > max) {
                    reply(
                        &mut w,
                        &format!("552 5.3.4 Message too big: the limit is {max} bytes"),
                    )
                    .await?;
                    continue;
                }
                mail_from = Some(from.chars().take(320).collect());
                rcpts = 0;
                reply(&mut w, "250 2.1.0 OK").await?;
            }
            "RCPT" => {
                if mail_from.is_none() {
                    errors += 1;
                    reply(&mut w, "503 5.5.1 Need MAIL before RCPT").await?;
                    continue;
                }
                let Some((to, _)) = path_arg(arg, "TO:") else {
                    errors += 1;
                    reply(&mut w, "501 5.5.4 Syntax: RCPT TO:<address>").await?;
                    continue;
                };
                if !to.eq_ignore_ascii_case(&recipient) {
                    errors += 1;
                    reply(
                        &mut w,
                        &format!("550 5.1.1 No such mailbox: this server only takes phishing reports for {recipient}"),
                    )
                    .await?;
                    continue;
                }
                if rcpts >= MAX_RECIPIENTS {
                    reply(&mut w, "452 4.5.3 Too many recipients").await?;
                    continue;
                }
                rcpts += 1;
                reply(&mut w, "250 2.1.5 OK").await?;
            }
            "DATA" => {
                let Some(from) = mail_from.take() else {
                    errors += 1;
                    reply(&mut w, "503 5.5.1 Need MAIL and RCPT before DATA").await?;
                    continue;
                };
                if rcpts == 0 {
                    mail_from = Some(from);
                    errors += 1;
                    reply(&mut w, "554 5.5.1 No valid recipients").await?;
                    continue;
                }
                rcpts = 0;
                reply(&mut w, "354 End data with <CR><LF>.<CR><LF>").await?;
                let mut message: Vec<u8> = Vec::with_capacity(16 * 1024);
                let mut too_big = false;
                loop {
                    let read = tokio::time::timeout(
                        command_timeout,
                        read_line(&mut r, &mut line, max + 2),
                    )
                    .await;
                    match read {
                        Err(_) => {
                            reply(&mut w, "421 4.4.2 Timeout, closing").await?;
                            return Ok(());
                        }
                        Ok(Err(e)) => return Err(e),
                        Ok(Ok(Line::Eof)) => return Ok(()),
                        Ok(Ok(Line::TooLong)) => too_big = true,
                        Ok(Ok(Line::Complete)) => {
                            if line == b"." {
                                break;
                            }
                            // Dot-unstuffing (RFC 5321 §4.5.2).
                            let data = line.strip_prefix(b".").unwrap_or(&line);
                            if message.len() + data.len() + 2 > max {
                                too_big = true;
                            }
                            if !too_big {
                                message.extend_from_slice(data);
                                message.extend_from_slice(b"\r\n");
                            }
                        }
                    }
                }
                if too_big {
                    reply(
                        &mut w,
                        &format!("552 5.3.4 Message too big: the limit is {max} bytes; forward only the suspicious message"),
                    )
                    .await?;
                    continue;
                }
                let answer = take_message(app, &message, &from).await;
                reply(&mut w, &answer).await?;
            }
            "RSET" => {
                mail_from = None;
                rcpts = 0;
                reply(&mut w, "250 2.0.0 OK").await?;
            }
            "NOOP" => reply(&mut w, "250 2.0.0 OK").await?,
            "QUIT" => {
                reply(&mut w, "221 2.0.0 Bye").await?;
                return Ok(());
            }
            "VRFY" => reply(&mut w, "252 2.1.5 Cannot verify; send the message").await?,
            "HELP" => {
                reply(
                    &mut w,
                    &format!("214 2.0.0 Forward suspicious messages to {recipient}"),
                )
                .await?
            }
            _ => {
                errors += 1;
                reply(&mut w, "502 5.5.1 Command not implemented").await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read_with_their_parameters() {
        assert_eq!(
            path_arg("FROM:<a@b.pt> SIZE=10 BODY=8BITMIME", "FROM:"),
            Some(("a@b.pt", "SIZE=10 BODY=8BITMIME"))
        );
        assert_eq!(path_arg("to: <x@y.pt>", "TO:"), Some(("x@y.pt", "")));
        assert_eq!(path_arg("FROM:<>", "FROM:"), Some(("", "")));
        assert_eq!(path_arg("FROM:a@b.pt", "FROM:"), None);
        assert_eq!(path_arg("TO", "TO:"), None);
    }

    #[tokio::test]
    async fn lines_are_bounded_and_lose_their_crlf() {
        let input: &[u8] = b"EHLO x\r\nbare\n0123456789abc\r\nlast";
        let mut r = BufReader::new(input);
        let mut buf = Vec::new();
        assert!(matches!(
            read_line(&mut r, &mut buf, 10).await.unwrap(),
            Line::Complete
        ));
        assert_eq!(buf, b"EHLO x");
        assert!(matches!(
            read_line(&mut r, &mut buf, 10).await.unwrap(),
            Line::Complete
        ));
        assert_eq!(buf, b"bare");
        assert!(matches!(
            read_line(&mut r, &mut buf, 10).await.unwrap(),
            Line::TooLong
        ));
        assert!(matches!(
            read_line(&mut r, &mut buf, 10).await.unwrap(),
            Line::Eof
        ));
    }
}
