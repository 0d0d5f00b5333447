//! Integration tests of the registry's public API.

mod common;
mod crash;
mod ledger;
mod ledger_model;
mod registry;
mod video;
