//! The Templates API: `GET/POST /templates`, `GET/PUT/DELETE /templates/{idOrAlias}` and
//! `POST /templates/validate`, with Postmark's shapes and ErrorCodes (1100–1131).
//!
//! A `PUT` is a partial update: a field that is missing or `null` keeps its value (postmarker
//! sends `null` for every field it does not change); `""` clears an optional field.

use std::sync::{PoisonError, RwLockReadGuard, RwLockWriteGuard};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Map, Value};

use super::PostmarkState;
use super::auth::Caller;
use super::error::{ApiError, codes};
use super::mustachio::{self, Budget, Escape, SuggestedModel};
use super::query::Params;
use super::templates::{self, StoredTemplate, TemplateSource, TemplateType, Templates};
use super::wire::{self, Fields};

/// Most templates one list request returns.
const MAX_COUNT: u64 = 500;

/// An item of `GET /templates`, and the answer to create and edit.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Summary<'a> {
    active: bool,
    template_id: u64,
    name: &'a str,
    alias: Option<&'a str>,
    template_type: TemplateType,
    layout_template: Option<&'a str>,
}

/// `GET /templates/{idOrAlias}`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Details<'a> {
    template_id: u64,
    name: &'a str,
    subject: Option<&'a str>,
    html_body: Option<&'a str>,
    text_body: Option<&'a str>,
    associated_server_id: u64,
    active: bool,
    alias: Option<&'a str>,
    template_type: TemplateType,
    layout_template: Option<&'a str>,
}

fn summary(template: &StoredTemplate) -> Summary<'_> {
    let source = &template.source;
    Summary {
        active: true,
        template_id: template.id,
        name: &source.name,
        alias: source.alias.as_deref(),
        template_type: source.template_type,
        layout_template: source.layout_template.as_deref(),
    }
}

fn read(state: &PostmarkState) -> RwLockReadGuard<'_, Templates> {
    state
        .templates
        .read()
        .unwrap_or_else(PoisonError::into_inner)
}

fn write(state: &PostmarkState) -> RwLockWriteGuard<'_, Templates> {
    state
        .templates
        .write()
        .unwrap_or_else(PoisonError::into_inner)
}

fn query_error(message: String) -> ApiError {
    ApiError::unprocessable(codes::TEMPLATE_QUERY, message)
}

/// `GET /templates?count=&offset=[&templateType=All|Standard|Layout][&layoutTemplate=alias]`.
pub(crate) async fn list(
    State(state): State<PostmarkState>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    caller.require_server()?;
    let params = Params::parse(query.as_deref());
    let page = params.page(MAX_COUNT, query_error)?;
    let wanted = match params
        .get("templateType")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("all") => None,
        Some("standard") => Some(TemplateType::Standard),
        Some("layout") => Some(TemplateType::Layout),
        Some(other) => {
            return Err(query_error(format!(
                "The 'templateType' parameter must be All, Standard or Layout, not '{other}'."
            )));
        }
    };
    let layout = params.get("layoutTemplate");
    let templates = read(&state);
    let matching: Vec<&std::sync::Arc<StoredTemplate>> = templates
        .list()
        .filter(|t| wanted.is_none_or(|kind| t.source.template_type == kind))
        .filter(|t| layout.is_none_or(|alias| t.source.layout_template.as_deref() == Some(alias)))
        .collect();
    let items: Vec<Summary<'_>> = page.of(&matching).map(|t| summary(t)).collect();
    Ok(Json(serde_json::json!({"TotalCount": matching.len(), "Templates": items})).into_response())
}

/// `GET /templates/{idOrAlias}`.
pub(crate) async fn get(
    State(state): State<PostmarkState>,
    caller: Caller,
    Path(id_or_alias): Path<String>,
) -> Result<Response, ApiError> {
    caller.require_server()?;
    let template = read(&state)
        .find(&id_or_alias)
        .ok_or_else(|| templates::not_found(&id_or_alias))?;
    let source = &template.source;
    let details = Details {
        template_id: template.id,
        name: &source.name,
        subject: source.subject.as_deref(),
        html_body: source.html_body.as_deref(),
        text_body: source.text_body.as_deref(),
        associated_server_id: state.server.id,
        active: true,
        alias: source.alias.as_deref(),
        template_type: source.template_type,
        layout_template: source.layout_template.as_deref(),
    };
    Ok(Json(details).into_response())
}

/// Templates are at most 5 MB per part; a request body may hold three.
const BODY_LIMIT_MB: usize = 16;

/// `POST /templates`.
pub(crate) async fn create(
    State(state): State<PostmarkState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require_server()?;
    let body = wire::read_body(&headers, body, BODY_LIMIT_MB).await?;
    let fields = json_object(&body)?;
    let template_type = template_type(&fields)?.unwrap_or_default();
    let source = TemplateSource {
        name: fields.string("Name")?.unwrap_or_default(),
        alias: fields.string("Alias")?,
        subject: fields.string("Subject")?,
        html_body: fields.string("HtmlBody")?,
        text_body: fields.string("TextBody")?,
        template_type,
        layout_template: fields.string("LayoutTemplate")?,
    };
    let created = write(&state).create(source)?;
    Ok(Json(summary(&created)).into_response())
}

/// `PUT /templates/{idOrAlias}`: a partial update.
pub(crate) async fn edit(
    State(state): State<PostmarkState>,
    caller: Caller,
    Path(id_or_alias): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require_server()?;
    let body = wire::read_body(&headers, body, BODY_LIMIT_MB).await?;
    let raw = match serde_json::from_slice::<Value>(&body).map_err(ApiError::invalid_json)? {
        Value::Object(map) => map,
        _ => return Err(ApiError::incompatible_json("expected a template object.")),
    };
    let mut templates = write(&state);
    let current = templates
        .find(&id_or_alias)
        .ok_or_else(|| templates::not_found(&id_or_alias))?;
    let mut source = current.source.clone();
    if let Some(name) = update(&raw, "Name")? {
        source.name = name.unwrap_or_default();
    }
    for (key, field) in [
        ("Alias", &mut source.alias),
        ("Subject", &mut source.subject),
        ("HtmlBody", &mut source.html_body),
        ("TextBody", &mut source.text_body),
        ("LayoutTemplate", &mut source.layout_template),
    ] {
        if let Some(value) = update(&raw, key)? {
            *field = value;
        }
    }
    if let Some(kind) = update(&raw, "TemplateType")? {
        source.template_type = parse_template_type(kind.as_deref().unwrap_or_default())?;
    }
    let edited = templates.replace(current.id, source)?;
    Ok(Json(summary(&edited)).into_response())
}

/// A PUT field: `None` keeps (missing or null), `Some(None)` clears (`""`), `Some(Some(v))` sets.
fn update(raw: &Map<String, Value>, key: &str) -> Result<Option<Option<String>>, ApiError> {
    let value = raw
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v);
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(ApiError::incompatible_json(format!(
            "the field '{key}' must be a string."
        ))),
    }
}

/// `DELETE /templates/{idOrAlias}`.
pub(crate) async fn delete(
    State(state): State<PostmarkState>,
    caller: Caller,
    Path(id_or_alias): Path<String>,
) -> Result<Response, ApiError> {
    caller.require_server()?;
    let mut templates = write(&state);
    let current = templates
        .find(&id_or_alias)
        .ok_or_else(|| templates::not_found(&id_or_alias))?;
    let removed = templates.remove(current.id)?;
    let message = format!("Template {} removed.", removed.id);
    Ok(Json(serde_json::json!({"ErrorCode": 0, "Message": message})).into_response())
}

/// One part's result in `POST /templates/validate`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PartValidation {
    content_is_valid: bool,
    validation_errors: Vec<ValidationError>,
    rendered_content: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ValidationError {
    message: String,
    line: usize,
    character_position: usize,
}

/// `POST /templates/validate`: parses each part, infers a model, renders with the test model
/// (or the suggested one), inside the named layout when there is one.
pub(crate) async fn validate(
    State(state): State<PostmarkState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require_server()?;
    let body = wire::read_body(&headers, body, BODY_LIMIT_MB).await?;
    let mut fields = json_object(&body)?;
    let template_type = template_type(&fields)?.unwrap_or_default();
    let test_model = fields.take_object("TestRenderModel")?;
    let layout_alias = fields.string("LayoutTemplate")?;
    let parts = [
        ("Subject", fields.string("Subject")?, Escape::None),
        ("HtmlBody", fields.string("HtmlBody")?, Escape::Html),
        ("TextBody", fields.string("TextBody")?, Escape::None),
    ];
    if parts.iter().all(|(_, text, _)| text.is_none()) {
        return Err(ApiError::unprocessable(
            codes::TEMPLATE_FIELD_MISSING,
            "Provide a Subject, an HtmlBody or a TextBody to validate.",
        ));
    }
    let templates = read(&state);
    let limits = *templates.limits();
    let layout = match &layout_alias {
        Some(alias) => Some(
            templates
                .by_alias(alias)
                .filter(|t| t.source.template_type == TemplateType::Layout)
                .ok_or_else(|| templates::not_found(alias))?,
        ),
        None => None,
    };
    let parsed: Vec<Part> = parts
        .iter()
        .map(|(name, text, escape)| Part {
            name,
            escape: *escape,
            parsed: text.as_deref().map(|t| mustachio::parse(t, &limits)),
        })
        .collect();
    let mut suggested = SuggestedModel::new();
    for part in &parsed {
        if let Some(Ok(template)) = &part.parsed {
            suggested.learn(template);
        }
    }
    if let Some(layout) = &layout {
        layout.learn(&mut suggested);
    }
    let suggested = suggested.to_value();
    let model = test_model.unwrap_or_else(|| suggested.clone());

    let budget = Budget::new(limits.max_steps);
    let context = RenderContext {
        template_type,
        model: &model,
        layout: layout.as_deref(),
        limits: &limits,
        budget: &budget,
    };
    let mut all_valid = true;
    let mut out = Map::new();
    for Part {
        name,
        escape,
        parsed,
    } in parsed
    {
        let result = parsed.map(|parsed| {
            let validation = part_validation(name, parsed, escape, &context);
            all_valid &= validation.content_is_valid;
            validation
        });
        out.insert(
            name.to_owned(),
            serde_json::to_value(result).unwrap_or(Value::Null),
        );
    }
    let mut answer = Map::new();
    answer.insert("AllContentIsValid".into(), Value::Bool(all_valid));
    answer.insert(
        "HtmlBody".into(),
        out.remove("HtmlBody").unwrap_or(Value::Null),
    );
    answer.insert(
        "TextBody".into(),
        out.remove("TextBody").unwrap_or(Value::Null),
    );
    answer.insert(
        "Subject".into(),
        out.remove("Subject").unwrap_or(Value::Null),
    );
    answer.insert("SuggestedTemplateModel".into(), suggested);
    Ok(Json(Value::Object(answer)).into_response())
}

/// One part of a template under validation.
struct Part<'a> {
    name: &'a str,
    escape: Escape,
    parsed: Option<Result<mustachio::Template, Vec<mustachio::ParseError>>>,
}

/// What every part of one validation renders with.
#[derive(Clone, Copy)]
struct RenderContext<'a> {
    template_type: TemplateType,
    model: &'a Value,
    layout: Option<&'a StoredTemplate>,
    limits: &'a mustachio::Limits,
    budget: &'a Budget,
}

fn part_validation(
    name: &str,
    parsed: Result<mustachio::Template, Vec<mustachio::ParseError>>,
    escape: Escape,
    context: &RenderContext<'_>,
) -> PartValidation {
    let RenderContext {
        template_type,
        model,
        layout,
        limits,
        budget,
    } = *context;
    let invalid = |errors: Vec<ValidationError>| PartValidation {
        content_is_valid: false,
        validation_errors: errors,
        rendered_content: None,
    };
    let template = match parsed {
        Ok(template) => template,
        Err(errors) => {
            return invalid(
                errors
                    .into_iter()
                    .map(|e| ValidationError {
                        message: e.message,
                        line: e.line,
                        character_position: e.column,
                    })
                    .collect(),
            );
        }
    };
    if template_type == TemplateType::Layout
        && name != "Subject"
        && template.content_placeholders() != 1
    {
        return invalid(vec![ValidationError {
            message: "A layout must contain {{{@content}}} exactly once.".into(),
            line: 1,
            character_position: 1,
        }]);
    }
    let rendered = template
        .render_in(model, escape, limits, None, budget)
        .and_then(|content| match layout {
            Some(layout) if name != "Subject" => {
                layout.render_part(name, model, &content, limits, budget)
            }
            _ => Ok(content),
        });
    match rendered {
        Ok(content) => PartValidation {
            content_is_valid: true,
            validation_errors: Vec::new(),
            rendered_content: Some(content),
        },
        Err(error) => invalid(vec![ValidationError {
            message: error.to_string(),
            line: 1,
            character_position: 1,
        }]),
    }
}

fn json_object(body: &[u8]) -> Result<Fields, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(ApiError::invalid_json)?;
    Fields::new(value, "the template")
}

fn template_type(fields: &Fields) -> Result<Option<TemplateType>, ApiError> {
    fields
        .string("TemplateType")?
        .map(|kind| parse_template_type(&kind))
        .transpose()
}

fn parse_template_type(kind: &str) -> Result<TemplateType, ApiError> {
    match kind.to_ascii_lowercase().as_str() {
        "standard" => Ok(TemplateType::Standard),
        "layout" => Ok(TemplateType::Layout),
        _ => Err(ApiError::unprocessable(
            codes::TEMPLATE_FIELD_INVALID,
            format!("The TemplateType must be Standard or Layout, not '{kind}'."),
        )),
    }
}
