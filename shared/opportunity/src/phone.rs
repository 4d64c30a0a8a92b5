//! Phone numbers to E.164 with extensions kept apart (SPEC.md §4 "Phone").
//!
//! Offices type numbers in every format (`(217) 555-0142`, `217.555.0142`, `+1 217 555 0142`,
//! `217-555-0142 x305`). The standard phone field and contact matching (SPEC.md §5) need one
//! canonical form: E.164 (`+12175550142`), with the extension in a field of its own.

use phonenumber::country::Id as Region;
use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber};

/// A normalized phone number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone {
    /// E.164: `+`, country code, national number, digits only (`+12175550142`).
    pub e164: String,
    /// The extension, digits only (`305` from `x305`, `ext. 305`, `#305`); never part of `e164`.
    pub extension: Option<String>,
}

/// Normalize a phone number to E.164 (SPEC.md §4 "Phone"), keeping the extension apart.
///
/// `default_region` (ISO 3166 alpha-2, case-insensitive, e.g. `US`; the integration's
/// `phoneRegion`, SPEC.md §2) applies to numbers without a country code. An unknown region means
/// only numbers written with `+<country code>` parse.
///
/// Accepted: numbers libphonenumber (the `phonenumber` crate) parses and that are either valid
/// or *possible*: the national number has a length some number type of that country uses and
/// matches the country's general number pattern. Decision: possible numbers are accepted
/// because offices and test data use fictional numbers (`555-01xx`) that a strict validity check
/// may reject as unassigned, and an unassigned-but-well-formed number is still the customer's
/// contact key. Rejected (`None`): empty input, text with no number (`call office`), too short or
/// too long (`555`, `111-111-1111`), and several numbers in one value (`217-555-0142 /
/// 217-555-0199`); the raw value stays in the details.
///
/// Size: E.164 is at most 16 characters and libphonenumber bounds the input it parses and the
/// extension's digits, so a `Some` needs no cap (SPEC.md §5 item sizes; the `PHONE#<e164>`
/// lookup key).
pub fn normalize_phone(raw: &str, default_region: &str) -> Option<Phone> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    let region = default_region
        .trim()
        .to_ascii_uppercase()
        .parse::<Region>()
        .ok();
    let number = phonenumber::parse(region, raw).ok()?;
    if !(number.is_valid() || is_possible(&number)) {
        return None;
    }
    let e164 = number.format().mode(Mode::E164).to_string();
    let extension = number
        .extension()
        .map(|ext| ext.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|ext| !ext.is_empty());
    Some(Phone { e164, extension })
}

/// Whether `region` (trimmed, any case) is an ISO 3166 alpha-2 region libphonenumber has
/// metadata for (`US`, `ca`); the check behind the `phoneRegion` setting (SPEC.md §2, §4).
pub fn is_known_region(region: &str) -> bool {
    let region = region.trim().to_ascii_uppercase();
    region.len() == 2 && region.parse::<Region>().is_ok()
}

/// Whether the national number has a length some number type of its country calling code uses
/// and matches that country's general national-number pattern.
fn is_possible(number: &PhoneNumber) -> bool {
    let national = number.national().to_string();
    let Some(regions) = DATABASE.by_code(&number.code().value()) else {
        return false;
    };
    let length = u16::try_from(national.len()).unwrap_or(u16::MAX);
    regions.iter().any(|meta| {
        let d = meta.descriptors();
        let typed = [
            d.fixed_line(),
            d.mobile(),
            d.toll_free(),
            d.premium_rate(),
            d.shared_cost(),
            d.personal_number(),
            d.voip(),
            d.pager(),
            d.uan(),
            d.voicemail(),
        ];
        let length_ok = typed
            .iter()
            .flatten()
            .any(|desc| desc.possible_length().contains(&length));
        length_ok && d.general().is_match(&national)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(e164: &str, extension: Option<&str>) -> Option<Phone> {
        Some(Phone {
            e164: e164.to_owned(),
            extension: extension.map(str::to_owned),
        })
    }

    #[test]
    fn formats_normalize_to_e164() {
        let cases = [
            ("(217) 555-0142", phone("+12175550142", None)),
            ("217.555.0142", phone("+12175550142", None)),
            ("+1 217 555 0142", phone("+12175550142", None)),
            ("2175550142", phone("+12175550142", None)),
            ("217-555-0142", phone("+12175550142", None)),
            ("1 (217) 555-0142", phone("+12175550142", None)),
            ("  217 555 0142  ", phone("+12175550142", None)),
            ("(800) 555-0100", phone("+18005550100", None)),
            ("+44 20 7946 0958", phone("+442079460958", None)),
            ("tel:+1-217-555-0142", phone("+12175550142", None)),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalize_phone(raw, "US"), expected, "raw {raw:?}");
        }
    }

    #[test]
    fn extensions_are_kept_apart() {
        let cases = [
            ("217-555-0142 x305", phone("+12175550142", Some("305"))),
            ("(217) 555-0199 ext. 12", phone("+12175550199", Some("12"))),
            ("217 555 0142 ext 7", phone("+12175550142", Some("7"))),
            ("217-555-0142 extension 7", phone("+12175550142", Some("7"))),
            ("217 555 0142 #12", phone("+12175550142", Some("12"))),
            (
                "tel:+1-217-555-0142;ext=9",
                phone("+12175550142", Some("9")),
            ),
        ];
        for (raw, expected) in cases {
            let got = normalize_phone(raw, "US");
            assert_eq!(got, expected, "raw {raw:?}");
            let got = got.expect("parsed");
            assert!(got.e164[1..].chars().all(|c| c.is_ascii_digit()), "{got:?}");
        }
    }

    #[test]
    fn unparseable_is_none() {
        for raw in [
            "",
            "   ",
            "555",
            "call office",
            "N/A",
            "none",
            "x305",
            "ext 5",
            "0142",
            "217555014",
            "111-111-1111",
            "000-000-0000",
            "12345678901234567",
            "217-555-0142 / 217-555-0199",
            "+1",
        ] {
            assert_eq!(normalize_phone(raw, "US"), None, "raw {raw:?}");
        }
        // Half a megabyte of digits or text: no number, nothing unbounded in the standard field.
        for raw in [
            "9".repeat(500_000),
            format!("217-555-0142 x{}", "5".repeat(500_000)),
        ] {
            assert_eq!(normalize_phone(&raw, "US"), None, "{} bytes", raw.len());
        }
    }

    #[test]
    fn region_is_case_insensitive_and_unknown_region_needs_plus() {
        assert_eq!(
            normalize_phone("020 7946 0958", "gb"),
            phone("+442079460958", None)
        );
        assert_eq!(
            normalize_phone("(217) 555-0142", " us "),
            phone("+12175550142", None)
        );
        assert_eq!(normalize_phone("(217) 555-0142", "ZZ-nope"), None);
        assert_eq!(
            normalize_phone("+1 217 555 0142", "ZZ-nope"),
            phone("+12175550142", None)
        );
    }

    #[test]
    fn sandbox_fictional_numbers_map() {
        for n in 100..200 {
            let raw = format!("(217) 555-0{n}");
            assert_eq!(
                normalize_phone(&raw, "US").map(|p| p.e164),
                Some(format!("+12175550{n}")),
                "{raw}"
            );
        }
    }
}
