//! `hearth replay` and `hearth simulate`: event files through the same engine the
//! server uses.

use anyhow::Context;
use hearth_core::engine::{Engine, EngineConfig};
use hearth_events::geo::Enricher;
use hearth_events::simulate::SimOptions;
use hearth_events::{evaluate, replay, simulate};
use std::fs::File;
use std::io::{BufReader, BufWriter, IsTerminal};
use std::path::PathBuf;

/// Where events get their place and network when the event itself does not say.
#[derive(clap::Args)]
pub struct GeoArgs {
    /// MaxMind City or Country database (.mmdb).
    #[arg(long)]
    geoip_city: Option<PathBuf>,
    /// MaxMind ASN database (.mmdb).
    #[arg(long)]
    geoip_asn: Option<PathBuf>,
    /// MaxMind Anonymous-IP database (.mmdb).
    #[arg(long)]
    geoip_anonymous: Option<PathBuf>,
}

impl GeoArgs {
    fn open(&self) -> anyhow::Result<Enricher> {
        Ok(Enricher::open(
            self.geoip_city.as_deref(),
            self.geoip_asn.as_deref(),
            self.geoip_anonymous.as_deref(),
        )?)
    }
}

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// Access events, one JSON object per line (`-` for stdin).
    events: PathBuf,
    /// Write decisions here instead of stdout.
    #[arg(long)]
    decisions: Option<PathBuf>,
    /// Write one verdict per account here.
    #[arg(long)]
    accounts: Option<PathBuf>,
    #[command(flatten)]
    geo: GeoArgs,
}

pub fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let engine = Engine::new(EngineConfig::default());
    let enricher = args.geo.open()?;
    let (input, total): (Box<dyn std::io::BufRead>, Option<u64>) = if args.events.as_os_str() == "-"
    {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let f = File::open(&args.events)
            .with_context(|| format!("opening {}", args.events.display()))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(BufReader::with_capacity(1 << 16, f)), len)
    };
    let decisions: Box<dyn std::io::Write> = match &args.decisions {
        Some(p) => Box::new(File::create(p).with_context(|| format!("creating {}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let accounts = match &args.accounts {
        Some(p) => Some(BufWriter::new(
            File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => None,
    };
    let options = replay::ReplayOptions {
        progress: std::io::stderr().is_terminal(),
        total_bytes: total,
        ..Default::default()
    };
    let stats = replay::run_with(&engine, &enricher, input, decisions, accounts, &options)?;
    eprintln!(
        "replayed {} events of {} accounts: {} allowed, {} asked to verify, {} denied; {} malformed lines skipped",
        stats.events, stats.accounts, stats.allowed, stats.verify, stats.denied, stats.malformed
    );
    Ok(())
}

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// Accounts in the population.
    #[arg(long, default_value_t = 1000)]
    accounts: usize,
    /// Simulated days.
    #[arg(long, default_value_t = 30)]
    days: u32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// IP-to-ASN table (pyasn .dat, gzipped or not) for realistic addresses.
    #[arg(long)]
    asn_table: Option<PathBuf>,
    /// Write the events here.
    #[arg(long)]
    events: Option<PathBuf>,
    /// Write the ground truth (one line per account) here.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Run the population through the engine and print per-class results instead.
    #[arg(long)]
    evaluate: bool,
    /// With --evaluate: print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    let opts = SimOptions {
        accounts: args.accounts,
        days: args.days,
        seed: args.seed,
        asn_table: args.asn_table.clone(),
        ..Default::default()
    };
    if args.evaluate {
        let engine = Engine::new(EngineConfig::default());
        let report = evaluate::simulate_and_evaluate(&engine, &opts)?;
        if args.json {
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            print!("{}", report.table());
        }
        if !report.passes() {
            eprintln!("some targets were missed (see the table)");
        }
        return Ok(());
    }
    let (Some(events), Some(truth)) = (&args.events, &args.truth) else {
        anyhow::bail!("give --events FILE and --truth FILE, or --evaluate");
    };
    let ev = BufWriter::new(
        File::create(events).with_context(|| format!("creating {}", events.display()))?,
    );
    let tr = File::create(truth).with_context(|| format!("creating {}", truth.display()))?;
    let stats = simulate::run(&opts, ev, tr)?;
    eprintln!("simulated {stats:?}");
    Ok(())
}
