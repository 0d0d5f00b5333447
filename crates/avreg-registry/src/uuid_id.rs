//! The one definition of the registry's UUID newtypes: entity ids,
//! recording ids, key ids and job ids are all UUID v7 (time-ordered),
//! shown and parsed hyphenated, serialised transparently and stored as
//! their 16 big-endian bytes.

/// Defines a UUID v7 newtype `$name` whose `FromStr` fails with
/// `$err_ty` (made by `$err`).
macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $err_ty:ty, $err:expr) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
        )]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[cfg_attr(
            feature = "openapi",
            schema(value_type = String, format = Uuid, example = "0190f3a2-7b1c-7d3e-8f00-0000000000a1")
        )]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// A fresh id for the current time (UUID v7).
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            /// The id from a raw value (tests, imports).
            pub fn from_u128(v: u128) -> Self {
                Self(uuid::Uuid::from_u128(v))
            }

            /// The id from its 16 big-endian bytes (its stored form).
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(uuid::Uuid::from_bytes(bytes))
            }

            /// The id's 16 big-endian bytes (its stored form: key order is
            /// creation order).
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }

            /// The wrapped uuid.
            pub fn as_uuid(&self) -> &uuid::Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0.hyphenated())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $err_ty;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::try_parse(s).map(Self).map_err(|_| $err)
            }
        }
    };
}
