//! The demo's print-out: what the database holds, bed by bed.

use std::time::Duration;

use tokio::sync::watch;
use tokio_postgres::{Client, NoTls};
use tracing::warn;

const LATEST: &str = "
    SELECT DISTINCT ON (bed_id, metric) bed_id, metric, value
    FROM vitals
    WHERE tenant_id = $1 AND time > now() - INTERVAL '30 minutes'
    ORDER BY bed_id, metric, time DESC";

const TOTALS: &str = "SELECT count(*), count(DISTINCT bed_id) FROM vitals WHERE tenant_id = $1";

/// The columns of the print-out: (metric name, heading).
const COLUMNS: [(&str, &str); 7] = [
    ("heart_rate", "HR /min"),
    ("spo2", "SpO2 %"),
    ("respiratory_rate", "RR /min"),
    ("body_temperature", "Temp Cel"),
    ("nibp_systolic", "NIBP sys"),
    ("nibp_diastolic", "NIBP dia"),
    ("fridge_temperature", "Fridge Cel"),
];

/// Prints a table of the newest stored values every `every` until shutdown.
pub async fn run(
    url: String,
    tenant_id: String,
    every: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let client = match tokio_postgres::connect(&url, NoTls).await {
        Ok((client, conn)) => {
            tokio::spawn(conn);
            client
        }
        Err(e) => {
            warn!(error = %e, "Demo report cannot reach the database");
            return;
        }
    };
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        match render(&client, &tenant_id).await {
            Ok(table) => print(&table),
            Err(e) => warn!(error = %e, "Demo report query failed"),
        }
    }
}

#[expect(
    clippy::print_stdout,
    reason = "the demo report is for a person at a terminal"
)]
fn print(table: &str) {
    println!("{table}");
}

async fn render(client: &Client, tenant_id: &str) -> Result<String, tokio_postgres::Error> {
    let totals = client.query_one(TOTALS, &[&tenant_id]).await?;
    let (rows, beds): (i64, i64) = (totals.get(0), totals.get(1));
    let latest = client.query(LATEST, &[&tenant_id]).await?;
    let mut out =
        format!("Stored in TimescaleDB: {rows} samples from {beds} beds. Newest values:\n");
    out.push_str(&format!("{:<10}", "bed"));
    for (_, heading) in COLUMNS {
        out.push_str(&format!("{heading:>11}"));
    }
    let mut current: Option<String> = None;
    let mut cells = [None::<f64>; COLUMNS.len()];
    let flush = |out: &mut String, bed: &str, cells: &[Option<f64>]| {
        out.push_str(&format!("\n{bed:<10}"));
        for c in cells {
            match c {
                Some(v) => out.push_str(&format!("{v:>11.1}")),
                None => out.push_str(&format!("{:>11}", "-")),
            }
        }
    };
    for row in &latest {
        let (bed, metric, value): (String, String, f64) = (row.get(0), row.get(1), row.get(2));
        if current.as_deref() != Some(bed.as_str()) {
            if let Some(prev) = &current {
                flush(&mut out, prev, &cells);
            }
            current = Some(bed);
            cells = [None; COLUMNS.len()];
        }
        if let Some(i) = COLUMNS.iter().position(|(m, _)| *m == metric) {
            cells[i] = Some(value);
        }
    }
    if let Some(prev) = &current {
        flush(&mut out, prev, &cells);
    }
    Ok(out)
}
