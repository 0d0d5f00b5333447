//! `avreg audit verify|log`: the tamper-evident audit log.

use avreg_registry::domain::audit::{AuditEvent, ChainHash, Head};
use avreg_registry::Error as RegistryError;

use crate::config::Config;
use crate::output::{print_json, JSON_VERSION};
use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// Walk the whole chain; print its head, or the first event that does
    /// not fit (exit status 3).
    Verify {
        /// A head kept from an earlier verification, `SEQ:HASH`: the log
        /// must still contain it (proves nothing before it changed).
        #[arg(long, value_parser = parse_head)]
        head: Option<Head>,
        /// Print JSON instead of a line.
        #[arg(long)]
        json: bool,
    },
    /// Print the events, oldest first.
    Log {
        /// First sequence number to print.
        #[arg(long, default_value_t = 0)]
        since: u64,
        /// Print JSON instead of one line per event.
        #[arg(long)]
        json: bool,
    },
}

fn parse_head(s: &str) -> Result<Head, String> {
    let (seq, hash) = s
        .split_once(':')
        .ok_or("a head is SEQ:HASH (64 hex digits)")?;
    let seq = seq
        .parse()
        .map_err(|_| format!("bad sequence number `{seq}`"))?;
    let hash: ChainHash = serde_json::from_value(serde_json::Value::String(hash.into()))
        .map_err(|e| e.to_string())?;
    Ok(Head { seq, hash })
}

#[derive(serde::Serialize)]
struct VerifyDoc {
    version: u32,
    ok: bool,
    head: Option<Head>,
    error: Option<String>,
}

#[derive(serde::Serialize)]
struct LogDoc<'a> {
    version: u32,
    events: &'a [AuditEvent],
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    let registry = super::open_registry(config)?;
    match args.command {
        AuditCommand::Verify { head, json } => match registry.verify_audit(head) {
            Ok(head) => {
                if json {
                    print_json(&VerifyDoc {
                        version: JSON_VERSION,
                        ok: true,
                        head,
                        error: None,
                    })?;
                } else {
                    match head {
                        Some(h) => println!("audit log verifies: head {}:{}", h.seq, h.hash),
                        None => println!("audit log verifies: empty"),
                    }
                }
                Ok(Outcome::Success)
            }
            Err(RegistryError::AuditChain(e)) => {
                if json {
                    print_json(&VerifyDoc {
                        version: JSON_VERSION,
                        ok: false,
                        head: None,
                        error: Some(e.to_string()),
                    })?;
                }
                Err(Failure::internal(anyhow::anyhow!(
                    "the audit log does not verify: {e}"
                )))
            }
            Err(e) => Err(e.into()),
        },
        AuditCommand::Log { since, json } => {
            let events = registry.audit_log(since)?;
            if json {
                print_json(&LogDoc {
                    version: JSON_VERSION,
                    events: &events,
                })?;
            } else {
                for e in &events {
                    println!(
                        "{} {} {} {} {} {}",
                        e.seq, e.at_ms, e.actor, e.operation, e.entity, e.hash
                    );
                }
            }
            Ok(Outcome::Success)
        }
    }
}
