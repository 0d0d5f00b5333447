//! Territories: ISO 3166-1 alpha-2 country codes and the sets of them that
//! holdings, mandates and agreements cover ("DE and AT", "worldwide except
//! US").

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The officially assigned ISO 3166-1 alpha-2 codes (249), sorted.
pub const ISO_3166_1_ALPHA_2: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// The reason a string is not a known country code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?} is not an ISO 3166-1 alpha-2 country code")]
pub struct UnknownCountry {
    /// The code given.
    pub code: String,
}

/// An ISO 3166-1 alpha-2 country code, one of [`ISO_3166_1_ALPHA_2`].
/// Parsing accepts lower case; display is upper case.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(
    feature = "openapi",
    schema(value_type = String, pattern = "^[A-Za-z]{2}$", example = "DE")
)]
pub struct Country([u8; 2]);

impl Country {
    /// The two letters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Every known country, in code order.
    pub fn all() -> impl Iterator<Item = Country> {
        ISO_3166_1_ALPHA_2.iter().map(|c| {
            let b = c.as_bytes();
            Country([b[0], b[1]])
        })
    }
}

impl FromStr for Country {
    type Err = UnknownCountry;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let up = s.trim().to_ascii_uppercase();
        if ISO_3166_1_ALPHA_2.binary_search(&up.as_str()).is_ok() {
            let b = up.as_bytes();
            Ok(Country([b[0], b[1]]))
        } else {
            Err(UnknownCountry { code: s.to_owned() })
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.as_str())
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of countries: an explicit list, or the world minus a list.
///
/// Serialised as `{"only": ["DE", "AT"]}` or `{"worldwide_except": ["US"]}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Territories {
    /// Exactly these countries.
    Only(BTreeSet<Country>),
    /// Every country but these.
    WorldwideExcept(BTreeSet<Country>),
}

impl Territories {
    /// The whole world.
    pub fn worldwide() -> Self {
        Territories::WorldwideExcept(BTreeSet::new())
    }

    /// Exactly these countries.
    pub fn only(countries: impl IntoIterator<Item = Country>) -> Self {
        Territories::Only(countries.into_iter().collect())
    }

    /// Whether `country` is covered.
    pub fn contains(&self, country: Country) -> bool {
        match self {
            Territories::Only(set) => set.contains(&country),
            Territories::WorldwideExcept(set) => !set.contains(&country),
        }
    }

    /// Whether no country is covered.
    pub fn is_empty(&self) -> bool {
        match self {
            Territories::Only(set) => set.is_empty(),
            Territories::WorldwideExcept(set) => set.len() >= ISO_3166_1_ALPHA_2.len(),
        }
    }

    /// Whether the two sets share at least one country ("DE" intersects
    /// "worldwide").
    pub fn intersects(&self, other: &Territories) -> bool {
        use Territories::{Only, WorldwideExcept};
        match (self, other) {
            (Only(a), Only(b)) => a.intersection(b).next().is_some(),
            (Only(a), WorldwideExcept(b)) | (WorldwideExcept(b), Only(a)) => {
                a.iter().any(|c| !b.contains(c))
            }
            (WorldwideExcept(a), WorldwideExcept(b)) => {
                a.union(b).count() < ISO_3166_1_ALPHA_2.len()
            }
        }
    }

    /// The covered countries, listed.
    pub fn countries(&self) -> BTreeSet<Country> {
        match self {
            Territories::Only(set) => set.clone(),
            Territories::WorldwideExcept(set) => {
                Country::all().filter(|c| !set.contains(c)).collect()
            }
        }
    }

    /// The countries named in the set (listed or excepted): the only ones
    /// where two sets can differ from one another.
    pub fn named(&self) -> &BTreeSet<Country> {
        match self {
            Territories::Only(set) | Territories::WorldwideExcept(set) => set,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(ISO_3166_1_ALPHA_2.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO_3166_1_ALPHA_2
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn parses_countries() {
        assert_eq!("de".parse::<Country>().unwrap().to_string(), "DE");
        assert!("UK".parse::<Country>().is_err());
        assert!("EU".parse::<Country>().is_err());
        assert!("D".parse::<Country>().is_err());
        assert!(serde_json::from_str::<Country>("\"XX\"").is_err());
    }

    #[test]
    fn intersections() {
        let c = |s: &str| s.parse::<Country>().unwrap();
        let de = Territories::only([c("DE")]);
        assert!(de.intersects(&Territories::worldwide()));
        assert!(!de.intersects(&Territories::WorldwideExcept([c("DE")].into())));
        assert!(!de.intersects(&Territories::only([c("AT")])));
        let json = serde_json::to_string(&de).unwrap();
        assert_eq!(json, r#"{"only":["DE"]}"#);
        assert_eq!(serde_json::from_str::<Territories>(&json).unwrap(), de);
        let all: BTreeSet<Country> = Country::all().collect();
        let none = Territories::WorldwideExcept(all);
        assert!(none.is_empty());
        assert!(!none.intersects(&Territories::worldwide()));
    }

    fn territories() -> impl Strategy<Value = Territories> {
        let pool: Vec<Country> = ["DE", "AT", "FR", "US", "JP"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        (any::<bool>(), proptest::sample::subsequence(pool, 0..=5)).prop_map(|(only, set)| {
            let set = set.into_iter().collect();
            if only {
                Territories::Only(set)
            } else {
                Territories::WorldwideExcept(set)
            }
        })
    }

    proptest! {
        #[test]
        fn intersects_matches_sets(a in territories(), b in territories()) {
            let brute = a.countries().intersection(&b.countries()).next().is_some();
            prop_assert_eq!(a.intersects(&b), brute);
            prop_assert_eq!(a.is_empty(), a.countries().is_empty());
        }
    }
}
