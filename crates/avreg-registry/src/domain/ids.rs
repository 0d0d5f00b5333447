//! Identifiers: the public standard ones (ISNI, ISAN, EIDR, ISRC), which
//! parse, validate their check characters and display canonically, and the
//! registry's own entity ids (UUID v7 newtypes).
//!
//! Parsing is lenient about presentation (case, spaces and hyphens, an
//! `ISNI`/`ISAN` prefix) and strict about content: a value that parses is
//! valid, so the rest of the domain never re-checks it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::territory::Country;

/// The reason a string is not a valid identifier. `id` names the scheme
/// (`"ISNI"`, `"ISAN"`, `"EIDR"`, `"ISRC"`, or an entity id kind).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Wrong number of significant characters.
    #[error("{id}: expected {expected} characters, found {found}")]
    Length {
        /// Identifier scheme.
        id: &'static str,
        /// What is expected (a count or a list of counts).
        expected: &'static str,
        /// Characters found (hyphens and spaces removed).
        found: usize,
    },
    /// A character that the scheme does not allow at that position.
    #[error("{id}: character {found:?} at position {position} is not allowed ({allowed})")]
    Charset {
        /// Identifier scheme.
        id: &'static str,
        /// 0-based position among the significant characters.
        position: usize,
        /// The character found.
        found: char,
        /// What is allowed there.
        allowed: &'static str,
    },
    /// The check character does not match the body.
    #[error("{id}: check character is {found:?}, the body requires {expected:?}")]
    Check {
        /// Identifier scheme.
        id: &'static str,
        /// The check character computed from the body.
        expected: char,
        /// The check character given.
        found: char,
    },
    /// A mandatory prefix is missing.
    #[error("{id}: must start with {prefix:?}")]
    Prefix {
        /// Identifier scheme.
        id: &'static str,
        /// The prefix expected.
        prefix: &'static str,
    },
    /// The country code of an ISRC is not allocated.
    #[error("{id}: unknown country code {code:?}")]
    Country {
        /// Identifier scheme.
        id: &'static str,
        /// The code found.
        code: String,
    },
    /// An entity id is not a hyphenated UUID.
    #[error("{id}: not a hyphenated uuid")]
    Uuid {
        /// Entity id kind.
        id: &'static str,
    },
}

/// ISO 7064 MOD 11-2 check character of a body of decimal digits (`X` for
/// 10). Non-digits must have been rejected by the caller.
pub fn mod11_2_check(body: &[u8]) -> char {
    let mut t: u32 = 0;
    for &d in body {
        t = ((t + u32::from(d - b'0')) * 2) % 11;
    }
    match (12 - t) % 11 {
        10 => 'X',
        c => char::from(b'0' + c as u8),
    }
}

const ALPHANUM: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn alnum_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

/// ISO 7064 MOD 37,36 check character of a body over `0-9A-Z` (upper case).
/// Characters outside the alphabet must have been rejected by the caller.
pub fn mod37_36_check(body: &[u8]) -> char {
    let mut p: u32 = 36;
    for &c in body {
        let mut s = (p + alnum_value(c).unwrap_or(0)) % 36;
        if s == 0 {
            s = 36;
        }
        p = (2 * s) % 37;
    }
    char::from(ALPHANUM[((37 - p) % 36) as usize])
}

/// Significant characters: upper-cased, with spaces and hyphens removed.
fn compact(s: &str) -> Vec<u8> {
    s.bytes()
        .filter(|b| !matches!(b, b'-' | b' '))
        .map(|b| b.to_ascii_uppercase())
        .collect()
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> &'a str {
    let t = s.trim();
    match t.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => &t[prefix.len()..],
        _ => t,
    }
}

fn check_hex(id: &'static str, chars: &[u8], offset: usize) -> Result<(), IdError> {
    match chars.iter().position(|c| !c.is_ascii_hexdigit()) {
        Some(i) => Err(IdError::Charset {
            id,
            position: offset + i,
            found: char::from(chars[i]),
            allowed: "hexadecimal digit",
        }),
        None => Ok(()),
    }
}

fn check_char(id: &'static str, body: &[u8], given: u8) -> Result<(), IdError> {
    let expected = mod37_36_check(body);
    if char::from(given) == expected {
        Ok(())
    } else {
        Err(IdError::Check {
            id,
            expected,
            found: char::from(given),
        })
    }
}

/// Serialise through `Display` and deserialise through `FromStr`.
macro_rules! serde_via_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// An International Standard Name Identifier (ISO 27729): 15 digits and a
/// MOD 11-2 check character (`0`–`9` or `X`).
///
/// Displayed as four groups of four (`0000 0001 2281 955X`); [`Isni::compact`]
/// gives the 16 characters alone. Parsing accepts either, with an optional
/// `ISNI` prefix.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(value_type = String, example = "000000012281955X")
)]
pub struct Isni([u8; 16]);

impl Isni {
    const ID: &'static str = "ISNI";

    /// The 16 characters without separators.
    pub fn compact(&self) -> &str {
        // Only ASCII digits and `X` are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for Isni {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let chars = compact(strip_prefix_ci(s, "ISNI"));
        if chars.len() != 16 {
            return Err(IdError::Length {
                id: Self::ID,
                expected: "16",
                found: chars.len(),
            });
        }
        for (i, &c) in chars.iter().enumerate() {
            if !(c.is_ascii_digit() || (i == 15 && c == b'X')) {
                return Err(IdError::Charset {
                    id: Self::ID,
                    position: i,
                    found: char::from(c),
                    allowed: if i == 15 { "digit or X" } else { "digit" },
                });
            }
        }
        let expected = mod11_2_check(&chars[..15]);
        if char::from(chars[15]) != expected {
            return Err(IdError::Check {
                id: Self::ID,
                expected,
                found: char::from(chars[15]),
            });
        }
        let mut out = [0u8; 16];
        out.copy_from_slice(&chars);
        Ok(Self(out))
    }
}

impl fmt::Display for Isni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.compact();
        write!(f, "{} {} {} {}", &c[0..4], &c[4..8], &c[8..12], &c[12..16])
    }
}

impl fmt::Debug for Isni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Isni({})", self.compact())
    }
}

impl Serialize for Isni {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.compact())
    }
}

impl<'de> Deserialize<'de> for Isni {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An International Standard Audiovisual Number (ISO 15706): a 12-hex-digit
/// root and a 4-hex-digit episode with their MOD 37,36 check character,
/// optionally followed by an 8-hex-digit version and a second check
/// character over root, episode and version (a V-ISAN).
///
/// Displayed as `0000-0000-D07A-0090-Q` or
/// `0000-0000-D07A-0090-Q-0000-0000-X`. Parsing accepts an `ISAN` prefix,
/// lower case and missing hyphens.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Isan {
    /// Root and episode, 16 upper-case hex digits.
    work: [u8; 16],
    /// Version, 8 upper-case hex digits.
    version: Option<[u8; 8]>,
}

impl Isan {
    const ID: &'static str = "ISAN";

    /// Root and episode (16 hex digits).
    pub fn work(&self) -> &str {
        std::str::from_utf8(&self.work).unwrap_or_default()
    }

    /// The version part (8 hex digits), if present.
    pub fn version(&self) -> Option<&str> {
        self.version
            .as_ref()
            .map(|v| std::str::from_utf8(v).unwrap_or_default())
    }

    /// The same work without its version part.
    pub fn without_version(&self) -> Isan {
        Isan {
            work: self.work,
            version: None,
        }
    }

    fn check1(&self) -> char {
        mod37_36_check(&self.work)
    }

    fn check2(&self) -> Option<char> {
        self.version.map(|v| {
            let mut body = [0u8; 24];
            body[..16].copy_from_slice(&self.work);
            body[16..].copy_from_slice(&v);
            mod37_36_check(&body)
        })
    }
}

impl FromStr for Isan {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let chars = compact(strip_prefix_ci(s, "ISAN"));
        if chars.len() != 17 && chars.len() != 26 {
            return Err(IdError::Length {
                id: Self::ID,
                expected: "17 (root, episode, check) or 26 (with version and check)",
                found: chars.len(),
            });
        }
        check_hex(Self::ID, &chars[..16], 0)?;
        check_char(Self::ID, &chars[..16], chars[16])?;
        let mut work = [0u8; 16];
        work.copy_from_slice(&chars[..16]);
        let version = if chars.len() == 26 {
            check_hex(Self::ID, &chars[17..25], 17)?;
            let mut body = Vec::with_capacity(24);
            body.extend_from_slice(&chars[..16]);
            body.extend_from_slice(&chars[17..25]);
            check_char(Self::ID, &body, chars[25])?;
            let mut v = [0u8; 8];
            v.copy_from_slice(&chars[17..25]);
            Some(v)
        } else {
            None
        };
        Ok(Self { work, version })
    }
}

impl fmt::Display for Isan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.work();
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &w[0..4],
            &w[4..8],
            &w[8..12],
            &w[12..16],
            self.check1()
        )?;
        if let (Some(v), Some(c2)) = (self.version(), self.check2()) {
            write!(f, "-{}-{}-{}", &v[0..4], &v[4..8], c2)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Isan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Isan({self})")
    }
}

serde_via_str!(Isan);

/// An Entertainment Identifier Registry id: the DOI prefix `10.5240/`, 20
/// hex digits in groups of four and a MOD 37,36 check character.
///
/// Displayed as `10.5240/7EC7-228A-510A-053E-CBB8-J`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(value_type = String, example = "10.5240/7EC7-228A-510A-053E-CBB8-J")
)]
pub struct Eidr([u8; 20]);

impl Eidr {
    const ID: &'static str = "EIDR";
    /// The DOI prefix of every EIDR id.
    pub const PREFIX: &'static str = "10.5240/";

    /// The 20 hex digits.
    pub fn suffix(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl FromStr for Eidr {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let rest = t.strip_prefix(Self::PREFIX).ok_or(IdError::Prefix {
            id: Self::ID,
            prefix: Self::PREFIX,
        })?;
        let chars = compact(rest);
        if chars.len() != 21 {
            return Err(IdError::Length {
                id: Self::ID,
                expected: "21 after the prefix (20 hex digits and a check character)",
                found: chars.len(),
            });
        }
        check_hex(Self::ID, &chars[..20], 0)?;
        check_char(Self::ID, &chars[..20], chars[20])?;
        let mut out = [0u8; 20];
        out.copy_from_slice(&chars[..20]);
        Ok(Self(out))
    }
}

impl fmt::Display for Eidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.suffix();
        write!(
            f,
            "{}{}-{}-{}-{}-{}-{}",
            Self::PREFIX,
            &s[0..4],
            &s[4..8],
            &s[8..12],
            &s[12..16],
            &s[16..20],
            mod37_36_check(&self.0)
        )
    }
}

impl fmt::Debug for Eidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Eidr({self})")
    }
}

serde_via_str!(Eidr);

/// Country-code prefixes allocated to ISRC registrants that are not ISO
/// 3166-1 alpha-2 codes: `UK` (used beside `GB`), `QM`, `QT` and `QZ`
/// (extra United States prefixes), `CP` and `DG` (reserved for special
/// allocations) and `ZZ` (the international agency).
pub const ISRC_EXTRA_PREFIXES: [&str; 7] = ["UK", "QM", "QT", "QZ", "CP", "DG", "ZZ"];

/// An International Standard Recording Code (ISO 3901): country code (2
/// letters), registrant (3 alphanumerics), year (2 digits), designation (5
/// digits). There is no check character.
///
/// Displayed in its normalised 12-character form (`USSKG1912345`);
/// [`Isrc::hyphenated`] gives `US-SKG-19-12345`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "USSKG1912345"))]
pub struct Isrc([u8; 12]);

impl Isrc {
    const ID: &'static str = "ISRC";

    /// The 12 characters.
    pub fn compact(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// `CC-XXX-YY-NNNNN`.
    pub fn hyphenated(&self) -> String {
        let c = self.compact();
        format!("{}-{}-{}-{}", &c[0..2], &c[2..5], &c[5..7], &c[7..12])
    }
}

impl FromStr for Isrc {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let chars = compact(strip_prefix_ci(s, "ISRC"));
        if chars.len() != 12 {
            return Err(IdError::Length {
                id: Self::ID,
                expected: "12",
                found: chars.len(),
            });
        }
        for (i, &c) in chars.iter().enumerate() {
            let (ok, allowed) = match i {
                0..=1 => (c.is_ascii_uppercase(), "letter"),
                2..=4 => (c.is_ascii_alphanumeric(), "letter or digit"),
                _ => (c.is_ascii_digit(), "digit"),
            };
            if !ok {
                return Err(IdError::Charset {
                    id: Self::ID,
                    position: i,
                    found: char::from(c),
                    allowed,
                });
            }
        }
        let cc = std::str::from_utf8(&chars[..2]).unwrap_or_default();
        if cc.parse::<Country>().is_err() && !ISRC_EXTRA_PREFIXES.contains(&cc) {
            return Err(IdError::Country {
                id: Self::ID,
                code: cc.to_owned(),
            });
        }
        let mut out = [0u8; 12];
        out.copy_from_slice(&chars);
        Ok(Self(out))
    }
}

impl fmt::Display for Isrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.compact())
    }
}

impl fmt::Debug for Isrc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Isrc({})", self.compact())
    }
}

serde_via_str!(Isrc);

/// Defines a registry entity id (see [`uuid_id`]), whose parse error
/// names it.
macro_rules! entity_id {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        uuid_id!($(#[$doc])* $name, IdError, IdError::Uuid { id: $label });
    };
}

entity_id!(
    /// A performer's registry id.
    PerformerId,
    "performer id"
);
entity_id!(
    /// An organisation's registry id (producer, society, platform, distributor).
    OrganisationId,
    "organisation id"
);
entity_id!(
    /// A fixation's registry id.
    FixationId,
    "fixation id"
);
entity_id!(
    /// A credit's registry id.
    CreditId,
    "credit id"
);
entity_id!(
    /// A holding's registry id.
    HoldingId,
    "holding id"
);
entity_id!(
    /// An agreement's registry id.
    AgreementId,
    "agreement id"
);
entity_id!(
    /// A mandate's registry id.
    MandateId,
    "mandate id"
);
entity_id!(
    /// A conflict's registry id.
    ConflictId,
    "conflict id"
);

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ISNI_OK: [&str; 2] = ["000000012281955X", "0000000121032683"];
    const ISAN_OK: [&str; 3] = [
        "0000-0000-D07A-0090-Q-0000-0000-X",
        "0000-0001-8CFA-0000-I-0000-0000-K",
        "1881-66C7-3420-6541-Y-9F3A-0245-O",
    ];
    const EIDR_OK: [&str; 3] = [
        "10.5240/7EC7-228A-510A-053E-CBB8-J",
        "10.5240/B752-5B47-DBBE-E5D4-5A3F-N",
        "10.5240/0196-4177-FF62-A346-D0F6-Z",
    ];

    /// Every way of corrupting `s` at one significant position: each other
    /// character of `alphabet` in place of the character at `pos`.
    fn substitutions(s: &str, pos: usize, alphabet: &[u8]) -> Vec<String> {
        let b = s.as_bytes();
        alphabet
            .iter()
            .filter(|&&c| c != b[pos])
            .map(|&c| {
                let mut v = b.to_vec();
                v[pos] = c;
                String::from_utf8(v).unwrap()
            })
            .collect()
    }

    fn swap(s: &str, i: usize, j: usize) -> String {
        let mut v = s.as_bytes().to_vec();
        v.swap(i, j);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn isni_vectors() {
        for s in ISNI_OK {
            let isni: Isni = s.parse().unwrap();
            assert_eq!(isni.compact(), s);
            let shown = isni.to_string();
            assert_eq!(shown.len(), 19);
            assert_eq!(shown.parse::<Isni>().unwrap(), isni);
            assert_eq!(format!("ISNI {shown}").parse::<Isni>().unwrap(), isni);
            let json = serde_json::to_string(&isni).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<Isni>(&json).unwrap(), isni);
        }
        assert_eq!(
            "000000012281955X".parse::<Isni>().unwrap().to_string(),
            "0000 0001 2281 955X"
        );
        assert!("000000012281955x".parse::<Isni>().is_ok());
    }

    #[test]
    fn isni_corruptions_rejected() {
        for s in ISNI_OK {
            for pos in 0..16 {
                for bad in substitutions(s, pos, b"0123456789X") {
                    assert!(bad.parse::<Isni>().is_err(), "{bad} accepted");
                }
            }
            for i in 0..15 {
                let t = swap(s, i, i + 1);
                if t != s {
                    assert!(t.parse::<Isni>().is_err(), "transposition {t} accepted");
                }
            }
        }
        assert_eq!(
            "000000012281955".parse::<Isni>(),
            Err(IdError::Length {
                id: "ISNI",
                expected: "16",
                found: 15
            })
        );
        assert!("0000000122819550X".parse::<Isni>().is_err());
        assert!(matches!(
            "00000001228A955X".parse::<Isni>(),
            Err(IdError::Charset { position: 11, .. })
        ));
        assert!(matches!(
            "000000012281955Y".parse::<Isni>(),
            Err(IdError::Charset { position: 15, .. })
        ));
        assert!(matches!(
            "0000000122819550".parse::<Isni>(),
            Err(IdError::Check {
                expected: 'X',
                found: '0',
                ..
            })
        ));
    }

    #[test]
    fn isan_vectors() {
        for s in ISAN_OK {
            let isan: Isan = s.parse().unwrap();
            assert_eq!(isan.to_string(), s);
            assert_eq!(
                format!("ISAN {}", s.to_lowercase())
                    .parse::<Isan>()
                    .unwrap(),
                isan
            );
            assert_eq!(s.replace('-', "").parse::<Isan>().unwrap(), isan);
            let short = &s[..21];
            let work: Isan = short.parse().unwrap();
            assert_eq!(work, isan.without_version());
            assert_eq!(work.to_string(), short);
            assert_eq!(work.version(), None);
            let json = serde_json::to_string(&isan).unwrap();
            assert_eq!(serde_json::from_str::<Isan>(&json).unwrap(), isan);
        }
    }

    #[test]
    fn isan_corruptions_rejected() {
        let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        for s in ISAN_OK {
            for pos in (0..s.len()).filter(|&p| s.as_bytes()[p] != b'-') {
                for bad in substitutions(s, pos, alphabet) {
                    assert!(bad.parse::<Isan>().is_err(), "{bad} accepted");
                }
            }
        }
        // Adjacent transpositions of distinct digits in the root.
        let s = ISAN_OK[2];
        for (i, j) in [(0, 1), (6, 7), (10, 11), (15, 16), (17, 18), (20, 22)] {
            let t = swap(s, i, j);
            assert_ne!(t, s);
            assert!(t.parse::<Isan>().is_err(), "transposition {t} accepted");
        }
        assert!(matches!(
            "0000-0000-D07A-0090".parse::<Isan>(),
            Err(IdError::Length { found: 16, .. })
        ));
        assert!(matches!(
            "0000-0000-D07A-0090-Q-0000-0000".parse::<Isan>(),
            Err(IdError::Length { found: 25, .. })
        ));
        assert!(matches!(
            "0000-0000-D07G-0090-Q".parse::<Isan>(),
            Err(IdError::Charset { position: 11, .. })
        ));
        assert!(matches!(
            "0000-0000-D07A-0090-Q-0000-0001-X".parse::<Isan>(),
            Err(IdError::Check { .. })
        ));
    }

    #[test]
    fn eidr_vectors() {
        for s in EIDR_OK {
            let eidr: Eidr = s.parse().unwrap();
            assert_eq!(eidr.to_string(), s);
            let lower = format!("10.5240/{}", s[8..].to_lowercase().replace('-', ""));
            assert_eq!(lower.parse::<Eidr>().unwrap(), eidr);
            let json = serde_json::to_string(&eidr).unwrap();
            assert_eq!(serde_json::from_str::<Eidr>(&json).unwrap(), eidr);
        }
    }

    #[test]
    fn eidr_corruptions_rejected() {
        let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        for s in EIDR_OK {
            for pos in (8..s.len()).filter(|&p| s.as_bytes()[p] != b'-') {
                for bad in substitutions(s, pos, alphabet) {
                    assert!(bad.parse::<Eidr>().is_err(), "{bad} accepted");
                }
            }
        }
        let s = EIDR_OK[0];
        for (i, j) in [(8, 9), (10, 11), (14, 15), (31, 33)] {
            let t = swap(s, i, j);
            assert_ne!(t, s);
            assert!(t.parse::<Eidr>().is_err(), "transposition {t} accepted");
        }
        assert!(matches!(
            "10.5241/7EC7-228A-510A-053E-CBB8-J".parse::<Eidr>(),
            Err(IdError::Prefix { .. })
        ));
        assert!(matches!(
            "10.5240/7EC7-228A-510A-053E-CBB-J".parse::<Eidr>(),
            Err(IdError::Length { found: 20, .. })
        ));
        assert!(matches!(
            "10.5240/7EC7-228A-510A-053E-CBBZ-J".parse::<Eidr>(),
            Err(IdError::Charset { position: 19, .. })
        ));
    }

    #[test]
    fn isrc_vectors() {
        let isrc: Isrc = "US-SKG-19-12345".parse().unwrap();
        assert_eq!(isrc.to_string(), "USSKG1912345");
        assert_eq!(isrc.hyphenated(), "US-SKG-19-12345");
        assert_eq!("ussKG1912345".parse::<Isrc>().unwrap(), isrc);
        assert_eq!("ISRC US-SKG-19-12345".parse::<Isrc>().unwrap(), isrc);
        assert!("UK-AAA-05-00001".parse::<Isrc>().is_ok());
        assert!(matches!(
            "XX-SKG-19-12345".parse::<Isrc>(),
            Err(IdError::Country { .. })
        ));
        assert!(matches!(
            "US-SKG-19-1234".parse::<Isrc>(),
            Err(IdError::Length { found: 11, .. })
        ));
        assert!(matches!(
            "US-SKG-1A-12345".parse::<Isrc>(),
            Err(IdError::Charset { position: 6, .. })
        ));
        assert!(matches!(
            "U1-SKG-19-12345".parse::<Isrc>(),
            Err(IdError::Charset { position: 1, .. })
        ));
        assert!("US-S_G-19-12345".parse::<Isrc>().is_err());
        let json = serde_json::to_string(&isrc).unwrap();
        assert_eq!(json, "\"USSKG1912345\"");
    }

    #[test]
    fn entity_ids() {
        let id = PerformerId::new();
        assert_eq!(id.to_string().parse::<PerformerId>().unwrap(), id);
        assert_eq!(id.as_uuid().get_version_num(), 7);
        assert_eq!(
            "nope".parse::<FixationId>(),
            Err(IdError::Uuid { id: "fixation id" })
        );
        let a = CreditId::from_u128(1);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<CreditId>(&json).unwrap(), a);
    }

    fn hex_body(n: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(proptest::sample::select(b"0123456789ABCDEF".to_vec()), n)
    }

    proptest! {
        #[test]
        fn isni_random_round_trip(body in proptest::collection::vec(0u8..10, 15), pos in 0usize..16, delta in 1u8..11) {
            let mut chars: Vec<u8> = body.iter().map(|d| b'0' + d).collect();
            chars.push(mod11_2_check(&chars) as u8);
            let s = String::from_utf8(chars.clone()).unwrap();
            let isni: Isni = s.parse().unwrap();
            prop_assert_eq!(isni.to_string().parse::<Isni>().unwrap(), isni);
            // Any single substitution is caught (MOD 11-2 is a pure system
            // over 11 symbols).
            let alphabet = b"0123456789X";
            let cur = alphabet.iter().position(|&c| c == chars[pos]).unwrap();
            let mut bad = chars.clone();
            bad[pos] = alphabet[(cur + usize::from(delta)) % 11];
            let bad = String::from_utf8(bad).unwrap();
            prop_assert!(bad.parse::<Isni>().is_err());
        }

        #[test]
        fn eidr_random_round_trip(body in hex_body(20), pos in 0usize..21, delta in 1usize..36) {
            let check = mod37_36_check(&body);
            let mut chars = body.clone();
            chars.push(check as u8);
            let s = format!("10.5240/{}", String::from_utf8(chars.clone()).unwrap());
            let eidr: Eidr = s.parse().unwrap();
            prop_assert_eq!(eidr.to_string().parse::<Eidr>().unwrap(), eidr);
            let cur = alnum_value(chars[pos]).unwrap() as usize;
            let mut bad = chars.clone();
            bad[pos] = ALPHANUM[(cur + delta) % 36];
            let bad = format!("10.5240/{}", String::from_utf8(bad).unwrap());
            prop_assert!(bad.parse::<Eidr>().is_err());
        }

        #[test]
        fn isan_random_round_trip(work in hex_body(16), version in hex_body(8), pos in 0usize..26, delta in 1usize..36) {
            let c1 = mod37_36_check(&work);
            let mut full = work.clone();
            full.extend_from_slice(&version);
            let c2 = mod37_36_check(&full);
            let mut chars = work.clone();
            chars.push(c1 as u8);
            chars.extend_from_slice(&version);
            chars.push(c2 as u8);
            let s = String::from_utf8(chars.clone()).unwrap();
            let isan: Isan = s.parse().unwrap();
            prop_assert_eq!(isan.to_string().parse::<Isan>().unwrap(), isan);
            let cur = alnum_value(chars[pos]).unwrap() as usize;
            let mut bad = chars.clone();
            bad[pos] = ALPHANUM[(cur + delta) % 36];
            let bad = String::from_utf8(bad).unwrap();
            prop_assert!(bad.parse::<Isan>().is_err());
        }
    }
}
