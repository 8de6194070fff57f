//! The `hearth` binary: it parses the command line and wires the crates together.

mod consume;
mod message;
mod migrate;
mod password;
mod replay;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: malloc and free were about a tenth of the
/// server's samples under access load, spread over every request (BENCHMARKS.md,
/// session 5).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "hearth",
    version,
    about = "Account protection for subscription streaming services"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service and its web pages.
    Serve(serve::ServeArgs),
    /// Decide access events read from NATS JetStream; publish each decision back to it.
    Consume(consume::ConsumeArgs),
    /// Apply pending database migrations (and, with --retention, one retention pass).
    Migrate(migrate::MigrateArgs),
    /// Run access events (JSON Lines) through the engine: one decision per event.
    Replay(replay::ReplayArgs),
    /// Generate a labelled population of households, travellers, shared and resold accounts.
    Simulate(replay::SimulateArgs),
    /// Phishing message tools.
    Message {
        #[command(subcommand)]
        command: MessageCommand,
    },
    /// Password tools.
    Password {
        #[command(subcommand)]
        command: PasswordCommand,
    },
}

#[derive(Subcommand)]
enum MessageCommand {
    /// Read `{"text":…,"sender":…,"channel":…}` lines on stdin; write one verdict per line.
    Check(message::CheckArgs),
    /// Train the message model from labelled data.
    Train(message::TrainArgs),
}

#[derive(Subcommand)]
enum PasswordCommand {
    /// Read one candidate password per line on stdin; write one JSON verdict per line.
    Check(password::CheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Consume(args) => consume::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::Replay(args) => replay::replay(args),
        Command::Simulate(args) => replay::simulate(args),
        Command::Message {
            command: MessageCommand::Check(args),
        } => message::check(args),
        Command::Message {
            command: MessageCommand::Train(args),
        } => message::train_model(args),
        Command::Password {
            command: PasswordCommand::Check(args),
        } => password::check(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hearth: {e:#}");
            ExitCode::FAILURE
        }
    }
}
