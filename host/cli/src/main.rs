//! `host`: the scorekit command line. Trains models on CSV data, writes artifacts and evaluation
//! reports, compiles artifacts into self-contained Wasm modules, scores files and serves models.
//!
//! This binary is a thin adapter: model logic lives in `models/*`, the rules every host shares in
//! `scorekit-host`, module execution in `scorekit-runtime`. Errors are `anyhow` with context and
//! print one message naming the file, row and column at fault; the exit status says whose fault
//! it is (the host layer's error kind, mapped here and nowhere else):
//!
//! | status | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | anything else: unreadable or unwritable file, bad artifact, … |
//! | 2 | bad command line (clap) |
//! | 65 | bad input: a value, row or request the model cannot take |
//! | 69 | unavailable |
//! | 70 | the model failed (trap, internal error, malformed answer, invalid module) |
//! | 75 | a limit stopped the call (deadline, memory cap, size bound) |
//! | 130 | interrupted |

mod cmd;
mod data;
mod demo;
mod report;
mod train;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "host", version, about = "Train, compile, inspect, score and serve scorekit models")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a model on a CSV file; writes NAME.model.json and an evaluation report.
    #[command(subcommand)]
    Train(train::TrainCommand),
    /// Compile a model artifact into one self-contained .wasm module.
    Compile(cmd::compile::CompileArgs),
    /// Show a module's schema, hash, ABI version, size and metrics.
    Inspect(cmd::inspect::InspectArgs),
    /// Score a CSV or JSON Lines file with a model artifact (.model.json) or module (.wasm).
    Score(cmd::score::ScoreArgs),
    /// Train the embedded demo models (churn, anomaly, forecast) into a directory.
    Demo(cmd::demo::DemoArgs),
    /// Serve model modules over HTTP (SageMaker-compatible and native JSON API).
    Serve(cmd::serve::ServeArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(c) => train::run(c),
        Command::Compile(a) => cmd::compile::run(a),
        Command::Inspect(a) => cmd::inspect::run(a),
        Command::Score(a) => cmd::score::run(a),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Serve(a) => cmd::serve::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(exit_code(&e));
    }
}

/// The exit status of a failure (see the table in the crate documentation).
fn exit_code(e: &anyhow::Error) -> i32 {
    use scorekit_host::{HostError, Kind};
    match e.chain().find_map(|c| c.downcast_ref::<HostError>()).map(HostError::kind) {
        Some(Kind::Client) => 65,
        Some(Kind::Unavailable) => 69,
        Some(Kind::Model) => 70,
        Some(Kind::Limit) => 75,
        Some(Kind::Interrupted) => 130,
        _ => 1,
    }
}
