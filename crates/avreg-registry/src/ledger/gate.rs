//! The commit gate: how a caller that may give up on a write (a request
//! past its deadline) and the write itself agree, at the last moment, on
//! whether the write happens. Exactly one of them wins: either the write
//! commits (and the caller waits for it and answers its result) or the
//! caller abandoned it first (and nothing is written).

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::registry::Registry;

const PENDING: u8 = 0;
const COMMITTING: u8 = 1;
const ABANDONED: u8 = 2;

/// Shared between a write and whoever waits for it. Clones share one
/// state.
#[derive(Clone, Debug, Default)]
pub struct CommitGate(Arc<AtomicU8>);

impl CommitGate {
    /// A gate neither side has passed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Called by the write just before it commits: true if it may (and
    /// from then on it cannot be abandoned), false if it was abandoned.
    pub fn try_commit(&self) -> bool {
        match self
            .0
            .compare_exchange(PENDING, COMMITTING, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => true,
            Err(state) => state == COMMITTING,
        }
    }

    /// [`CommitGate::try_commit`] as a result: [`Error::Abandoned`] if the
    /// write may not commit.
    pub(crate) fn pass(&self) -> Result<()> {
        if self.try_commit() {
            Ok(())
        } else {
            Err(Error::Abandoned)
        }
    }

    /// Called by the waiting side when it gives up: true if the write is
    /// now abandoned (it will write nothing), false if it is already
    /// committing (wait for its result).
    pub fn abandon(&self) -> bool {
        match self
            .0
            .compare_exchange(PENDING, ABANDONED, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => true,
            Err(state) => state == ABANDONED,
        }
    }
}

/// The registry's ledger and key writes behind a [`CommitGate`] (see
/// [`Registry::gated`]): each either commits or, if the gate was abandoned
/// before it could, fails with [`crate::Error::Abandoned`] having written
/// nothing. The registry's own methods of the same names run behind a gate
/// nobody abandons; the methods are written next to them (`ledger::write`,
/// `registry::accounts`).
#[derive(Debug)]
pub struct Gated<'a> {
    pub(crate) registry: &'a Registry,
    pub(crate) gate: &'a CommitGate,
}

impl Registry {
    /// The ledger writes of this registry behind `gate`.
    pub fn gated<'a>(&'a self, gate: &'a CommitGate) -> Gated<'a> {
        Gated {
            registry: self,
            gate,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;
    use crate::domain::ids::PerformerId;
    use crate::domain::model::Performer;
    use crate::ledger::{Change, Entity};

    fn performer() -> Change {
        Change::Create(Entity::Performer(Performer::named(
            PerformerId::from_u128(7),
            "Ada",
        )))
    }

    #[test]
    fn a_write_abandoned_while_it_waits_for_the_lock_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::open(dir.path(), Default::default()).unwrap();
        let before = reg.audit_log(0).unwrap().len();
        let gate = CommitGate::new();
        let held = reg.ledger_lock.lock().unwrap();
        let result = std::thread::scope(|s| {
            let write = s.spawn(|| reg.gated(&gate).apply("key:x", vec![performer()]));
            // The waiting side gives up while the write waits for the lock.
            assert!(gate.abandon());
            drop(held);
            write.join().unwrap()
        });
        assert!(matches!(result, Err(crate::Error::Abandoned)), "{result:?}");
        assert_eq!(reg.audit_log(0).unwrap().len(), before);
        // The same write through a fresh gate commits, and the gate then
        // refuses to be abandoned.
        let gate = CommitGate::new();
        reg.gated(&gate).apply("key:x", vec![performer()]).unwrap();
        assert!(!gate.abandon());
        assert_eq!(reg.audit_log(0).unwrap().len(), before + 1);
    }

    #[test]
    fn an_abandoned_key_write_writes_nothing() {
        use crate::accounts::{Binding, NewKey, Role};
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::open(dir.path(), Default::default()).unwrap();
        let new = || NewKey {
            role: Role::Platform,
            bound_to: Binding::None,
            label: "k".into(),
        };
        let gate = CommitGate::new();
        assert!(gate.abandon());
        let r = reg.gated(&gate).create_key("key:x", new());
        assert!(matches!(r, Err(crate::Error::Abandoned)));
        assert!(reg.list_keys().unwrap().is_empty());
        let created = reg.create_key("local", new()).unwrap();
        let r = reg.gated(&gate).revoke_key("key:x", created.record.id);
        assert!(matches!(r, Err(crate::Error::Abandoned)));
        assert!(reg.list_keys().unwrap()[0].is_active());
    }

    #[test]
    fn one_side_wins() {
        let g = CommitGate::new();
        assert!(g.try_commit());
        assert!(!g.abandon(), "a committing write cannot be abandoned");
        assert!(g.try_commit());
        let g = CommitGate::new();
        assert!(g.abandon());
        assert!(!g.try_commit(), "an abandoned write never commits");
        assert!(g.abandon());
    }
}
