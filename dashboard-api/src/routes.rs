//! Operational endpoints: liveness, readiness, metrics.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use prometheus::{Encoder, TextEncoder};
use serde::Serialize;

use crate::AppState;

/// The API's router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/devices/health", get(device_health))
        .with_state(state)
}

#[derive(Debug, Serialize)]
struct Readiness {
    ready: bool,
    database: &'static str,
}

async fn readyz(State(state): State<AppState>) -> Response {
    let database = match (state.database_configured, state.collector.db_up.get()) {
        (false, _) => "not_configured",
        (true, 1) => "up",
        (true, _) => "down",
    };
    let ready = !state.is_shutting_down();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(Readiness { ready, database })).into_response()
}

/// Connection state, last reading and counters of every device adapter.
async fn device_health(State(state): State<AppState>) -> Response {
    Json(state.health.snapshot()).into_response()
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut body = Vec::new();
    let encoder = TextEncoder::new();
    match encoder.encode(&state.registry.gather(), &mut body) {
        Ok(()) => (
            [(header::CONTENT_TYPE, encoder.format_type().to_owned())],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "Metrics encoding failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use collector::CollectorMetrics;
    use http_body_util::BodyExt;
    use prometheus::Registry;
    use tower::ServiceExt;

    use super::*;

    fn state(db: bool) -> AppState {
        let registry = Registry::new();
        let metrics = CollectorMetrics::register(&registry).unwrap();
        AppState::new(registry, metrics, db)
    }

    async fn get(state: AppState, uri: &str) -> (StatusCode, String) {
        let req = Request::get(uri).body(Body::empty()).unwrap();
        let res = app(state).oneshot(req).await.unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn metrics_expose_collector_counters() {
        let s = state(true);
        s.collector.samples_accepted.inc_by(7);
        let (status, body) = get(s, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.contains("collector_samples_accepted_total 7"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn readiness_reports_database_and_turns_503_on_shutdown() {
        let s = state(true);
        let (status, body) = get(s.clone(), "/readyz").await;
        assert_eq!(
            (status, body.as_str()),
            (StatusCode::OK, r#"{"ready":true,"database":"down"}"#)
        );
        s.collector.db_up.set(1);
        assert!(get(s.clone(), "/readyz")
            .await
            .1
            .contains(r#""database":"up""#));
        s.begin_shutdown();
        assert_eq!(get(s, "/readyz").await.0, StatusCode::SERVICE_UNAVAILABLE);
        let (_, body) = get(state(false), "/readyz").await;
        assert!(body.contains("not_configured"), "{body}");
    }
}
