//! Test scaffolding shared by the workspace's tests and benches. A
//! dev-dependency only: no product crate depends on it (a test below reads
//! every manifest).
//!
//! - [`Rng`] (SplitMix64) and [`XorShift`]: the workspace's two seeded
//!   generators, the fingerprint core's (`audio::synth`) re-exported, so a
//!   test's data is the same sequence wherever it is drawn.
//! - [`wav`]: 16-bit PCM mono WAV bytes and files.
//! - [`signal`]: generated music and its degradations.
//! - [`server`]: a real `avreg serve` on loopback with typed helpers
//!   (requests, keys, fixations, ledger writes, `wait_job`).

pub mod server;
pub mod signal;
pub mod wav;

/// xorshift64 (13, 7, 17): `XorShift::from_state(s)` is the bare
/// generator, `XorShift::new(seed)` mixes the seed first (as the core's
/// synthetic signals do).
pub use avreg_fingerprint::audio::synth::Rng as XorShift;
/// SplitMix64 (Steele, Lea & Flood 2014); the state is the seed as given.
pub use avreg_fingerprint::audio::synth::SplitMix64 as Rng;

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn the_generators_give_their_reference_sequences() {
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(rng.next_u64(), 0x6e78_9e6a_a1b9_65f4);
        let mut rng = XorShift::from_state(1);
        assert_eq!(rng.next_u64(), 0x4082_2041);
    }

    /// The tables of a manifest that name what the package links into
    /// what it builds (not its dev-dependencies, nor the workspace's list).
    fn is_linking_table(header: &str) -> bool {
        let name = header.trim_matches(|c| c == '[' || c == ']').trim();
        let last = name
            .rsplit_once('.')
            .map_or(name, |(_, last)| last)
            .trim_matches('"');
        let table = if last == "avreg-testkit" {
            name.rsplit_once('.').map_or("", |(table, _)| table)
        } else {
            name
        };
        let kind = table.rsplit('.').next().unwrap_or(table);
        (kind == "dependencies" || kind == "build-dependencies")
            && table != "workspace.dependencies"
    }

    /// ARCHITECTURE.md: no product crate depends on avreg-testkit.
    #[test]
    fn no_manifest_depends_on_the_testkit_but_as_a_dev_dependency() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut manifests = vec![root.join("Cargo.toml")];
        for entry in std::fs::read_dir(root.join("crates")).expect("listing crates") {
            let manifest = entry.expect("entry").path().join("Cargo.toml");
            if manifest.is_file() {
                manifests.push(manifest);
            }
        }
        assert!(manifests.len() > 5, "found the manifests: {manifests:?}");
        let mut offenders = Vec::new();
        for manifest in &manifests {
            let text = std::fs::read_to_string(manifest).expect("manifest");
            let mut table = String::new();
            for line in text.lines().map(str::trim) {
                if line.starts_with('[') {
                    table = line.to_owned();
                    if is_linking_table(&table) && table.contains("avreg-testkit") {
                        offenders.push(format!("{}: {table}", manifest.display()));
                    }
                } else if line.contains("avreg-testkit") && is_linking_table(&table) {
                    offenders.push(format!("{}: {table} {line}", manifest.display()));
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "avreg-testkit is a dev-dependency only: {offenders:?}"
        );
        assert!(is_linking_table("[dependencies]"));
        assert!(is_linking_table("[target.'cfg(unix)'.dependencies]"));
        assert!(is_linking_table("[dependencies.avreg-testkit]"));
        assert!(!is_linking_table("[dev-dependencies]"));
        assert!(!is_linking_table("[dev-dependencies.avreg-testkit]"));
        assert!(!is_linking_table("[workspace.dependencies]"));
    }
}
