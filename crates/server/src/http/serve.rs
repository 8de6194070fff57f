//! The HTTP/1.1 connection loop, in place of `axum::serve` because that one offers
//! neither a header-read timeout nor a header size limit, nor a bounded drain.
//!
//! - A client must send its whole request head within `limits.header_timeout_secs`
//!   (slow-loris); otherwise hyper closes the connection without an answer.
//! - At most `limits.max_connections` connections are served at once; the next waits
//!   in the kernel's backlog until one closes (which the timeouts guarantee).
//! - A head larger than `limits.header_bytes`, or with more than `limits.max_headers`
//!   headers, is answered `431` by hyper itself (empty body: it never reaches the router).
//! - On shutdown `/readyz` turns 503 at once; the listener stays open for
//!   `shutdown.ready_delay_secs`, then closes; requests in flight get
//!   `shutdown.drain_timeout_secs` to finish (idle kept-alive connections are closed
//!   at once), and whatever is left is dropped.

use crate::app::App;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tower::Service;

/// Serves `router` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let limits = &app.config.limits;
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(limits.header_timeout_secs))
        .max_header_size(limits.header_bytes);
    // hyper's default is 100 on the stack; any other value costs a heap allocation.
    if limits.max_headers != 100 {
        builder.max_headers(limits.max_headers);
    }
    let builder = Arc::new(builder);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let (close_tx, close_rx) = watch::channel(false);
    // Every connection task holds a sender; `recv` returns `None` once all are gone.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    let ready_delay = Duration::from_secs(app.config.shutdown.ready_delay_secs);
    tokio::pin!(shutdown);
    // Armed at the signal; until then it sleeps for "ever" (a century).
    let close_at = tokio::time::sleep(Duration::from_secs(100 * 365 * 86_400));
    tokio::pin!(close_at);
    let mut signalled = false;
    loop {
        tokio::select! {
            () = &mut shutdown, if !signalled => {
                signalled = true;
                app.draining.store(true, Ordering::Relaxed);
                tracing::info!(ready_delay_secs = ready_delay.as_secs(), "shutting down: /readyz now answers 503");
                close_at.as_mut().reset(tokio::time::Instant::now() + ready_delay);
            }
            () = &mut close_at, if signalled => break,
            accepted = async {
                // A slot first, then the connection: when full, stop accepting.
                let slot = slots.clone().acquire_owned().await;
                (slot, listener.accept().await)
            } => match accepted {
                (Err(_), _) => break,
                (Ok(slot), Ok((stream, peer))) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(connection(
                        stream,
                        peer,
                        router.clone(),
                        builder.clone(),
                        close_rx.clone(),
                        (open_tx.clone(), slot),
                    ));
                }
                (_, Err(e)) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    drop(listener);
    let _ = close_tx.send(true);
    drop(open_tx);
    let drain = Duration::from_secs(app.config.shutdown.drain_timeout_secs);
    tracing::info!(
        drain_timeout_secs = drain.as_secs(),
        "listener closed; draining requests in flight"
    );
    if tokio::time::timeout(drain, open_rx.recv()).await.is_err() {
        tracing::warn!("drain timeout reached; dropping the connections still open");
    } else {
        tracing::info!("requests drained");
    }
    Ok(())
}

async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    builder: Arc<http1::Builder>,
    mut close: watch::Receiver<bool>,
    _open: (mpsc::Sender<()>, tokio::sync::OwnedSemaphorePermit),
) {
    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        let mut router = router.clone();
        async move { router.call(req.map(axum::body::Body::new)).await }
    });
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
            return;
        }
        _ = close.wait_for(|c| *c) => {}
    }
    // Finish the request in progress (if any), then close.
    conn.as_mut().graceful_shutdown();
    if let Err(e) = conn.await {
        tracing::debug!(%peer, error = %e, "connection ended while draining");
    }
}
