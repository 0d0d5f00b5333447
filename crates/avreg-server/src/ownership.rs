//! Who may write which ledger change: admin everything; performer and
//! agent keys their performers' own records (profile, credits, holdings as
//! holder, moral rights, mandates) and fixations registered by them;
//! producer keys their organisation's profile, the fixations it registered
//! (the registrant of a new fixation must be the caller's own party), the
//! credits, holdings and moral rights in those fixations, and the
//! performer records of their cast: a producer may create a performer
//! record, and amend it while it stewards it, until the performer's own
//! first write takes it over. Platforms, societies and monitors write
//! nothing. A change that amends or withdraws is judged against the stored
//! entity as well as the new one.
//!
//! What the registry decides rather than the client is set first, in the
//! same pass: who asserted a credit or holding (a third party, or the
//! registrant), and who stewards a performer record.

use std::collections::BTreeSet;

use avreg_registry::accounts::{Binding, Role};
use avreg_registry::domain::ids::{FixationId, PerformerId};
use avreg_registry::domain::model::{Fixation, Party};
use avreg_registry::ledger::{Change, Entity, EntityRef, View};

use crate::auth::Caller;
use crate::error::{ApiError, Code};

fn forbidden(what: impl std::fmt::Display) -> ApiError {
    ApiError::new(Code::Forbidden, format!("this key may not write {what}"))
}

/// Authorises a whole write before anything is applied, change by change:
/// first sets on each what the registry, not the client, decides (a
/// credit or holding written by a key that does not act for the
/// fixation's registrant is a third-party claim, marked with the party it
/// is asserted for; a performer record's steward), whatever the client
/// wrote there; then checks that the key may write it. Fixations created
/// earlier in the same write count as the caller's.
pub fn authorise(caller: &Caller, view: &View<'_>, changes: &mut [Change]) -> Result<(), ApiError> {
    let admin = caller.is_admin();
    if !admin
        && !matches!(
            caller.0.role,
            Role::Performer | Role::Agent | Role::Producer
        )
    {
        return Err(ApiError::new(
            Code::Forbidden,
            format!("a {} key may not write the ledger", caller.0.role),
        ));
    }
    let mut own_new: BTreeSet<FixationId> = BTreeSet::new();
    for (i, change) in changes.iter_mut().enumerate() {
        if let Change::Create(e) | Change::Amend(e) = change {
            stamp(caller, view, &own_new, e)?;
        }
        if admin {
            continue;
        }
        let (new, reference) = match &*change {
            Change::Create(e) => (Some(e), None),
            Change::Amend(e) => (Some(e), Some(e.reference())),
            Change::Withdraw(r) => (None, Some(*r)),
        };
        if let Change::Create(Entity::Organisation(_)) = change {
            // Organisations (and so what kind each is) are the operator's
            // to register; a producer amends its own profile.
            return Err(forbidden("a new organisation").field(format!("changes[{i}]")));
        }
        if let Some(e) = new {
            check(caller, view, &own_new, e).map_err(|e| e.field(format!("changes[{i}]")))?;
        }
        if let Some(r) = reference {
            if let Some(stored) = view.live(&r)? {
                check(caller, view, &own_new, &stored)
                    .map_err(|e| e.field(format!("changes[{i}]")))?;
                // An organisation's kind is the registry's to decide: a
                // producer does not make itself a collecting society.
                if let (Some(Entity::Organisation(new)), Entity::Organisation(old)) = (new, &stored)
                {
                    if new.kind != old.kind {
                        return Err(
                            forbidden("an organisation's kind").field(format!("changes[{i}].kind"))
                        );
                    }
                }
            }
        }
        if let Change::Create(Entity::Fixation(f)) = change {
            own_new.insert(f.id);
        }
    }
    Ok(())
}

/// Sets the fields of `e` the registry decides.
fn stamp(
    caller: &Caller,
    view: &View<'_>,
    own_new: &BTreeSet<FixationId>,
    e: &mut Entity,
) -> Result<(), ApiError> {
    let registrants = |fixation| -> Result<bool, ApiError> {
        Ok(caller.is_admin() || fixation_is_callers(caller, view, own_new, fixation)?)
    };
    match e {
        Entity::Credit(c) => {
            c.third_party = (!registrants(c.fixation)?).then_some(Party::Performer(c.performer));
        }
        Entity::Holding(h) => {
            h.third_party = (!registrants(h.fixation)?).then_some(h.holder);
        }
        Entity::Performer(p) => p.steward = steward(caller, view, p.id)?,
        _ => {}
    }
    Ok(())
}

/// Who stewards a performer record after this write: nobody once the
/// performer (or its agent) writes it; unchanged when its steward or an
/// admin amends it; the producer that creates one.
fn steward(caller: &Caller, view: &View<'_>, id: PerformerId) -> Result<Option<Party>, ApiError> {
    if !caller.is_admin() && caller.acts_for_performer(&id) {
        return Ok(None);
    }
    if let Some(Entity::Performer(stored)) = view.live(&EntityRef::Performer(id))? {
        return Ok(stored.steward);
    }
    Ok(match caller.0.bound_to {
        Binding::Organisation(o) if caller.0.role == Role::Producer => Some(Party::Organisation(o)),
        _ => None,
    })
}

fn owns_fixation(caller: &Caller, f: &Fixation) -> bool {
    match &caller.0.bound_to {
        // The registrant only: naming an organisation as the producer
        // gives it no rights over someone else's record.
        Binding::Organisation(o) => f.registered_by == Party::Organisation(*o),
        Binding::Performers(ids) => {
            matches!(f.registered_by, Party::Performer(p) if ids.contains(&p))
        }
        _ => false,
    }
}

fn fixation_is_callers(
    caller: &Caller,
    view: &View<'_>,
    own_new: &BTreeSet<FixationId>,
    id: FixationId,
) -> Result<bool, ApiError> {
    if own_new.contains(&id) {
        return Ok(true);
    }
    Ok(view
        .fixation(id)?
        .is_some_and(|f| owns_fixation(caller, &f)))
}

fn acts_for_party(caller: &Caller, party: &Party) -> bool {
    match party {
        Party::Performer(p) => caller.acts_for_performer(p),
        Party::Organisation(o) => caller.acts_for_organisation(o),
    }
}

fn check(
    caller: &Caller,
    view: &View<'_>,
    own_new: &BTreeSet<FixationId>,
    e: &Entity,
) -> Result<(), ApiError> {
    let producer =
        matches!(caller.0.bound_to, Binding::Organisation(_)) && caller.0.role == Role::Producer;
    let ok = match e {
        Entity::Performer(p) => {
            caller.acts_for_performer(&p.id)
                || (producer && p.steward.is_some_and(|s| acts_for_party(caller, &s)))
        }
        Entity::Organisation(o) => caller.acts_for_organisation(&o.id),
        Entity::Fixation(f) => owns_fixation(caller, f),
        Entity::Credit(c) => {
            if producer {
                fixation_is_callers(caller, view, own_new, c.fixation)?
            } else {
                caller.acts_for_performer(&c.performer)
            }
        }
        Entity::Holding(h) => {
            if producer {
                fixation_is_callers(caller, view, own_new, h.fixation)?
            } else {
                acts_for_party(caller, &h.holder)
            }
        }
        Entity::MoralRights(m) => {
            if producer {
                fixation_is_callers(caller, view, own_new, m.fixation)?
            } else {
                caller.acts_for_performer(&m.performer)
            }
        }
        Entity::Mandate(m) => !producer && caller.acts_for_performer(&m.performer),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(forbidden(format!(
            "this {} (it is not its performer's or organisation's)",
            e.reference().kind().name()
        )))
    }
}
