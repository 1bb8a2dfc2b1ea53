//! A migrated database with two tenants, an API core and its router.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use collector::CollectorMetrics;
use dashboard_api::auth::users::{create_tenant, create_user};
use dashboard_api::config::{ApiSecret, AuthConfig};
use dashboard_api::core::ApiCore;
use dashboard_api::db::Pool;
use dashboard_api::roles::Role;
use dashboard_api::tenant::TenantId;
use dashboard_api::{app, AppState};
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
    collector::schema::migrate_with(&mut owner, &[dashboard_api::schema::MIGRATIONS])
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
    let state = AppState::new(registry, metrics, true)
        .with_core(Arc::clone(&core))
        .with_live(Arc::new(move || source.subscribe()));
    Some(Env {
        router: app(state),
        live,
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
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => Body::empty(),
        };
        let res = self
            .router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, json)
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
pub(crate) fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("")
}
