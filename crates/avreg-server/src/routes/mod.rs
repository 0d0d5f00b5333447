//! The handlers, one module per resource. A handler takes the [`Caller`]
//! (authentication ran before the body), asks it for the action's role,
//! reads its body through `body` and runs blocking work through the pool
//! or `AppState::blocking`.
//!
//! [`Caller`]: crate::auth::Caller

pub mod audit;
pub mod keys;
pub mod ledger;
pub mod lookup;
pub mod ops;
pub mod recordings;
pub mod society;
