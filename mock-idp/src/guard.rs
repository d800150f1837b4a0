//! Logto's body guard (`koaGuard`), for the Experience API and the Management API: koa-body
//! reads the body by its `Content-Type`, then a zod schema checks it. A body that fails is 400
//! `guard.invalid_input` with zod's issues in `data` (`{"issues": […], "name": "ZodError"}`)
//! and one line per issue in `details`, so a client sees which key was wrong and why.
//!
//! What koa-body makes of a body (its defaults, as Logto uses them):
//! - a JSON type (`application/json`, `…+json`): the parsed JSON;
//! - `text/*`: a string, so JSON sent as `text/plain` is refused ("Expected object but
//!   received string");
//! - `application/x-www-form-urlencoded`: an object of strings (flat keys only here; koa-body
//!   would also read `a[b]=c` as nested);
//! - anything else, or nothing: `{}`.
//!
//! Malformed JSON is `guard.invalid_input` too, its `details` the parser's message (worded by
//! serde, not by V8).
//!
//! The schemas are the few shapes of the two APIs' bodies; zod's issue objects are written with
//! zod's key order and messages.

use axum::http::{HeaderMap, header};
use serde_json::{Map, Value, json};

/// What a value must be.
pub(crate) enum Shape {
    /// `z.string()`.
    Str,
    /// `z.string().min(1)`.
    NonEmptyStr,
    /// `z.enum([…])` / `z.nativeEnum(…)` of strings.
    Enum(&'static [&'static str]),
    /// `z.literal(…)`.
    Literal(&'static str),
    /// `z.object({…})` (unknown keys are dropped, as zod strips them).
    Object(&'static [Field]),
    /// `z.discriminatedUnion(tag, […])`: the variant named by the `tag` key.
    Union {
        tag: &'static str,
        variants: &'static [(&'static str, &'static [Field])],
    },
    /// `.nullable()`: `null` or the inner shape.
    Nullable(&'static Shape),
    /// `z.object({}).catchall(z.unknown())`: any object (`customData`, `profile`).
    AnyObject,
    /// `z.array(…)`.
    Array(&'static Shape),
    /// `z.boolean()`.
    Bool,
    /// `z.string().regex(…)`: a string the check accepts (`invalid_string` otherwise).
    Pattern(fn(&str) -> bool),
}

/// One key of an object.
pub(crate) struct Field {
    pub name: &'static str,
    pub shape: Shape,
    pub optional: bool,
}

/// A key that must be there.
pub(crate) const fn required(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        optional: false,
    }
}

/// A key that may be left out.
pub(crate) const fn optional(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        optional: true,
    }
}

/// A failed guard: `data` and `details` of Logto's `guard.invalid_input`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Invalid {
    pub data: Option<Value>,
    pub details: String,
}

/// The body as koa-body reads it, checked against `schema`.
pub(crate) fn check(headers: &HeaderMap, bytes: &[u8], schema: &Shape) -> Result<Value, Invalid> {
    let value = read(headers, bytes)?;
    let mut issues = Vec::new();
    walk(&value, schema, &mut Vec::new(), &mut issues);
    if issues.is_empty() {
        return Ok(value);
    }
    let details = issues.iter().map(detail).collect::<Vec<_>>().join("\n");
    Err(Invalid {
        data: Some(json!({ "issues": issues, "name": "ZodError" })),
        details,
    })
}

/// koa-body's reading of the body, by `Content-Type`.
fn read(headers: &HeaderMap, bytes: &[u8]) -> Result<Value, Invalid> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let json = essence == "application/json"
        || essence.ends_with("+json")
        || essence == "application/csp-report";
    if json {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Map::new()));
        }
        return match serde_json::from_slice::<Value>(bytes) {
            // koa-body's strict JSON: objects and arrays only.
            Ok(value @ (Value::Object(_) | Value::Array(_))) => Ok(value),
            Ok(_) => Err(Invalid {
                data: None,
                details: "invalid JSON, only supports object and array".to_owned(),
            }),
            Err(error) => Err(Invalid {
                data: None,
                details: error.to_string(),
            }),
        };
    }
    if essence.starts_with("text/") {
        return Ok(Value::String(String::from_utf8_lossy(bytes).into_owned()));
    }
    if essence == "application/x-www-form-urlencoded" {
        let object: Map<String, Value> = form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        return Ok(Value::Object(object));
    }
    Ok(Value::Object(Map::new()))
}

/// zod's name for a value's type.
fn parsed_type(value: Option<&Value>) -> &'static str {
    match value {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

/// `'a' | 'b'`, as zod joins the values it expected.
fn join_values(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(" | ")
}

fn invalid_type(expected: &str, value: Option<&Value>, path: &[Value]) -> Value {
    let received = parsed_type(value);
    let message = if received == "undefined" {
        "Required".to_owned()
    } else {
        format!("Expected {expected}, received {received}")
    };
    json!({"code": "invalid_type", "expected": expected, "received": received, "path": path, "message": message})
}

fn walk(value: &Value, shape: &Shape, path: &mut Vec<Value>, issues: &mut Vec<Value>) {
    match shape {
        Shape::Str | Shape::NonEmptyStr => match value {
            Value::String(s) if s.is_empty() && matches!(shape, Shape::NonEmptyStr) => {
                issues.push(json!({"code": "too_small", "minimum": 1, "type": "string",
                    "inclusive": true, "exact": false,
                    "message": "String must contain at least 1 character(s)", "path": path}));
            }
            Value::String(_) => {}
            other => issues.push(invalid_type("string", Some(other), path)),
        },
        Shape::Enum(options) => match value {
            Value::String(s) if options.contains(&s.as_str()) => {}
            Value::String(s) => issues.push(json!({"received": s, "code": "invalid_enum_value",
                "options": options, "path": path,
                "message": format!("Invalid enum value. Expected {}, received '{s}'", join_values(options))})),
            other => issues.push(invalid_type(&join_values(options), Some(other), path)),
        },
        Shape::Literal(expected) => {
            if value.as_str() != Some(expected) {
                issues.push(json!({"received": value, "code": "invalid_literal",
                    "expected": expected, "path": path,
                    "message": format!("Invalid literal value, expected \"{expected}\"")}));
            }
        }
        Shape::Object(fields) => walk_object(value, fields, path, issues),
        Shape::Nullable(inner) => {
            if !value.is_null() {
                walk(value, inner, path, issues);
            }
        }
        Shape::AnyObject => {
            if !value.is_object() {
                issues.push(invalid_type("object", Some(value), path));
            }
        }
        Shape::Bool => {
            if !value.is_boolean() {
                issues.push(invalid_type("boolean", Some(value), path));
            }
        }
        Shape::Array(inner) => match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Value::from(i));
                    walk(item, inner, path, issues);
                    path.pop();
                }
            }
            other => issues.push(invalid_type("array", Some(other), path)),
        },
        Shape::Pattern(accepts) => match value {
            Value::String(s) if accepts(s) => {}
            Value::String(_) => issues.push(json!({"validation": "regex", "code": "invalid_string",
                "message": "Invalid", "path": path})),
            other => issues.push(invalid_type("string", Some(other), path)),
        },
        Shape::Union { tag, variants } => {
            let Value::Object(object) = value else {
                issues.push(invalid_type("object", Some(value), path));
                return;
            };
            let chosen = object
                .get(*tag)
                .and_then(Value::as_str)
                .and_then(|t| variants.iter().find(|(name, _)| *name == t));
            match chosen {
                Some((_, fields)) => walk_object(value, fields, path, issues),
                None => {
                    let options: Vec<&str> = variants.iter().map(|(name, _)| *name).collect();
                    let mut at = path.clone();
                    at.push(Value::from(*tag));
                    issues.push(json!({"code": "invalid_union_discriminator",
                        "options": options, "path": at,
                        "message": format!("Invalid discriminator value. Expected {}", join_values(&options))}));
                }
            }
        }
    }
}

fn walk_object(value: &Value, fields: &[Field], path: &mut Vec<Value>, issues: &mut Vec<Value>) {
    let Value::Object(object) = value else {
        issues.push(invalid_type("object", Some(value), path));
        return;
    };
    for field in fields {
        path.push(Value::from(field.name));
        match object.get(field.name) {
            None if field.optional => {}
            None => {
                issues.push(invalid_type(&expected_of(&field.shape), None, path));
            }
            Some(inner) => walk(inner, &field.shape, path, issues),
        }
        path.pop();
    }
}

/// What zod says it expected of a missing value of `shape`.
fn expected_of(shape: &Shape) -> String {
    match shape {
        Shape::Str | Shape::NonEmptyStr | Shape::Pattern(_) => "string".to_owned(),
        Shape::Enum(options) => join_values(options),
        Shape::Literal(literal) => format!("\"{literal}\""),
        Shape::Object(_) | Shape::Union { .. } | Shape::AnyObject => "object".to_owned(),
        Shape::Nullable(inner) => expected_of(inner),
        Shape::Array(_) => "array".to_owned(),
        Shape::Bool => "boolean".to_owned(),
    }
}

/// Logto's `formatZodError`: `Error in key path "a.b": (code) …`.
fn detail(issue: &Value) -> String {
    let path: Vec<String> = issue["path"]
        .as_array()
        .map(|parts| {
            parts
                .iter()
                .map(|p| match p {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let code = issue["code"].as_str().unwrap_or_default();
    let base = format!("Error in key path \"{}\": ({code}) ", path.join("."));
    if code == "invalid_type" {
        return format!(
            "{base}Expected {} but received {}.",
            issue["expected"].as_str().unwrap_or_default(),
            issue["received"].as_str().unwrap_or_default()
        );
    }
    format!("{base}{}", issue["message"].as_str().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const EVENTS: &[&str] = &["SignIn", "Register", "ForgotPassword"];
    const IDENTIFIER: &[Field] = &[
        required("type", Shape::Enum(&["email", "phone"])),
        required("value", Shape::Str),
    ];
    const SEND: Shape = Shape::Object(&[
        required("identifier", Shape::Object(IDENTIFIER)),
        required("interactionEvent", Shape::Enum(EVENTS)),
    ]);

    fn headers(content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).unwrap(),
        );
        headers
    }

    #[test]
    fn a_good_body_passes_and_unknown_keys_are_ignored() {
        let body =
            br#"{"identifier":{"type":"email","value":"a@b.c"},"interactionEvent":"SignIn","x":1}"#;
        assert!(check(&headers("application/json"), body, &SEND).is_ok());
    }

    #[test]
    fn every_issue_is_reported_with_zods_shape_and_logtos_details() {
        let body = br#"{"identifier":{"type":"username","value":7}}"#;
        let invalid = check(&headers("application/json; charset=utf-8"), body, &SEND).unwrap_err();
        let data = invalid.data.unwrap();
        assert_eq!(data["name"], "ZodError");
        assert_eq!(
            data["issues"],
            json!([
                {"received": "username", "code": "invalid_enum_value", "options": ["email", "phone"],
                 "path": ["identifier", "type"],
                 "message": "Invalid enum value. Expected 'email' | 'phone', received 'username'"},
                {"code": "invalid_type", "expected": "string", "received": "number",
                 "path": ["identifier", "value"], "message": "Expected string, received number"},
                {"code": "invalid_type", "expected": "'SignIn' | 'Register' | 'ForgotPassword'",
                 "received": "undefined", "path": ["interactionEvent"], "message": "Required"},
            ])
        );
        assert_eq!(
            invalid.details,
            "Error in key path \"identifier.type\": (invalid_enum_value) Invalid enum value. Expected 'email' | 'phone', received 'username'\n\
             Error in key path \"identifier.value\": (invalid_type) Expected string but received number.\n\
             Error in key path \"interactionEvent\": (invalid_type) Expected 'SignIn' | 'Register' | 'ForgotPassword' but received undefined."
        );
    }

    #[test]
    fn json_sent_as_text_is_a_string_and_no_content_type_an_empty_object() {
        let body =
            br#"{"identifier":{"type":"email","value":"a@b.c"},"interactionEvent":"SignIn"}"#;
        let text = check(&headers("text/plain;charset=UTF-8"), body, &SEND).unwrap_err();
        assert_eq!(
            text.details,
            "Error in key path \"\": (invalid_type) Expected object but received string."
        );
        let none = check(&HeaderMap::new(), body, &SEND).unwrap_err();
        assert!(
            none.details
                .contains("\"identifier\": (invalid_type) Expected object but received undefined."),
            "{}",
            none.details
        );
    }

    #[test]
    fn malformed_json_and_unions_are_refused() {
        let bad = check(&headers("application/json"), b"{", &SEND).unwrap_err();
        assert_eq!(bad.data, None);
        const PROFILE: Shape = Shape::Union {
            tag: "type",
            variants: &[("username", &[required("value", Shape::Str)])],
        };
        let wrong = check(
            &headers("application/json"),
            br#"{"type":"nickname"}"#,
            &PROFILE,
        )
        .unwrap_err();
        assert_eq!(
            wrong.details,
            "Error in key path \"type\": (invalid_union_discriminator) Invalid discriminator value. Expected 'username'"
        );
        const PASSWORD: Shape = Shape::Object(&[required("password", Shape::NonEmptyStr)]);
        let empty = check(
            &headers("application/json"),
            br#"{"password":""}"#,
            &PASSWORD,
        )
        .unwrap_err();
        assert!(
            empty
                .details
                .contains("(too_small) String must contain at least 1 character(s)")
        );
    }
}
