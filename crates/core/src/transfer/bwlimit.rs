//! Bandwidth limits in rclone's `--bwlimit` syntax: a rate (`512k`, `4M`, `1.5M`, `off`)
//! or a weekly timetable of rates (`"08:00,512k 12:00,10M 18:00,off"`,
//! `"Mon-09:00,2M Sat-00:00,off"`), and which rate is in force at a given local time.
//!
//! Only parsing and time arithmetic live here; applying a rate to bytes is `throttle`.
//!
//! The syntax, as rclone documents it: a rate is a number with an optional binary unit
//! (`B`, `K`, `M`, `G`, `T`, `P`, case-insensitive; no unit means KiB/s), or `off` (no
//! limit). A timetable is entries separated by spaces, each `HH:MM,RATE` (every day) or
//! `Day-HH:MM,RATE` (`Mon`…`Sun`, or their full names); the rate of the latest entry at or
//! before a moment holds then, wrapping round the week. Ferry adds one meaning: a rate of
//! `0` is "do not send" — the queue waits and says when it will start.

use chrono::{Datelike, Timelike};

use crate::error::{Code, Error, Result};

/// Bytes a second, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    Unlimited,
    /// Do not send (a rate of `0`).
    Paused,
    BytesPerSec(u64),
}

impl Rate {
    /// The rate as rclone would print it: `off`, `0`, `512Ki`, `4Mi`.
    pub fn human(self) -> String {
        match self {
            Rate::Unlimited => "off".into(),
            Rate::Paused => "0".into(),
            Rate::BytesPerSec(b) => {
                let units = [
                    (1u64 << 40, "T"),
                    (1 << 30, "G"),
                    (1 << 20, "M"),
                    (1 << 10, "k"),
                ];
                for (size, unit) in units {
                    if b >= size {
                        let v = b as f64 / size as f64;
                        return if b % size == 0 {
                            format!("{}{unit}", b / size)
                        } else {
                            format!("{v:.1}{unit}")
                        };
                    }
                }
                format!("{b}B")
            }
        }
    }
}

/// Minutes into the week, Monday 00:00 = 0.
const WEEK: u32 = 7 * 24 * 60;

/// A parsed `bwlimit`: one rate all week, or a timetable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// (minute of the week, rate), sorted by minute, at least one entry.
    entries: Vec<(u32, Rate)>,
    text: String,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule::unlimited()
    }
}

impl Schedule {
    pub fn unlimited() -> Self {
        Schedule {
            entries: vec![(0, Rate::Unlimited)],
            text: "off".into(),
        }
    }

    /// Parse a rate or a timetable. `option` names the setting in the error.
    pub fn parse(option: &str, text: &str) -> Result<Schedule> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(Schedule::unlimited());
        }
        let bad = |why: String| {
            Error::new(
                Code::ConfigInvalid,
                format!(
                    "`{option}` = \"{trimmed}\": {why}. Give a rate like 4M, 512k or off, or a \
                     timetable like \"08:00,512k 18:00,off\" or \"Mon-09:00,2M Sat-00:00,off\""
                ),
            )
        };
        if !trimmed.contains(',') {
            if trimmed.contains(' ') {
                return Err(bad("a timetable's entries are TIME,RATE".into()));
            }
            let rate = parse_rate(trimmed).map_err(bad)?;
            return Ok(Schedule {
                entries: vec![(0, rate)],
                text: trimmed.to_string(),
            });
        }
        let mut entries: Vec<(u32, Rate)> = Vec::new();
        for entry in trimmed.split_whitespace() {
            let (when, rate) = entry
                .split_once(',')
                .ok_or_else(|| bad(format!("`{entry}` is not TIME,RATE")))?;
            let rate = parse_rate(rate).map_err(|e| bad(format!("in `{entry}`: {e}")))?;
            let (day, time) = match when.split_once('-') {
                Some((d, t)) => (
                    Some(parse_day(d).map_err(|e| bad(format!("in `{entry}`: {e}")))?),
                    t,
                ),
                None => (None, when),
            };
            let minute = parse_time(time).map_err(|e| bad(format!("in `{entry}`: {e}")))?;
            match day {
                Some(d) => entries.push((d * 24 * 60 + minute, rate)),
                None => entries.extend((0..7).map(|d| (d * 24 * 60 + minute, rate))),
            }
        }
        entries.sort_by_key(|(m, _)| *m);
        for pair in entries.windows(2) {
            if pair[0].0 == pair[1].0 {
                let m = pair[0].0;
                return Err(bad(format!(
                    "two entries for {} {:02}:{:02}",
                    DAYS[(m / (24 * 60)) as usize],
                    m / 60 % 24,
                    m % 60
                )));
            }
        }
        Ok(Schedule {
            entries,
            text: trimmed.to_string(),
        })
    }

    /// The text it was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// A single rate all week (no timetable).
    pub fn is_constant(&self) -> bool {
        self.entries.len() == 1
    }

    /// The rate in force at `minute` of the week, and how many minutes until the next
    /// entry (`None`: the rate never changes).
    fn at_minute(&self, minute: u32) -> (Rate, Option<u32>) {
        if self.entries.len() == 1 {
            return (self.entries[0].1, None);
        }
        // The latest entry at or before now; before the first entry of the week, the
        // week's last entry still holds (wrapping round).
        let idx = self.entries.partition_point(|(m, _)| *m <= minute);
        let current = if idx == 0 {
            self.entries[self.entries.len() - 1].1
        } else {
            self.entries[idx - 1].1
        };
        let next = match self.entries.get(idx) {
            Some((m, _)) => m - minute,
            None => WEEK - minute + self.entries[0].0,
        };
        (current, Some(next))
    }

    /// The rate in force at a local time, and when it may change next.
    pub fn at<Tz: chrono::TimeZone>(
        &self,
        t: &chrono::DateTime<Tz>,
    ) -> (Rate, Option<chrono::DateTime<Tz>>) {
        let minute = week_minute(t);
        let (rate, next) = self.at_minute(minute);
        let next = next.map(|m| {
            let start_of_minute = t.clone()
                - chrono::Duration::seconds(t.second() as i64)
                - chrono::Duration::nanoseconds(t.nanosecond() as i64);
            start_of_minute + chrono::Duration::minutes(m as i64)
        });
        (rate, next)
    }

    /// When sending may start again if the rate at `t` is `0`: the first entry after `t`
    /// with another rate. `None` when it is not paused at `t`, or paused all week.
    pub fn resumes_at<Tz: chrono::TimeZone>(
        &self,
        t: &chrono::DateTime<Tz>,
    ) -> Option<chrono::DateTime<Tz>> {
        let (rate, _) = self.at(t);
        if rate != Rate::Paused {
            return None;
        }
        let start = week_minute(t);
        let mut waited = 0u32;
        // At most one trip round the week's entries.
        for _ in 0..=self.entries.len() {
            let (rate, next) = self.at_minute((start + waited) % WEEK);
            if rate != Rate::Paused {
                break;
            }
            waited += next?;
            if waited > WEEK {
                return None;
            }
        }
        let (rate, _) = self.at_minute((start + waited) % WEEK);
        if rate == Rate::Paused {
            return None;
        }
        let start_of_minute = t.clone()
            - chrono::Duration::seconds(t.second() as i64)
            - chrono::Duration::nanoseconds(t.nanosecond() as i64);
        Some(start_of_minute + chrono::Duration::minutes(waited as i64))
    }
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn week_minute<Tz: chrono::TimeZone>(t: &chrono::DateTime<Tz>) -> u32 {
    t.weekday().num_days_from_monday() * 24 * 60 + t.hour() * 60 + t.minute()
}

/// A rate: `off`, or a number with an optional binary unit (no unit = KiB/s).
pub fn parse_rate(text: &str) -> std::result::Result<Rate, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("off") {
        return Ok(Rate::Unlimited);
    }
    if t.contains(':') {
        return Err(format!(
            "`{t}`: Ferry only sends, so give one rate (rclone's UPLOAD:DOWNLOAD pair does not apply)"
        ));
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| format!("`{t}` is not a rate (a number and a unit: 512k, 4M)"))?;
    let unit = unit
        .strip_suffix("iB")
        .or_else(|| unit.strip_suffix("i"))
        .unwrap_or(unit);
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "k" => 1 << 10,
        "b" => 1,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        "p" => 1 << 50,
        _ => {
            return Err(format!(
                "`{}` is not a unit; use B, k, M, G, T or P (binary: 1k = 1024 bytes/s)",
                unit
            ))
        }
    };
    let bytes = value * scale as f64;
    if !bytes.is_finite() || bytes > u64::MAX as f64 / 2.0 {
        return Err(format!("`{t}` is too large"));
    }
    let bytes = bytes.round() as u64;
    if bytes == 0 {
        return Ok(Rate::Paused);
    }
    // A few hundred bytes a second would keep a connection open for hours per file.
    if bytes < 1024 {
        return Err(format!(
            "`{t}` is below 1k (1 KiB/s), too slow to send anything"
        ));
    }
    Ok(Rate::BytesPerSec(bytes))
}

fn parse_day(text: &str) -> std::result::Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    const FULL: [&str; 7] = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    FULL.iter()
        .position(|d| lower.len() >= 3 && d.starts_with(&lower))
        .map(|i| i as u32)
        .ok_or_else(|| format!("`{text}` is not a day (Mon, Tue, Wed, Thu, Fri, Sat, Sun)"))
}

fn parse_time(text: &str) -> std::result::Result<u32, String> {
    let bad = || format!("`{text}` is not a time (HH:MM, 00:00 to 23:59)");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if h > 23 || m > 59 || text.len() > 5 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: &Schedule, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> Rate {
        let t = chrono::Utc.with_ymd_and_hms(y, mo, d, h, mi, 30).unwrap();
        s.at(&t).0
    }

    #[test]
    fn rates_use_rclones_binary_units_and_kib_without_a_unit() {
        assert_eq!(parse_rate("512k"), Ok(Rate::BytesPerSec(512 * 1024)));
        assert_eq!(parse_rate("4M"), Ok(Rate::BytesPerSec(4 << 20)));
        assert_eq!(parse_rate("4Mi"), Ok(Rate::BytesPerSec(4 << 20)));
        assert_eq!(parse_rate("1.5M"), Ok(Rate::BytesPerSec(3 << 19)));
        assert_eq!(parse_rate("100"), Ok(Rate::BytesPerSec(100 * 1024)));
        assert_eq!(parse_rate("2048B"), Ok(Rate::BytesPerSec(2048)));
        assert_eq!(parse_rate("1G"), Ok(Rate::BytesPerSec(1 << 30)));
        assert_eq!(parse_rate("off"), Ok(Rate::Unlimited));
        assert_eq!(parse_rate("OFF"), Ok(Rate::Unlimited));
        assert_eq!(parse_rate("0"), Ok(Rate::Paused));
        assert!(parse_rate("fast").unwrap_err().contains("not a rate"));
        assert!(parse_rate("4X").unwrap_err().contains("not a unit"));
        assert!(parse_rate("10M:1M").unwrap_err().contains("one rate"));
        assert!(parse_rate("10B").unwrap_err().contains("below 1k"));
        assert_eq!(Rate::BytesPerSec(512 * 1024).human(), "512k");
        assert_eq!(Rate::BytesPerSec(5_000_000).human(), "4.8M");
    }

    #[test]
    fn a_daily_timetable_holds_each_rate_until_the_next_entry_and_wraps_at_midnight() {
        let s = Schedule::parse("bwlimit", "08:00,512k 12:00,10M 18:00,off").unwrap();
        // 2026-12-02 is a Wednesday.
        assert_eq!(at(&s, 2026, 12, 2, 7, 59), Rate::Unlimited);
        assert_eq!(at(&s, 2026, 12, 2, 8, 0), Rate::BytesPerSec(512 << 10));
        assert_eq!(at(&s, 2026, 12, 2, 11, 59), Rate::BytesPerSec(512 << 10));
        assert_eq!(at(&s, 2026, 12, 2, 12, 0), Rate::BytesPerSec(10 << 20));
        assert_eq!(at(&s, 2026, 12, 2, 23, 0), Rate::Unlimited);
        // Monday before 08:00: Sunday's 18:00 entry still holds.
        assert_eq!(at(&s, 2026, 11, 30, 1, 0), Rate::Unlimited);
        let t = chrono::Utc
            .with_ymd_and_hms(2026, 12, 2, 9, 15, 10)
            .unwrap();
        let (_, next) = s.at(&t);
        assert_eq!(
            next,
            Some(chrono::Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap())
        );
    }

    #[test]
    fn weekday_entries_and_a_zero_rate_say_when_sending_starts_again() {
        let s = Schedule::parse("bwlimit", "Mon-09:00,2M Sat-00:00,0").unwrap();
        // Friday afternoon: 2M; Saturday and Sunday: do not send, until Monday 09:00.
        assert_eq!(at(&s, 2026, 12, 4, 15, 0), Rate::BytesPerSec(2 << 20));
        assert_eq!(at(&s, 2026, 12, 5, 10, 0), Rate::Paused);
        assert_eq!(at(&s, 2026, 12, 7, 8, 59), Rate::Paused);
        assert_eq!(at(&s, 2026, 12, 7, 9, 0), Rate::BytesPerSec(2 << 20));
        let sat = chrono::Utc.with_ymd_and_hms(2026, 12, 5, 10, 0, 0).unwrap();
        assert_eq!(
            s.resumes_at(&sat),
            Some(chrono::Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap())
        );
        // "Only 19:00–07:00": two zero-free entries a day.
        let night = Schedule::parse("bwlimit", "07:00,0 19:00,off").unwrap();
        let noon = chrono::Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap();
        assert_eq!(night.at(&noon).0, Rate::Paused);
        assert_eq!(
            night.resumes_at(&noon),
            Some(chrono::Utc.with_ymd_and_hms(2026, 12, 2, 19, 0, 0).unwrap())
        );
        let evening = chrono::Utc.with_ymd_and_hms(2026, 12, 2, 20, 0, 0).unwrap();
        assert_eq!(night.resumes_at(&evening), None);
        // Paused all week: no start time to promise.
        assert_eq!(
            Schedule::parse("bwlimit", "0").unwrap().resumes_at(&noon),
            None
        );
        assert_eq!(
            Schedule::parse("bwlimit", "Mon-00:00,0 Fri-00:00,0")
                .unwrap()
                .resumes_at(&noon),
            None
        );
    }

    #[test]
    fn mistakes_are_refused_with_what_is_wrong_and_an_example() {
        for (text, says) in [
            ("08:00 512k", "TIME,RATE"),
            ("25:00,1M", "not a time"),
            ("Mon-09:60,1M", "not a time"),
            ("Mun-09:00,1M", "not a day"),
            ("09:00,1M 09:00,2M", "two entries"),
            ("09:00,fast", "not a rate"),
        ] {
            let e = Schedule::parse("bwlimit", text).unwrap_err();
            assert!(e.message.contains(says), "{text}: {}", e.message);
            assert!(e.message.contains("`bwlimit`"), "{}", e.message);
            assert!(e.message.contains("08:00,512k 18:00,off"), "{}", e.message);
        }
        assert_eq!(
            Schedule::parse("bwlimit", "").unwrap(),
            Schedule::unlimited()
        );
        assert!(Schedule::parse("bwlimit", "4M").unwrap().is_constant());
    }
}
