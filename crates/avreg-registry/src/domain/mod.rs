//! The registry's domain under the Beijing Treaty (DOMAIN.md): identifiers,
//! entities and their validation, jurisdictions and term rules, conflict
//! detection, the span and rights queries, and the audit chain.
//!
//! This layer is pure (sans-IO): plain values and functions over in-memory
//! slices, with "today" always a parameter. Persisting it is the store's
//! business; only [`rules::Jurisdictions::from_path`] reads a file.

pub mod audit;
pub mod conflicts;
pub mod date;
pub mod ids;
pub mod model;
pub mod query;
pub mod rules;
pub mod territory;
pub mod treaty;

#[cfg(feature = "openapi")]
mod schema;
