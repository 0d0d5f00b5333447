//! End-to-end tests of the `avreg` binary: real fixtures, the real decoder,
//! the real sled store in a temporary folder.

mod cli;
mod ledger_cli;
mod server;
mod support;
mod video_cli;
