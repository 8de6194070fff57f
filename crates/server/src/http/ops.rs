//! Operations endpoints: liveness, readiness, metrics and the OpenAPI document.

use super::views::HealthBody;
use super::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;

/// Liveness: the process answers; it does not touch the database (that is `/readyz`).
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = HealthBody)))]
pub async fn healthz(State(app): State<AppState>) -> Json<HealthBody> {
    Json(HealthBody {
        status: "ok",
        backend: app.store.backend(),
    })
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = HealthBody),
        (status = 503, description = "The database does not answer (`unavailable`), Redis for the shared counters does not (`counters_unavailable`), or the service is shutting down (`draining`)", body = HealthBody)))]
pub async fn readyz(State(app): State<AppState>) -> (StatusCode, Json<HealthBody>) {
    let status = if app.draining.load(std::sync::atomic::Ordering::Relaxed) {
        Err("draining")
    } else {
        // Ready only when the database and the shared counters (Redis, when
        // configured) both answer: without the counters every sign-in is a 503.
        match app.store.ping().await {
            Ok(()) => app
                .counters
                .ping()
                .await
                .map_err(|_| "counters_unavailable"),
            Err(_) => Err("unavailable"),
        }
    };
    match status {
        Ok(()) => (
            StatusCode::OK,
            Json(HealthBody {
                status: "ready",
                backend: app.store.backend(),
            }),
        ),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(HealthBody {
                status: why,
                backend: app.store.backend(),
            }),
        ),
    }
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(app): State<AppState>) -> impl IntoResponse {
    let queued = app.writer.get().map_or(0, |w| w.backlog());
    app.metrics
        .set("hearth_access_queue_events", &[], queued as f64);
    if let Ok(n) = app.store.outbox_backlog().await {
        app.metrics.set("hearth_outbox_backlog", &[], n as f64);
    }
    if let Ok((pending, overdue)) = app.store.effects_backlog(crate::service::now()).await {
        app.metrics
            .set("hearth_engine_effects_pending", &[], pending as f64);
        app.metrics
            .set("hearth_engine_effects_overdue", &[], overdue as f64);
    }
    if let Ok(counts) = app.store.outbox_counts().await {
        // Every status is shown, zero included, so an alert on `dead` has a series.
        for status in ["pending", "sending", "sent", "dead"] {
            let n = counts
                .iter()
                .find(|(s, _)| s == status)
                .map_or(0, |(_, n)| *n);
            app.metrics
                .set("hearth_outbox_messages", &[("status", status)], n as f64);
        }
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        app.metrics.render(),
    )
}

#[utoipa::path(get, path = "/openapi.json", tag = "operations", responses((status = 200, description = "This document")))]
pub async fn openapi() -> impl IntoResponse {
    Json(super::openapi_doc())
}
