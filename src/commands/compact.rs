//! `avreg compact`: merge each fingerprint index into one segment.
//!
//! Tiered merging keeps a handful of segments; a lookup reads every key once
//! per segment. After a bulk import, one segment makes lookups about 1.5×
//! faster at a thousand hours (see the README's load figures). Writes a new
//! copy of the index beside the old one, so it needs that much free disk.

use crate::config::Config;
use crate::output::print_json;
use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print JSON instead of a line of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, serde::Serialize)]
struct CompactDoc {
    version: u32,
    segments_before: usize,
    segments_after: usize,
    index_bytes_before: u64,
    index_bytes_after: u64,
    millis: u64,
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    let registry = super::open_registry(config)?;
    let before = registry.stats()?;
    let t = std::time::Instant::now();
    registry.compact()?;
    let millis = t.elapsed().as_millis() as u64;
    let after = registry.stats()?;
    if args.json {
        print_json(&CompactDoc {
            version: crate::output::JSON_VERSION,
            segments_before: before.segments,
            segments_after: after.segments,
            index_bytes_before: before.index_bytes,
            index_bytes_after: after.index_bytes,
            millis,
        })?;
    } else {
        let mib = |b: u64| b as f64 / f64::from(1 << 20);
        outln!(
            "audio index: {} segment(s), {:.1} MiB -> {} segment(s), {:.1} MiB in {:.1} s",
            before.segments,
            mib(before.index_bytes),
            after.segments,
            mib(after.index_bytes),
            millis as f64 / 1e3
        );
    }
    Ok(Outcome::Success)
}
