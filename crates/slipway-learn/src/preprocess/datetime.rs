//! Calendar parts of datetimes (UTC), like pandas' `.dt` accessors.

/// The parts, in output column order.
pub(crate) const PARTS: [&str; 8] = [
    "year",
    "month",
    "day",
    "hour",
    "day_of_week",
    "is_weekend",
    "quarter",
    "is_month_end",
];

const MS_PER_DAY: i64 = 86_400_000;

/// The [`PARTS`] of an epoch-milliseconds timestamp; NaN stays NaN in every part.
pub(crate) fn parts(epoch_ms: f64) -> [f64; 8] {
    if !epoch_ms.is_finite() {
        return [f64::NAN; 8];
    }
    let ms = epoch_ms as i64;
    let days = ms.div_euclid(MS_PER_DAY);
    let hour = ms.rem_euclid(MS_PER_DAY) / 3_600_000;
    let (y, m, d) = civil_from_days(days);
    // 1970-01-01 was a Thursday (3 with Monday = 0).
    let dow = (days + 3).rem_euclid(7);
    [
        y as f64,
        m as f64,
        d as f64,
        hour as f64,
        dow as f64,
        f64::from(u8::from(dow >= 5)),
        ((m - 1) / 3 + 1) as f64,
        f64::from(u8::from(d == days_in_month(y, m))),
    ]
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 → (year, month, day).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        // 2024-02-29 13:05 UTC, a Thursday, leap-day month end.
        let p = parts(1_709_211_900_000.0);
        assert_eq!(p, [2024.0, 2.0, 29.0, 13.0, 3.0, 0.0, 1.0, 1.0]);
        // 1969-12-31 23:00 UTC, a Wednesday.
        let p = parts(-3_600_000.0);
        assert_eq!(p, [1969.0, 12.0, 31.0, 23.0, 2.0, 0.0, 4.0, 1.0]);
        assert!(parts(f64::NAN)[0].is_nan());
    }
}
