//! Time as RFC 3339 text, the one format Storehand stores and sends: formatting our own
//! instants, checking the ones we are sent.
//!
//! Devices and central write UTC with milliseconds (`2026-01-15T09:30:00.000Z`), so text
//! order is time order. Parsing accepts any RFC 3339 `date-time` (section 5.6 of RFC 3339)
//! from devices and the platform, with `Z` or a numeric offset. The calendar arithmetic is
//! Howard Hinnant's `days_from_civil` and `civil_from_days` (proleptic Gregorian calendar).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, now (0 for a clock set before 1970).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Now, as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// `time` as `YYYY-MM-DDTHH:MM:SS.mmmZ`; text order is time order.
pub fn rfc3339(time: SystemTime) -> String {
    let ms = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_millis() as i64,
        Err(before) => -(before.duration().as_millis() as i64),
    };
    format_utc_ms(ms)
}

/// `ms` since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_utc_ms(ms: i64) -> String {
    let (secs, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Why a text is not an RFC 3339 date-time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an RFC 3339 date-time such as 2026-01-15T09:30:00Z: {why}")]
pub struct TimeError {
    pub text: String,
    pub why: &'static str,
}

/// Parses an RFC 3339 `date-time` to milliseconds since the Unix epoch (fractions beyond
/// milliseconds are dropped).
///
/// # Failure
/// A [`TimeError`] naming the first part that is wrong: layout, month, day, hour, offset.
pub fn parse_rfc3339(text: &str) -> Result<i64, TimeError> {
    let fail = |why| TimeError {
        text: text.to_owned(),
        why,
    };
    let b = text.as_bytes();
    if b.len() < 20 {
        return Err(fail("too short"));
    }
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0i64, |n, &d| n * 10 + i64::from(d - b'0')))
    };
    let layout_ok = b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't')
        && b[13] == b':'
        && b[16] == b':';
    if !layout_ok {
        return Err(fail("expected YYYY-MM-DDTHH:MM:SS"));
    }
    let (Some(year), Some(month), Some(day)) = (num(0..4), num(5..7), num(8..10)) else {
        return Err(fail("the date has a non-digit"));
    };
    let (Some(hour), Some(minute), Some(second)) = (num(11..13), num(14..16), num(17..19)) else {
        return Err(fail("the time has a non-digit"));
    };
    if !(1..=12).contains(&month) {
        return Err(fail("the month is not 01-12"));
    }
    if day < 1 || day > days_in_month(year, month as u32) {
        return Err(fail("the day does not exist in that month"));
    }
    // RFC 3339 allows second 60 for a leap second; it is read as the last second of the minute.
    if hour > 23 || minute > 59 || second > 60 {
        return Err(fail("the time of day is out of range"));
    }

    let mut rest = &b[19..];
    let mut millis = 0;
    if rest.first() == Some(&b'.') {
        let digits = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return Err(fail("a '.' must be followed by digits"));
        }
        millis = rest[1..1 + digits.min(3)]
            .iter()
            .fold(0, |n, &d| n * 10 + i64::from(d - b'0'))
            * 10i64.pow(3 - digits.min(3) as u32);
        rest = &rest[1 + digits..];
    }
    let offset_minutes = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let digits = [*h1, *h2, *m1, *m2];
            if !digits.iter().all(u8::is_ascii_digit) {
                return Err(fail("the offset has a non-digit"));
            }
            let hours = i64::from((h1 - b'0') * 10 + (h2 - b'0'));
            let minutes = i64::from((m1 - b'0') * 10 + (m2 - b'0'));
            if hours > 23 || minutes > 59 {
                return Err(fail("the offset is out of range"));
            }
            let total = hours * 60 + minutes;
            if *sign == b'-' { -total } else { total }
        }
        _ => return Err(fail("it must end with Z or an offset such as +02:00")),
    };

    let days = days_from_civil(year, month as u32, day as u32);
    let second = second.min(59);
    let local = ((days * 24 + hour) * 60 + minute) * 60 + second;
    Ok((local - offset_minutes * 60) * 1000 + millis)
}

/// The number of days in `month` (1-12) of `year`.
pub fn days_in_month(year: i64, month: u32) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 0,
    }
}

/// (year, month, day) to days since 1970-01-01.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_format_and_parse_back() {
        assert_eq!(format_utc_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_utc_ms(1_709_210_096_789), "2024-02-29T12:34:56.789Z");
        assert_eq!(
            parse_rfc3339("2024-02-29T12:34:56.789Z"),
            Ok(1_709_210_096_789)
        );
        assert_eq!(
            parse_rfc3339("2024-02-29T14:34:56.789+02:00"),
            Ok(1_709_210_096_789)
        );
        assert_eq!(
            parse_rfc3339("1970-01-01T00:00:00-03:00"),
            Ok(3 * 3600 * 1000)
        );
    }

    #[test]
    fn texts_that_are_not_rfc3339_are_refused_with_the_reason() {
        let why = |t: &str| parse_rfc3339(t).unwrap_err().why;
        assert_eq!(
            why("2024-02-30T00:00:00Z"),
            "the day does not exist in that month"
        );
        assert_eq!(why("2024-13-01T00:00:00Z"), "the month is not 01-12");
        assert_eq!(why("2024-01-01 00:00:00Z"), "expected YYYY-MM-DDTHH:MM:SS");
        assert_eq!(why("2024-01-01T00:00:00"), "too short");
        assert_eq!(
            why("2024-01-01T00:00:00+2:00"),
            "it must end with Z or an offset such as +02:00"
        );
        assert_eq!(why("10/2/2017 10:56"), "too short");
    }

    #[test]
    fn civil_days_round_trip_across_centuries() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
