//! Starting every part of the gateway, running until a shutdown signal, draining.
//!
//! Start: open and recover the spool, bring the schema up to date when a database
//! is configured, start the writer, the simulated monitors and the API. Shutdown
//! (SIGTERM or Ctrl-C): readiness turns 503, intake stops first, then the writer
//! gets `database.shutdown_flush_ms` to hand what is spooled to the database;
//! whatever is left stays in the spool for the next start.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use collector::normalize::ClockPolicy;
use collector::schema::{self, MigrationReport, SchemaError};
use collector::{CollectorMetrics, Ingest, Normalizer, Spool, SpoolConfig, Writer, WriterConfig};
use dashboard_api::devices::DeviceAdmin;
use dashboard_api::AppState;
use firmware_adapters::backoff::Backoff;
use prometheus::Registry;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::NoTls;
use tracing::{error, info, warn};

use crate::adapters::{AdapterContext, Adapters};
use crate::broker::EmbeddedBroker;
use crate::config::{BrokerMode, DatabaseSection, GatewayConfig};
use collector::SiteSink;
use firmware_adapters::health::{AdapterMetrics, HealthRegistry};
use firmware_adapters::modbus::StatusBoard;

/// How many live batches a slow subscriber may fall behind.
const LIVE_BUS_CAPACITY: usize = 4_096;
/// How often the spool gauges are refreshed when no writer does it.
const GAUGE_REFRESH: Duration = Duration::from_secs(5);

/// How the gateway was started.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Print what the database holds this often (the demo).
    pub report_every: Option<Duration>,
    /// The configuration file, re-read on SIGHUP; `None` disables reloading.
    pub config_path: Option<std::path::PathBuf>,
}

/// Runs the gateway until `shutdown_signal` completes, then drains and returns.
///
/// # Errors
///
/// When the spool cannot be opened, the API address cannot be bound, or the
/// database answers but cannot hold our schema (for example TimescaleDB is
/// missing). An unreachable database is not an error: the gateway spools.
pub async fn run(
    config: GatewayConfig,
    options: Options,
    shutdown_signal: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let registry = Registry::new();
    let metrics = CollectorMetrics::register(&registry).context("register metrics")?;
    let spool = open_spool(&config, &metrics).await?;
    let ingest = Ingest::new(
        Arc::clone(&spool),
        Normalizer::new(ClockPolicy::default()),
        metrics.clone(),
        LIVE_BUS_CAPACITY,
    );

    let (stop_intake, intake_stopped) = watch::channel(false);
    let (stop_writer, writer_stopped) = watch::channel(false);
    let writer = match &config.database {
        Some(db) => Some(start_database(db, &spool, &metrics, writer_stopped.clone()).await?),
        None => {
            info!("No database configured: samples are spooled and served live only");
            tokio::spawn(refresh_gauges(ingest.clone(), intake_stopped.clone()));
            None
        }
    };
    let reporter = match (&config.database, options.report_every) {
        (Some(db), Some(every)) => {
            let task = crate::report::run(
                db.url.expose().to_owned(),
                config.site.tenant_id.clone(),
                every,
                intake_stopped.clone(),
            );
            Some(tokio::spawn(task))
        }
        _ => None,
    };

    let alerting = crate::alarms::start(&config, &ingest, &metrics, &registry, &intake_stopped)?;

    let adapter_metrics =
        AdapterMetrics::register(&registry).context("register adapter metrics")?;
    let health = HealthRegistry::default();
    let broker = match &config.mqtt {
        Some(m) if m.broker == BrokerMode::Embedded => {
            Some(Arc::new(EmbeddedBroker::start(m, &config)?))
        }
        _ => None,
    };
    let ctx = AdapterContext {
        sink: SiteSink::new(ingest.clone(), &config.site.tenant_id),
        metrics: adapter_metrics,
        health: health.clone(),
        status: StatusBoard::new(),
        broker,
    };
    let adapters = Adapters::start(&config, &ctx);
    let (admin, reloads) = DeviceAdmin::new(
        &config.site.tenant_id,
        crate::adapters::inventory(&config),
        ctx.status.clone(),
        config.profiles.dirs.last().cloned(),
    );
    let beds = admin.clone();
    let bed_of: crate::device_alarms::BedOf = Box::new(move |device| {
        let inventory = beds.inventory();
        let d = inventory.devices.iter().find(|d| d.device_id == device)?;
        Some(d.bed_id.as_str().into())
    });
    crate::device_alarms::spawn(
        &ctx.status,
        bed_of,
        alerting.clone(),
        intake_stopped.clone(),
    );
    let supervisor = tokio::spawn(crate::adapters::supervise(
        adapters,
        options.config_path.clone(),
        ctx,
        Some(reloads),
        intake_stopped.clone(),
    ));

    let mut state = AppState::new(registry, metrics, config.database.is_some())
        .with_health(health)
        .with_devices(admin)
        .with_alerting(dashboard_api::api::alarms::Alerting::new(
            &config.site.tenant_id,
            alerting,
        ));
    if let Some(core) = api_core(&config)? {
        let bus = ingest.clone();
        state = state
            .with_core(core)
            .with_live(Arc::new(move || bus.subscribe()));
    }
    // Admissions made through the API tell alerting as they happen; those
    // made before this start come from the database.
    let census = state.clone();
    tokio::spawn(async move { dashboard_api::api::census::restore(&census).await });
    let api = start_api(&config, state.clone(), intake_stopped.clone()).await?;
    let sources = crate::sim::spawn(
        &config.simulator,
        &config.site.tenant_id,
        &ingest,
        &intake_stopped,
    );
    info!(ward_id = %config.site.ward_id, devices = sources.len(), "Gateway running");

    shutdown_signal.await;
    info!("Shutdown requested: stopping intake");
    state.begin_shutdown();
    stop_intake.send_replace(true);
    for task in sources {
        let _ = task.await;
    }
    let _ = supervisor.await;
    if let Some(task) = reporter {
        let _ = task.await;
    }
    stop_writer.send_replace(true);
    if let (Some(task), Some(db)) = (writer, &config.database) {
        drain(task, Duration::from_millis(db.shutdown_flush_ms)).await;
    }
    let _ = api.await;
    let left = spool.stats().pending;
    info!(
        pending = left,
        "Gateway stopped; pending samples stay in the spool"
    );
    Ok(())
}

/// Without a writer nobody updates the spool gauges; this does, until shutdown.
async fn refresh_gauges(ingest: Ingest, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(GAUGE_REFRESH);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        let probe = ingest.clone();
        let refreshed = tokio::task::spawn_blocking(move || {
            probe.refresh_spool_gauges(std::time::SystemTime::now())
        })
        .await;
        if let Ok(Err(e)) = refreshed {
            warn!(error = %e, "Spool gauges could not be refreshed");
        }
    }
}

async fn open_spool(
    config: &GatewayConfig,
    metrics: &CollectorMetrics,
) -> anyhow::Result<Arc<Spool>> {
    let s = &config.spool;
    let spool_config = SpoolConfig {
        dir: s.dir.clone(),
        max_bytes: s.max_bytes,
        segment_bytes: s.segment_bytes,
        fsync: s.fsync,
    };
    let (spool, report) = tokio::task::spawn_blocking(move || Spool::open(spool_config))
        .await
        .context("spool recovery panicked")?
        .with_context(|| format!("open the spool in {}", s.dir.display()))?;
    for cut in &report.cuts {
        metrics.spool_cut_bytes.inc_by(cut.bytes);
        warn!(path = %cut.path.display(), offset = cut.offset, bytes = cut.bytes, torn = cut.torn,
            "Spool tail cut during recovery");
    }
    info!(
        pending = report.pending,
        next_seq = report.next_seq,
        spool_id = spool.id(),
        "Spool open"
    );
    Ok(Arc::new(spool))
}

/// Migrates once now: a database that answers but cannot hold the schema stops
/// the start. An unreachable one is retried in the background before the writer
/// starts, while intake already runs.
async fn start_database(
    db: &DatabaseSection,
    spool: &Arc<Spool>,
    metrics: &CollectorMetrics,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let url = db.url.expose().to_owned();
    let first = migrate(&url).await;
    match first {
        Ok(ref report) => log_schema(report),
        Err(e) if e.is_permanent() => {
            return Err(anyhow::Error::new(e).context("prepare the database"));
        }
        Err(ref e) => warn!(error = %e, "Database unreachable at start; spooling until it answers"),
    }
    if let Some(days) = db.retention_days {
        info!(
            keep_days = days,
            "Raw vitals past the retention period are dropped hourly"
        );
        tokio::spawn(collector::retention::run(
            url.clone(),
            days,
            metrics.clone(),
            shutdown.clone(),
        ));
    }
    let writer = Writer::new(writer_config(db), Arc::clone(spool), metrics.clone());
    let mut backoff = Backoff::new(
        Duration::from_millis(db.retry_initial_ms),
        Duration::from_millis(db.retry_max_ms),
    )
    .context("database retry delays")?;
    let mut migrated = first.is_ok();
    let mut shutdown_wait = shutdown.clone();
    Ok(tokio::spawn(async move {
        while !migrated {
            tokio::select! {
                () = tokio::time::sleep(backoff.next_delay()) => {}
                _ = shutdown_wait.changed() => return,
            }
            match migrate(&url).await {
                Ok(report) => {
                    log_schema(&report);
                    migrated = true;
                }
                Err(e) => {
                    warn!(error = %e, attempt = backoff.attempt(), "Database still unavailable")
                }
            }
        }
        writer.run(shutdown).await;
    }))
}

fn writer_config(db: &DatabaseSection) -> WriterConfig {
    WriterConfig {
        database_url: db.url.expose().to_owned(),
        batch_max_rows: db.batch_max_rows,
        batch_max_wait: Duration::from_millis(db.batch_max_wait_ms),
        retry_initial: Duration::from_millis(db.retry_initial_ms),
        retry_max: Duration::from_millis(db.retry_max_ms),
        connect_timeout: Duration::from_millis(db.connect_timeout_ms),
    }
}

fn log_schema(report: &MigrationReport) {
    info!(
        edition = %report.edition,
        timescaledb_version = %report.timescaledb_version,
        applied = ?report.applied,
        features = ?report.features,
        "Database schema ready"
    );
}

/// Connecting or migrating failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The server could not be reached.
    #[error("cannot connect to the database")]
    Connect(#[source] tokio_postgres::Error),
    /// The schema could not be brought up to date.
    #[error(transparent)]
    Schema(#[from] SchemaError),
}

impl MigrateError {
    /// Whether a person must act (wrong password, missing database or extension)
    /// rather than wait for the server to come back.
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Connect(e) => e.as_db_error().is_some(),
            Self::Schema(e) => !e.is_connection(),
        }
    }
}

/// Connects to `url` and brings the schema up to date, the alarm tables
/// included.
///
/// # Errors
///
/// See [`MigrateError`].
pub async fn migrate(url: &str) -> Result<MigrationReport, MigrateError> {
    let (mut client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(MigrateError::Connect)?;
    let conn = tokio::spawn(connection);
    let report = schema::migrate_with(
        &mut client,
        &[
            alerting::store::MIGRATIONS,
            dashboard_api::schema::MIGRATIONS,
        ],
    )
    .await;
    drop(client);
    let _ = conn.await;
    Ok(report?)
}

/// Connects to `url` and verifies every tenant's audit chain.
///
/// # Errors
///
/// When the database cannot be reached or read.
pub async fn verify_audit(url: &str) -> anyhow::Result<Vec<dashboard_api::audit::ChainReport>> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .context("connect to the database")?;
    let conn = tokio::spawn(connection);
    let reports = dashboard_api::audit::verify_all(&client)
        .await
        .context("read the audit log");
    drop(client);
    let _ = conn.await;
    reports
}

async fn start_api(
    config: &GatewayConfig,
    state: AppState,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let addr = config.api.listen_addr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("bind the API to {addr} (api.listen)"))?;
    info!(address = %listener.local_addr().context("API address")?, "API listening");
    let app = dashboard_api::app(state);
    Ok(tokio::spawn(async move {
        let stop = async move {
            let _ = shutdown.wait_for(|&stop| stop).await;
        };
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(stop)
            .await
        {
            error!(error = %e, "API server failed");
        }
    }))
}

/// Creates a user of the configuration's site (and the site's tenant row when
/// it is missing), after migrating the database: how the first administrator
/// of a site comes to be. Returns the user's id.
///
/// # Errors
///
/// Without a database or `HEALTHSPHERE_API_SECRET`, for an unknown role, a
/// password outside the allowed lengths, or a user name already taken.
pub async fn add_user(
    config: &GatewayConfig,
    username: &str,
    display_name: &str,
    password: &str,
    roles: &[String],
) -> anyhow::Result<String> {
    use dashboard_api::roles::Role;
    let roles = roles
        .iter()
        .map(|r| Role::parse(r).with_context(|| format!("--role: `{r}` is not a role")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let db = config
        .database
        .as_ref()
        .context("the configuration has no [database]")?;
    let report = migrate(db.url.expose()).await?;
    log_schema(&report);
    let core = api_core(config)?.context("HEALTHSPHERE_API_SECRET is not set")?;
    let tenant = dashboard_api::tenant::TenantId::parse(&config.site.tenant_id)
        .context("site.tenant_id is not a valid tenant id")?;
    let (client, connection) = tokio_postgres::connect(db.url.expose(), NoTls)
        .await
        .context("connect to the database")?;
    let conn = tokio::spawn(connection);
    let exists = client
        .query_opt("SELECT 1 FROM tenants WHERE id = $1", &[&tenant.as_str()])
        .await
        .context("look up the site")?
        .is_some();
    if !exists {
        dashboard_api::auth::users::create_tenant(&client, &tenant, &config.site.tenant_id)
            .await
            .context("create the site")?;
    }
    drop(client);
    let _ = conn.await;
    dashboard_api::auth::users::create_user(
        &core,
        &tenant,
        username,
        display_name,
        password,
        &roles,
    )
    .await
    .map_err(|e| anyhow::anyhow!("create the user: {e}"))
}

/// Where `gateway secret rotate` reads the new secret.
pub const NEW_API_SECRET_ENV: &str = "HEALTHSPHERE_API_SECRET_NEW";

/// `gateway secret rotate`: moves the configuration's site from the secret
/// in `HEALTHSPHERE_API_SECRET` to the one in [`NEW_API_SECRET_ENV`] (see
/// [`dashboard_api::rekey`]).
///
/// # Errors
///
/// Without a database or either secret, or when the rotation fails (then
/// nothing was changed).
pub async fn rotate_secret(
    config: &GatewayConfig,
) -> anyhow::Result<dashboard_api::rekey::RekeyReport> {
    use dashboard_api::config::ApiSecret;
    let db = config
        .database
        .as_ref()
        .context("the configuration has no [database]")?;
    let old = api_core(config)?.context("HEALTHSPHERE_API_SECRET is not set")?;
    let value = std::env::var(NEW_API_SECRET_ENV)
        .with_context(|| format!("{NEW_API_SECRET_ENV} is not set"))?;
    let secret =
        ApiSecret::from_base64(&value).with_context(|| format!("read {NEW_API_SECRET_ENV}"))?;
    let pool = dashboard_api::db::Pool::new(db.url.expose(), 1);
    let new = dashboard_api::core::ApiCore::new(config.api.auth.clone(), pool, &secret)
        .context("configure the API with the new secret")?;
    let tenant = dashboard_api::tenant::TenantId::parse(&config.site.tenant_id)
        .context("site.tenant_id is not a valid tenant id")?;
    let (mut client, connection) = tokio_postgres::connect(db.url.expose(), NoTls)
        .await
        .context("connect to the database")?;
    let conn = tokio::spawn(connection);
    let report = dashboard_api::rekey::rekey(&mut client, &tenant, &old, &new)
        .await
        .context("rotate the secret")?;
    drop(client);
    let _ = conn.await;
    Ok(report)
}

/// The authenticated API's core, when a database is configured and
/// `HEALTHSPHERE_API_SECRET` is set; otherwise its routes answer 503.
fn api_core(config: &GatewayConfig) -> anyhow::Result<Option<Arc<dashboard_api::core::ApiCore>>> {
    use dashboard_api::config::{ApiSecret, API_SECRET_ENV};
    let Some(db) = &config.database else {
        return Ok(None);
    };
    let Ok(value) = std::env::var(API_SECRET_ENV) else {
        warn!("HEALTHSPHERE_API_SECRET is not set: the authenticated API answers 503");
        return Ok(None);
    };
    let secret = ApiSecret::from_base64(&value).context("read HEALTHSPHERE_API_SECRET")?;
    let pool = dashboard_api::db::Pool::new(db.url.expose(), config.api.auth.max_connections);
    let core = dashboard_api::core::ApiCore::new(config.api.auth.clone(), pool, &secret)
        .context("configure the API")?;
    Ok(Some(core.shared()))
}

async fn drain(writer: JoinHandle<()>, limit: Duration) {
    let abort = writer.abort_handle();
    match tokio::time::timeout(limit, writer).await {
        Ok(_) => info!("Writer drained"),
        Err(_) => {
            // Aborting mid-transaction is safe: the server rolls it back and the
            // batch is still in the spool.
            abort.abort();
            warn!(limit = ?limit, "Writer did not drain in time; the rest stays spooled");
        }
    }
}
