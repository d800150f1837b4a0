//! Logto's list parameters: pagination (`page`, `page_size`, the `Total-Number` and `Link`
//! headers) and search (`search`, `search.<field>`, `mode`, `joint`, `isCaseSensitive`).

use axum::http::{HeaderMap, HeaderValue, StatusCode};

use super::error;
use crate::request_error::RequestError;

/// A page of a list.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Page {
    page: usize,
    size: usize,
}

impl Page {
    /// `page` (from 1, default 1) and `page_size` (1 to 100, default 20); else 400
    /// `guard.invalid_pagination`.
    pub(crate) fn from_params(params: &[(String, String)]) -> Result<Self, RequestError> {
        let invalid = || {
            error(
                StatusCode::BAD_REQUEST,
                "guard.invalid_pagination",
                "The request pagination value is invalid.",
            )
        };
        let number = |name: &str, default: usize| -> Result<usize, RequestError> {
            match params.iter().find(|(k, _)| k == name) {
                None => Ok(default),
                Some((_, v)) => v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(invalid),
            }
        };
        let page = number("page", 1)?;
        let size = number("page_size", 20)?;
        if size > 100 {
            return Err(invalid());
        }
        Ok(Self { page, size })
    }

    /// The items of this page.
    pub(crate) fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = (self.page - 1).saturating_mul(self.size).min(items.len());
        let end = start.saturating_add(self.size).min(items.len());
        &items[start..end]
    }

    /// `Total-Number`, and `Link` with `first`, `prev`, `next` and `last` as Logto writes it.
    pub(crate) fn headers(
        &self,
        headers: &mut HeaderMap,
        url: &str,
        params: &[(String, String)],
        total: usize,
    ) {
        if let Ok(value) = HeaderValue::from_str(&total.to_string()) {
            headers.insert("Total-Number", value);
        }
        let last = total.div_ceil(self.size).max(1);
        let link = |page: usize, rel: &str| {
            let mut query = form_urlencoded::Serializer::new(String::new());
            for (k, v) in params.iter().filter(|(k, _)| k != "page") {
                query.append_pair(k, v);
            }
            query.append_pair("page", &page.to_string());
            format!("<{url}?{}>; rel=\"{rel}\"", query.finish())
        };
        let mut links = vec![link(1, "first")];
        if self.page > 1 {
            links.push(link(self.page - 1, "prev"));
        }
        if self.page < last {
            links.push(link(self.page + 1, "next"));
        }
        links.push(link(last, "last"));
        if let Ok(value) = HeaderValue::from_str(&links.join(", ")) {
            headers.insert("Link", value);
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Like,
    Exact,
}

/// One condition: a field (or all of them) and its values.
#[derive(Clone, Debug)]
struct Condition {
    /// `None`: any searchable field.
    field: Option<&'static str>,
    values: Vec<String>,
    mode: Mode,
}

/// A search over a list's fields.
#[derive(Clone, Debug, Default)]
pub(crate) struct Search {
    conditions: Vec<Condition>,
    all: bool,
    case_sensitive: bool,
    fields: Vec<&'static str>,
}

fn invalid(details: &str) -> RequestError {
    error(
        StatusCode::BAD_REQUEST,
        "request.invalid_input",
        &format!("Input is invalid. {details}"),
    )
}

impl Search {
    /// Reads Logto's search parameters; `fields` are the searchable fields as
    /// `(camelCase, snake_case)`.
    pub(crate) fn from_params(
        params: &[(String, String)],
        fields: &[(&'static str, &'static str)],
    ) -> Result<Self, RequestError> {
        let field_of = |name: &str| {
            fields
                .iter()
                .find(|(camel, snake)| *camel == name || *snake == name)
                .map(|(camel, _)| *camel)
        };
        let mode_of = |key: &str| -> Result<Mode, RequestError> {
            match params
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
            {
                None | Some("like") => Ok(Mode::Like),
                Some("exact") => Ok(Mode::Exact),
                Some(mode @ ("similar_to" | "posix")) => Err(invalid(&format!(
                    "The {mode} search mode is not served by this mock."
                ))),
                Some(other) => Err(invalid(&format!("Unknown search mode {other}."))),
            }
        };
        let default_mode = mode_of("mode")?;
        let mut search = Self {
            fields: fields.iter().map(|(camel, _)| *camel).collect(),
            ..Self::default()
        };
        for (key, value) in params {
            let field = if key == "search" {
                None
            } else if let Some(name) = key.strip_prefix("search.") {
                Some(
                    field_of(name)
                        .ok_or_else(|| invalid(&format!("Unknown search field {name}.")))?,
                )
            } else {
                continue;
            };
            if value.is_empty() {
                return Err(invalid("Search value cannot be empty."));
            }
            let mode = match field {
                Some(name) => {
                    let camel = format!("mode.{name}");
                    let snake = fields
                        .iter()
                        .find(|(c, _)| *c == name)
                        .map(|(_, s)| format!("mode.{s}"))
                        .unwrap_or_default();
                    if params.iter().any(|(k, _)| *k == camel) {
                        mode_of(&camel)?
                    } else if params.iter().any(|(k, _)| *k == snake) {
                        mode_of(&snake)?
                    } else {
                        default_mode
                    }
                }
                None => default_mode,
            };
            match search.conditions.iter_mut().find(|c| c.field == field) {
                Some(condition) => condition.values.push(value.clone()),
                None => search.conditions.push(Condition {
                    field,
                    values: vec![value.clone()],
                    mode,
                }),
            }
        }
        if search
            .conditions
            .iter()
            .any(|c| c.mode != Mode::Exact && c.values.len() > 1)
        {
            return Err(invalid("Only exact mode allows more than one value."));
        }
        let joint = params
            .iter()
            .find(|(k, _)| k == "joint" || k == "jointMode")
            .map(|(_, v)| v.as_str());
        search.all = match joint {
            None | Some("or") => false,
            Some("and") => true,
            Some(other) => return Err(invalid(&format!("Unknown joint mode {other}."))),
        };
        search.case_sensitive = params
            .iter()
            .find(|(k, _)| k == "isCaseSensitive")
            .is_some_and(|(_, v)| v == "true");
        Ok(search)
    }

    /// Whether an item matches, `value(field)` reading its fields.
    pub(crate) fn matches<'a>(&self, value: impl Fn(&str) -> Option<&'a str>) -> bool {
        if self.conditions.is_empty() {
            return true;
        }
        let holds = |condition: &Condition| {
            let fields: Vec<&str> = match condition.field {
                Some(field) => vec![field],
                None => self.fields.clone(),
            };
            fields.iter().filter_map(|f| value(f)).any(|text| {
                condition.values.iter().any(|pattern| match condition.mode {
                    Mode::Exact if self.case_sensitive => text == pattern,
                    Mode::Exact => text.to_lowercase() == pattern.to_lowercase(),
                    Mode::Like => like(text, pattern, self.case_sensitive),
                })
            })
        };
        if self.all {
            self.conditions.iter().all(holds)
        } else {
            self.conditions.iter().any(holds)
        }
    }
}

/// SQL `LIKE` (`ILIKE` unless case-sensitive): `%` any run, `_` one character, `\` escapes.
fn like(text: &str, pattern: &str, case_sensitive: bool) -> bool {
    let fold = |s: &str| {
        if case_sensitive {
            s.chars().collect::<Vec<_>>()
        } else {
            s.to_lowercase().chars().collect()
        }
    };
    let text = fold(text);
    let pattern = fold(pattern);
    like_from(&text, &pattern)
}

fn like_from(text: &[char], pattern: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('%', rest)) => (0..=text.len()).any(|i| like_from(&text[i..], rest)),
        Some(('_', rest)) => !text.is_empty() && like_from(&text[1..], rest),
        Some(('\\', rest)) => match rest.split_first() {
            Some((c, rest)) => text.first() == Some(c) && like_from(&text[1..], rest),
            None => text.first() == Some(&'\\') && text.len() == 1,
        },
        Some((c, rest)) => text.first() == Some(c) && like_from(&text[1..], rest),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_is_sqls() {
        assert!(like("alice@example.com", "%alice%", false));
        assert!(like("Alice@example.com", "alice@example.com", false));
        assert!(!like("Alice@example.com", "alice@example.com", true));
        assert!(
            !like("alice@example.com", "alice", false),
            "no wildcards added"
        );
        assert!(like("bob", "b_b", false));
        assert!(like("50%", "50\\%", false));
        assert!(!like("500", "50\\%", false));
    }

    #[test]
    fn pages_slice_and_link() {
        let params = vec![
            ("page".to_owned(), "2".to_owned()),
            ("page_size".to_owned(), "2".to_owned()),
        ];
        let page = Page::from_params(&params).unwrap();
        assert_eq!(page.slice(&[1, 2, 3, 4, 5]), &[3, 4]);
        let mut headers = HeaderMap::new();
        page.headers(&mut headers, "http://x/api/users", &params, 5);
        assert_eq!(headers["Total-Number"], "5");
        assert_eq!(
            headers["Link"],
            "<http://x/api/users?page_size=2&page=1>; rel=\"first\", \
             <http://x/api/users?page_size=2&page=1>; rel=\"prev\", \
             <http://x/api/users?page_size=2&page=3>; rel=\"next\", \
             <http://x/api/users?page_size=2&page=3>; rel=\"last\""
        );
        for bad in ["0", "x", "-1"] {
            assert!(Page::from_params(&[("page".to_owned(), bad.to_owned())]).is_err());
        }
        assert!(Page::from_params(&[("page_size".to_owned(), "101".to_owned())]).is_err());
    }
}
