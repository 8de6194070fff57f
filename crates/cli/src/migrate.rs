//! `hearth migrate`: applies the database's pending migrations (with the same
//! configuration layers as `hearth serve`) and says what it applied, or that the
//! database is up to date. `--retention` then runs one data-retention pass.

use anyhow::Context;
use hearth_server::config::{Config, Overrides};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct MigrateArgs {
    /// Folder of the SQLite database [default: ./hearth-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`.
    #[arg(long)]
    database_url: Option<String>,
    /// TOML configuration file (also HEARTH_CONFIG).
    #[arg(long, env = "HEARTH_CONFIG")]
    config: Option<PathBuf>,
    /// Then truncate raw IP addresses older than `[retention] ip_days`, as serve does.
    #[arg(long)]
    retention: bool,
}

pub fn run(args: MigrateArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        data_dir: args.data_dir,
        database_url: args.database_url,
        ..Overrides::default()
    };
    let config = Config::load(args.config.as_deref(), std::env::vars(), &overrides)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(migrate(config, args.retention))
}

async fn migrate(config: Config, retention: bool) -> anyhow::Result<()> {
    let url = config.database_url();
    if url.starts_with("sqlite:") && config.database_url.is_empty() {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("cannot create data folder {}", config.data_dir.display()))?;
    }
    let kind = if url.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    let report = hearth_store::migrate(&url)
        .await
        .with_context(|| format!("cannot migrate the {kind} database"))?;
    if report.applied.is_empty() {
        println!(
            "The {kind} database is up to date (version {}).",
            report.version
        );
    } else {
        for (version, name) in &report.applied {
            println!("applied {version:04} {name}");
        }
        println!(
            "The {kind} database is now at version {} ({} migration{} applied).",
            report.version,
            report.applied.len(),
            if report.applied.len() == 1 { "" } else { "s" }
        );
    }
    if retention {
        let store = hearth_store::open(&url)
            .await
            .with_context(|| format!("cannot open the {kind} database"))?;
        let r = store
            .truncate_ips(config.retention.cutoff(hearth_server::service::now()))
            .await
            .context("retention pass")?;
        println!(
            "Retention: IP addresses older than {} days truncated in {} sessions and {} audit entries; {} idle counters removed.",
            config.retention.ip_days, r.sessions, r.audit, r.counters
        );
    }
    Ok(())
}
