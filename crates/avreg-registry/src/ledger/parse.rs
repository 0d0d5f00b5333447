//! The one reading of ledger input, shared by the CLI (`avreg ledger
//! apply`'s file) and the API (`POST /v1/ledger` and the entity routes):
//! changes and entities from their JSON, each error naming the field at
//! fault as a path into the document (`changes[1].create.entity.isan`).

use serde::de::DeserializeOwned;

use super::{Change, Entity, EntityKind};
use crate::domain::model as m;

/// A change or an entity refused as it was read: where, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct ParseError {
    /// The path of the field at fault: `changes[1].create.entity.isan`
    /// in a batch, `segments[0].end_ms` in an entity alone; empty when the
    /// document itself is refused (not an object).
    pub path: String,
    /// Why it is refused.
    pub message: String,
}

impl ParseError {
    fn under(mut self, prefix: &str) -> Self {
        self.path = if self.path.is_empty() {
            prefix.to_owned()
        } else {
            format!("{prefix}.{}", self.path)
        };
        self
    }
}

/// Deserialises `T`, the error naming the path it failed at.
fn de<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ParseError> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        ParseError {
            // The root is `.`.
            path: if path == "." { String::new() } else { path },
            message: e.inner().to_string(),
        }
    })
}

/// An entity of `kind` from its JSON (the `entity` of a change, the body
/// of `POST /v1/<kind>`). Conflicts are the registry's to write.
pub fn parse_entity(kind: EntityKind, value: serde_json::Value) -> Result<Entity, ParseError> {
    Ok(match kind {
        EntityKind::Performer => Entity::Performer(de::<m::Performer>(value)?),
        EntityKind::Organisation => Entity::Organisation(de::<m::Organisation>(value)?),
        EntityKind::Fixation => Entity::Fixation(de::<m::Fixation>(value)?),
        EntityKind::Credit => Entity::Credit(de::<m::Credit>(value)?),
        EntityKind::MoralRights => Entity::MoralRights(de::<m::MoralRights>(value)?),
        EntityKind::Holding => Entity::Holding(de::<m::Holding>(value)?),
        EntityKind::Agreement => Entity::Agreement(de::<m::Agreement>(value)?),
        EntityKind::Mandate => Entity::Mandate(de::<m::Mandate>(value)?),
        EntityKind::Conflict => {
            return Err(ParseError {
                path: "kind".into(),
                message: "conflicts are written by the registry".into(),
            })
        }
    })
}

/// One change from its JSON: `{"create"|"amend": {"kind", "entity"}}` or
/// `{"withdraw": {"kind", "id"}}`. The entity is read by its kind, so that
/// the path reaches the field inside it.
pub fn parse_change(value: serde_json::Value) -> Result<Change, ParseError> {
    let op = ["create", "amend"]
        .into_iter()
        .find(|op| value.get(op).is_some());
    let Some(op) = op else { return de(value) };
    let inner = &value[op];
    let kind: Option<EntityKind> = inner
        .get("kind")
        .and_then(|k| serde_json::from_value(k.clone()).ok());
    match (kind, inner.get("entity")) {
        (Some(kind), Some(e)) => {
            let entity =
                parse_entity(kind, e.clone()).map_err(|e| e.under(&format!("{op}.entity")))?;
            Ok(if op == "create" {
                Change::Create(entity)
            } else {
                Change::Amend(entity)
            })
        }
        // A missing or unknown kind, a missing entity: the generic
        // reading says which.
        _ => de(value),
    }
}

/// The changes of a batch (`{"version": 1, "changes": [...]}`'s list), read
/// one by one: an error names the change by its index,
/// `changes[1].create.entity.display_name`.
pub fn parse_changes(values: Vec<serde_json::Value>) -> Result<Vec<Change>, ParseError> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| parse_change(v).map_err(|e| e.under(&format!("changes[{i}]"))))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;
    use serde_json::json;

    fn performer(name: &str) -> serde_json::Value {
        json!({"create": {"kind": "performer", "entity": {
            "version": 1, "id": "0190a000-0000-7000-8000-000000000001", "display_name": name}}})
    }

    #[test]
    fn errors_name_the_change_and_the_field() {
        let ok = parse_changes(vec![performer("Ann")]).unwrap();
        assert!(matches!(&ok[..], [Change::Create(Entity::Performer(_))]));
        let e = parse_changes(vec![performer("Ann"), performer("Bo")]).map(|_| ());
        assert!(e.is_ok());
        let mut bad = performer("Bo");
        bad["create"]["entity"]["display_name"] = json!(7);
        let e = parse_changes(vec![performer("Ann"), bad]).unwrap_err();
        assert_eq!(e.path, "changes[1].create.entity.display_name");
        assert!(e
            .to_string()
            .starts_with("changes[1].create.entity.display_name: "));
        let mut bad = performer("Bo");
        bad["create"]["entity"]["isni"] = json!("0000000121032684");
        let e = parse_changes(vec![bad]).unwrap_err();
        assert_eq!(e.path, "changes[0].create.entity.isni");
        // Not a change at all, a kind that is not one, a withdrawal.
        let e = parse_changes(vec![performer("Ann"), json!({"rename": {}})]).unwrap_err();
        assert!(e.path.starts_with("changes[1]"), "{e}");
        let e = parse_changes(vec![json!({"create": {"kind": "song", "entity": {}}})]).unwrap_err();
        assert!(e.path.starts_with("changes[0].create"), "{e}");
        let e =
            parse_changes(vec![json!({"create": {"kind": "conflict", "entity": {}}})]).unwrap_err();
        assert_eq!(e.path, "changes[0].create.entity.kind");
        let w = parse_changes(vec![json!({"withdraw": {"kind": "credit",
            "id": "0190a000-0000-7000-8000-000000000002"}})])
        .unwrap();
        assert!(matches!(&w[..], [Change::Withdraw(_)]));
    }
}
