//! `hearth message check` and `hearth message train`.

use anyhow::Context;
use hearth_phish::train::{cross_validate, parse_tsv, train, TrainParams};
use hearth_phish::Checker;
use std::io::BufWriter;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// A model written by `hearth message train` instead of the embedded one.
    #[arg(long)]
    model: Option<PathBuf>,
}

/// Reads `{"text":…, "sender":…, "channel":"sms"|"email"}` lines on stdin and writes
/// one verdict per line on stdout.
pub fn check(args: CheckArgs) -> anyhow::Result<()> {
    let mut config = hearth_phish::CheckerConfig::default();
    if let Some(path) = &args.model {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        config.model = Some(
            hearth_phish::model::Model::from_bytes(&bytes)
                .with_context(|| format!("{} is not a Hearth message model", path.display()))?,
        );
    }
    let checker = Checker::new(config);
    let stdin = std::io::stdin().lock();
    let stdout = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let stats =
        hearth_phish::stream::check_stream(&checker, stdin, stdout).context("checking messages")?;
    if stats.errors > 0 {
        eprintln!(
            "{} of {} lines were not messages (see the error lines)",
            stats.errors, stats.lines
        );
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Training data: `label<TAB>text` lines, label `spam` or `ham` (repeatable).
    #[arg(long, required = true)]
    data: Vec<PathBuf>,
    /// Where to write the model.
    #[arg(long)]
    out: PathBuf,
    /// Also print 5-fold cross-validated precision, recall and F1.
    #[arg(long)]
    cv: bool,
}

pub fn train_model(args: TrainArgs) -> anyhow::Result<()> {
    let mut samples = Vec::new();
    for path in &args.data {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        samples.extend(parse_tsv(&text).with_context(|| format!("in {}", path.display()))?);
    }
    let params = TrainParams::default();
    if args.cv {
        let (m, _) = cross_validate(&samples, 5, &params);
        eprintln!(
            "5-fold CV: precision {:.4} recall {:.4} F1 {:.4}",
            m.precision, m.recall, m.f1
        );
    }
    let model = train(&samples, &params);
    std::fs::write(&args.out, model.to_bytes())
        .with_context(|| format!("writing {}", args.out.display()))?;
    eprintln!(
        "trained on {} messages (seed {}); model written to {}",
        samples.len(),
        params.seed,
        args.out.display()
    );
    Ok(())
}
