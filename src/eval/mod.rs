//! Placeholder: the evaluation harness is being written.

/// Arguments of `avreg eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {}

pub fn run(_args: EvalArgs) -> anyhow::Result<()> {
    Ok(())
}
