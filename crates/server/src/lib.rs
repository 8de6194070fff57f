//! Hearth's service: configuration, shared state, the service operations and the
//! HTTP layer that exposes them. `serve` wires them to a listener.

pub mod app;
pub mod breach;
pub mod config;
pub mod demo;
pub mod hashing;
pub mod http;
pub mod intake;
pub mod metrics;
pub mod net;
pub mod outbox;
pub mod retention;
pub mod secrets;
pub mod service;
pub mod testkit;
pub mod web;

use app::{App, StartError};
use config::Config;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;

/// A service ready to accept connections.
pub struct Server {
    pub app: Arc<App>,
    pub listener: TcpListener,
}

impl Server {
    /// Opens the store, builds the state and binds the listener.
    pub async fn bind(config: Config) -> Result<Server, StartError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            StartError::Other(format!(
                "cannot create data folder {}: {e}",
                config.data_dir.display()
            ))
        })?;
        let store = hearth_store::open(&config.database_url()).await?;
        let listen = config.listen;
        let app = Arc::new(App::build(config, store)?);
        app.start_writer()
            .await
            .map_err(|e| StartError::Other(e.to_string()))?;
        if app.enricher.is_empty() {
            tracing::info!("no GeoIP database configured: devices get no place, and the engine decides from IP prefixes and the events' own fields");
        }
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| StartError::Other(format!("cannot listen on {listen}: {e}")))?;
        Ok(Server { app, listener })
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves until `shutdown` resolves, then drains requests in flight.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let intake = intake::start(&self.app).await?;
        let sweeper = tokio::spawn(sweep_idle(self.app.clone()));
        let retention = tokio::spawn(retention::run(self.app.clone()));
        let effects = tokio::spawn(service::effects::run(self.app.clone()));
        let (stop_courier, courier_stop) = tokio::sync::watch::channel(false);
        let courier = outbox::start(&self.app, courier_stop)
            .map_err(|e| std::io::Error::other(format!("courier: {e}")))?;
        let router = http::router(self.app.clone());
        let result = http::serve::serve(self.listener, router, self.app.clone(), shutdown).await;
        sweeper.abort();
        retention.abort();
        effects.abort();
        self.app.flush_effects().await;
        self.app.flush_writer().await;
        if let Some((_, task)) = intake {
            task.abort();
        }
        // Requests are drained; the courier finishes the batch it has claimed, claims
        // no more, and what is still pending waits in the database for the next start.
        let _ = stop_courier.send(true);
        let _ = courier.await;
        tracing::info!("courier stopped");
        result
    }
}

/// Signs out devices left unused, on the configured interval.
async fn sweep_idle(app: Arc<App>) {
    let every = std::time::Duration::from_secs(app.config.sessions.sweep_interval_secs.max(1));
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match app.sweep_idle_sessions().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(signed_out = n, "signed out inactive devices"),
            Err(e) => tracing::warn!(error = %e, "idle sweep failed"),
        }
    }
}
