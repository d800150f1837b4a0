//! The small HTTP vocabulary every server here shares, so that the same kind of answer carries
//! the same headers wherever it comes from: redirects, HTML pages, query strings, media types
//! and cookies.
//!
//! - Redirects are 303 (what node-oidc-provider and Logto's experience answer) with
//!   `Cache-Control: no-store`: a redirect that carries a code or ends a session must never be
//!   replayed from a cache.
//! - Pages are `text/html; charset=utf-8` with a Content-Security-Policy of the caller's,
//!   `X-Content-Type-Options: nosniff` and `Cache-Control: no-store`.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// A 303 to `location`, setting `cookies` (full `Set-Cookie` values).
pub(crate) fn see_other(location: &str, cookies: &[String]) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(location) {
        headers.insert(header::LOCATION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

/// An HTML page with `status` and the policy `csp`. A template that fails to render (which
/// askama's compile-time checks leave to broken `Display` impls) is logged and answered with a
/// plain message.
pub(crate) fn page(
    status: StatusCode,
    rendered: Result<String, askama::Error>,
    csp: &str,
) -> Response {
    let body = match rendered {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(%error, "a page failed to render");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The page could not be rendered.",
            )
                .into_response();
        }
    };
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `base` with `pairs` appended to its query (form-encoded, after `&` if it has one).
pub(crate) fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        query.append_pair(name, value);
    }
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{}", query.finish())
}

/// A media type's essence: `Application/JSON; charset=utf-8` → `application/json`.
pub(crate) fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The essence of the request's `Content-Type` (empty when absent or not text).
pub(crate) fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(media_type)
        .unwrap_or_default()
}

/// The value of cookie `name` in the request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` value: path `/`, HttpOnly, SameSite=Lax (Logto's cookie attributes), Secure
/// when `secure` (the server is reached over https). An empty value with `max_age_secs` 0
/// clears the cookie.
pub(crate) fn set_cookie(name: &str, value: &str, max_age_secs: i64, secure: bool) -> String {
    cookie::Cookie::build((name.to_owned(), value.to_owned()))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::seconds(max_age_secs))
        .build()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_are_303_and_never_cached() {
        let response = see_other("/next?a=1", &["a=b; Path=/".into(), "c=d".into()]);
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let headers = response.headers();
        assert_eq!(headers[header::LOCATION], "/next?a=1");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers.get_all(header::SET_COOKIE).iter().count(), 2);
    }

    #[test]
    fn pages_carry_their_policy_nosniff_and_no_store() {
        let response = page(
            StatusCode::BAD_REQUEST,
            Ok("<p>x</p>".into()),
            "default-src 'none'",
        );
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let headers = response.headers();
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            "default-src 'none'"
        );
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
        assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    }

    #[test]
    fn queries_are_appended_encoded() {
        assert_eq!(
            with_query("http://a/cb", &[("x", "a b&c")]),
            "http://a/cb?x=a+b%26c"
        );
        assert_eq!(
            with_query("http://a/cb?k=v", &[("s", "1")]),
            "http://a/cb?k=v&s=1"
        );
    }

    #[test]
    fn media_types_compare_by_essence() {
        assert_eq!(
            media_type("Application/JSON; charset=utf-8"),
            "application/json"
        );
        let mut headers = HeaderMap::new();
        assert_eq!(content_type(&headers), "");
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        assert_eq!(content_type(&headers), "text/plain");
    }
}
