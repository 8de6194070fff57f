//! `hearth serve`: the service with its API (and pages), on SQLite by default.

use anyhow::Context;
use hearth_server::config::{Config, Overrides};
use hearth_server::Server;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Folder for the SQLite database and generated secrets [default: ./hearth-data].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// `sqlite://PATH` or `postgres://USER@HOST/DB` (several nodes share one PostgreSQL).
    #[arg(long)]
    database_url: Option<String>,
    /// TOML configuration file (also HEARTH_CONFIG).
    #[arg(long, env = "HEARTH_CONFIG")]
    config: Option<PathBuf>,
    /// Fill an empty service with demo households, a shared and a resold account.
    #[arg(long)]
    demo: bool,
    /// `text` or `json` (one object per line) logs on stderr [default: text].
    #[arg(long, value_parser = ["text", "json"])]
    log_format: Option<String>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let overrides = Overrides {
        listen: args.listen,
        data_dir: args.data_dir,
        database_url: args.database_url,
        demo: args.demo,
        log_format: args.log_format,
    };
    let config = Config::load(args.config.as_deref(), std::env::vars(), &overrides)?;
    init_logging(&config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(serve(config))
}

pub(crate) fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HEARTH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let data_dir = config.data_dir.clone();
    let server = Server::bind(config).await?;
    let app = server.app.clone();
    let addr = server
        .local_addr()
        .context("reading the listening address")?;
    if let Some(path) = &app.new_api_key_file {
        println!(
            "Platform API key for POST /v1/access written to {}",
            path.display()
        );
    }
    if let Some(password) = app.ensure_admin("admin@hearth.local").await? {
        println!("First analyst account: admin@hearth.local / {password}  (shown once; change it after signing in)");
    }
    if app.config.demo {
        let demo = app.seed_demo().await?;
        if demo.created {
            println!(
                "Demo: {} simulated events, {} accounts in the analysts' queue, {} phishing reports",
                demo.events, demo.flagged_accounts, demo.phishing_reports
            );
        }
        println!(
            "Demo owner: {} / {}",
            hearth_server::demo::DEMO_OWNER,
            hearth_server::demo::DEMO_PASSWORD
        );
    }
    println!(
        "Hearth is listening on http://{addr}  (data in {}, {} store)",
        data_dir.display(),
        app.store.backend()
    );
    server.run(shutdown_signal()).await.context("serving")?;
    println!("Hearth stopped.");
    Ok(())
}

async fn shutdown_signal() {
    stop_signal().await;
    tracing::info!("shutting down: draining requests");
}

/// Resolves at the first SIGINT (Ctrl-C) or SIGTERM.
pub(crate) async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
