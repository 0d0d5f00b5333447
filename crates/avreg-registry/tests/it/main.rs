//! Integration tests of the registry's public API.

mod common;
mod compat;
mod crash;
mod damage;
mod ledger;
mod ledger_model;
mod registry;
mod video;
