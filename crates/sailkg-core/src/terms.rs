//! RDF terms that several crates write the same way: timestamps and file IRIs.

use oxigraph::model::vocab::xsd;
use oxigraph::model::{Literal, NamedNode};
use std::path::Path;
use std::time::{Duration, SystemTime};

/// A time as an `xsd:dateTime` literal in UTC, to the second.
pub fn date_time(time: SystemTime) -> Literal {
    let seconds = time.duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs();
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    let (year, month, day) = civil_from_days(days as i64);
    Literal::new_typed_literal(
        format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60),
        xsd::DATE_TIME,
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// A proleptic Gregorian date to days since 1970-01-01 (H. Hinnant's algorithm); the inverse of
/// [`civil_from_days`].
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The `file://` IRI of a path (made absolute), with the characters IRIs forbid percent-encoded.
pub fn file_iri(path: &Path) -> NamedNode {
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
    let mut text = String::from("file://");
    for c in absolute.display().to_string().chars() {
        if c == ' ' || matches!(c, '<' | '>' | '"' | '{' | '}' | '|' | '\\' | '^' | '`') || c.is_control() {
            let mut buffer = [0u8; 4];
            for b in c.encode_utf8(&mut buffer).bytes() {
                text.push_str(&format!("%{b:02X}"));
            }
        } else {
            text.push(c);
        }
    }
    NamedNode::new(text).unwrap_or_else(|_| NamedNode::new_unchecked("file:///unknown"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_file_iris() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        for days in [-800_000, -1, 0, 59, 19_723, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), days);
        }
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400 + 3_723);
        assert_eq!(date_time(time).value(), "1970-01-02T01:02:03Z");
        assert_eq!(file_iri(Path::new("/no such/dir")).as_str(), "file:///no%20such/dir");
    }
}
