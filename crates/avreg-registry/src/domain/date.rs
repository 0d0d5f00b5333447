//! Calendar dates and inclusive date periods.
//!
//! The domain needs dates only (fixation, performance, death, the start and
//! end of a holding, a term's expiry), never times of day or zones, so this is
//! a small proleptic-Gregorian date with `YYYY-MM-DD` as its only text form.
//! Days are numbered from 1970-01-01 (Howard Hinnant's civil algorithms) so
//! periods can be swept as integer intervals.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The reason a date or a period is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// The text is not `YYYY-MM-DD`.
    #[error("a date is written YYYY-MM-DD, got {0:?}")]
    Format(String),
    /// The year is outside 1..=9999.
    #[error("year {0} is outside 1..=9999")]
    Year(i32),
    /// The month is outside 1..=12.
    #[error("month {0} is outside 1..=12")]
    Month(u8),
    /// The day does not exist in that month.
    #[error("day {day} does not exist in {year:04}-{month:02}")]
    Day {
        /// Year.
        year: i32,
        /// Month.
        month: u8,
        /// The day that does not exist.
        day: u8,
    },
}

/// A calendar date (proleptic Gregorian, years 1..=9999).
///
/// Ordered chronologically; serialised as `"YYYY-MM-DD"`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    // Field order makes the derived ordering chronological.
    year: i32,
    month: u8,
    day: u8,
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

impl Date {
    /// The date, if it exists.
    pub fn new(year: i32, month: u8, day: u8) -> Result<Self, DateError> {
        if !(1..=9999).contains(&year) {
            return Err(DateError::Year(year));
        }
        if !(1..=12).contains(&month) {
            return Err(DateError::Month(month));
        }
        if day == 0 || day > days_in_month(year, month) {
            return Err(DateError::Day { year, month, day });
        }
        Ok(Self { year, month, day })
    }

    /// 31 December of `year` (the end of a term under BTAP Art. 14).
    pub fn end_of_year(year: i32) -> Result<Self, DateError> {
        Self::new(year, 12, 31)
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.year
    }

    /// The month, 1..=12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01, if it is in years 1..=9999.
    pub fn from_days_since_epoch(days: i64) -> Result<Self, DateError> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        let year = i32::try_from(year).map_err(|_| DateError::Year(i32::MAX))?;
        // month is 1..=12 and day 1..=31 by construction.
        Self::new(year, month as u8, day as u8)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || DateError::Format(s.to_owned());
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let digits = |r: std::ops::Range<usize>| -> Result<u32, DateError> {
            let part = &s[r];
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return Err(bad());
            }
            part.parse().map_err(|_| bad())
        };
        let year = digits(0..4)? as i32;
        let month = digits(5..7)? as u8;
        let day = digits(8..10)? as u8;
        Self::new(year, month, day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An inclusive period of days: from `start` to `end`, or open-ended when
/// `end` is `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Period {
    /// First day covered.
    pub start: Date,
    /// Last day covered; `None` = no end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Date>,
}

impl Period {
    /// From `start` on, without end.
    pub fn from(start: Date) -> Self {
        Self { start, end: None }
    }

    /// From `start` to `end`, both included.
    pub fn between(start: Date, end: Date) -> Self {
        Self {
            start,
            end: Some(end),
        }
    }

    /// Whether the period is well formed (end not before start).
    pub fn is_valid(&self) -> bool {
        self.end.is_none_or(|e| e >= self.start)
    }

    /// Whether `date` lies in the period.
    pub fn contains(&self, date: Date) -> bool {
        date >= self.start && self.end.is_none_or(|e| date <= e)
    }

    /// Whether the two periods share at least one day.
    pub fn intersects(&self, other: &Period) -> bool {
        self.end.is_none_or(|e| other.start <= e) && other.end.is_none_or(|e| self.start <= e)
    }

    /// The period as a half-open interval of epoch days `[start, end)`;
    /// `i64::MAX` stands for "no end".
    pub fn epoch_days(&self) -> (i64, i64) {
        let start = self.start.days_since_epoch();
        let end = self.end.map_or(i64::MAX, |e| e.days_since_epoch() + 1);
        (start, end)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is the failure report
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_displays() {
        let d: Date = "2020-04-28".parse().unwrap();
        assert_eq!(d.to_string(), "2020-04-28");
        assert_eq!(d.year(), 2020);
        assert_eq!(
            "2020-02-30".parse::<Date>(),
            Err(DateError::Day {
                year: 2020,
                month: 2,
                day: 30
            })
        );
        assert!("2019-02-29".parse::<Date>().is_err());
        assert!("2000-02-29".parse::<Date>().is_ok());
        assert!("2020-4-28".parse::<Date>().is_err());
        assert!("2020-13-01".parse::<Date>().is_err());
        assert!("+020-01-01".parse::<Date>().is_err());
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            "\"2020-04-28\"".to_owned()
        );
    }

    #[test]
    fn epoch_days() {
        let epoch = Date::new(1970, 1, 1).unwrap();
        assert_eq!(epoch.days_since_epoch(), 0);
        assert_eq!(Date::new(2000, 3, 1).unwrap().days_since_epoch(), 11_017);
        assert_eq!(
            Date::from_days_since_epoch(-1).unwrap().to_string(),
            "1969-12-31"
        );
    }

    #[test]
    fn periods_intersect() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        let a = Period::between(d("2020-01-01"), d("2020-12-31"));
        let b = Period::from(d("2020-12-31"));
        let c = Period::from(d("2021-01-01"));
        assert!(a.intersects(&b) && b.intersects(&a));
        assert!(!a.intersects(&c) && !c.intersects(&a));
        assert!(b.intersects(&c));
        assert!(!Period::between(d("2021-01-01"), d("2020-01-01")).is_valid());
    }

    proptest! {
        #[test]
        fn days_round_trip(days in -719_162i64..2_932_896) {
            let date = Date::from_days_since_epoch(days).unwrap();
            prop_assert_eq!(date.days_since_epoch(), days);
            let next = Date::from_days_since_epoch(days + 1).unwrap();
            prop_assert!(next > date);
        }
    }
}
