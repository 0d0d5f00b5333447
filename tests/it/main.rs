//! End-to-end tests of the `avreg` binary: real fixtures, the real decoder,
//! the real sled store in a temporary folder.

mod cli;
mod server;
mod support;
