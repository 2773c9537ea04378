//! Times on screen. The server renders UTC (it cannot know the reader's zone, and the first paint
//! must match in the browser or hydration breaks); after hydration the browser shows local time.
//! Pure: the browser's clock and zone are read in `dom`.

/// `2026-11-24T23:05:09Z` for a `<time datetime>` attribute.
pub fn iso_utc(millis: i64) -> String {
    let (date, seconds) = split(millis);
    format!("{date}T{:02}:{:02}:{:02}Z", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

/// The page's inline script that turns every `<time data-local>` into the reader's local time
/// before the first paint, with exactly the calls `dom::local_clock` makes in the browser build. It
/// changes only the text node's value (never the element's children), so hydration finds the
/// nodes the server rendered.
pub const LOCALIZE_TIMES: &str = "for(const t of document.querySelectorAll('time[data-local]')){\
const d=new Date(t.dateTime);\
const clock=d.toLocaleTimeString('default',{hour:'2-digit',minute:'2-digit'});\
for(const n of t.childNodes){if(n.nodeType===3){n.nodeValue=clock;break}}\
t.title=d.toLocaleString('default')}";

/// The cookie in which the page's first script tells the server the reader's zone (minutes east of
/// UTC), so the next page's day separators fall where the reader's days begin.
pub const ZONE_COOKIE: &str = "tz";

/// The day a moment falls on for a reader `zone_minutes` east of UTC (days since 1970-01-01).
pub fn day_number(millis: i64, zone_minutes: i32) -> i64 {
    (millis + i64::from(zone_minutes) * 60_000).div_euclid(86_400_000)
}

/// What a day separator says: "Today", "Yesterday", "Monday, 30 November", or with the year when
/// it is not this one ("Sunday, 30 November 2025").
pub fn day_label(day: i64, today: i64) -> String {
    // Day 0, 1970-01-01, was a Thursday.
    const WEEKDAYS: [&str; 7] = ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    match today - day {
        0 => return "Today".to_owned(),
        1 => return "Yesterday".to_owned(),
        _ => {}
    }
    let (year, month, date) = civil_from_days(day);
    let weekday = WEEKDAYS[day.rem_euclid(7) as usize];
    let month = MONTHS[month as usize - 1];
    if year == civil_from_days(today).0 {
        format!("{weekday}, {date} {month}")
    } else {
        format!("{weekday}, {date} {month} {year}")
    }
}

/// `23:05 UTC`: the first-paint text without JavaScript.
pub fn utc_clock(millis: i64) -> String {
    let (_, seconds) = split(millis);
    format!("{:02}:{:02} UTC", seconds / 3600, seconds / 60 % 60)
}

/// A wait as people say it: "1 second", "40 seconds", "3 minutes" (rounded up, so a wait is never
/// shorter than it says).
pub fn wait(duration: std::time::Duration) -> String {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    let (count, unit) = if seconds < 60 { (seconds.max(1), "second") } else { (seconds.div_ceil(60), "minute") };
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

fn split(millis: i64) -> (String, i64) {
    let seconds = millis.div_euclid(1000);
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    (format!("{year:04}-{month:02}-{day:02}"), second_of_day)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Midnight UTC at the start of a `YYYY-MM-DD` date, in milliseconds; `None` for anything else
/// (including dates that do not exist, like February 30th).
pub fn utc_midnight_millis(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse::<i64>().ok()).flatten();
    let (year, month, day) = (digits(year)?, digits(month)?, digits(day)?);
    if !(1..=12).contains(&month) || day < 1 {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    // Round trip: a day past the month's end comes back as a different date.
    (civil_from_days(days) == (year, month as u32, day as u32)).then_some(days * 86_400_000)
}

/// A proleptic Gregorian date to days since 1970-01-01 (the inverse of `civil_from_days`).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_index = i64::from(if month > 2 { month - 3 } else { month + 9 });
    let day_of_year = (153 * month_index + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_begin_at_the_readers_midnight() {
        let late_evening_utc = 1_764_025_509_000; // 2025-11-24T23:05:09Z
        assert_eq!(day_number(late_evening_utc, 0), day_number(late_evening_utc - 23 * 3_600_000, 0));
        // An hour east of UTC it is already the 25th.
        assert_eq!(day_number(late_evening_utc, 60), day_number(late_evening_utc, 0) + 1);
        assert_eq!(day_number(late_evening_utc, -300), day_number(late_evening_utc, 0));
        assert_eq!(day_number(-1, 0), -1);
    }

    #[test]
    fn day_separators_say_today_yesterday_or_the_date() {
        let today = day_number(1_764_025_509_000, 0); // Monday 24 November 2025
        assert_eq!(day_label(today, today), "Today");
        assert_eq!(day_label(today - 1, today), "Yesterday");
        assert_eq!(day_label(today - 2, today), "Saturday, 22 November");
        assert_eq!(day_label(today - 365, today), "Sunday, 24 November 2024");
        assert_eq!(day_label(0, today), "Thursday, 1 January 1970");
    }

    #[test]
    fn formats_utc_dates_and_clocks() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_utc(1_764_025_509_000), "2025-11-24T23:05:09Z");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(utc_clock(1_764_025_509_999), "23:05 UTC");
        assert_eq!(iso_utc(-1_000), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn waits_read_as_people_say_them_and_never_shorter() {
        use std::time::Duration;
        assert_eq!(wait(Duration::from_millis(200)), "1 second");
        assert_eq!(wait(Duration::from_millis(1_500)), "2 seconds");
        assert_eq!(wait(Duration::from_secs(59)), "59 seconds");
        assert_eq!(wait(Duration::from_secs(60)), "1 minute");
        assert_eq!(wait(Duration::from_secs(61)), "2 minutes");
        assert_eq!(wait(Duration::from_secs(15 * 60)), "15 minutes");
    }

    #[test]
    fn reads_dates_as_utc_midnight_and_refuses_anything_else() {
        assert_eq!(utc_midnight_millis("1970-01-01"), Some(0));
        assert_eq!(utc_midnight_millis("2000-02-29"), Some(951_782_400_000));
        assert_eq!(utc_midnight_millis("2025-11-24"), Some(1_763_942_400_000));
        for day in -800_i64..800 {
            let millis = day * 86_400_000 * 37;
            assert_eq!(utc_midnight_millis(&iso_utc(millis)[..10]), Some(millis), "{}", iso_utc(millis));
        }
        for bad in [
            "",
            "2025",
            "2025-1-01",
            "2025-13-01",
            "2025-02-30",
            "2023-02-29",
            "2025-00-10",
            "+025-01-01",
            "2025-01-01x",
            "yesterday",
        ] {
            assert_eq!(utc_midnight_millis(bad), None, "{bad}");
        }
    }
}
