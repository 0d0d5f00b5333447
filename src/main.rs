//! `avreg`: the command-line interface of the registry.
//!
//! The binary is glue: it reads the configuration, opens the registry and
//! calls the library crates. Exit status: 0 success, 1 a lookup found
//! nothing, 2 bad input (unreadable, corrupt or unsupported media, a clip
//! too short, a bad argument), 3 an internal failure (the store).

#[macro_use]
mod output;
mod commands;
mod config;
mod media;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;

#[derive(Debug, Parser)]
#[command(
    name = "avreg",
    version,
    about = "A registry of audiovisual performances with content fingerprinting"
)]
struct Cli {
    /// Folder of the registry's store (overrides `[store] data_dir`).
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Configuration file (default: config/default.toml if present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log more (repeat for more detail); logs go to stderr.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Fingerprint a media file and print a summary (nothing is stored).
    Fingerprint(commands::fingerprint::Args),
    /// Register a recording: fingerprint it and store it.
    Register(commands::register::Args),
    /// Register every media file under a folder.
    Import(commands::import::Args),
    /// Identify a clip: which registered recording, where, how sure.
    Lookup(commands::lookup::Args),
    /// List the registered recordings.
    List(commands::list::Args),
    /// The tamper-evident audit log: verify its chain, print it, sign its
    /// head.
    Audit(commands::audit::Args),
    /// Performers, fixations, credits, rights and conflicts: write and query.
    Ledger(commands::ledger::Args),
    /// Reports: a society's repertoire, a performer's statement, conflicts,
    /// expiring terms, RMI manifests (CSV or JSON).
    Export(commands::export::Args),
    /// Register the bundled fixtures and identify a degraded excerpt.
    Demo(commands::demo::Args),
    /// Run the HTTP service (see the README's API section).
    Serve(commands::serve::Args),
    /// API keys of the HTTP service: create, list, revoke.
    Key(commands::key::Args),
    /// Merge the fingerprint indexes into one segment each (after a bulk
    /// import: faster lookups).
    Compact(commands::compact::Args),
    /// Evaluate identification on a corpus folder (needs ffmpeg and fpcalc).
    Eval(Box<avreg_eval::EvalArgs>),
}

/// How a command ended, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done.
    Success,
    /// A lookup found no match.
    NoMatch,
}

/// How a command failed; the exit status follows from it.
#[derive(Debug)]
pub enum Failure {
    /// The input is at fault (exit status 2).
    Input(anyhow::Error),
    /// Something on our side failed (exit status 3).
    Internal(anyhow::Error),
}

impl Failure {
    pub fn input(e: impl Into<anyhow::Error>) -> Self {
        Self::Input(e.into())
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }
}

/// The exit status of each kind of registry failure (`Error::kind`, the
/// same classification the API's codes follow): what the user supplied,
/// or the machine's state (a store in use, a full disk), is input (2); the
/// rest is ours (3).
impl From<avreg_registry::Error> for Failure {
    fn from(e: avreg_registry::Error) -> Self {
        use avreg_registry::ErrorKind as K;
        match e.kind() {
            K::Invalid | K::Conflict | K::Unavailable => Self::Input(e.into()),
            // Not a failure of ours: free space or lower the reserve.
            K::StorageFull => Self::Input(anyhow::Error::from(e).context(
                "free disk space, or lower the reserve ([store] min_free_mb, AVREG_STORE__MIN_FREE_MB)",
            )),
            K::Abandoned | K::Corrupt | K::Internal => Self::Internal(e.into()),
        }
    }
}

/// glibc gives each thread that allocates its own malloc arena (up to 8 a
/// core) and keeps what each arena once held. Under the soak's steady
/// write load (tools/reliability F9) RSS grew 84 MiB/h with the default
/// and 57 MiB/h with two arenas, side by side: part of the growth, not all
/// of it. An operator's own `MALLOC_ARENA_MAX` is left alone.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    // SAFETY: mallopt only sets an allocator parameter; called first thing
    // in main, before any other thread exists.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let outcome = match cli.command {
        // The evaluation builds its own registries and configuration.
        Command::Eval(args) => avreg_eval::run(*args)
            .map(|()| Outcome::Success)
            .map_err(Failure::Input),
        command => match Config::load(cli.config.as_deref()) {
            Err(e) => Err(Failure::Input(e)),
            Ok(mut config) => {
                if let Some(dir) = cli.data {
                    config.store.data_dir = dir;
                }
                run(command, &config)
            }
        },
    };
    match outcome {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::NoMatch) => ExitCode::from(1),
        Err(Failure::Input(e)) => {
            eprintln!("avreg: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Internal(e)) => {
            eprintln!("avreg: internal error: {e:#}");
            ExitCode::from(3)
        }
    }
}

fn run(command: Command, config: &Config) -> Result<Outcome, Failure> {
    match command {
        Command::Fingerprint(args) => commands::fingerprint::run(args, config),
        Command::Register(args) => commands::register::run(args, config),
        Command::Import(args) => commands::import::run(args, config),
        Command::Lookup(args) => commands::lookup::run(args, config),
        Command::List(args) => commands::list::run(args, config),
        Command::Demo(args) => commands::demo::run(args, config),
        Command::Audit(args) => commands::audit::run(args, config),
        Command::Ledger(args) => commands::ledger::run(args, config),
        Command::Export(args) => commands::export::run(args, config),
        Command::Serve(args) => commands::serve::run(args, config),
        Command::Key(args) => commands::key::run(args, config),
        Command::Compact(args) => commands::compact::run(args, config),
        Command::Eval(_) => unreachable!("handled before the configuration is loaded"),
    }
}

fn init_tracing(verbose: u8) {
    // symphonia logs its own view of damaged input; our errors already say
    // it in one line, so its logs only show from -vv on.
    let default = match verbose {
        0 => "warn,symphonia=off",
        1 => "info,symphonia=off",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("AVREG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
