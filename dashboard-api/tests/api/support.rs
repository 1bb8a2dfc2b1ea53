//! A migrated database with two tenants, an API core and its router.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use alerting::engine::EngineConfig;
use alerting::lifecycle::{EscalationPath, EscalationStep};
use alerting::runtime::{AlertingHandle, AlertingMetrics, RuntimeConfig};
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use collector::CollectorMetrics;
use dashboard_api::api::alarms::Alerting;
use dashboard_api::auth::users::{create_tenant, create_user};
use dashboard_api::config::{ApiSecret, AuthConfig};
use dashboard_api::core::ApiCore;
use dashboard_api::db::Pool;
use dashboard_api::devices::{DeviceAdmin, Inventory, ReloadOutcome};
use dashboard_api::roles::Role;
use dashboard_api::tenant::TenantId;
use dashboard_api::{app, AppState};
use firmware_adapters::health::HealthRegistry;
use firmware_adapters::modbus::StatusBoard;
use firmware_adapters::profile::{DeviceConfig, ProfileSet};
use healthsphere_tests::TestDb;
use http_body_util::BodyExt;
use prometheus::Registry;
use serde_json::Value;
use tokio_postgres::Client;
use tower::ServiceExt;

pub(crate) const PASSWORD: &str = "correct horse battery";

pub(crate) struct Env {
    pub(crate) db: TestDb,
    pub(crate) owner: Client,
    pub(crate) core: Arc<ApiCore>,
    pub(crate) router: Router,
    /// Publishes on the live bus the router's WebSocket reads.
    pub(crate) live: tokio::sync::broadcast::Sender<collector::LiveBatch>,
    /// The devices the router's device administration serves.
    pub(crate) devices: DeviceFixture,
    /// The state the router serves, for tests that need a variant of it.
    pub(crate) state: AppState,
    /// The alerting runtime (site `st-mary`, no escalation) over `live`.
    pub(crate) alerting: AlertingHandle,
    _alerting_stop: tokio::sync::watch::Sender<bool>,
}

/// An alerting runtime of site `st-mary` reading the live bus `live`,
/// offering escalated alarms to `escalation` in order (none when empty).
/// It runs while the returned sender lives.
pub(crate) fn alerting_runtime(
    live: &tokio::sync::broadcast::Sender<collector::LiveBatch>,
    escalation: &[&str],
) -> (AlertingHandle, tokio::sync::watch::Sender<bool>) {
    let mut engine = EngineConfig::new("st-mary", "test");
    if !escalation.is_empty() {
        let steps = escalation
            .iter()
            .map(|&id| EscalationStep {
                recipient: id.into(),
                ttl: std::time::Duration::from_secs(600),
            })
            .collect();
        engine.escalation = Some(EscalationPath::new(steps).unwrap());
    }
    alerting_runtime_with(live, RuntimeConfig::new(engine))
}

/// An alerting runtime of `config` reading the live bus `live`. It runs
/// while the returned sender lives.
pub(crate) fn alerting_runtime_with(
    live: &tokio::sync::broadcast::Sender<collector::LiveBatch>,
    config: RuntimeConfig,
) -> (AlertingHandle, tokio::sync::watch::Sender<bool>) {
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let (handle, _task) = alerting::runtime::spawn(
        config,
        live.subscribe(),
        None,
        Vec::new(),
        AlertingMetrics::unregistered(),
        stop_rx,
    );
    (handle, stop)
}

/// The shipped profiles plus a site folder of the test's own, one
/// configured device (`fridge-01` in `pharmacy`), the health registry and
/// status board the router reads.
pub(crate) struct DeviceFixture {
    pub(crate) site: tempfile::TempDir,
    pub(crate) health: HealthRegistry,
    pub(crate) status: StatusBoard,
}

fn shipped_profiles() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/profiles")
}

/// Device administration over the shipped profiles and a fresh site folder.
/// Reload requests are served by the profile loader the gateway uses (the
/// gateway's own supervisor is tested in gateway/tests/reload_api.rs).
fn device_admin() -> (DeviceFixture, DeviceAdmin) {
    let site = tempfile::tempdir().unwrap();
    let dirs = vec![shipped_profiles(), site.path().to_owned()];
    let device: DeviceConfig = toml::from_str(
        "device_id = \"fridge-01\"\nbed_id = \"pharmacy\"\nprofile = \"vaccine-fridge\"\n\
         [modbus.tcp]\nhost = \"127.0.0.1\"\nport = 1\nunit_id = 1\n",
    )
    .unwrap();
    let inventory = Inventory {
        devices: vec![device],
        profiles: ProfileSet::load(&dirs).unwrap(),
    };
    let status = StatusBoard::new();
    let (admin, mut reloads) = DeviceAdmin::new(
        "st-mary",
        inventory.clone(),
        status.clone(),
        Some(site.path().to_owned()),
    );
    tokio::spawn(async move {
        while let Some(reply) = reloads.requests.recv().await {
            let outcome = match ProfileSet::load(&dirs) {
                Ok(profiles) => {
                    let n = profiles.names().count();
                    reloads.publish(Inventory {
                        devices: inventory.devices.clone(),
                        profiles,
                    });
                    ReloadOutcome::Applied {
                        devices: inventory.devices.len(),
                        profiles: n,
                    }
                }
                Err(problems) => ReloadOutcome::Refused {
                    problems: problems.iter().map(ToString::to_string).collect(),
                },
            };
            let _ = reply.send(outcome);
        }
    });
    let fixture = DeviceFixture {
        site,
        health: HealthRegistry::default(),
        status,
    };
    (fixture, admin)
}

pub(crate) fn tenant(s: &str) -> TenantId {
    TenantId::parse(s).unwrap()
}

pub(crate) fn cheap_config() -> AuthConfig {
    AuthConfig {
        password_memory_kib: 8 * 1024,
        password_iterations: 1,
        mfa_required_roles: Vec::new(),
        ..AuthConfig::default()
    }
}

/// A database migrated with the collector's and the API's migrations, with
/// tenants `st-mary` and `st-john`.
pub(crate) async fn env(name: &str, config: AuthConfig) -> Option<Env> {
    let db = TestDb::create(name).await?;
    let mut owner = db.client().await;
    collector::schema::migrate_with(
        &mut owner,
        &[
            alerting::store::MIGRATIONS,
            dashboard_api::schema::MIGRATIONS,
        ],
    )
    .await
    .expect("migrate");
    create_tenant(&owner, &tenant("st-mary"), "St Mary")
        .await
        .unwrap();
    create_tenant(&owner, &tenant("st-john"), "St John")
        .await
        .unwrap();
    let secret = ApiSecret::from_bytes(vec![5; 32]).unwrap();
    let core = ApiCore::new(config, Pool::new(&db.url, 4), &secret)
        .unwrap()
        .shared();
    let registry = Registry::new();
    let metrics = CollectorMetrics::register(&registry).unwrap();
    let (live, _) = tokio::sync::broadcast::channel(1024);
    let source = live.clone();
    let (devices, admin) = device_admin();
    let (alerting, alerting_stop) = alerting_runtime(&live, &[]);
    let state = AppState::new(registry, metrics, true)
        .with_core(Arc::clone(&core))
        .with_live(Arc::new(move || source.subscribe()))
        .with_health(devices.health.clone())
        .with_devices(admin)
        .with_alerting(Alerting::new("st-mary", alerting.clone()));
    Some(Env {
        router: app(state.clone()),
        state,
        alerting,
        _alerting_stop: alerting_stop,
        live,
        devices,
        db,
        owner,
        core,
    })
}

impl Env {
    pub(crate) async fn user(&self, t: &str, name: &str, roles: &[Role]) -> String {
        create_user(&self.core, &tenant(t), name, name, PASSWORD, roles)
            .await
            .unwrap()
    }

    pub(crate) async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        call(&self.router, method, uri, token, body).await
    }

    pub(crate) async fn call_with_headers(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        call_with(&self.router, method, uri, token, body, headers).await
    }

    pub(crate) async fn login_full(
        &self,
        t: &str,
        name: &str,
        otp: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut body = serde_json::json!({"tenant": t, "username": name, "password": PASSWORD});
        if let Some(code) = otp {
            body["otp"] = Value::from(code);
        }
        self.call(Method::POST, "/api/v1/auth/login", None, Some(body))
            .await
    }

    /// Signs in and returns the access token.
    pub(crate) async fn login(&self, t: &str, name: &str) -> String {
        let (status, body) = self.login_full(t, name, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn done(self) {
        drop(self.owner);
        self.db.drop_db().await;
    }
}

/// The problem code of an error body.
/// The stable problem code of an error body: a problem's `code`, or the code
/// an OperationOutcome (the FHIR endpoints' errors) keeps in its first issue.
pub(crate) fn code(body: &Value) -> &str {
    body["code"]
        .as_str()
        .or_else(|| body["issue"][0]["details"]["coding"][0]["code"].as_str())
        .unwrap_or("")
}

/// Sends one request to `router`; the body as JSON (`Null` when not JSON).
pub(crate) async fn call(
    router: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    call_with(router, method, uri, token, body, &[]).await
}

/// As [`call`], with extra request headers.
pub(crate) async fn call_with(
    router: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let (status, _, json) = request(router, method, uri, token, body, headers).await;
    (status, json)
}

/// One request to the router with a bearer token and an optional
/// `If-Match`; the status, the `ETag` and the body.
pub(crate) async fn send(
    env: &Env,
    method: Method,
    uri: &str,
    token: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let headers: Vec<(&str, &str)> = if_match.map(|t| ("if-match", t)).into_iter().collect();
    let (status, h, json) = request(&env.router, method, uri, Some(token), body, &headers).await;
    let tag = h.get(header::ETAG).map(|v| v.to_str().unwrap().to_owned());
    (status, tag, json)
}

async fn request(
    router: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(serde_json::to_vec(&v).unwrap())
        }
        None => Body::empty(),
    };
    let res = router
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, json)
}
