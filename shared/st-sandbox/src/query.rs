//! Query-string parsing for list endpoints: paging, `ids`, date filters, `active`, `sort`
//! (API-NOTES §5.1–§5.3). Parameter names match case-insensitively, as ASP.NET binding does.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use servicetitan::wire::Id;

use crate::dataset::Record;
use crate::problem::Problem;
use crate::{DEFAULT_PAGE_SIZE, MAX_IDS_PER_REQUEST, MAX_PAGE_SIZE};

/// The raw query pairs of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params(pub(crate) Vec<(String, String)>);

impl Params {
    /// The last value of `name` (case-insensitive); empty values count as absent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, v)| k.eq_ignore_ascii_case(name) && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(Problem::bad_param(
                name,
                format!("The value '{v}' is not valid for {name}; use true or false."),
            )),
        }
    }

    pub(crate) fn int(&self, name: &str) -> Result<Option<i64>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.parse::<i64>().map(Some).map_err(|_| {
                Problem::bad_param(name, format!("The value '{v}' is not a valid integer."))
            }),
        }
    }

    /// A comma-separated id list, at most [`MAX_IDS_PER_REQUEST`] ids.
    pub(crate) fn ids(&self, name: &str) -> Result<Option<BTreeSet<Id>>, Problem> {
        let Some(raw) = self.get(name) else {
            return Ok(None);
        };
        let mut out = BTreeSet::new();
        let mut count = 0usize;
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let id = part.parse::<Id>().map_err(|_| {
                Problem::bad_param(name, format!("The value '{part}' is not a valid id."))
            })?;
            out.insert(id);
            count += 1;
        }
        if count > MAX_IDS_PER_REQUEST {
            return Err(Problem::bad_param(
                name,
                format!("{name} can contain at most {MAX_IDS_PER_REQUEST} ids ({count} given)."),
            ));
        }
        Ok(Some(out))
    }

    /// An RFC 3339 date-time (UTC); a plain date means its midnight UTC.
    pub(crate) fn datetime(&self, name: &str) -> Result<Option<DateTime<Utc>>, Problem> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => parse_datetime(v).map(Some).ok_or_else(|| {
                Problem::bad_param(
                    name,
                    format!("The value '{v}' is not a valid date-time (RFC 3339, UTC)."),
                )
            }),
        }
    }
}

/// Parses an RFC 3339 date-time, a zone-less date-time (taken as UTC) or a plain date (midnight UTC).
pub(crate) fn parse_datetime(v: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
}

/// `active` filter (`ActiveRequestArg`: `True` default, `Any`, `False`; API-NOTES §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Active {
    True,
    Any,
    False,
}

impl Active {
    pub(crate) fn admits(self, active: bool) -> bool {
        match self {
            Active::True => active,
            Active::False => !active,
            Active::Any => true,
        }
    }
}

/// Sort keys the sandbox knows (API-NOTES §5.3: Id, ModifiedOn, CreatedOn; jobs also Priority).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortField {
    Id,
    ModifiedOn,
    CreatedOn,
    Priority,
}

/// Everything common to list endpoints.
#[derive(Debug, Clone)]
pub(crate) struct ListQuery {
    pub(crate) page: usize,
    pub(crate) page_size: usize,
    pub(crate) include_total: bool,
    pub(crate) ids: Option<BTreeSet<Id>>,
    pub(crate) modified_on_or_after: Option<DateTime<Utc>>,
    pub(crate) modified_before: Option<DateTime<Utc>>,
    pub(crate) created_on_or_after: Option<DateTime<Utc>>,
    pub(crate) created_before: Option<DateTime<Utc>>,
    pub(crate) active: Active,
    pub(crate) sort: SortField,
    pub(crate) descending: bool,
}

impl ListQuery {
    /// Parses the common parameters; `sortable` lists the fields `sort` accepts.
    pub(crate) fn parse(p: &Params, sortable: &[SortField]) -> Result<ListQuery, Problem> {
        let page = match p.int("page")? {
            None => 1,
            Some(n) if n >= 1 => n as usize,
            Some(n) => {
                return Err(Problem::bad_param(
                    "page",
                    format!("page must be 1 or more ({n} given)."),
                ))
            }
        };
        let page_size = match p.int("pageSize")? {
            None => DEFAULT_PAGE_SIZE,
            Some(n) if (1..=MAX_PAGE_SIZE as i64).contains(&n) => n as usize,
            Some(n) => {
                return Err(Problem::bad_param(
                    "pageSize",
                    format!("pageSize must be between 1 and {MAX_PAGE_SIZE} ({n} given)."),
                ))
            }
        };
        let active = match p.get("active") {
            None => Active::True,
            Some(v) if v.eq_ignore_ascii_case("true") => Active::True,
            Some(v) if v.eq_ignore_ascii_case("any") => Active::Any,
            Some(v) if v.eq_ignore_ascii_case("false") => Active::False,
            Some(v) => {
                return Err(Problem::bad_param(
                    "active",
                    format!("The value '{v}' is not valid; use True, Any or False."),
                ))
            }
        };
        let (sort, descending) = parse_sort(p, sortable)?;
        Ok(ListQuery {
            page,
            page_size,
            include_total: p.bool("includeTotal")?.unwrap_or(false),
            ids: p.ids("ids")?,
            modified_on_or_after: p.datetime("modifiedOnOrAfter")?,
            modified_before: p.datetime("modifiedBefore")?,
            created_on_or_after: p.datetime("createdOnOrAfter")?,
            created_before: p.datetime("createdBefore")?,
            active,
            sort,
            descending,
        })
    }

    /// Date and active filters (`…OnOrAfter` inclusive, `…Before` exclusive; API-NOTES §5.2).
    pub(crate) fn admits<T: Record>(&self, r: &T) -> bool {
        let m = r.modified_on();
        let c = r.created_on();
        self.active.admits(r.is_active())
            && self.modified_on_or_after.is_none_or(|t| m >= t)
            && self.modified_before.is_none_or(|t| m < t)
            && self.created_on_or_after.is_none_or(|t| c >= t)
            && self.created_before.is_none_or(|t| c < t)
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&r.id()))
    }

    pub(crate) fn has_modified_filter(&self) -> bool {
        self.modified_on_or_after.is_some() || self.modified_before.is_some()
    }
}

/// `sort=+Field|-Field|Field` (a `+` sent unencoded arrives as a space) or the older
/// `orderBy`/`orderByDirection` pair.
fn parse_sort(p: &Params, sortable: &[SortField]) -> Result<(SortField, bool), Problem> {
    let (param, raw, mut descending) = if let Some(s) = p.get("sort") {
        let s = s.trim_start();
        match s.strip_prefix('-') {
            Some(rest) => ("sort", rest, true),
            None => ("sort", s.strip_prefix('+').unwrap_or(s), false),
        }
    } else if let Some(o) = p.get("orderBy") {
        ("orderBy", o, false)
    } else {
        return Ok((SortField::Id, false));
    };
    if param == "orderBy" {
        descending = match p.get("orderByDirection") {
            None => false,
            Some(d) if d.eq_ignore_ascii_case("asc") => false,
            Some(d) if d.eq_ignore_ascii_case("desc") => true,
            Some(d) => {
                return Err(Problem::bad_param(
                    "orderByDirection",
                    format!("The value '{d}' is not valid; use asc or desc."),
                ))
            }
        };
    }
    let field = match raw.trim().to_ascii_lowercase().as_str() {
        "id" => SortField::Id,
        "modifiedon" => SortField::ModifiedOn,
        "createdon" => SortField::CreatedOn,
        "priority" => SortField::Priority,
        _ => SortField::Id,
    };
    let known = ["id", "modifiedon", "createdon", "priority"]
        .contains(&raw.trim().to_ascii_lowercase().as_str());
    if !known || !sortable.contains(&field) {
        let names: Vec<&str> = sortable
            .iter()
            .map(|f| match f {
                SortField::Id => "Id",
                SortField::ModifiedOn => "ModifiedOn",
                SortField::CreatedOn => "CreatedOn",
                SortField::Priority => "Priority",
            })
            .collect();
        return Err(Problem::bad_param(
            param,
            format!(
                "Cannot sort by '{raw}'; allowed fields: {} (prefix + or -).",
                names.join(", ")
            ),
        ));
    }
    Ok((field, descending))
}
