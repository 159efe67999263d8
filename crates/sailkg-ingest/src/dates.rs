//! Dates and times in common formats, parsed to ISO-8601, and time-series structure.

/// A recognised date or date-time layout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// The layout in strftime-like notation, recorded in the catalogue.
    pub name: &'static str,
    parse: fn(&str) -> Option<Stamp>,
}

/// A parsed date, with a time when the layout has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Stamp {
    year: i32,
    month: u32,
    day: u32,
    time: Option<(u32, u32, u32)>,
}

impl Stamp {
    fn new(year: i32, month: u32, day: u32, time: Option<(u32, u32, u32)>) -> Option<Self> {
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
            2 => 28,
            _ => return None,
        };
        if !(1..=days_in_month).contains(&day) || !(1000..=9999).contains(&year) {
            return None;
        }
        if let Some((h, m, s)) = time
            && (h > 23 || m > 59 || s > 60)
        {
            return None;
        }
        Some(Self { year, month, day, time })
    }

    /// ISO-8601: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SS`.
    pub(crate) fn iso(&self) -> String {
        match self.time {
            None => format!("{:04}-{:02}-{:02}", self.year, self.month, self.day),
            Some((h, m, s)) => {
                format!("{:04}-{:02}-{:02}T{h:02}:{m:02}:{s:02}", self.year, self.month, self.day)
            }
        }
    }

    /// Seconds since 1970-01-01T00:00:00 (no time zone).
    pub(crate) fn seconds(&self) -> i64 {
        let days = sailkg_core::terms::days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        );
        let (h, mi, s) = self.time.unwrap_or((0, 0, 0));
        days * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)
    }
}

const MONTHS: [&str; 12] =
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

fn month_name(text: &str) -> Option<u32> {
    let lower = text.to_ascii_lowercase();
    MONTHS.iter().position(|m| lower.starts_with(m)).map(|i| i as u32 + 1)
}

fn number<T: std::str::FromStr>(text: &str) -> Option<T> {
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then(|| text.parse().ok()).flatten()
}

/// `HH:MM` or `HH:MM:SS`.
fn clock(text: &str) -> Option<(u32, u32, u32)> {
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [h, m] if h.len() <= 2 && m.len() == 2 => Some((number(h)?, number(m)?, 0)),
        [h, m, s] if h.len() <= 2 && m.len() == 2 && s.len() == 2 => {
            Some((number(h)?, number(m)?, number(s)?))
        }
        _ => None,
    }
}

/// `YYYY?MM?DD` with `separator`, optionally followed by a time after `T` or a space.
fn year_first(text: &str, separator: char) -> Option<Stamp> {
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((date, time)) => (date, Some(clock(time.trim_end_matches('Z'))?)),
        None => (text, None),
    };
    let parts: Vec<&str> = date.split(separator).collect();
    let [y, m, d] = parts.as_slice() else { return None };
    if y.len() != 4 || m.len() > 2 || d.len() > 2 {
        return None;
    }
    Stamp::new(number(y)?, number(m)?, number(d)?, time)
}

fn iso_dash(text: &str) -> Option<Stamp> {
    year_first(text, '-')
}

fn iso_slash(text: &str) -> Option<Stamp> {
    year_first(text, '/')
}

/// `DD.MM.YYYY`.
fn day_dot(text: &str) -> Option<Stamp> {
    let parts: Vec<&str> = text.split('.').collect();
    let [d, m, y] = parts.as_slice() else { return None };
    (y.len() == 4 && m.len() <= 2 && d.len() <= 2).then_some(())?;
    Stamp::new(number(y)?, number(m)?, number(d)?, None)
}

/// `MM/DD/YYYY` (US).
fn us_slash(text: &str) -> Option<Stamp> {
    let parts: Vec<&str> = text.split('/').collect();
    let [m, d, y] = parts.as_slice() else { return None };
    (y.len() == 4 && m.len() <= 2 && d.len() <= 2).then_some(())?;
    Stamp::new(number(y)?, number(m)?, number(d)?, None)
}

/// `Jun 12 1998`, `Jun 12, 1998`.
fn month_day_year(text: &str) -> Option<Stamp> {
    let words: Vec<&str> = text.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    let [m, d, y] = words.as_slice() else { return None };
    (y.len() == 4 && d.len() <= 2 && m.len() >= 3).then_some(())?;
    Stamp::new(number(y)?, month_name(m)?, number(d)?, None)
}

/// `12 Jun 1998`, `12-Jun-1998`.
fn day_month_year(text: &str) -> Option<Stamp> {
    let words: Vec<&str> = text.split([' ', '-']).filter(|w| !w.is_empty()).collect();
    let [d, m, y] = words.as_slice() else { return None };
    (y.len() == 4 && d.len() <= 2 && m.len() >= 3).then_some(())?;
    Stamp::new(number(y)?, month_name(m)?, number(d)?, None)
}

/// The layouts tried, most specific first. Ambiguous day/month orders are told apart only by a
/// column whose every value fits one layout.
pub(crate) const LAYOUTS: &[Layout] = &[
    Layout { name: "%Y-%m-%d[T%H:%M[:%S]]", parse: iso_dash },
    Layout { name: "%Y/%m/%d[ %H:%M[:%S]]", parse: iso_slash },
    Layout { name: "%d.%m.%Y", parse: day_dot },
    Layout { name: "%m/%d/%Y", parse: us_slash },
    Layout { name: "%b %d %Y", parse: month_day_year },
    Layout { name: "%d %b %Y", parse: day_month_year },
];

/// The layout that parses every value, if any (and there is at least one value).
pub(crate) fn detect<'a>(values: impl Iterator<Item = &'a str> + Clone) -> Option<Layout> {
    let mut any = values.clone().peekable();
    any.peek()?;
    LAYOUTS.iter().copied().find(|layout| values.clone().all(|v| (layout.parse)(v.trim()).is_some()))
}

/// Parses one value with a layout.
pub(crate) fn parse(layout: Layout, value: &str) -> Option<Stamp> {
    (layout.parse)(value.trim())
}

/// The structure of a series of timestamps.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TimeSeriesProfile {
    /// The typical step: the median gap between consecutive distinct timestamps, in seconds.
    pub frequency_seconds: f64,
    /// Steps longer than one and a half typical steps.
    pub gaps: u64,
    /// Timestamps that occur more than once (extra occurrences).
    pub duplicates: u64,
}

/// Frequency, gaps and duplicates of a set of timestamps (seconds); `None` for fewer than three.
pub(crate) fn time_series(mut seconds: Vec<i64>) -> Option<TimeSeriesProfile> {
    if seconds.len() < 3 {
        return None;
    }
    seconds.sort_unstable();
    let before = seconds.len();
    seconds.dedup();
    let duplicates = (before - seconds.len()) as u64;
    let mut steps: Vec<i64> = seconds.windows(2).map(|w| w[1] - w[0]).collect();
    if steps.is_empty() {
        return None;
    }
    steps.sort_unstable();
    let typical = steps[steps.len() / 2] as f64;
    let gaps = steps.iter().filter(|s| **s as f64 > typical * 1.5).count() as u64;
    Some(TimeSeriesProfile { frequency_seconds: typical, gaps, duplicates })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(value: &str, expected: Option<&str>) {
        let parsed = LAYOUTS.iter().find_map(|l| parse(*l, value)).map(|s| s.iso());
        assert_eq!(parsed.as_deref(), expected, "{value}");
    }

    #[test]
    fn layouts() {
        check("2001/01/13 14:56", Some("2001-01-13T14:56:00"));
        check("1998-06-12", Some("1998-06-12"));
        check("2018-02-04T13:23:08Z", Some("2018-02-04T13:23:08"));
        check("Jun 12 1998", Some("1998-06-12"));
        check("12-Jun-1998", Some("1998-06-12"));
        check("31.12.1999", Some("1999-12-31"));
        check("12/31/1999", Some("1999-12-31"));
        check("2001-02-29", None);
        check("hello", None);
        check("12", None);
    }

    #[test]
    fn a_column_has_one_layout() {
        let values = ["01/02/2020", "12/31/2020"];
        assert_eq!(detect(values.iter().copied()).map(|l| l.name), Some("%m/%d/%Y"));
        let mixed = ["2020-01-02", "Jun 12 1998"];
        assert!(detect(mixed.iter().copied()).is_none());
    }

    #[test]
    fn series_structure() {
        let hour = 3600;
        let stamps = vec![0, hour, 2 * hour, 2 * hour, 5 * hour, 6 * hour];
        let profile = time_series(stamps).unwrap();
        assert_eq!(profile, TimeSeriesProfile { frequency_seconds: 3600.0, gaps: 1, duplicates: 1 });
        let stamp = Stamp::new(2001, 1, 13, Some((14, 56, 0))).unwrap();
        assert_eq!(stamp.seconds(), 979_397_760);
    }
}
