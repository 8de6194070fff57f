//! A request id for every request: the caller's `X-Request-Id` when it looks sane
//! (1–64 of `A-Z a-z 0-9 - _ . :`), otherwise a fresh one. It is echoed in the answer
//! and carried by a `request` span, so every log line written while the request is
//! handled names it (with the method and the route template, never the raw path,
//! which can hold tokens).

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument;

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being handled, for handlers that want it.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

fn sane(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// A fresh id, 16 hex digits from the thread's generator (a CSPRNG seeded and reseeded
/// from the OS). An id is not a secret, so it is not read from the OS generator as
/// tokens are (`service::random_hex`): that was a system call for every request.
fn fresh_id() -> String {
    use rand::Rng;
    format!("{:016x}", rand::thread_rng().gen::<u64>())
}

pub async fn layer(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map(str::to_owned)
        .unwrap_or_else(fresh_id);
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        route = %route,
    );
    req.extensions_mut().insert(RequestId(id.clone()));
    let start = Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    let status = resp.status();
    let ms = start.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), ms, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), ms, "request finished");
        }
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    if status == StatusCode::REQUEST_TIMEOUT {
        // The body may be half read: this connection cannot carry another request.
        resp.headers_mut().insert(
            axum::http::header::CONNECTION,
            HeaderValue::from_static("close"),
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_sane_ids_are_kept() {
        for ok in ["abc", "0f8fad5b-d9cb-469f-a165-70867728950e", "req.1:2_3"] {
            assert!(super::sane(ok), "{ok}");
        }
        let long = "a".repeat(65);
        for bad in ["", "has space", "new\nline", "<script>", long.as_str()] {
            assert!(!super::sane(bad), "{bad:?}");
        }
    }

    #[test]
    fn fresh_ids_are_sixteen_hex_digits_and_do_not_repeat() {
        let ids: std::collections::HashSet<String> =
            (0..10_000).map(|_| super::fresh_id()).collect();
        assert_eq!(ids.len(), 10_000);
        for id in &ids {
            assert_eq!(id.len(), 16, "{id}");
            assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
            assert!(super::sane(id), "{id}");
        }
    }
}
