//! Request parameters of the OIDC endpoints: from the query string or a form body (or a JSON
//! object, which Logto accepts at the token endpoint), kept in order with their repetitions so
//! duplicates can be rejected as node-oidc-provider rejects them.

use serde_json::Value;

use super::error::OidcError;

/// Parameters of one request.
#[derive(Clone, Debug, Default)]
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// `a=1&b=2` (query string or form body).
    pub(crate) fn from_urlencoded(raw: &[u8]) -> Self {
        Self(
            form_urlencoded::parse(raw)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// A JSON object of strings (arrays give repeated parameters, numbers their text).
    pub(crate) fn from_json(raw: &[u8]) -> Result<Self, OidcError> {
        let value: Value = serde_json::from_slice(raw)
            .map_err(|_| OidcError::invalid_request("failed to parse the request body"))?;
        let Value::Object(map) = value else {
            return Err(OidcError::invalid_request(
                "failed to parse the request body",
            ));
        };
        let mut pairs = Vec::new();
        for (key, value) in map {
            let mut push = |value: &Value| match value {
                Value::String(s) => pairs.push((key.clone(), s.clone())),
                Value::Number(n) => pairs.push((key.clone(), n.to_string())),
                Value::Bool(b) => pairs.push((key.clone(), b.to_string())),
                _ => {}
            };
            match &value {
                Value::Array(items) => items.iter().for_each(&mut push),
                other => push(other),
            }
        }
        Ok(Self(pairs))
    }

    /// The value of `name`, if present and not empty (empty values count as absent, as in
    /// node-oidc-provider).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name` when it is given exactly once.
    pub(crate) fn once(&self, name: &str) -> Option<&str> {
        let mut values = self.all(name).into_iter();
        let first = values.next()?;
        values.next().is_none().then_some(first)
    }

    /// Every non-empty value of `name`.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// `name`, or `missing required parameter 'name'`.
    pub(crate) fn required(&self, name: &str) -> Result<&str, OidcError> {
        self.get(name).ok_or_else(|| OidcError::missing(name))
    }

    /// Rejects parameters given more than once (but those in `except`), in node-oidc-provider's
    /// words.
    pub(crate) fn reject_duplicates(&self, except: &[&str]) -> Result<(), OidcError> {
        // Sets, not pairwise comparisons: the body comes before client authentication.
        let mut seen = std::collections::HashSet::new();
        let mut reported = std::collections::HashSet::new();
        let mut dupes: Vec<&str> = Vec::new();
        for (key, _) in &self.0 {
            let key = key.as_str();
            if !seen.insert(key) && !except.contains(&key) && reported.insert(key) {
                dupes.push(key);
            }
        }
        if dupes.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = dupes.iter().map(|d| format!("'{d}'")).collect();
        let noun = if dupes.len() == 1 {
            "parameter"
        } else {
            "parameters"
        };
        Err(OidcError::invalid_request(format!(
            "{} {noun} must not be provided twice",
            join_list(&list)
        )))
    }

    /// Whether any value contains a NUL byte (rejected outright).
    pub(crate) fn has_nul(&self) -> bool {
        self.0
            .iter()
            .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    }
}

/// `'a'`, `'a' and 'b'`, `'a', 'b' and 'c'`.
fn join_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_named_like_node_oidc_provider_names_them() {
        let params = Params::from_urlencoded(b"scope=a&scope=b&resource=x&resource=y&state=1");
        let err = params.reject_duplicates(&["resource"]).unwrap_err();
        assert_eq!(
            err.description,
            "'scope' parameter must not be provided twice"
        );
        let params = Params::from_urlencoded(b"a=1&b=1&a=2&b=2");
        let err = params.reject_duplicates(&[]).unwrap_err();
        assert_eq!(
            err.description,
            "'a' and 'b' parameters must not be provided twice"
        );
        assert!(
            Params::from_urlencoded(b"resource=x&resource=y")
                .reject_duplicates(&["resource"])
                .is_ok()
        );
    }

    #[test]
    fn empty_values_are_absent_and_json_bodies_work() {
        let params = Params::from_urlencoded(b"state=&nonce=n");
        assert_eq!(params.get("state"), None);
        assert_eq!(
            params.required("state").unwrap_err().description,
            "missing required parameter 'state'"
        );
        let json =
            Params::from_json(br#"{"grant_type":"authorization_code","resource":["a","b"],"n":1}"#)
                .unwrap();
        assert_eq!(json.get("grant_type"), Some("authorization_code"));
        assert_eq!(json.all("resource"), ["a", "b"]);
        assert_eq!(json.get("n"), Some("1"));
        assert!(Params::from_json(b"[1]").is_err());
    }
}
