//! Durations as people write them on a command line: `90s`, `1h30m`, `14d`, `250ms`, or a
//! plain number of seconds.

use std::time::Duration;

/// Parses `1h30m`, `90s`, `14d`, `250ms` or `90` (seconds). Units: `d`, `h`, `m`, `s`, `ms`.
pub(crate) fn parse(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("an empty duration".into());
    }
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, after) = rest.split_at(digits);
        if after.starts_with('.') {
            return Err(format!(
                "{text:?}: whole numbers only, as in 1h30m or 90m (not 1.5h)"
            ));
        }
        let number: u64 = number
            .parse()
            .map_err(|_| format!("{text:?} is not a duration like 90s, 1h30m or 14d"))?;
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let millis_per = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => {
                return Err(format!(
                    "{text:?}: unknown unit {unit:?} (use d, h, m, s or ms)"
                ));
            }
        };
        let millis = number
            .checked_mul(millis_per)
            .ok_or_else(|| format!("{text:?} is too long"))?;
        total = total
            .checked_add(Duration::from_millis(millis))
            .ok_or_else(|| format!("{text:?} is too long"))?;
        rest = after;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_written() {
        assert_eq!(parse("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("14d"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(parse("1m500ms"), Ok(Duration::from_millis(60_500)));
        for bad in ["", "h", "5y", "1.5h", "-3s", "99999999999999999999d"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("1.5h").unwrap_err().contains("whole numbers"));
    }
}
