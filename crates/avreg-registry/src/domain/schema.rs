//! OpenAPI schemas (feature `openapi`) of the domain's values that
//! serialise as strings but are not newtypes utoipa can derive for: a
//! [`Date`](super::date::Date) and an [`Isan`](super::ids::Isan), and a
//! [`Role`](super::model::Role) (a DDEX name, known or not), and an
//! [`EntityRef`](crate::ledger::EntityRef) (adjacently tagged, with a
//! two-id variant).

use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;

fn string(
    format: Option<SchemaFormat>,
    pattern: Option<&str>,
    description: &str,
    example: &str,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(format)
        .pattern(pattern)
        .description(Some(description))
        .examples([example])
        .into()
}

impl utoipa::PartialSchema for super::date::Date {
    fn schema() -> RefOr<Schema> {
        string(
            Some(SchemaFormat::KnownFormat(KnownFormat::Date)),
            None,
            "A calendar day, `YYYY-MM-DD`.",
            "2021-05-01",
        )
    }
}

impl utoipa::ToSchema for super::date::Date {}

impl utoipa::PartialSchema for super::ids::Isan {
    fn schema() -> RefOr<Schema> {
        string(
            None,
            None,
            "An ISAN (ISO 15706) with its MOD 37,36 check characters, with or without \
             its version: `0000-0000-D07A-0090-Q` or `0000-0000-D07A-0090-Q-0000-0000-X`.",
            "0000-0000-D07A-0090-Q",
        )
    }
}

impl utoipa::ToSchema for super::ids::Isan {}

impl utoipa::PartialSchema for super::model::Role {
    fn schema() -> RefOr<Schema> {
        string(
            None,
            None,
            "A DDEX role name: Actor, SupportingActor, VoiceActor, Dancer, Musician, \
             Vocalist, Narrator, Stunts, or another DDEX term verbatim.",
            "Actor",
        )
    }
}

impl utoipa::ToSchema for super::model::Role {}

fn uuid() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
}

/// `{"kind": K, "id": ID}`, moral rights `{"kind": "moral_rights", "id":
/// [PERFORMER, FIXATION]}` (serde's adjacent tagging of a two-field
/// variant, which utoipa does not derive).
impl utoipa::PartialSchema for crate::ledger::EntityRef {
    fn schema() -> RefOr<Schema> {
        use crate::ledger::EntityKind;
        use utoipa::openapi::schema::{ArrayBuilder, OneOfBuilder};
        let variant = |kind: EntityKind, id: RefOr<Schema>| {
            ObjectBuilder::new()
                .property(
                    "kind",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some([kind.name()])),
                )
                .required("kind")
                .property("id", id)
                .required("id")
        };
        let mut one_of = OneOfBuilder::new().description(Some(
            "The address of an entity: its kind and id (moral rights: the performer's and \
             the fixation's ids).",
        ));
        for kind in EntityKind::ALL {
            let id: RefOr<Schema> = if kind == EntityKind::MoralRights {
                ArrayBuilder::new()
                    .items(uuid())
                    .min_items(Some(2))
                    .max_items(Some(2))
                    .into()
            } else {
                uuid().into()
            };
            one_of = one_of.item(variant(kind, id));
        }
        one_of.into()
    }
}

impl utoipa::ToSchema for crate::ledger::EntityRef {}
