//! One module per subcommand.

pub mod audit;
pub mod compact;
pub mod demo;
pub mod export;
pub mod fingerprint;
pub mod import;
pub mod key;
pub mod ledger;
pub mod list;
pub mod lookup;
pub mod register;
pub mod serve;

use std::path::Path;

use avreg_registry::Registry;

use crate::config::Config;
use crate::Failure;

/// Opens the registry in the configured data folder, creating it if needed.
pub fn open_registry(config: &Config) -> Result<Registry, Failure> {
    let dir = &config.store.data_dir;
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::internal(anyhow::anyhow!("cannot create {}: {e}", dir.display())))?;
    Registry::open(dir, config.registry_options()).map_err(Failure::from)
}

/// `file: reason` for an input error about a file.
pub fn file_error(path: &Path, e: impl std::fmt::Display) -> Failure {
    Failure::input(anyhow::anyhow!("{}: {e}", path.display()))
}
