//! The `avreg` binary: command-line interface (and, later, `avreg serve`).

mod eval;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "avreg", version, about = "A registry of audiovisual performances with content fingerprinting")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate identification on a corpus folder (needs ffmpeg).
    Eval(eval::EvalArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Eval(args) => eval::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("avreg: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
