//! `avreg key create|list|revoke`: API keys of the HTTP service. These
//! open the store, so they run while `avreg serve` is stopped; a running
//! server manages keys at `/v1/keys`.

use avreg_registry::accounts::{ApiKeyId, Binding, KeyRecord, NewKey, Role};
use avreg_registry::domain::ids::{OrganisationId, PerformerId};
use serde::Serialize;

use crate::config::Config;
use crate::output::{print_json, JSON_VERSION};
use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KeyCommand {
    /// Create a key and print its secret (shown once).
    Create {
        /// admin, performer, agent, producer, platform, society or monitor.
        #[arg(long)]
        role: Role,
        /// A performer the key acts for (performer and agent keys; repeat).
        #[arg(long = "performer", value_name = "ID")]
        performers: Vec<PerformerId>,
        /// The organisation the key acts for (producer keys).
        #[arg(long, value_name = "ID")]
        organisation: Option<OrganisationId>,
        /// A free label.
        #[arg(long, default_value = "")]
        label: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the keys (never their secrets).
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key.
    Revoke {
        /// The key's id.
        id: ApiKeyId,
    },
}

#[derive(Debug, Serialize)]
struct KeyLine<'a> {
    id: String,
    role: Role,
    bound_to: &'a Binding,
    label: &'a str,
    created_at_ms: u64,
    revoked_at_ms: Option<u64>,
}

impl<'a> From<&'a KeyRecord> for KeyLine<'a> {
    fn from(k: &'a KeyRecord) -> Self {
        Self {
            id: k.id.to_string(),
            role: k.role,
            bound_to: &k.bound_to,
            label: &k.label,
            created_at_ms: k.created_at_ms,
            revoked_at_ms: k.revoked_at_ms,
        }
    }
}

fn describe(k: &KeyRecord) -> String {
    let bound = match &k.bound_to {
        Binding::None => String::new(),
        Binding::Performers(ids) => format!(
            " for performer {}",
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Binding::Organisation(o) => format!(" for organisation {o}"),
    };
    let state = if k.is_active() { "" } else { " (revoked)" };
    format!("{} {}{bound} \"{}\"{state}", k.id, k.role, k.label)
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    let registry = super::open_registry(config)?;
    match args.command {
        KeyCommand::Create {
            role,
            performers,
            organisation,
            label,
            json,
        } => {
            let bound_to = match (organisation, performers.is_empty()) {
                (Some(o), true) => Binding::Organisation(o),
                (None, true) => Binding::None,
                (None, false) => Binding::Performers(performers),
                (Some(_), false) => {
                    return Err(Failure::input(anyhow::anyhow!(
                        "--performer and --organisation do not go together"
                    )))
                }
            };
            let created = registry.create_key(
                avreg_registry::LOCAL_ACTOR,
                NewKey {
                    role,
                    bound_to,
                    label,
                },
            )?;
            if json {
                #[derive(Serialize)]
                struct Doc<'a> {
                    version: u32,
                    key: KeyLine<'a>,
                    secret: String,
                }
                print_json(&Doc {
                    version: JSON_VERSION,
                    key: (&created.record).into(),
                    secret: created.secret.expose(),
                })?;
            } else {
                outln!("created {}", describe(&created.record));
                outln!("secret (shown once): {}", created.secret.expose());
            }
        }
        KeyCommand::List { json } => {
            let keys = registry.list_keys()?;
            if json {
                #[derive(Serialize)]
                struct Doc<'a> {
                    version: u32,
                    keys: Vec<KeyLine<'a>>,
                }
                print_json(&Doc {
                    version: JSON_VERSION,
                    keys: keys.iter().map(Into::into).collect(),
                })?;
            } else {
                for k in &keys {
                    outln!("{}", describe(k));
                }
            }
        }
        KeyCommand::Revoke { id } => match registry.revoke_key(avreg_registry::LOCAL_ACTOR, id)? {
            Some(k) => outln!("revoked {}", describe(&k)),
            None => return Err(Failure::input(anyhow::anyhow!("no key {id}"))),
        },
    }
    registry.flush()?;
    Ok(Outcome::Success)
}
