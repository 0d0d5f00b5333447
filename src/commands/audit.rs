//! `avreg audit verify|head|log`: the tamper-evident audit log.

use avreg_registry::domain::audit::{AuditEvent, ChainHash, Head, SignedHead};
use avreg_registry::{Error as RegistryError, Registry};

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
        #[arg(long, value_parser = parse_head, conflicts_with = "signed")]
        head: Option<Head>,
        /// A signed head kept from `audit head` (a JSON file): its
        /// signature must be this registry's and the log must contain it.
        #[arg(long, value_name = "FILE")]
        signed: Option<std::path::PathBuf>,
        /// Print JSON instead of a line.
        #[arg(long)]
        json: bool,
    },
    /// Verify the whole chain and print its head signed with the
    /// registry's Ed25519 audit key (JSON): keep it, publish it, and later
    /// check it with `audit verify --signed FILE`.
    Head,
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

fn verify(registry: &Registry, head: Option<Head>, json: bool) -> Result<Outcome, Failure> {
    match registry.verify_audit(head) {
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
                    Some(h) => outln!("audit log verifies: head {}:{}", h.seq, h.hash),
                    None => outln!("audit log verifies: empty"),
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
    }
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    let registry = super::open_registry(config)?;
    match args.command {
        AuditCommand::Head => {
            match registry.signed_head()? {
                Some(signed) => print_json(&signed)?,
                None => {
                    return Err(Failure::input(anyhow::anyhow!(
                        "the audit log is empty: no head to sign"
                    )))
                }
            }
            Ok(Outcome::Success)
        }
        AuditCommand::Verify { head, signed, json } => {
            let head = match signed {
                Some(path) => {
                    let text =
                        std::fs::read_to_string(&path).map_err(|e| super::file_error(&path, e))?;
                    let signed: SignedHead =
                        serde_json::from_str(&text).map_err(|e| super::file_error(&path, e))?;
                    signed
                        .verify(Some(&registry.audit_public_key()))
                        .map_err(|e| super::file_error(&path, e))?;
                    Some(signed.head)
                }
                None => head,
            };
            verify(&registry, head, json)
        }
        AuditCommand::Log { since, json } => {
            let events = registry.audit_log(since)?;
            if json {
                print_json(&LogDoc {
                    version: JSON_VERSION,
                    events: &events,
                })?;
            } else {
                for e in &events {
                    outln!(
                        "{} {} {} {} {} {}",
                        e.seq,
                        e.at_ms,
                        e.actor,
                        e.operation,
                        e.entity,
                        e.hash
                    );
                }
            }
            Ok(Outcome::Success)
        }
    }
}
