//! Query strings as Postmark reads them: names without regard to case (postmark.js sends
//! `fromEmail`, the docs say `fromemail`, postmarker sends `Count`), empty values as absent.

use super::error::ApiError;

/// Parsed query parameters.
#[derive(Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        Self(pairs)
    }

    /// The last non-empty value of `name` (any case).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(key, value)| key.eq_ignore_ascii_case(name) && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// A required non-empty value.
    pub(crate) fn required(
        &self,
        name: &str,
        invalid: impl Fn(String) -> ApiError,
    ) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| invalid(format!("The '{name}' parameter is required.")))
    }

    /// An unsigned number; `invalid` builds the error for a value that is not one.
    pub(crate) fn number(
        &self,
        name: &str,
        invalid: impl Fn(String) -> ApiError,
    ) -> Result<Option<u64>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(value) => value.trim().parse().map(Some).map_err(|_| {
                invalid(format!(
                    "The '{name}' parameter must be a whole number, not '{value}'."
                ))
            }),
        }
    }

    /// A required unsigned number.
    pub(crate) fn required_number(
        &self,
        name: &str,
        invalid: impl Fn(String) -> ApiError,
    ) -> Result<u64, ApiError> {
        self.number(name, &invalid)?
            .ok_or_else(|| invalid(format!("The '{name}' parameter is required.")))
    }

    /// Postmark's required paging: `count` (at most `max_count`) and `offset`.
    pub(crate) fn page(
        &self,
        max_count: u64,
        invalid: impl Fn(String) -> ApiError,
    ) -> Result<Page, ApiError> {
        let count = self.required_number("count", &invalid)?;
        let offset = self.required_number("offset", &invalid)?;
        if count > max_count {
            return Err(invalid(format!(
                "The 'count' parameter may be at most {max_count}."
            )));
        }
        Ok(Page { count, offset })
    }

    /// Every `prefix<key>=value` pair (e.g. `metadata_color=blue`), the key's case kept.
    pub(crate) fn prefixed<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.0.iter().filter_map(move |(key, value)| {
            let head = key.get(..prefix.len())?;
            (head.eq_ignore_ascii_case(prefix) && key.len() > prefix.len())
                .then(|| (&key[prefix.len()..], value.as_str()))
        })
    }
}

/// A page of results: skip `offset`, take `count`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Page {
    pub count: u64,
    pub offset: u64,
}

impl Page {
    /// The items of this page.
    pub(crate) fn of<T>(self, items: impl IntoIterator<Item = T>) -> impl Iterator<Item = T> {
        items
            .into_iter()
            .skip(usize::try_from(self.offset).unwrap_or(usize::MAX))
            .take(usize::try_from(self.count).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_in_any_case_and_empty_is_absent() {
        let params = Params::parse(Some(
            "Count=10&fromEmail=a%40example.com&tag=&metadata_Color=blue",
        ));
        assert_eq!(params.get("count"), Some("10"));
        assert_eq!(params.get("FROMEMAIL"), Some("a@example.com"));
        assert_eq!(params.get("tag"), None);
        let meta: Vec<_> = params.prefixed("metadata_").collect();
        assert_eq!(meta, [("Color", "blue")]);
        let bad = |m: String| ApiError::unprocessable(700, m);
        assert_eq!(params.required_number("count", bad).unwrap(), 10);
        assert_eq!(params.required_number("offset", bad).unwrap_err().code, 700);
        let params = Params::parse(Some("count=ten"));
        assert_eq!(params.number("count", bad).unwrap_err().code, 700);
    }
}
