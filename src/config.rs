//! Configuration: built-in defaults < `config/default.toml` (or `--config
//! FILE`) < `AVREG_*` environment variables < command-line flags.
//!
//! Environment variables name a key by its path, upper case, sections
//! separated by a double underscore: `AVREG_LOOKUP__MIN_ALIGNED=12` sets
//! `[lookup] min_aligned`, `AVREG_STORE__DATA_DIR=/srv/avreg` sets
//! `[store] data_dir`. Library crates never read the environment; they get
//! their options from here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use avreg_fingerprint::matching::{scale_grid, MatchConfig};
use avreg_registry::domain::rules::Jurisdictions;
use avreg_registry::domain::treaty::Treaty;
use avreg_registry::{IndexOptions, RegistryOptions};
use serde::Deserialize;

/// The whole configuration. Every key is documented in `config/default.toml`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub store: StoreConfig,
    pub media: MediaConfig,
    pub lookup: LookupConfig,
    pub import: ImportConfig,
    pub registry: RegistrySection,
    /// The term rules, loaded from `[registry] jurisdictions` (or the
    /// embedded edition) when the configuration is loaded.
    #[serde(skip)]
    pub jurisdictions: Option<Arc<Jurisdictions>>,
    /// The treaty's parties and declarations, loaded from `[registry]
    /// treaty` (or the embedded edition) when the configuration is loaded.
    #[serde(skip)]
    pub treaty: Option<Arc<Treaty>>,
    pub server: ServerConfig,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrySection {
    pub jurisdictions: PathBuf,
    pub treaty: PathBuf,
    pub conflict_respond_days: u32,
    pub actor: String,
}

impl Default for RegistrySection {
    fn default() -> Self {
        Self {
            jurisdictions: PathBuf::new(),
            treaty: PathBuf::new(),
            conflict_respond_days: 30,
            actor: avreg_registry::LOCAL_ACTOR.to_owned(),
        }
    }
}

/// `[server]`: the address `avreg serve` listens on, and the service's
/// options, deserialised straight into [`avreg_server::ServerOptions`]
/// (its keys are the options' names; times in `*_ms`).
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: String,
    pub options: avreg_server::ServerOptions,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            options: avreg_server::ServerOptions::default(),
        }
    }
}

impl<'de> Deserialize<'de> for ServerConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut table = toml::Table::deserialize(d)?;
        let listen = match table.remove("listen") {
            Some(toml::Value::String(s)) => s,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "listen: expected an address string, found {}",
                    other.type_str()
                )))
            }
            None => Self::default().listen,
        };
        let options = avreg_server::ServerOptions::deserialize(toml::Value::Table(table))
            .map_err(D::Error::custom)?;
        Ok(Self { listen, options })
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    pub data_dir: PathBuf,
    pub index_buffer_postings: usize,
    pub index_merge_factor: usize,
    pub cache_mb: u64,
    pub video_cache_mb: u64,
    pub min_free_mb: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    pub max_duration_s: u64,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LookupConfig {
    pub min_query_ms: u64,
    pub min_aligned: u32,
    pub max_results: usize,
    pub speed_range: f32,
    pub speed_step: f32,
    pub tempo_and_pitch: bool,
    pub max_postings_per_key: usize,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportConfig {
    pub threads: usize,
}

impl Default for StoreConfig {
    fn default() -> Self {
        let index = IndexOptions::default();
        Self {
            data_dir: PathBuf::from("data"),
            index_buffer_postings: index.buffer_postings,
            index_merge_factor: index.merge_factor,
            cache_mb: avreg_registry::DEFAULT_STORE_CACHE_BYTES >> 20,
            video_cache_mb: avreg_registry::DEFAULT_VIDEO_CACHE_BYTES >> 20,
            min_free_mb: 256,
        }
    }
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            max_duration_s: 6 * 3600,
        }
    }
}

impl Default for LookupConfig {
    fn default() -> Self {
        let m = MatchConfig::default();
        Self {
            min_query_ms: 2_000,
            min_aligned: m.min_aligned,
            max_results: m.max_results,
            speed_range: 0.06,
            speed_step: 0.005,
            tempo_and_pitch: true,
            max_postings_per_key: m.max_postings_per_key,
        }
    }
}

/// Where the default configuration file lives, relative to the working
/// directory.
pub const DEFAULT_FILE: &str = "config/default.toml";

impl Config {
    /// Loads the layered configuration. `file` is an explicit `--config`; if
    /// absent, `config/default.toml` is read when it exists.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut value = match file {
            Some(path) => read_toml(path)?,
            None if Path::new(DEFAULT_FILE).is_file() => read_toml(Path::new(DEFAULT_FILE))?,
            None => toml::Value::Table(toml::map::Map::new()),
        };
        apply_env(&mut value, std::env::vars())?;
        let mut config: Config = value.try_into().context("invalid configuration")?;
        config.validate()?;
        let rules = data_file(&config.registry.jurisdictions);
        config.jurisdictions =
            Some(Arc::new(Jurisdictions::load(rules).with_context(|| {
                loading("the jurisdictions' term rules", rules)
            })?));
        let treaty = data_file(&config.registry.treaty);
        config.treaty =
            Some(Arc::new(Treaty::load(treaty).with_context(|| {
                loading("the Beijing Treaty data", treaty)
            })?));
        Ok(config)
    }

    fn validate(&self) -> anyhow::Result<()> {
        let l = &self.lookup;
        if !(0.0..0.5).contains(&l.speed_range) || l.speed_step <= 0.0 {
            bail!("lookup.speed_range must be in [0, 0.5) and lookup.speed_step > 0");
        }
        if l.speed_range / l.speed_step > 100.0 {
            bail!("lookup.speed_range / lookup.speed_step is more than 100 speeds");
        }
        let s = &self.server.options;
        if s.request_timeout.is_zero()
            || s.upload_timeout.is_zero()
            || s.body_idle_timeout.is_zero()
            || s.header_read_timeout.is_zero()
        {
            bail!("server timeouts must be more than 0 ms");
        }
        if s.rate_per_s.is_nan() || s.rate_per_s < 0.0 {
            bail!("server.rate_per_s must be 0 (unlimited) or more");
        }
        if s.anonymous_rate_per_s.is_nan() || s.anonymous_rate_per_s < 0.0 {
            bail!("server.anonymous_rate_per_s must be 0 (unlimited) or more");
        }
        if l.min_aligned < 3 {
            bail!("lookup.min_aligned below 3 would accept chance coincidences");
        }
        if self.registry.conflict_respond_days == 0 {
            bail!("registry.conflict_respond_days must be at least 1");
        }
        if self.registry.actor.trim().is_empty() {
            bail!("registry.actor must not be empty");
        }
        Ok(())
    }

    /// Options for the HTTP service: `[server]`, with what other sections
    /// decide (the shortest query, the longest media, the fingerprinter,
    /// the upload folder by default under the data directory).
    pub fn server_options(&self) -> avreg_server::ServerOptions {
        let mut o = self.server.options.clone();
        o.min_query_ms = self.lookup.min_query_ms;
        o.max_media_ms = self.media.max_duration_s.saturating_mul(1000);
        o.temp_dir = Some(
            o.temp_dir
                .take()
                .unwrap_or_else(|| self.store.data_dir.join("uploads")),
        );
        o.audio = self.registry_options().matching.audio;
        o
    }

    /// Options for the registry.
    pub fn registry_options(&self) -> RegistryOptions {
        let matching = MatchConfig {
            scales: scale_grid(
                self.lookup.speed_range,
                self.lookup.speed_step,
                self.lookup.tempo_and_pitch,
            ),
            min_aligned: self.lookup.min_aligned,
            max_results: self.lookup.max_results.max(1),
            max_postings_per_key: self.lookup.max_postings_per_key,
            ..MatchConfig::default()
        };
        let index = IndexOptions::default()
            .with_buffer_postings(self.store.index_buffer_postings.max(1))
            .with_merge_factor(self.store.index_merge_factor);
        RegistryOptions {
            index,
            matching,
            video_matching: Default::default(),
            jurisdictions: self.jurisdictions.clone(),
            treaty: self.treaty.clone(),
            conflict_respond_days: self.registry.conflict_respond_days,
            store_cache_bytes: self.store.cache_mb.max(1) << 20,
            video_cache_bytes: self.store.video_cache_mb.max(1) << 20,
            min_free_bytes: self.store.min_free_mb << 20,
        }
    }
}

/// A data file's configured path; `None` (empty) for the embedded edition.
fn data_file(path: &Path) -> Option<&Path> {
    (!path.as_os_str().is_empty()).then_some(path)
}

/// The context of a data file that failed to load.
fn loading(what: &str, path: Option<&Path>) -> String {
    format!(
        "cannot load {what}{}",
        path.map_or(String::new(), |p| format!(" from {}", p.display()))
    )
}

fn read_toml(path: &Path) -> anyhow::Result<toml::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid TOML in {}", path.display()))
}

/// Overlays `AVREG_SECTION__KEY=value` variables on the TOML tree.
fn apply_env(
    value: &mut toml::Value,
    vars: impl Iterator<Item = (String, String)>,
) -> anyhow::Result<()> {
    for (name, raw) in vars {
        let Some(path) = name.strip_prefix("AVREG_") else {
            continue;
        };
        let keys: Vec<String> = path.split("__").map(str::to_lowercase).collect();
        if keys.len() != 2 || keys.iter().any(String::is_empty) {
            continue;
        }
        // Numbers and booleans as such, anything else as a string.
        let parsed = toml::from_str::<toml::Table>(&format!("v = {raw}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .filter(|v| !v.is_table() && !v.is_array())
            .unwrap_or_else(|| toml::Value::String(raw.clone()));
        let Some(root) = value.as_table_mut() else {
            bail!("configuration root is not a table");
        };
        let section = root
            .entry(keys[0].clone())
            .or_insert_with(|| toml::Value::Table(toml::map::Map::new()));
        let Some(section) = section.as_table_mut() else {
            bail!("configuration key {} is not a section", keys[0]);
        };
        section.insert(keys[1].clone(), parsed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_parses_and_matches_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_FILE);
        let mut value = read_toml(&path).expect("config/default.toml reads");
        apply_env(&mut value, std::iter::empty()).expect("no env");
        let from_file: Config = value.try_into().expect("every key known");
        let builtin = Config::default();
        assert_eq!(
            format!("{from_file:?}"),
            format!("{builtin:?}"),
            "config/default.toml drifted from the built-in defaults"
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut value: toml::Value = toml::from_str("[lookup]\nmin_aligned = 9\n").expect("toml");
        let vars = [
            ("AVREG_LOOKUP__MIN_ALIGNED".to_string(), "14".to_string()),
            (
                "AVREG_STORE__DATA_DIR".to_string(),
                "/srv/avreg data".to_string(),
            ),
            ("UNRELATED".to_string(), "x".to_string()),
        ];
        apply_env(&mut value, vars.into_iter()).expect("env applies");
        let c: Config = value.try_into().expect("valid");
        assert_eq!(c.lookup.min_aligned, 14);
        assert_eq!(c.store.data_dir, PathBuf::from("/srv/avreg data"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let value: toml::Value = toml::from_str("[lookup]\nmin_alinged = 9\n").expect("toml");
        assert!(value.try_into::<Config>().is_err());
        let value: toml::Value = toml::from_str("[server]\nmax_clip = 9\n").expect("toml");
        assert!(value.try_into::<Config>().is_err());
    }

    #[test]
    fn server_keys_are_the_service_options_in_their_units() {
        let value: toml::Value = toml::from_str(
            "[server]\nlisten = \"0.0.0.0:9\"\nrequest_timeout_ms = 1500\nmax_clip_s = 20\n\
             fingerprint_workers = 3\ntemp_dir = \"\"\nmax_page = 0\n[store]\ndata_dir = \"/d\"\n",
        )
        .expect("toml");
        let c: Config = value.try_into().expect("valid");
        assert_eq!(c.server.listen, "0.0.0.0:9");
        let o = c.server_options();
        assert_eq!(o.request_timeout, std::time::Duration::from_millis(1500));
        assert_eq!(o.max_clip_ms, 20_000);
        assert_eq!(o.fingerprint_workers, 3);
        assert_eq!(o.max_page, 1);
        assert_eq!(o.temp_dir, Some(PathBuf::from("/d/uploads")));
        assert_eq!(o.min_query_ms, c.lookup.min_query_ms);
        let bad: toml::Value = toml::from_str("[server]\nlisten = 8080\n").expect("toml");
        assert!(bad.try_into::<Config>().is_err());
    }
}
