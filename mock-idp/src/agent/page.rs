//! [`Page`]: one HTTP answer as a test reads it.

use reqwest::header::HeaderMap;

/// One answer, read whole: where it came from, its status, headers, `Location` (made absolute)
/// and body. Helpers read what tests of Logto's pages and of an app's pages look for: the text
/// of an element by id, the `[role=alert]`, a form field, a query parameter of the redirect.
#[derive(Clone, Debug)]
pub struct Page {
    /// The URL asked for.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// Every header of the answer.
    pub headers: HeaderMap,
    /// The `Location`, resolved against `url`.
    pub location: Option<String>,
    /// The body (lossy UTF-8).
    pub body: String,
}

impl Page {
    /// Reads `response` (the answer to `url`) whole.
    ///
    /// # Panics
    ///
    /// When the body cannot be read (the connection broke): nothing is left to test.
    pub async fn read(url: &str, response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        // Resolved against the URL the client already parsed, not a second parse of `url`.
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                response
                    .url()
                    .join(v)
                    .map_or_else(|_| v.to_owned(), String::from)
            });
        let bytes = response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("reading the answer to {url}: {e}"));
        Self {
            url: url.to_owned(),
            status,
            headers,
            location,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Whether the status is a redirect (3xx).
    pub fn is_redirect(&self) -> bool {
        (300..400).contains(&self.status)
    }

    /// The `Location`.
    ///
    /// # Panics
    ///
    /// When there is none, showing the page instead.
    pub fn location(&self) -> &str {
        self.location
            .as_deref()
            .unwrap_or_else(|| panic!("no Location in {self:?}"))
    }

    /// A query parameter of the `Location` (`code`, `state`, `error`...).
    pub fn location_param(&self, name: &str) -> Option<String> {
        let location = reqwest::Url::parse(self.location.as_deref()?).ok()?;
        location
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    }

    /// A header's value, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Content-Type` (empty when absent).
    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or_default()
    }

    /// Every `Set-Cookie` value.
    pub fn set_cookies(&self) -> Vec<&str> {
        self.headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The value `Set-Cookie` gives `name` (empty when it clears it).
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().into_iter().find_map(|cookie| {
            let pair = cookie.split(';').next()?;
            let (key, value) = pair.split_once('=')?;
            (key.trim() == name).then(|| value.to_owned())
        })
    }

    /// The body as JSON.
    ///
    /// # Panics
    ///
    /// When it is not JSON, showing the page.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    /// Whether the body contains `needle`.
    pub fn has(&self, needle: &str) -> bool {
        self.body.contains(needle)
    }

    /// The text of the element with this id (`"status"` or `"#status"`; ids only, no other
    /// selectors), up to its first child tag, unescaped.
    pub fn text_of(&self, id: &str) -> Option<String> {
        let id = id.strip_prefix('#').unwrap_or(id);
        text_after(&self.body, &format!(r#"id="{id}""#))
    }

    /// The text of the first `[role=alert]` element: an error on Logto's pages.
    pub fn alert(&self) -> Option<String> {
        text_after(&self.body, r#"role="alert""#)
    }

    /// The text of Logto's `#offer` ("No account found …", "An account with … already
    /// exists …").
    pub fn offer(&self) -> Option<String> {
        self.text_of("offer")
    }

    /// The `value` of the form field `name`.
    pub fn form_value(&self, name: &str) -> Option<String> {
        let at = self.body.find(&format!(r#"name="{name}""#))?;
        let tag_start = self.body[..at].rfind('<')?;
        let tag_end = at + self.body[at..].find('>')?;
        let tag = &self.body[tag_start..tag_end];
        let value = tag.split_once(r#"value=""#)?.1;
        Some(unescape(&value[..value.find('"')?]))
    }
}

/// The text after the tag that contains `marker`, up to the next tag.
fn text_after(body: &str, marker: &str) -> Option<String> {
    let at = body.find(marker)?;
    let start = at + body[at..].find('>')? + 1;
    let end = start + body[start..].find('<')?;
    Some(unescape(body[start..end].trim()))
}

/// Undoes the HTML escaping pages apply to text (askama's numeric entities and the named ones).
fn unescape(text: &str) -> String {
    [
        ("&#60;", "<"),
        ("&lt;", "<"),
        ("&#62;", ">"),
        ("&gt;", ">"),
        ("&#34;", "\""),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&#x27;", "'"),
    ]
    .iter()
    .fold(text.to_owned(), |text, (entity, plain)| {
        text.replace(entity, plain)
    })
    .replace("&#38;", "&")
    .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(body: &str) -> Page {
        Page {
            url: "http://h/".into(),
            status: 200,
            headers: HeaderMap::new(),
            location: Some("http://app/cb?code=abc&state=x%20y".into()),
            body: body.into(),
        }
    }

    #[test]
    fn texts_fields_and_parameters_are_read_unescaped() {
        let page = page(
            r#"<p id="status">Signed &#60;in&#62;</p><div role="alert">Bad &amp; wrong</div>
               <input name="identifier" value="a&#38;b@example.com">"#,
        );
        assert_eq!(page.text_of("status").as_deref(), Some("Signed <in>"));
        assert_eq!(page.text_of("#status").as_deref(), Some("Signed <in>"));
        assert_eq!(page.alert().as_deref(), Some("Bad & wrong"));
        assert_eq!(
            page.form_value("identifier").as_deref(),
            Some("a&b@example.com")
        );
        assert_eq!(page.location_param("state").as_deref(), Some("x y"));
        assert_eq!(page.text_of("missing"), None);
    }
}
