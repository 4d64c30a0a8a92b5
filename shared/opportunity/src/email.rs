//! E-mail normalization and placeholder detection (SPEC.md §2, §4).
//!
//! An e-mail becomes the opportunity's standard e-mail (and a contact-matching key, SPEC.md §5)
//! only when it is, after trimming and lower-casing, a valid address and not a placeholder.
//! Placeholders are the addresses offices type when a customer has none (`noemail@noemail.com`);
//! they are shared by many customers, so matching on them would merge unrelated people.

use email_address::{EmailAddress, Options};

/// The built-in placeholder patterns (SPEC.md §2 "placeholder emails": "a built-in list
/// (noemail@, none@, no@, na@, test@test.com, ...) plus the user's").
///
/// `*@example.com` is deliberately not built in: sample and sandbox data use `example.com` for
/// real (fictional) people; a user who wants it adds it to the integration's list.
pub const BUILTIN_PLACEHOLDERS: &[&str] = &[
    "noemail@*",
    "none@*",
    "no@*",
    "na@*",
    "n/a@*",
    "nomail@*",
    "noreply@*",
    "donotreply@*",
    "test@test.com",
    "email@email.com",
    "noemail@noemail.com",
    "none@none.com",
];

/// Placeholder e-mail matcher: exact addresses and `*` patterns, case-insensitive, trimmed
/// (SPEC.md §2).
///
/// Pattern syntax: `*` matches any run of characters (also none), every other character matches
/// itself, compared after trimming and lower-casing both sides. A pattern without `*` is an exact
/// address. Shorthands, as the SPEC's own table writes them: a pattern ending in `@`
/// (`noemail@`) means `noemail@*`; a pattern starting with `@` (`@example.com`) means
/// `*@example.com`. Blank patterns are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlaceholderEmails {
    /// Normalized patterns (trimmed, lower-cased, shorthands expanded).
    patterns: Vec<String>,
}

impl PlaceholderEmails {
    /// The built-in list only ([`BUILTIN_PLACEHOLDERS`]).
    pub fn builtin() -> Self {
        let mut placeholders = PlaceholderEmails::default();
        placeholders.extend(BUILTIN_PLACEHOLDERS.iter().copied());
        placeholders
    }

    /// The built-in list plus the user's patterns (the integration's `placeholderEmails`,
    /// SPEC.md §2).
    pub fn with_user_patterns(patterns: &[String]) -> Self {
        let mut placeholders = PlaceholderEmails::builtin();
        placeholders.extend(patterns.iter().map(String::as_str));
        placeholders
    }

    /// The normalized patterns, built-in ones first.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether an address is a placeholder. `normalized` should already be trimmed and
    /// lower-cased (see [`normalize_email`]); it is normalized again here, so raw input is safe.
    pub fn is_placeholder(&self, normalized: &str) -> bool {
        let address = normalized.trim();
        // Trimmed ASCII without upper case is already what normalizing would give.
        if address.len() == normalized.len()
            && address
                .bytes()
                .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
        {
            return self.matches(address);
        }
        self.matches(&address.to_lowercase())
    }

    /// Whether a normalized address matches one of the patterns.
    fn matches(&self, address: &str) -> bool {
        self.patterns
            .iter()
            .any(|pattern| glob_match(pattern, address))
    }

    fn extend<'a>(&mut self, patterns: impl IntoIterator<Item = &'a str>) {
        for pattern in patterns {
            if let Some(pattern) = normalize_pattern(pattern) {
                if !self.patterns.contains(&pattern) {
                    self.patterns.push(pattern);
                }
            }
        }
    }
}

/// Check one user placeholder pattern (the `placeholderEmails` setting, SPEC.md §2) before it is
/// saved: after trimming it is non-empty, at most [`crate::settings::MAX_PLACEHOLDER_LEN`]
/// characters, has no whitespace or control characters inside, and contains exactly one `@`
/// (`noemail@`, `@example.com` and `*@example.com` are fine; `*` alone is refused because it
/// would make every address a placeholder).
///
/// Errors: what is wrong, for the user (the pattern itself is not echoed: callers name it by
/// position).
pub fn check_pattern(raw: &str) -> Result<(), String> {
    let pattern = raw.trim();
    if pattern.is_empty() {
        return Err("is empty".into());
    }
    if pattern.chars().count() > crate::settings::MAX_PLACEHOLDER_LEN {
        return Err(format!(
            "is longer than {} characters",
            crate::settings::MAX_PLACEHOLDER_LEN
        ));
    }
    if pattern.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains spaces or control characters".into());
    }
    match pattern.matches('@').count() {
        1 => {}
        0 => return Err(
            "has no `@`: write an address (test@test.com) or a pattern (noemail@*, *@example.com)"
                .into(),
        ),
        _ => return Err("has more than one `@`".into()),
    }
    let (local, domain) = pattern.split_once('@').unwrap_or_default();
    if local.chars().all(|c| c == '*') && domain.chars().all(|c| c == '*') {
        return Err("matches every address".into());
    }
    Ok(())
}

/// Trim, lower-case and expand the `noemail@` / `@example.com` shorthands; `None` when blank.
fn normalize_pattern(raw: &str) -> Option<String> {
    let mut pattern = raw.trim().to_lowercase();
    if pattern.is_empty() {
        return None;
    }
    if pattern.ends_with('@') {
        pattern.push('*');
    }
    if pattern.starts_with('@') {
        pattern.insert(0, '*');
    }
    Some(pattern)
}

/// `*`-glob match over chars (`*` = any run, possibly empty). Linear backtracking on the last
/// star, so no pattern can make it exponential.
fn glob_match(pattern: &str, text: &str) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        // One byte per char: the same walk without collecting the chars.
        return glob_match_items(pattern.as_bytes(), text.as_bytes(), b'*');
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    glob_match_items(&pattern, &text, '*')
}

/// [`glob_match`] over chars or ASCII bytes.
fn glob_match_items<T: PartialEq + Copy>(pattern: &[T], text: &[T], star_item: T) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == star_item {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == star_item)
}

/// Normalize an e-mail for the standard field and contact matching (SPEC.md §4 "Email"):
/// trimmed and lower-cased, then `Some` only when it is a valid address and not a placeholder.
///
/// Valid means: parses as an RFC 5322 addr-spec (`email_address` crate) with no display text
/// (`Avery <a@example.com>` is rejected), no domain literal (`a@[10.0.0.1]`), and a domain of at
/// least two labels (`a@localhost` is rejected: no customer has such an address).
///
/// Size: a valid address has a local part of at most 64 bytes and a domain of at most 254
/// (the `email_address` crate's RFC limits), so a `Some` is at most [`MAX_EMAIL_BYTES`]: it fits
/// the contact's `EMAIL#<email>` lookup sort key (DynamoDB: 1 024 bytes) and needs no cap.
pub fn normalize_email(raw: &str, placeholders: &PlaceholderEmails) -> Option<String> {
    let address = raw.trim().to_lowercase();
    if address.is_empty() {
        return None;
    }
    let options = Options::default()
        .without_display_text()
        .without_domain_literal()
        .with_required_tld();
    EmailAddress::parse_with_options(&address, options).ok()?;
    if placeholders.is_placeholder(&address) {
        return None;
    }
    Some(address)
}

/// Longest normalized e-mail [`normalize_email`] returns, in bytes (64 + `@` + 254).
pub const MAX_EMAIL_BYTES: usize = 319;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalized_emails_are_bounded() {
        let none = PlaceholderEmails::default();
        let local = "a".repeat(64);
        let domain = format!(
            "{}.{}.{}.{}.com",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(63),
            "e".repeat(58)
        );
        let longest = format!("{local}@{domain}");
        assert_eq!(
            normalize_email(&longest, &none).map(|e| e.len()),
            Some(MAX_EMAIL_BYTES)
        );
        for raw in [
            format!("{}@example.com", "a".repeat(500_000)),
            format!("{local}x@example.com"),
            format!("{local}@x{domain}"),
        ] {
            assert_eq!(normalize_email(&raw, &none), None, "{} bytes", raw.len());
        }
    }

    #[test]
    fn glob_matches_exact_and_star_patterns() {
        let cases = [
            ("noemail@*", "noemail@gmail.com", true),
            ("noemail@*", "noemail@", true),
            ("noemail@*", "xnoemail@gmail.com", false),
            ("*@example.com", "avery@example.com", true),
            ("*@example.com", "avery@example.com.au", false),
            ("*@example.com", "avery@notexample.com", false),
            ("test@test.com", "test@test.com", true),
            ("test@test.com", "test@test.co", false),
            ("*", "anything@anywhere.org", true),
            ("a*b*c@x.io", "aXXbYYc@x.io", true),
            ("a*b*c@x.io", "aXXcYYb@x.io", false),
            ("*no*@*", "iamnotreal@x.io", true),
            ("josé@*", "josé@café.fr", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(
                glob_match(pattern, text),
                expected,
                "pattern {pattern:?} text {text:?}"
            );
        }
    }

    #[test]
    fn builtin_placeholders() {
        let p = PlaceholderEmails::builtin();
        let cases = [
            ("noemail@gmail.com", true),
            ("none@none.com", true),
            ("no@company.net", true),
            ("na@x.org", true),
            ("n/a@x.org", true),
            ("nomail@x.org", true),
            ("noreply@shop.com", true),
            ("donotreply@shop.com", true),
            ("test@test.com", true),
            ("email@email.com", true),
            ("noemail@noemail.com", true),
            ("NOEMAIL@GMAIL.COM", true),
            ("  none@x.com  ", true),
            // not placeholders
            ("test@gmail.com", false),
            ("avery.testwell@example.com", false),
            ("nora@x.org", false),
            ("anne@none.org", false),
        ];
        for (address, expected) in cases {
            assert_eq!(p.is_placeholder(address), expected, "{address:?}");
        }
    }

    #[test]
    fn user_patterns_are_added_trimmed_case_insensitive_with_shorthands() {
        let user = vec![
            "  *@Example.COM ".to_owned(),
            "office@acme-hvac.com".to_owned(),
            "unknown@".to_owned(),
            "@placeholder.test".to_owned(),
            "   ".to_owned(),
        ];
        let p = PlaceholderEmails::with_user_patterns(&user);
        let cases = [
            ("avery@example.com", true),
            ("OFFICE@ACME-HVAC.COM", true),
            ("tech@acme-hvac.com", false),
            ("unknown@anything.com", true),
            ("someone@placeholder.test", true),
            ("noemail@gmail.com", true), // built-ins still apply
            ("real.person@gmail.com", false),
        ];
        for (address, expected) in cases {
            assert_eq!(p.is_placeholder(address), expected, "{address:?}");
        }
        assert!(p.patterns().iter().all(|pat| !pat.trim().is_empty()));
        assert!(p.patterns().contains(&"*@example.com".to_owned()));
        assert!(p.patterns().contains(&"unknown@*".to_owned()));
        assert!(p.patterns().contains(&"*@placeholder.test".to_owned()));
    }

    #[test]
    fn builtin_does_not_contain_example_com() {
        assert!(!PlaceholderEmails::builtin().is_placeholder("avery@example.com"));
    }

    #[test]
    fn normalize_email_rules() {
        let p = PlaceholderEmails::builtin();
        let cases: &[(&str, Option<&str>)] = &[
            // trimming and lower-casing
            (
                "  Avery.Testwell@Example.com ",
                Some("avery.testwell@example.com"),
            ),
            ("JOSE.NUNEZ@MAIL.MX", Some("jose.nunez@mail.mx")),
            ("a+tag@sub.domain.org", Some("a+tag@sub.domain.org")),
            // invalid
            ("", None),
            ("   ", None),
            ("not an email", None),
            ("avery@", None),
            ("@example.com", None),
            ("avery@@example.com", None),
            ("avery@localhost", None),
            ("avery example@example.com", None),
            ("Avery <avery@example.com>", None),
            ("avery@[10.0.0.1]", None),
            ("a,b@example.com", None),
            // placeholders
            ("noemail@gmail.com", None),
            ("  NONE@none.com ", None),
            ("Test@Test.com", None),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                normalize_email(raw, &p).as_deref(),
                *expected,
                "raw {raw:?}"
            );
        }
    }

    #[test]
    fn normalize_email_with_user_placeholders() {
        let p = PlaceholderEmails::with_user_patterns(&["*@example.com".to_owned()]);
        assert_eq!(normalize_email("avery@example.com", &p), None);
        assert_eq!(
            normalize_email("avery@example.org", &p).as_deref(),
            Some("avery@example.org")
        );
    }
}
