//! `hwformer`: the command-line program over the workspace's crates.

use clap::{Parser, Subcommand};
use hwformer_quant::accuracy::AccuracyReport;
use std::process::ExitCode;

/// Transformer blocks as verified fixed-point hardware.
#[derive(Parser)]
#[command(name = "hwformer", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The main job on the built-in default design (what `make demo` runs).
    Run {
        /// Seed of every random input.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Measure every integer model and table against its f64 reference.
    Quant {
        /// Seed of every random input.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("hwformer: error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Run { seed } => {
            println!("== hwformer: default design ==\n");
            println!("-- accuracy of the integer models against f64 (hwformer quant --seed {seed}) --\n");
            quant(seed, false)
        }
        Command::Quant { seed, json } => quant(seed, json),
    }
}

/// Prints the accuracy table; fails when a measurement exceeds its limit.
fn quant(seed: u64, json: bool) -> Result<ExitCode, String> {
    let report = AccuracyReport::measure(seed).map_err(|e| e.to_string())?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", report.to_markdown());
    }
    if report.passes() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("hwformer: a measurement exceeds its limit (row marked NO)");
        Ok(ExitCode::FAILURE)
    }
}
