//! Real peers on loopback for the delivery tests: a minimal SMTP server and an HTTP
//! server that plays the SMS gateways. Both record what they receive.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// One mail as the SMTP server received it.
#[derive(Clone, Debug)]
pub struct ReceivedMail {
    pub helo: String,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: String,
    /// `user:password` if the client authenticated.
    pub auth: Option<String>,
}

impl ReceivedMail {
    /// The `Message-ID` header's value, if the mail has one.
    pub fn message_id(&self) -> Option<String> {
        header_value(&self.data, "message-id")
    }
}

/// The value of the first header called `name` in a raw message (case-insensitive).
pub fn header_value(raw: &str, name: &str) -> Option<String> {
    for line in raw.split("\r\n").flat_map(|l| l.split('\n')) {
        if line.is_empty() {
            return None;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case(name) {
                return Some(v.trim().to_owned());
            }
        }
    }
    None
}

/// How the SMTP server answers RCPT TO.
#[derive(Clone, Copy, Debug)]
pub enum RcptReply {
    Accept,
    /// 451: try again later.
    TempFail,
    /// 550: no such user.
    Reject,
}

pub struct SmtpServer {
    pub port: u16,
    pub mails: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpServer {
    /// The text parts of every mail received so far, one string per mail.
    pub fn texts(&self) -> Vec<String> {
        self.mails
            .lock()
            .unwrap()
            .iter()
            .map(|m| text_parts(&m.data).join("\n"))
            .collect()
    }
}

/// Starts an SMTP server on 127.0.0.1 speaking EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.
pub async fn start_smtp(rcpt: RcptReply) -> SmtpServer {
    start_smtp_on(0, rcpt).await
}

/// A port on 127.0.0.1 where nothing listens (yet): connections to it are refused.
/// [`start_smtp_on`] can bring a server up there later.
pub fn closed_port() -> u16 {
    let parked = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    parked.local_addr().unwrap().port()
}

/// [`start_smtp`] on a given port (0: any free one), e.g. one that was down until now.
pub async fn start_smtp_on(port: u16, rcpt: RcptReply) -> SmtpServer {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&mails);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let _ = smtp_session(stream, rcpt, store).await;
            });
        }
    });
    SmtpServer { port, mails }
}

async fn smtp_session(
    stream: tokio::net::TcpStream,
    rcpt: RcptReply,
    store: Arc<Mutex<Vec<ReceivedMail>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 hearth-test ESMTP ready\r\n").await?;
    let mut mail = ReceivedMail {
        helo: String::new(),
        mail_from: String::new(),
        rcpt_to: Vec::new(),
        data: String::new(),
        auth: None,
    };
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            mail.helo = cmd[4..].trim().to_owned();
            write
                .write_all(b"250-hearth-test greets you\r\n250-8BITMIME\r\n250-AUTH PLAIN\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("AUTH PLAIN ") {
            // base64("\0user\0password")
            let decoded = base64_decode(cmd[11..].trim());
            let fields: Vec<String> = decoded
                .split(|b| *b == 0)
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect();
            mail.auth = fields.get(1..).map(|f| f.join(":"));
            write.write_all(b"235 2.7.0 authenticated\r\n").await?;
        } else if upper.starts_with("MAIL FROM:") {
            mail.mail_from = cmd[10..].trim().to_owned();
            write.write_all(b"250 2.1.0 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            let reply: &[u8] = match rcpt {
                RcptReply::Accept => {
                    mail.rcpt_to.push(cmd[8..].trim().to_owned());
                    b"250 2.1.5 OK\r\n"
                }
                RcptReply::TempFail => b"451 4.3.0 try again later\r\n",
                RcptReply::Reject => b"550 5.1.1 no such user here\r\n",
            };
            write.write_all(reply).await?;
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                // Undo dot-stuffing.
                let l = line.strip_prefix('.').unwrap_or(&line);
                data.push_str(l);
            }
            mail.data = data;
            store.lock().unwrap().push(mail.clone());
            write.write_all(b"250 2.0.0 queued\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            write.write_all(b"250 2.0.0 OK\r\n").await?;
        } else {
            write.write_all(b"502 5.5.2 not implemented\r\n").await?;
        }
    }
}

/// The decoded bodies of the `text/*` parts of a MIME message (plain and HTML), in order.
pub fn text_parts(raw: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut encoding = String::from("7bit");
    let mut is_text = false;
    let mut in_headers = true;
    let mut body: Vec<String> = Vec::new();
    let mut flush = |encoding: &str, is_text: bool, body: &mut Vec<String>| {
        if is_text {
            let joined = body.join("\n");
            parts.push(match encoding {
                "quoted-printable" => qp_decode(&joined),
                "base64" => String::from_utf8(base64_decode(&joined)).unwrap_or_default(),
                _ => joined,
            });
        }
        body.clear();
    };
    for line in raw.split("\r\n").flat_map(|l| l.split('\n')) {
        if line.starts_with("--") {
            flush(&encoding, is_text, &mut body);
            encoding = "7bit".into();
            is_text = false;
            in_headers = true;
            continue;
        }
        if in_headers {
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-transfer-encoding:") {
                encoding = v.trim().to_owned();
            }
            if let Some(v) = lower.strip_prefix("content-type:") {
                is_text = v.trim().starts_with("text/");
            }
            if line.is_empty() {
                in_headers = false;
            }
            continue;
        }
        body.push(line.to_owned());
    }
    flush(&encoding, is_text, &mut body);
    parts
}

pub fn qp_decode(s: &str) -> String {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'=' if bytes.get(i + 1) == Some(&b'\n') => i += 2,
            b'=' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => out.push(b),
                    Err(_) => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn base64_decode(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().filter(|c| *c != b'=') {
        let Some(v) = B64.iter().position(|x| *x == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Decodes an `application/x-www-form-urlencoded` body.
pub fn form_decode(body: &str) -> Vec<(String, String)> {
    let dec = |s: &str| {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (dec(k), dec(v))
        })
        .collect()
}

/// One request as the gateway received it.
#[derive(Clone, Debug)]
pub struct GatewayRequest {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The `Idempotency-Key` header, if sent.
    pub idempotency_key: Option<String>,
    pub body: String,
    /// When it arrived, and the status it was answered with.
    pub at: std::time::Instant,
    pub status: u16,
}

#[derive(Clone)]
struct GatewayState {
    requests: Arc<Mutex<Vec<GatewayRequest>>>,
    /// Statuses to answer, in order; once empty, 201.
    script: Arc<Mutex<VecDeque<u16>>>,
    /// While set, every request is answered with this status (before the script).
    failing: Arc<Mutex<Option<u16>>>,
}

pub struct Gateway {
    pub base_url: String,
    pub requests: Arc<Mutex<Vec<GatewayRequest>>>,
    failing: Arc<Mutex<Option<u16>>>,
}

impl Gateway {
    /// Answers every request with `status` (e.g. 500) until called again with `None`.
    pub fn fail_with(&self, status: Option<u16>) {
        *self.failing.lock().unwrap() = status;
    }

    /// The form values of every request received so far, one string per request.
    pub fn texts(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| {
                form_decode(&r.body)
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect()
    }

    /// The requests answered with a 2xx status.
    pub fn accepted(&self) -> Vec<GatewayRequest> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| (200..300).contains(&r.status))
            .cloned()
            .collect()
    }
}

/// An HTTP server answering the Twilio Messages path and `/hook` with scripted statuses.
pub async fn start_gateway(script: &[u16]) -> Gateway {
    let state = GatewayState {
        requests: Arc::new(Mutex::new(Vec::new())),
        script: Arc::new(Mutex::new(script.iter().copied().collect())),
        failing: Arc::new(Mutex::new(None)),
    };
    async fn record(
        state: &GatewayState,
        path: String,
        headers: &HeaderMap,
        body: Bytes,
    ) -> StatusCode {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let forced = *state.failing.lock().unwrap();
        let code =
            forced.unwrap_or_else(|| state.script.lock().unwrap().pop_front().unwrap_or(201));
        state.requests.lock().unwrap().push(GatewayRequest {
            path,
            authorization: header("authorization"),
            content_type: header("content-type"),
            idempotency_key: header("idempotency-key"),
            body: String::from_utf8_lossy(&body).into_owned(),
            at: std::time::Instant::now(),
            status: code,
        });
        StatusCode::from_u16(code).unwrap()
    }
    let app = Router::new()
        .route(
            "/2010-04-01/Accounts/{sid}/Messages.json",
            post(
                |State(s): State<GatewayState>,
                 Path(sid): Path<String>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    let code = record(
                        &s,
                        format!("/2010-04-01/Accounts/{sid}/Messages.json"),
                        &headers,
                        body,
                    )
                    .await;
                    (code, r#"{"sid":"SM1","status":"queued"}"#)
                },
            ),
        )
        .route(
            "/hook",
            post(
                |State(s): State<GatewayState>, headers: HeaderMap, body: Bytes| async move {
                    let code = record(&s, "/hook".into(), &headers, body).await;
                    (code, "")
                },
            ),
        )
        .with_state(state.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Gateway {
        base_url: format!("http://{addr}"),
        requests: state.requests,
        failing: state.failing,
    }
}

/// Every run of exactly `n` digits in `s`.
pub fn digit_runs(s: &str, n: usize) -> Vec<String> {
    s.split(|c: char| !c.is_ascii_digit())
        .filter(|d| d.len() == n)
        .map(str::to_owned)
        .collect()
}
