//! Export feeds (API-NOTES §5.4): rows in `(modifiedOn, id)` order, an opaque continuation token
//! that encodes the position of the last row returned, and the 15-minute hold-back of recent
//! changes unless `includeRecentChanges=true`.

use std::ops::Bound;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use servicetitan::wire::{ExportPage, Id};

use crate::dataset::{Record, Store};
use crate::faults::PageTweak;
use crate::problem::Problem;
use crate::query::{parse_datetime, Params};

/// Rows modified less than this many seconds ago (real clock) are held back from export feeds
/// unless `includeRecentChanges=true` (API-NOTES §5.4: "~15 minutes").
pub const RECENT_CHANGES_HOLD_BACK_SECS: i64 = 15 * 60;

/// Encodes a feed position as the sandbox's continuation token: URL-safe base64 (no padding) of
/// `"<modifiedOn RFC 3339 UTC, full precision>|<id>"`, or of `"start"` for the start of history.
pub fn encode_position(pos: Option<(DateTime<Utc>, Id)>) -> String {
    let text = match pos {
        Some((t, id)) => format!("{}|{id}", t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        None => "start".to_owned(),
    };
    URL_SAFE_NO_PAD.encode(text)
}

/// Decodes a continuation token made by [`encode_position`] (any base64 alphabet, padded or not).
/// `Ok(None)` is the start of history; `Err` means the token is not one of ours.
pub fn decode_position(token: &str) -> Result<Option<(DateTime<Utc>, Id)>, String> {
    let bytes = [URL_SAFE_NO_PAD, URL_SAFE, STANDARD, STANDARD_NO_PAD]
        .iter()
        .find_map(|e| e.decode(token.trim()).ok())
        .ok_or_else(|| "not a continuation token (bad encoding)".to_owned())?;
    let text =
        String::from_utf8(bytes).map_err(|_| "not a continuation token (not text)".to_owned())?;
    if text == "start" {
        return Ok(None);
    }
    let (t, id) = text
        .split_once('|')
        .ok_or_else(|| "not a continuation token (no position)".to_owned())?;
    let t = parse_datetime(t).ok_or_else(|| "not a continuation token (bad time)".to_owned())?;
    let id = id
        .parse::<Id>()
        .map_err(|_| "not a continuation token (bad id)".to_owned())?;
    Ok(Some((t, id)))
}

/// Where a feed call starts: strictly after `pos` (`None` = the very beginning).
fn parse_from(p: &Params) -> Result<Option<(DateTime<Utc>, Id)>, Problem> {
    let (name, raw) = match p.get("from") {
        Some(v) => ("from", v),
        None => match p.get("continueFrom") {
            Some(v) => ("continueFrom", v),
            None => return Ok(None),
        },
    };
    // A date or date-time starts at that modifiedOn (inclusive): strictly after (t, Id::MIN).
    let looks_like_date = raw.len() >= 10
        && raw.as_bytes()[4] == b'-'
        && raw.as_bytes()[7] == b'-'
        && raw.as_bytes()[..4].iter().all(u8::is_ascii_digit);
    if looks_like_date {
        if let Some(t) = parse_datetime(raw) {
            return Ok(Some((t, Id::MIN)));
        }
    }
    decode_position(raw).map_err(|e| {
        Problem::bad_param(name, format!("The value '{raw}' is not a date (2025-01-31), an RFC 3339 date-time or a continuation token: {e}."))
    })
}

/// Answers one export call for resource `T`; `tweak` (an injected fault, module `faults`)
/// repeats rows of the previous page and duplicates rows within the page.
pub(crate) fn export_page<T: Record>(
    store: &Store,
    params: &Params,
    page_size: usize,
    now: DateTime<Utc>,
    tweak: Option<PageTweak>,
) -> Result<ExportPage<T>, Problem> {
    let start = parse_from(params)?;
    let include_recent = params.bool("includeRecentChanges")?.unwrap_or(false);
    let cutoff =
        (!include_recent).then(|| now - chrono::Duration::seconds(RECENT_CHANGES_HOLD_BACK_SECS));
    let index = &T::index(store).by_modified;
    let rows_all = T::rows(&store.data);
    let range = match start {
        None => index.range(..),
        Some(pos) => index.range((Bound::Excluded(pos), Bound::Unbounded)),
    };
    let mut data = Vec::with_capacity(page_size.min(index.len()));
    let mut last = start;
    let mut has_more = false;
    for (&(modified, id), &i) in range {
        if cutoff.is_some_and(|c| modified >= c) {
            break; // everything after this is recent too
        }
        if data.len() == page_size.max(1) {
            has_more = true;
            break;
        }
        if let Some(row) = rows_all.get(i) {
            data.push(row.for_export());
        }
        last = Some((modified, id));
    }
    if let Some(tweak) = tweak {
        // Rows already served (at and before a continuation token), as they are now, oldest
        // first. A `from` date (position `(t, Id::MIN)`) starts a feed: nothing was served yet.
        let mut repeated: Vec<T> = match start {
            Some(pos) if tweak.repeat_rows > 0 && pos.1 != Id::MIN => index
                .range(..=pos)
                .rev()
                .take(tweak.repeat_rows)
                .filter_map(|(_, &i)| rows_all.get(i).map(Record::for_export))
                .collect(),
            _ => Vec::new(),
        };
        repeated.reverse();
        let duplicates: Vec<T> = data.iter().take(tweak.duplicate_rows).cloned().collect();
        repeated.append(&mut data);
        repeated.extend(duplicates);
        data = repeated;
    }
    Ok(ExportPage {
        has_more,
        continue_from: encode_position(last),
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_with_full_precision() {
        let t = DateTime::parse_from_rfc3339("2025-03-04T19:43:02.6650118Z")
            .unwrap()
            .with_timezone(&Utc);
        let tok = encode_position(Some((t, 41872305)));
        assert!(!tok.contains('=') && !tok.contains('+') && !tok.contains('/'));
        assert_eq!(decode_position(&tok).unwrap(), Some((t, 41872305)));
        assert_eq!(decode_position(&encode_position(None)).unwrap(), None);
    }

    #[test]
    fn sample_style_padded_token_decodes() {
        // samples/jobs-export.json uses standard padded base64 of the same "time|id" text.
        let pos = decode_position("MjAyNS0wMy0wNFQxOTo0MzowMi42NjV8NDE4NzIzMDU=").unwrap();
        let t = parse_datetime("2025-03-04T19:43:02.665Z").unwrap();
        assert_eq!(pos, Some((t, 41872305)));
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(decode_position("not a token!").is_err());
        assert!(decode_position("Zm9v").is_err()); // "foo"
    }
}
