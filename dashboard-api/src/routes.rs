//! The router built from the route table, and the operational endpoints.
//!
//! [`ROUTES`] (in [`crate::route_table`]) lists every route with the
//! permission it needs; the router here must serve exactly those.

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use prometheus::{Encoder, TextEncoder};
use serde::Serialize;

use crate::http::{authorize, request_context, MAX_BODY_BYTES};
use crate::problem::ApiError;
pub use crate::route_table::{find_route, Route, ROUTES};
use crate::{api, AppState};

/// The API's router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/devices/health", get(device_health))
        .route(
            "/openapi.json",
            get(|| async { Json(crate::openapi::cached()) }),
        )
        .route("/api/v1/auth/login", post(api::auth::login))
        .route("/api/v1/auth/refresh", post(api::auth::refresh))
        .route("/api/v1/auth/logout", post(api::auth::logout))
        .route("/api/v1/auth/totp/enrol", post(api::auth::totp_enrol))
        .route("/api/v1/auth/totp/confirm", post(api::auth::totp_confirm))
        .route("/api/v1/auth/break-glass", post(api::auth::break_glass))
        .route("/api/v1/me", get(api::auth::me))
        .route("/api/v1/audit", get(api::audit::list))
        .route("/api/v1/audit/fhir", get(api::audit::fhir))
        .route("/fhir/R4/Observation", get(api::fhir::search))
        .route(
            "/fhir/R4/Observation/{observation_id}",
            get(api::fhir::read),
        )
        .route("/api/v1/live", get(crate::live::live))
        .route(
            "/api/v1/users",
            get(api::users::list).post(api::users::create),
        )
        .route(
            "/api/v1/users/{user_id}",
            get(api::users::get)
                .patch(api::users::update)
                .delete(api::users::delete),
        )
        .route("/api/v1/devices/health", get(device_health))
        .route("/api/v1/devices", get(api::devices::list))
        .route("/api/v1/devices/statuses", get(api::devices::statuses))
        .route("/api/v1/devices/reload", post(api::devices::reload))
        .route(
            "/api/v1/device-profiles",
            get(api::devices::profiles).post(api::devices::upload),
        )
        .route(
            "/api/v1/device-profiles/validate",
            post(api::devices::validate),
        )
        .route(
            "/api/v1/beds/{bed_id}/vitals/latest",
            get(api::vitals::latest),
        )
        .route("/api/v1/beds/{bed_id}/vitals", get(api::vitals::range))
        .route(
            "/api/v1/beds/{bed_id}/vitals/aggregate",
            get(api::vitals::aggregate),
        )
        .route(
            "/api/v1/patients",
            get(api::patients::list).post(api::patients::create),
        )
        .route("/api/v1/patients/{patient_id}", get(api::patients::get))
        .route(
            "/api/v1/patients/{patient_id}/admissions",
            get(api::patients::list_admissions).post(api::patients::admit),
        )
        .route(
            "/api/v1/patients/{patient_id}/vitals/latest",
            get(api::vitals::patient_latest),
        )
        .route(
            "/api/v1/patients/{patient_id}/vitals",
            get(api::vitals::patient_range),
        )
        .route(
            "/api/v1/patients/{patient_id}/vitals/aggregate",
            get(api::vitals::patient_aggregate),
        )
        .route(
            "/api/v1/admissions/{admission_id}/discharge",
            post(api::patients::discharge),
        )
        .route("/api/v1/alarms", get(api::alarms::list))
        .route("/api/v1/alarms/history", get(api::alarm_history::history))
        .route("/api/v1/beds/{bed_id}/news2", get(api::alarms::news2))
        .route(
            "/api/v1/beds/{bed_id}/observations",
            post(api::clinical_inputs::observe),
        )
        .route("/api/v1/limit-overrides", post(api::clinical_inputs::set))
        .route(
            "/api/v1/limit-overrides/clear",
            post(api::clinical_inputs::clear),
        )
        .route(
            "/api/v1/beds/{bed_id}/alarms/{rule_id}/acknowledge",
            post(api::alarms::acknowledge),
        )
        .route(
            "/api/v1/beds/{bed_id}/alarms/{rule_id}/silence",
            post(api::alarms::silence),
        )
        .route(
            "/api/v1/beds/{bed_id}/alarms/{rule_id}/accept",
            post(api::alarms::accept),
        )
        .route(
            "/api/v1/beds/{bed_id}/alarms/{rule_id}/decline",
            post(api::alarms::decline),
        )
        .route(
            "/api/v1/beds/{bed_id}/alarms/{rule_id}/accept-and-call-back",
            post(api::alarms::accept_and_call_back),
        )
        .route(
            "/api/v1/messages",
            get(api::message_lists::inbox).post(api::messages::send),
        )
        .route("/api/v1/messages/sent", get(api::message_lists::sent))
        .route("/api/v1/messages/{message_id}", get(api::messages::get))
        .route(
            "/api/v1/messages/{message_id}/read",
            post(api::messages::mark_read),
        )
        .route(
            "/api/v1/inventory/items",
            get(api::inventory::items::list).post(api::inventory::items::create),
        )
        .route(
            "/api/v1/inventory/items/{item_id}",
            get(api::inventory::items::get)
                .patch(api::inventory::items::update)
                .delete(api::inventory::items::delete),
        )
        .route(
            "/api/v1/inventory/items/{item_id}/movements",
            get(api::inventory::movements::list).post(api::inventory::movements::record),
        )
        .route(
            "/api/v1/appointments",
            get(api::appointments::routes::list).post(api::appointments::routes::create),
        )
        .route(
            "/api/v1/appointments/{appointment_id}",
            get(api::appointments::routes::get),
        )
        .route(
            "/api/v1/appointments/{appointment_id}/status",
            post(api::appointments::routes::change_status),
        )
        .route_layer(middleware::from_fn_with_state(state.clone(), authorize))
        .fallback(|| async { ApiError::no_such_route() })
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(api::fhir_outcome::rewrite))
        .layer(middleware::from_fn(crate::compress::gzip))
        .layer(middleware::from_fn(request_context))
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
/// For biomedical engineers; holds no patient data.
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

    async fn send(
        router: Router,
        req: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let res = router.oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    fn with_core(per_sec: u32, burst: u32) -> AppState {
        let core = crate::core::ApiCore::new(
            crate::config::AuthConfig {
                requests_per_sec_per_address: per_sec,
                request_burst_per_address: burst,
                password_memory_kib: 8 * 1024,
                password_iterations: 1,
                ..crate::config::AuthConfig::default()
            },
            crate::db::Pool::new("postgres://127.0.0.1:1/unused", 1),
            &crate::config::ApiSecret::from_bytes(vec![3; 32]).unwrap(),
        )
        .unwrap();
        state(true).with_core(core.shared())
    }

    #[tokio::test]
    async fn every_response_has_security_headers_and_a_request_id() {
        let router = app(state(false));
        let req = Request::get("/healthz").body(Body::empty()).unwrap();
        let (_, h, _) = send(router.clone(), req).await;
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["referrer-policy"], "no-referrer");
        assert!(h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        assert!(h.contains_key("permissions-policy"));
        assert!(
            !h.contains_key("access-control-allow-origin"),
            "CORS is off"
        );
        assert_eq!(h["x-request-id"].len(), 24, "generated");
        // A well-formed client id is kept; a hostile one is replaced.
        let req = Request::get("/nowhere")
            .header("x-request-id", "abc-123")
            .header("origin", "https://evil.example")
            .body(Body::empty())
            .unwrap();
        let (status, h, body) = send(router.clone(), req).await;
        assert_eq!(h["x-request-id"], "abc-123");
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(h["content-type"], "application/problem+json");
        assert!(body.contains(r#""code":"no_such_route""#), "{body}");
        assert!(!h.contains_key("access-control-allow-origin"));
        let req = Request::get("/healthz")
            .header("x-request-id", "bad id\twith spaces")
            .body(Body::empty())
            .unwrap();
        let (_, h, _) = send(router, req).await;
        assert_ne!(h["x-request-id"], "bad id\twith spaces");
    }

    #[tokio::test]
    async fn bodies_are_limited_and_must_be_json() {
        let router = app(with_core(100, 100));
        let big = format!(r#"{{"tenant":"{}"}}"#, "a".repeat(MAX_BODY_BYTES));
        let req = Request::post("/api/v1/auth/login")
            .header("content-type", "application/json")
            .body(Body::from(big))
            .unwrap();
        let (status, _, body) = send(router.clone(), req).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
        assert!(body.contains("payload_too_large"));
        let req = Request::post("/api/v1/auth/login")
            .header("content-type", "text/plain")
            .body(Body::from("{}"))
            .unwrap();
        let (status, _, _) = send(router.clone(), req).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let req = Request::post("/api/v1/auth/login")
            .header("content-type", "application/json")
            .body(Body::from("{not json"))
            .unwrap();
        let (status, _, body) = send(router.clone(), req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains("malformed_request"), "{body}");
        let req = Request::delete("/healthz").body(Body::empty()).unwrap();
        let (status, _, body) = send(router, req).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert!(body.contains("method_not_allowed"), "{body}");
    }

    #[tokio::test]
    async fn api_requests_are_rate_limited_per_address() {
        let router = app(with_core(1, 2));
        let me = || Request::get("/api/v1/me").body(Body::empty()).unwrap();
        assert_eq!(send(router.clone(), me()).await.0, StatusCode::UNAUTHORIZED);
        assert_eq!(send(router.clone(), me()).await.0, StatusCode::UNAUTHORIZED);
        let (status, h, body) = send(router.clone(), me()).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
        assert_eq!(h["retry-after"], "1");
        // Operational endpoints are not limited.
        let health = Request::get("/healthz").body(Body::empty()).unwrap();
        assert_eq!(send(router, health).await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn large_json_is_gzipped_when_accepted() {
        use std::io::Read as _;
        let router = app(state(false));
        let plain = Request::get("/openapi.json").body(Body::empty()).unwrap();
        let (status, h, identity) = send(router.clone(), plain).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!h.contains_key("content-encoding"));
        assert!(identity.len() > 10 * crate::compress::MIN_BYTES);

        let req = Request::get("/openapi.json")
            .header("accept-encoding", "br;q=1.0, gzip;q=0.8")
            .body(Body::empty())
            .unwrap();
        let res = router.clone().oneshot(req).await.unwrap();
        assert_eq!(res.headers()["content-encoding"], "gzip");
        assert_eq!(res.headers()["vary"], "accept-encoding");
        assert_eq!(res.headers()["x-frame-options"], "DENY");
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert!(body.len() * 3 < identity.len(), "{} bytes", body.len());
        let mut unzipped = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut unzipped)
            .unwrap();
        assert_eq!(unzipped, identity);

        // Small bodies and refusals of gzip are left alone.
        for (uri, accept) in [("/healthz", "gzip"), ("/openapi.json", "gzip;q=0")] {
            let req = Request::get(uri)
                .header("accept-encoding", accept)
                .body(Body::empty())
                .unwrap();
            let (_, h, _) = send(router.clone(), req).await;
            assert!(!h.contains_key("content-encoding"), "{uri} {accept}");
        }
    }

    #[tokio::test]
    async fn without_a_core_the_api_answers_503() {
        let req = Request::get("/api/v1/me").body(Body::empty()).unwrap();
        let (status, _, body) = send(app(state(true)), req).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains("unavailable"), "{body}");
    }
}
