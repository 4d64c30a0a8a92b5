//! Reading a function's configuration from environment variables once at cold start, collecting
//! every problem so that one error lists them all (STYLE.md "Configuration").

/// Reads variables through a lookup (the process environment, or a map in tests) and remembers
/// each missing or malformed one.
pub struct EnvReader<F> {
    get: F,
    problems: Vec<String>,
}

impl<F: Fn(&str) -> Option<String>> EnvReader<F> {
    /// A reader over `get`.
    pub fn new(get: F) -> Self {
        EnvReader {
            get,
            problems: Vec::new(),
        }
    }

    /// The raw value of `name`, if set.
    pub fn optional(&self, name: &str) -> Option<String> {
        (self.get)(name)
    }

    /// The non-blank value of `name`; records "`name` is not set" otherwise.
    pub fn required(&mut self, name: &str) -> String {
        match (self.get)(name).filter(|v| !v.trim().is_empty()) {
            Some(v) => v,
            None => {
                self.problems.push(format!("{name} is not set"));
                String::new()
            }
        }
    }

    /// A whole number (`default` when unset); records a problem when it does not parse or is
    /// below `min`.
    pub fn number(&mut self, name: &str, default: u64, min: u64) -> u64 {
        let value = match (self.get)(name) {
            None => default,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) => n,
                Err(_) => {
                    self.problems
                        .push(format!("{name} must be a whole number, got `{v}`"));
                    return default;
                }
            },
        };
        if value < min {
            self.problems.push(format!("{name} must be at least {min}"));
        }
        value
    }

    /// `ST_API_BASE_URL` + `ST_TOKEN_URL` (both or neither): hosts that replace the integration
    /// environment's (a sandbox).
    pub fn endpoint_override(&mut self) -> Option<(String, String)> {
        match ((self.get)("ST_API_BASE_URL"), (self.get)("ST_TOKEN_URL")) {
            (Some(a), Some(t)) => Some((a, t)),
            (None, None) => None,
            _ => {
                self.problems
                    .push("ST_API_BASE_URL and ST_TOKEN_URL go together".into());
                None
            }
        }
    }

    /// Record a problem found by the caller's own checks.
    pub fn problem(&mut self, message: impl Into<String>) {
        self.problems.push(message.into());
    }

    /// `Ok` when nothing was wrong, else one message listing every problem.
    ///
    /// Errors: `configuration: A is not set; B must be a whole number, got `x``.
    pub fn finish(self) -> Result<(), String> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(format!("configuration: {}", self.problems.join("; ")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn every_problem_is_reported_together() {
        let env: HashMap<&str, &str> =
            [("N", "x"), ("ST_API_BASE_URL", "http://a"), ("Z", "0")].into();
        let mut r = EnvReader::new(|k: &str| env.get(k).map(|v| v.to_string()));
        assert_eq!(r.required("MISSING"), "");
        assert_eq!(r.number("N", 7, 0), 7);
        assert_eq!(r.number("UNSET", 9, 1), 9);
        assert_eq!(r.number("Z", 5, 1), 0);
        assert!(r.endpoint_override().is_none());
        let err = r.finish().unwrap_err();
        for part in [
            "MISSING is not set",
            "N must be a whole number",
            "Z must be at least 1",
            "ST_TOKEN_URL",
        ] {
            assert!(err.contains(part), "{err}");
        }
    }
}
