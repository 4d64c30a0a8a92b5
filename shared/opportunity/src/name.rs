//! First/last name from `customer:name` (SPEC.md §4 "First/Last Name").

use crate::details::cap_text_to;

/// Longest first or last name kept, in characters (Unicode scalar values), marker included.
/// Names go into the opportunity's standard fields and onto the contact item, which must stay
/// under DynamoDB's 400 KB (SPEC.md §5); no real name comes near it. Names are in no index key.
pub const MAX_NAME_CHARS: usize = 1_000;

/// Legal entity suffixes, compared lower-case with dots and spaces removed (so `L.L.C.`, `llc`
/// and `L. L. C.` are all `llc`). When everything after the first comma is made of these, the
/// name is a company's (`Fictional Widgets, LLC`, `Acme, Co., Ltd.`), not `Last, First`.
const LEGAL_SUFFIXES: &[&str] = &[
    "llc",
    "lc",
    "pllc",
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "ltd",
    "limited",
    "lp",
    "llp",
    "lllp",
    "pc",
    "pa",
    "plc",
    "gmbh",
    "ag",
    "sa",
    "sarl",
    "bv",
    "nv",
    "pty",
    "ptyltd",
    "ulc",
];

/// Whether `text` (what follows the first comma) is a legal entity suffix, or several of them
/// separated by commas/spaces (`Co., Ltd.`), case-insensitive, ignoring dots.
pub fn is_legal_suffix(text: &str) -> bool {
    let tokens: Vec<String> = text
        .split([',', ' '])
        .map(|t| t.replace('.', "").to_lowercase())
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.is_empty() {
        return false;
    }
    // The whole text with dots and spaces removed (`L. L. C.` -> `llc`), or every token a suffix.
    let joined: String = tokens.concat();
    LEGAL_SUFFIXES.contains(&joined.as_str())
        || tokens.iter().all(|t| LEGAL_SUFFIXES.contains(&t.as_str()))
}

/// Characters dropped from names: zero-width space, word joiner, byte-order mark.
const INVISIBLE: [char; 3] = ['\u{200B}', '\u{2060}', '\u{FEFF}'];

/// Split a customer name into `(first, last)` (SPEC.md §4 "First/Last Name"):
///
/// - control characters and invisible zero-width characters are dropped; whitespace is collapsed
///   (runs of any Unicode whitespace become one space, ends trimmed);
/// - no comma: first = the first word, last = the rest (`None` for a single word);
/// - comma: first = the text after the first comma, last = the text before it, both trimmed;
/// - except when the text after the first comma is a legal entity suffix (LLC, L.L.C., Inc,
///   Corp, Co, Ltd, LP, LLP, PLLC, PC, GmbH..., any case, dots ignored): then first = the whole
///   (collapsed) name and last = `None`;
/// - Unicode is kept as is; commas around a part are trimmed with the whitespace; empty parts
///   are `None`; an empty name is `(None, None)`;
/// - each part longer than [`MAX_NAME_CHARS`] characters is cut to that length with
///   [`TRUNCATION_MARKER`](crate::details::TRUNCATION_MARKER), marker included (the split is
///   made on the whole name first, so the comma rule still applies).
///
/// Decision (SPEC silent): a name without a comma follows the word rule even when it ends in a
/// legal suffix (`Fictional Widgets LLC` -> `Fictional` / `Widgets LLC`), as SPEC.md §4 and the
/// product article state the no-comma rule without exception.
pub fn split_name(name: &str) -> (Option<String>, Option<String>) {
    // Control characters (NUL, escape sequences pasted from other systems) are dropped: they
    // are never part of a name and would corrupt what contacts show.
    // So are the invisible zero-width space, word joiner and byte-order mark (U+200B, U+2060,
    // U+FEFF); ZWJ/ZWNJ (U+200D, U+200C) stay, they shape letters in some scripts.
    let cleaned: String = name
        .chars()
        .filter(|c| (!c.is_control() || c.is_whitespace()) && !INVISIBLE.contains(c))
        .collect();
    let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return (None, None);
    }
    // Stray commas around a part (`Smith,, John`, `,,,`) are not part of the name.
    let non_empty = |s: &str| {
        let s = s.trim_matches(|c: char| c == ',' || c.is_whitespace());
        (!s.is_empty()).then(|| cap_text_to(s, MAX_NAME_CHARS))
    };
    match collapsed.split_once(',') {
        Some((before, after)) => {
            if is_legal_suffix(after) {
                (Some(cap_text_to(&collapsed, MAX_NAME_CHARS)), None)
            } else {
                (non_empty(after), non_empty(before))
            }
        }
        None => match collapsed.split_once(' ') {
            Some((first, rest)) => (non_empty(first), non_empty(rest)),
            None => (Some(cap_text_to(&collapsed, MAX_NAME_CHARS)), None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_name_table() {
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            // no comma: first word / rest
            ("Avery Testwell", Some("Avery"), Some("Testwell")),
            (
                "Mary Ann van der Berg",
                Some("Mary"),
                Some("Ann van der Berg"),
            ),
            ("Cher", Some("Cher"), None),
            (
                "Fictional Widgets LLC",
                Some("Fictional"),
                Some("Widgets LLC"),
            ),
            // comma: after / before
            ("Testwell, Avery", Some("Avery"), Some("Testwell")),
            ("Testwell,Avery", Some("Avery"), Some("Testwell")),
            ("Van Buren, Mary Ann", Some("Mary Ann"), Some("Van Buren")),
            ("Smith, John, Jr.", Some("John, Jr."), Some("Smith")),
            ("Smith Jr., John", Some("John"), Some("Smith Jr.")),
            ("Smith,", None, Some("Smith")),
            (", John", Some("John"), None),
            // extra whitespace collapsed
            ("  Avery    Testwell  ", Some("Avery"), Some("Testwell")),
            (
                "  Testwell ,   Avery  Jo ",
                Some("Avery Jo"),
                Some("Testwell"),
            ),
            ("Avery\t\nTestwell", Some("Avery"), Some("Testwell")),
            // unicode kept as is
            ("Núñez, José", Some("José"), Some("Núñez")),
            ("Zoë Ångström", Some("Zoë"), Some("Ångström")),
            ("李 小龍", Some("李"), Some("小龍")),
            // empty
            ("", None, None),
            ("   ", None, None),
            (",", None, None),
            (",,,", None, None),
            ("Smith,, John", Some("John"), Some("Smith")),
            // invisible characters dropped, joiners kept
            ("Bob\u{0}Smith", Some("BobSmith"), None),
            (
                "\u{200B}Avery Test\u{FEFF}well",
                Some("Avery"),
                Some("Testwell"),
            ),
            ("Mehr\u{200C}dad", Some("Mehr\u{200C}dad"), None),
        ];
        for (name, first, last) in cases {
            let (f, l) = split_name(name);
            assert_eq!(
                (f.as_deref(), l.as_deref()),
                (*first, *last),
                "name {name:?}"
            );
        }
    }

    #[test]
    fn legal_suffix_after_comma_keeps_whole_name() {
        let cases: &[(&str, &str)] = &[
            ("Fictional Widgets, LLC", "Fictional Widgets, LLC"),
            ("Fictional Widgets, llc", "Fictional Widgets, llc"),
            ("Fictional Widgets, L.L.C.", "Fictional Widgets, L.L.C."),
            ("Fictional Widgets, L. L. C.", "Fictional Widgets, L. L. C."),
            ("Acme Heating, Inc.", "Acme Heating, Inc."),
            ("Acme Heating, INC", "Acme Heating, INC"),
            ("Acme Heating, Incorporated", "Acme Heating, Incorporated"),
            ("Acme, Corp", "Acme, Corp"),
            ("Acme, Corporation", "Acme, Corporation"),
            ("Acme, Co.", "Acme, Co."),
            ("Acme, Company", "Acme, Company"),
            ("Acme, Ltd", "Acme, Ltd"),
            ("Acme, Limited", "Acme, Limited"),
            ("Acme, LP", "Acme, LP"),
            ("Acme, LLP", "Acme, LLP"),
            ("Acme, PLLC", "Acme, PLLC"),
            ("Acme, P.C.", "Acme, P.C."),
            ("Acme, pc", "Acme, pc"),
            ("Acme, P.A.", "Acme, P.A."),
            ("Müller Bau, GmbH", "Müller Bau, GmbH"),
            ("Acme, Co., Ltd.", "Acme, Co., Ltd."),
            ("  Acme   Heating ,  Inc.  ", "Acme Heating , Inc."),
        ];
        for (name, whole) in cases {
            assert_eq!(
                split_name(name),
                (Some((*whole).to_owned()), None),
                "name {name:?}"
            );
        }
    }

    #[test]
    fn not_legal_suffixes() {
        for text in [
            "",
            " ",
            "John",
            "Inc John",
            "Jr.",
            "Co-op",
            "Incorporated Jo",
        ] {
            assert!(!is_legal_suffix(text), "{text:?}");
        }
        for text in ["LLC", " l.l.c. ", "Inc.", "co", "Co., Ltd.", "gmbh"] {
            assert!(is_legal_suffix(text), "{text:?}");
        }
    }

    #[test]
    fn long_names_are_capped_per_part_with_marker() {
        use crate::details::TRUNCATION_MARKER;
        let capped = |s: &Option<String>| {
            let s = s.as_deref().unwrap();
            assert_eq!(s.chars().count(), MAX_NAME_CHARS, "{}", &s[..20]);
            assert!(s.ends_with(TRUNCATION_MARKER));
        };
        // The tester's half-megabyte name: comma rule first, then the cap.
        let (first, last) = split_name(&format!("A, {}", "b".repeat(500_000)));
        capped(&first);
        assert!(first.as_deref().unwrap().starts_with("bbb"));
        assert_eq!(last.as_deref(), Some("A"));
        let (first, last) = split_name(&format!("{} Smith", "é".repeat(5_000)));
        capped(&first);
        assert_eq!(last.as_deref(), Some("Smith"));
        let (first, last) = split_name(&format!("{}, LLC", "w".repeat(5_000)));
        capped(&first);
        assert_eq!(last, None);
        let (first, _) = split_name(&"z".repeat(5_000));
        capped(&first);
        // At the cap: unchanged.
        let exact = "y".repeat(MAX_NAME_CHARS);
        assert_eq!(split_name(&exact), (Some(exact.clone()), None));
    }
}

#[cfg(test)]
mod control_tests {
    use super::split_name;

    #[test]
    fn control_characters_are_dropped() {
        assert_eq!(split_name("\u{0}\u{0}"), (None, None));
        assert_eq!(
            split_name("Smith\u{0}, Jo\u{1b}hn"),
            (Some("John".into()), Some("Smith".into()))
        );
        assert_eq!(
            split_name("Ann\tLee"),
            (Some("Ann".into()), Some("Lee".into()))
        );
    }
}
