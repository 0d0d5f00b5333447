//! The ledger: the registry's domain entities (performers, organisations,
//! fixations, credits, moral rights, holdings, agreements, mandates,
//! conflicts) as an append-only history in the store.
//!
//! Invariants:
//! - A write ([`Registry::apply`]) is validated whole against the state it
//!   reads, then committed as one store transaction together with one audit
//!   event per change; it is all or nothing, and durable when it returns.
//! - Nothing is deleted: an amendment or a withdrawal is a new revision, so
//!   [`Registry::view_as_of`] reconstructs the state at any past instant.
//! - Every write checks for the four kinds of conflict in the scope it
//!   touched (DOMAIN.md): a conflict never blocks the write; it is recorded
//!   with its parties and a respond-by date, and resolved by the write that
//!   removes its cause (or by a party, explicitly).
//! - Ledger writes are serialised (one at a time); reads never wait.

mod answer;
mod entity;
pub mod export;
mod gate;
mod parse;
mod view;
mod write;

pub use answer::{Identification, Identifiers, MatchRights, OnScreen, RightsQuery};
pub(crate) use entity::audit_payload;
pub use entity::{Entity, EntityKind, EntityRef, Op, Revision, REVISION_VERSION};
pub use gate::{CommitGate, Gated};

// The one reading of ledger input (entity references, changes).
pub use entity::RefError;
pub use parse::{parse_change, parse_changes, parse_entity, ParseError};
pub use view::{
    ExpiringEntry, HolderLine, LineupEntry, Mandating, OnScreenCredit, RepertoireEntry,
    RightHoldersOwned, StatementEntry, TermLine, View,
};
pub use write::{today, Applied, Change};

/// Whether an audit event's operation is a ledger write (`create_credit`,
/// `resolve_conflict`, `attach_media`, ...).
pub(crate) fn is_ledger_operation(operation: &str) -> bool {
    operation == "attach_media"
        || [
            Op::Create,
            Op::Amend,
            Op::Withdraw,
            Op::Open,
            Op::Respond,
            Op::Resolve,
        ]
        .iter()
        .any(|op| {
            operation
                .strip_prefix(op.name())
                .and_then(|rest| rest.strip_prefix('_'))
                .is_some_and(|kind| EntityKind::ALL.iter().any(|k| k.name() == kind))
        })
}
