//! The `gateway` command: run the ward gateway, migrate its database, check a
//! configuration file, or run the demo ward.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use gateway::config::{self, GatewayConfig, DATABASE_URL_ENV};
use gateway::run::{self, Options};
use tracing_subscriber::EnvFilter;

/// The demo ward's configuration, shipped in `deploy/`.
const DEMO_CONFIG: &str = include_str!("../../deploy/demo.toml");
/// Where the demo stores its data when `HEALTHSPHERE_DATABASE_URL` is not set:
/// the local TimescaleDB that `deploy/timescaledb.sh` starts.
const DEMO_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:55432/healthsphere_demo";

#[derive(Debug, Parser)]
#[command(name = "gateway", version, about = "HealthSphere ward gateway")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway until SIGTERM or Ctrl-C.
    Run {
        /// The configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Bring the database schema up to date and report the TimescaleDB edition.
    Migrate {
        /// The configuration file whose database to migrate.
        #[arg(long, short, required_unless_present = "database_url")]
        config: Option<PathBuf>,
        /// The database URL, instead of a configuration file.
        #[arg(long, env = DATABASE_URL_ENV, hide_env_values = true)]
        database_url: Option<String>,
    },
    /// Audit log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// API user tools.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API secret tools.
    Secret {
        #[command(subcommand)]
        command: SecretCommand,
    },
    /// Check a configuration file and list every problem in it.
    CheckConfig {
        /// The configuration file.
        file: PathBuf,
    },
    /// Run a demo ward of simulated monitors into the local TimescaleDB and print
    /// what it stores every few seconds.
    Demo {
        /// How often to print the stored values.
        #[arg(long, default_value_t = 5)]
        report_every_secs: u64,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check every tenant's audit hash chain and name each edited, deleted or
    /// reordered entry. Exits 1 when any chain is broken. Needs a role that
    /// sees every tenant's rows (the migration role: a superuser or BYPASSRLS).
    Verify {
        /// The configuration file whose database to check.
        #[arg(long, short, required_unless_present = "database_url")]
        config: Option<PathBuf>,
        /// The database URL, instead of a configuration file.
        #[arg(long, env = DATABASE_URL_ENV, hide_env_values = true)]
        database_url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create a user of the configuration's site, such as its first
    /// administrator. Migrates the database first. The password is read from
    /// HEALTHSPHERE_NEW_USER_PASSWORD or, without it, from the first line of
    /// standard input; it never goes on the command line. Needs
    /// HEALTHSPHERE_API_SECRET, as the API does.
    Add {
        /// The configuration file (its site and database).
        #[arg(long, short)]
        config: PathBuf,
        /// The user name to sign in with.
        #[arg(long)]
        username: String,
        /// The name shown to people; the user name when absent.
        #[arg(long)]
        display_name: Option<String>,
        /// A role (administrator, physician, nurse, charge_nurse,
        /// biomedical_engineer, pharmacist, billing_clerk, front_desk);
        /// repeat for several.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
enum SecretCommand {
    /// Move the configuration's site to a new HEALTHSPHERE_API_SECRET: seal
    /// every protected value again under the new keys, recompute the MRN
    /// lookup hashes and end every session, in one transaction. The old
    /// secret comes from HEALTHSPHERE_API_SECRET, the new one from
    /// HEALTHSPHERE_API_SECRET_NEW. Stop the site's gateways first and start
    /// them with the new secret afterwards.
    Rotate {
        /// The configuration file (its site and database).
        #[arg(long, short)]
        config: PathBuf,
    },
}

/// Where `gateway user add` reads the new password when it is not on stdin.
const NEW_USER_PASSWORD_ENV: &str = "HEALTHSPHERE_NEW_USER_PASSWORD";

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            // rumqttd logs every device connection at info; its warnings still show.
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,rumqttd=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::Error::new(e).context("start the async runtime")),
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

#[expect(
    clippy::print_stderr,
    reason = "the last word of a failed command goes to its terminal"
)]
fn fail(e: &anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    ExitCode::FAILURE
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

async fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run { config } => {
            let loaded = config::load(&config, env)?;
            let options = Options {
                config_path: Some(config),
                ..Options::default()
            };
            run::run(loaded, options, shutdown_signal()).await
        }
        Command::Migrate {
            config,
            database_url,
        } => {
            let url = database_url_from(database_url, config)?;
            let report = run::migrate(&url).await.context("migrate the database")?;
            report_migration(&report);
            Ok(())
        }
        Command::Audit {
            command:
                AuditCommand::Verify {
                    config,
                    database_url,
                },
        } => {
            let url = database_url_from(database_url, config)?;
            let reports = run::verify_audit(&url).await?;
            report_audit(&reports);
            let broken = reports.iter().filter(|r| !r.findings.is_empty()).count();
            anyhow::ensure!(broken == 0, "{broken} audit chain(s) failed verification");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    config,
                    username,
                    display_name,
                    roles,
                },
        } => {
            let loaded = config::load(&config, env)?;
            let password = match env(NEW_USER_PASSWORD_ENV) {
                Some(p) => p,
                None => {
                    let mut line = String::new();
                    std::io::stdin()
                        .read_line(&mut line)
                        .context("read the password from standard input")?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let display = display_name.unwrap_or_else(|| username.clone());
            let id = run::add_user(&loaded, &username, &display, &password, &roles).await?;
            report_user(&loaded, &username, &id);
            Ok(())
        }
        Command::Secret {
            command: SecretCommand::Rotate { config },
        } => {
            let loaded = config::load(&config, env)?;
            let report = run::rotate_secret(&loaded).await?;
            report_rotation(&loaded, &report);
            Ok(())
        }
        Command::CheckConfig { file } => {
            let config = config::load(&file, env)?;
            report_config_ok(&file, &config);
            Ok(())
        }
        Command::Demo { report_every_secs } => {
            let demo_env = |key: &str| {
                let value = env(key);
                if key == DATABASE_URL_ENV {
                    return value.or_else(|| Some(DEMO_DATABASE_URL.to_owned()));
                }
                value
            };
            let config = config::load_str(DEMO_CONFIG, Path::new("deploy/demo.toml"), demo_env)?;
            let url = database_url_of(&config, Path::new("deploy/demo.toml"))?;
            gateway::demo::ensure_database(&url).await?;
            let options = Options {
                report_every: Some(Duration::from_secs(report_every_secs)),
                config_path: None,
            };
            let (stop_sims, sims_stopped) = tokio::sync::watch::channel(false);
            let mut sims = gateway::demo::serve_modbus_devices(&config, &sims_stopped).await?;
            sims.extend(gateway::demo::serve_mqtt_devices(&config, &sims_stopped)?);
            let mut lines = gateway::demo::serve_serial_devices(&config, &sims_stopped);
            let result = run::run(config, options, shutdown_signal()).await;
            stop_sims.send_replace(true);
            for task in sims.into_iter().chain(std::mem::take(&mut lines.tasks)) {
                let _ = task.await;
            }
            drop(lines);
            result
        }
    }
}

/// The URL given on the command line, or the one of the configuration file.
fn database_url_from(url: Option<String>, file: Option<PathBuf>) -> anyhow::Result<String> {
    match (url, file) {
        (Some(url), _) => Ok(url),
        (None, Some(file)) => database_url_of(&config::load(&file, env)?, &file),
        (None, None) => unreachable!("clap requires one of them"),
    }
}

fn database_url_of(config: &GatewayConfig, file: &Path) -> anyhow::Result<String> {
    let db = config.database.as_ref().with_context(|| {
        format!(
            "{}: no [database] section and {DATABASE_URL_ENV} is not set",
            file.display()
        )
    })?;
    Ok(db.url.expose().to_owned())
}

#[expect(clippy::print_stdout, reason = "the command's result is its output")]
fn report_user(config: &GatewayConfig, username: &str, id: &str) {
    println!(
        "created user {username} (id {id}) of site {}",
        config.site.tenant_id
    );
}

#[expect(clippy::print_stdout, reason = "the command's result is its output")]
fn report_rotation(config: &GatewayConfig, r: &dashboard_api::rekey::RekeyReport) {
    println!(
        "site {} moved to the new secret: {} patients, {} staff messages and {} TOTP \
         secrets sealed again; {} sessions ended. Start the gateway with the new \
         HEALTHSPHERE_API_SECRET.",
        config.site.tenant_id, r.patients, r.messages, r.totp_secrets, r.sessions_revoked
    );
}

#[expect(clippy::print_stdout, reason = "the command's result is its output")]
fn report_migration(report: &collector::schema::MigrationReport) {
    println!(
        "schema up to date: applied {:?}; TimescaleDB {} ({} edition); features in use: {}",
        report.applied,
        report.timescaledb_version,
        report.edition,
        report.features.join(", ")
    );
}

#[expect(clippy::print_stdout, reason = "the command's result is its output")]
fn report_audit(reports: &[dashboard_api::audit::ChainReport]) {
    if reports.is_empty() {
        println!("audit log: no entries");
    }
    for r in reports {
        let head = r
            .head
            .as_ref()
            .map_or_else(String::new, |(seq, hash)| format!(", head {seq} {hash}"));
        let verdict = if r.findings.is_empty() {
            "intact"
        } else {
            "BROKEN"
        };
        println!(
            "tenant {}: {} entries{head}: {verdict}",
            r.tenant_id, r.entries
        );
        for f in &r.findings {
            println!("  {f}");
        }
    }
}

#[expect(clippy::print_stdout, reason = "the command's result is its output")]
fn report_config_ok(file: &Path, config: &GatewayConfig) {
    let db = if config.database.is_some() {
        "configured"
    } else {
        "not configured"
    };
    println!(
        "{}: ok (site {}, ward {}, {} devices with {} profiles, {} simulated monitors, database {db})",
        file.display(),
        config.site.tenant_id,
        config.site.ward_id,
        config.device.len(),
        config.profile_set.names().count(),
        config.simulator.len()
    );
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
