//! Templates as Postmark stores them, parsed once, rendered per send.
//!
//! The fake's server starts with the fixture templates (Logto's default aliases); each one is
//! parsed with the Mustachio parser when stored, so a send only renders.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{ApiError, codes};
use super::mustachio::{self, Budget, Escape, Limits, ParseError, RenderError, SuggestedModel};

/// First id given to a stored template; later ones count up from it.
const FIRST_TEMPLATE_ID: u64 = 1_000_001;

/// `Standard` or `Layout`, as Postmark's `TemplateType`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum TemplateType {
    /// A template that can be sent.
    #[default]
    Standard,
    /// A layout that standard templates render into through `{{{@content}}}`.
    Layout,
}

/// A template in Postmark's JSON shape (the fixtures' format, and the Templates API's body).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TemplateSource {
    /// Display name.
    pub name: String,
    /// Alias used by `TemplateAlias` sends (Logto's connector sends by alias).
    #[serde(default)]
    pub alias: Option<String>,
    /// Subject template.
    #[serde(default)]
    pub subject: Option<String>,
    /// HTML body template (`{{x}}` is HTML-escaped here).
    #[serde(default)]
    pub html_body: Option<String>,
    /// Text body template.
    #[serde(default)]
    pub text_body: Option<String>,
    /// `Standard` or `Layout`.
    #[serde(default)]
    pub template_type: TemplateType,
    /// Alias of the layout this template renders into, if any.
    #[serde(default)]
    pub layout_template: Option<String>,
}

/// A stored template: its id, its source, and the parsed form of each part.
#[derive(Debug)]
pub struct StoredTemplate {
    /// Postmark's `TemplateId`.
    pub id: u64,
    /// What was stored.
    pub source: TemplateSource,
    subject: Option<mustachio::Template>,
    html_body: Option<mustachio::Template>,
    text_body: Option<mustachio::Template>,
}

/// The parts of a template that failed to parse, each with every problem in it.
#[derive(Clone, Debug)]
pub struct InvalidTemplate {
    /// (`Subject`, `HtmlBody` or `TextBody`, its problems), in that order.
    pub fields: Vec<(&'static str, Vec<ParseError>)>,
}

impl std::fmt::Display for InvalidTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (n, (field, errors)) in self.fields.iter().enumerate() {
            if n > 0 {
                f.write_str(" ")?;
            }
            write!(f, "The {field} is invalid: ")?;
            for (i, error) in errors.iter().enumerate() {
                if i > 0 {
                    f.write_str("; ")?;
                }
                write!(f, "{error}")?;
            }
            f.write_str(".")?;
        }
        Ok(())
    }
}

/// The rendered parts of one templated message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rendered {
    /// Rendered subject.
    pub subject: Option<String>,
    /// Rendered HTML body (inside its layout, if it has one).
    pub html_body: Option<String>,
    /// Rendered text body (inside its layout, if it has one).
    pub text_body: Option<String>,
}

impl StoredTemplate {
    fn parse(id: u64, source: TemplateSource, limits: &Limits) -> Result<Self, InvalidTemplate> {
        let mut invalid = InvalidTemplate { fields: Vec::new() };
        let mut part = |field: &'static str, text: &Option<String>| match text
            .as_deref()
            .map(|text| mustachio::parse(text, limits))
        {
            Some(Ok(template)) => Some(template),
            Some(Err(errors)) => {
                invalid.fields.push((field, errors));
                None
            }
            None => None,
        };
        let subject = part("Subject", &source.subject);
        let html_body = part("HtmlBody", &source.html_body);
        let text_body = part("TextBody", &source.text_body);
        if !invalid.fields.is_empty() {
            return Err(invalid);
        }
        Ok(Self {
            id,
            subject,
            html_body,
            text_body,
            source,
        })
    }

    /// Teaches `model` every path this template uses (for `SuggestedTemplateModel`).
    pub fn learn(&self, model: &mut SuggestedModel) {
        for part in [&self.subject, &self.html_body, &self.text_body]
            .into_iter()
            .flatten()
        {
            model.learn(part);
        }
    }

    /// Renders this layout's `HtmlBody` (or, for any other `part`, its `TextBody`) around
    /// `content`; a layout without that part leaves the content as it is.
    pub fn render_part(
        &self,
        part: &str,
        model: &Value,
        content: &str,
        limits: &Limits,
        budget: &Budget,
    ) -> Result<String, RenderError> {
        let (template, escape) = if part == "HtmlBody" {
            (&self.html_body, Escape::Html)
        } else {
            (&self.text_body, Escape::None)
        };
        match template {
            Some(layout) => layout.render_in(model, escape, limits, Some(content), budget),
            None => Ok(content.to_owned()),
        }
    }

    /// Renders subject, HTML and text with `model`; `layout` wraps the bodies when given.
    pub fn render(
        &self,
        model: &Value,
        layout: Option<&StoredTemplate>,
        limits: &Limits,
        budget: &Budget,
    ) -> Result<Rendered, RenderError> {
        let render = |template: &Option<mustachio::Template>,
                      layout_part: Option<&Option<mustachio::Template>>,
                      escape: Escape|
         -> Result<Option<String>, RenderError> {
            let Some(template) = template else {
                return Ok(None);
            };
            let content = template.render_in(model, escape, limits, None, budget)?;
            match layout_part {
                Some(Some(layout)) => layout
                    .render_in(model, escape, limits, Some(&content), budget)
                    .map(Some),
                _ => Ok(Some(content)),
            }
        };
        Ok(Rendered {
            subject: render(&self.subject, None, Escape::None)?,
            html_body: render(&self.html_body, layout.map(|l| &l.html_body), Escape::Html)?,
            text_body: render(&self.text_body, layout.map(|l| &l.text_body), Escape::None)?,
        })
    }
}

/// Postmark's limit of templates per server.
pub const MAX_TEMPLATES: usize = 100;
/// Largest Subject, HtmlBody or TextBody of a template, in bytes.
const MAX_FIELD_BYTES: usize = 5 * 1024 * 1024;

/// The templates of one Postmark server.
#[derive(Debug)]
pub struct Templates {
    by_id: BTreeMap<u64, Arc<StoredTemplate>>,
    next_id: u64,
    limits: Limits,
}

impl Templates {
    /// An empty template store.
    pub fn new(limits: Limits) -> Self {
        Self {
            by_id: BTreeMap::new(),
            next_id: FIRST_TEMPLATE_ID,
            limits,
        }
    }

    /// Stores a new template under the next id, if it follows Postmark's rules.
    pub fn create(&mut self, source: TemplateSource) -> Result<Arc<StoredTemplate>, ApiError> {
        if self.by_id.len() >= MAX_TEMPLATES {
            return Err(ApiError::unprocessable(
                codes::TEMPLATE_LIMIT,
                format!("This server already has {MAX_TEMPLATES} templates, Postmark's limit."),
            ));
        }
        let stored = Arc::new(self.check(self.next_id, source)?);
        self.by_id.insert(stored.id, stored.clone());
        self.next_id += 1;
        Ok(stored)
    }

    /// Replaces template `id` with `source` (already merged with what was kept).
    pub fn replace(
        &mut self,
        id: u64,
        source: TemplateSource,
    ) -> Result<Arc<StoredTemplate>, ApiError> {
        let Some(current) = self.by_id.get(&id) else {
            return Err(not_found(&id.to_string()));
        };
        if current.source.template_type != source.template_type {
            return Err(ApiError::unprocessable(
                codes::TEMPLATE_FIELD_NOT_ALLOWED,
                "The TemplateType of a template cannot be changed.",
            ));
        }
        if current.source.alias != source.alias && !self.dependents(current).is_empty() {
            return Err(ApiError::unprocessable(
                codes::LAYOUT_HAS_DEPENDENTS,
                "This layout's alias cannot change while templates use it.",
            ));
        }
        let stored = Arc::new(self.check(id, source)?);
        self.by_id.insert(id, stored.clone());
        Ok(stored)
    }

    /// Deletes template `id`; a layout still used by templates stays.
    pub fn remove(&mut self, id: u64) -> Result<Arc<StoredTemplate>, ApiError> {
        let Some(current) = self.by_id.get(&id) else {
            return Err(not_found(&id.to_string()));
        };
        let dependents = self.dependents(current);
        if !dependents.is_empty() {
            return Err(ApiError::unprocessable(
                codes::LAYOUT_HAS_DEPENDENTS,
                format!(
                    "This layout is used by {} template(s) ({}); change their LayoutTemplate first.",
                    dependents.len(),
                    dependents.join(", ")
                ),
            ));
        }
        self.by_id
            .remove(&id)
            .ok_or_else(|| not_found(&id.to_string()))
    }

    /// The template with this id.
    pub fn by_id(&self, id: u64) -> Option<Arc<StoredTemplate>> {
        self.by_id.get(&id).cloned()
    }

    /// The template with this alias (aliases are matched exactly).
    pub fn by_alias(&self, alias: &str) -> Option<Arc<StoredTemplate>> {
        self.by_id
            .values()
            .find(|t| t.source.alias.as_deref() == Some(alias))
            .cloned()
    }

    /// `GET /templates/{idOrAlias}`: a number is an id, anything else an alias.
    pub fn find(&self, id_or_alias: &str) -> Option<Arc<StoredTemplate>> {
        match id_or_alias.parse::<u64>() {
            Ok(id) => self.by_id(id),
            Err(_) => self.by_alias(id_or_alias),
        }
    }

    /// The layout `template` renders into, if it names one.
    pub fn layout_of(&self, template: &StoredTemplate) -> Option<Arc<StoredTemplate>> {
        let alias = template.source.layout_template.as_deref()?;
        self.by_alias(alias)
            .filter(|layout| layout.source.template_type == TemplateType::Layout)
    }

    /// Every template, by id.
    pub fn list(&self) -> impl Iterator<Item = &Arc<StoredTemplate>> {
        self.by_id.values()
    }

    /// The rendering limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Names of the templates that use `layout`.
    fn dependents(&self, layout: &StoredTemplate) -> Vec<String> {
        let Some(alias) = layout.source.alias.as_deref() else {
            return Vec::new();
        };
        self.by_id
            .values()
            .filter(|t| t.source.layout_template.as_deref() == Some(alias))
            .map(|t| t.source.name.clone())
            .collect()
    }

    /// Postmark's rules for a template, then parsing. `id` is the id it will have.
    fn check(&self, id: u64, source: TemplateSource) -> Result<StoredTemplate, ApiError> {
        check_fields(&source)?;
        if let Some(alias) = &source.alias
            && self.by_alias(alias).is_some_and(|other| other.id != id)
        {
            return Err(ApiError::unprocessable(
                codes::TEMPLATE_FIELD_INVALID,
                format!("The alias '{alias}' is already used by another template on this server."),
            ));
        }
        if let Some(layout) = &source.layout_template {
            let is_layout = self
                .by_alias(layout)
                .is_some_and(|t| t.source.template_type == TemplateType::Layout);
            if !is_layout {
                return Err(ApiError::unprocessable(
                    codes::TEMPLATE_NOT_FOUND,
                    format!("The LayoutTemplate '{layout}' is not a layout on this server."),
                ));
            }
        }
        let stored = StoredTemplate::parse(id, source, &self.limits).map_err(|invalid| {
            ApiError::unprocessable(codes::TEMPLATE_FIELD_INVALID, invalid.to_string())
        })?;
        if stored.source.template_type == TemplateType::Layout {
            for (field, part) in [
                ("HtmlBody", &stored.html_body),
                ("TextBody", &stored.text_body),
            ] {
                if part.as_ref().is_some_and(|t| t.content_placeholders() != 1) {
                    return Err(ApiError::unprocessable(
                        codes::LAYOUT_CONTENT_PLACEHOLDER,
                        format!(
                            "A layout's {field} must contain {{{{{{@content}}}}}} exactly once."
                        ),
                    ));
                }
            }
        }
        Ok(stored)
    }
}

/// Field rules that need no other template: required, allowed, sizes, alias format.
fn check_fields(source: &TemplateSource) -> Result<(), ApiError> {
    let missing =
        |what: &str| ApiError::unprocessable(codes::TEMPLATE_FIELD_MISSING, what.to_owned());
    let not_allowed =
        |what: &str| ApiError::unprocessable(codes::TEMPLATE_FIELD_NOT_ALLOWED, what.to_owned());
    if source.name.trim().is_empty() {
        return Err(missing("The 'Name' field is required."));
    }
    if source.html_body.is_none() && source.text_body.is_none() {
        return Err(missing("Provide an HtmlBody, a TextBody, or both."));
    }
    match source.template_type {
        TemplateType::Standard => {
            if source.subject.is_none() {
                return Err(missing(
                    "The 'Subject' field is required for a standard template.",
                ));
            }
        }
        TemplateType::Layout => {
            if source.alias.is_none() {
                return Err(missing(
                    "A layout needs an 'Alias': templates name their layout by it.",
                ));
            }
            if source.subject.is_some() {
                return Err(not_allowed("A layout has no 'Subject'."));
            }
            if source.layout_template.is_some() {
                return Err(not_allowed(
                    "A layout cannot have a 'LayoutTemplate' of its own.",
                ));
            }
        }
    }
    for (field, value) in [
        ("Subject", &source.subject),
        ("HtmlBody", &source.html_body),
        ("TextBody", &source.text_body),
    ] {
        if value.as_ref().is_some_and(|v| v.len() > MAX_FIELD_BYTES) {
            return Err(ApiError::unprocessable(
                codes::TEMPLATE_FIELD_TOO_LARGE,
                format!("The '{field}' field is larger than 5 MB."),
            ));
        }
    }
    if let Some(alias) = &source.alias
        && !valid_alias(alias)
    {
        return Err(ApiError::unprocessable(
            codes::TEMPLATE_FIELD_INVALID,
            format!(
                "The alias '{alias}' is invalid: use letters, digits, '.', '-' and '_', starting \
                 with a letter."
            ),
        ));
    }
    Ok(())
}

/// Postmark's alias rule: letters, digits, `.`, `-`, `_`, starting with a letter.
pub fn valid_alias(alias: &str) -> bool {
    let mut chars = alias.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// 1101 for a template that is not on this server.
pub fn not_found(id_or_alias: &str) -> ApiError {
    ApiError::unprocessable(
        codes::TEMPLATE_NOT_FOUND,
        format!("The template '{id_or_alias}' was not found on this server."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_a_template_inside_its_layout() {
        let mut templates = Templates::new(Limits::default());
        let layout = templates
            .create(TemplateSource {
                name: "Base".into(),
                alias: Some("base".into()),
                html_body: Some("<body>{{{@content}}}</body>".into()),
                text_body: Some("--\n{{{@content}}}\n--".into()),
                template_type: TemplateType::Layout,
                ..TemplateSource::default()
            })
            .unwrap();
        let template = templates
            .create(TemplateSource {
                name: "Code".into(),
                alias: Some("code".into()),
                subject: Some("{{code}} & more".into()),
                html_body: Some("<p>{{code}} {{who}}</p>".into()),
                text_body: Some("{{code}} {{who}}".into()),
                layout_template: Some("base".into()),
                ..TemplateSource::default()
            })
            .unwrap();
        assert_eq!(template.id, layout.id + 1);
        let rendered = template
            .render(
                &json!({"code": "123456", "who": "<a>"}),
                Some(&layout),
                &Limits::default(),
                &Budget::new(1000),
            )
            .unwrap();
        assert_eq!(rendered.subject.as_deref(), Some("123456 & more"));
        assert_eq!(
            rendered.html_body.as_deref(),
            Some("<body><p>123456 &#60;a&#62;</p></body>")
        );
        assert_eq!(rendered.text_body.as_deref(), Some("--\n123456 <a>\n--"));
        assert_eq!(templates.by_alias("code").map(|t| t.id), Some(template.id));
        assert!(templates.by_alias("CODE").is_none());
    }

    #[test]
    fn refuses_a_template_that_does_not_parse() {
        let mut templates = Templates::new(Limits::default());
        let err = templates
            .create(TemplateSource {
                name: "Broken".into(),
                subject: Some("s".into()),
                html_body: Some("{{#open}}".into()),
                ..TemplateSource::default()
            })
            .unwrap_err();
        assert_eq!(err.code, codes::TEMPLATE_FIELD_INVALID);
        assert!(err.message.contains("HtmlBody"), "{}", err.message);
        let both = templates
            .create(TemplateSource {
                name: "Broken twice".into(),
                subject: Some("s".into()),
                html_body: Some("{{/b}}".into()),
                text_body: Some("{{#q}}".into()),
                ..TemplateSource::default()
            })
            .unwrap_err();
        assert!(
            both.message.contains("HtmlBody") && both.message.contains("TextBody"),
            "{}",
            both.message
        );
        assert!(
            templates.by_id(FIRST_TEMPLATE_ID).is_none(),
            "nothing half-stored"
        );
    }

    #[test]
    fn enforces_postmarks_template_rules() {
        let mut templates = Templates::new(Limits::default());
        let standard = |alias: &str| TemplateSource {
            name: "T".into(),
            alias: Some(alias.into()),
            subject: Some("s".into()),
            text_body: Some("t".into()),
            ..TemplateSource::default()
        };
        let layout = |alias: &str, body: &str| TemplateSource {
            name: "L".into(),
            alias: Some(alias.into()),
            html_body: Some(body.into()),
            template_type: TemplateType::Layout,
            ..TemplateSource::default()
        };
        let code =
            |r: Result<Arc<StoredTemplate>, ApiError>| r.map(|_| 0).unwrap_or_else(|e| e.code);
        assert_eq!(
            code(templates.create(standard("1bad"))),
            codes::TEMPLATE_FIELD_INVALID
        );
        assert_eq!(code(templates.create(standard("ok.alias-1_x"))), 0);
        assert_eq!(
            code(templates.create(standard("ok.alias-1_x"))),
            codes::TEMPLATE_FIELD_INVALID
        );
        let no_subject = TemplateSource {
            subject: None,
            ..standard("other")
        };
        assert_eq!(
            code(templates.create(no_subject)),
            codes::TEMPLATE_FIELD_MISSING
        );
        assert_eq!(
            code(templates.create(layout("base", "no placeholder"))),
            codes::LAYOUT_CONTENT_PLACEHOLDER
        );
        assert_eq!(
            code(templates.create(layout("base", "{{{@content}}}{{{@content}}}"))),
            codes::LAYOUT_CONTENT_PLACEHOLDER
        );
        let with_subject = TemplateSource {
            subject: Some("s".into()),
            ..layout("base", "{{{@content}}}")
        };
        assert_eq!(
            code(templates.create(with_subject)),
            codes::TEMPLATE_FIELD_NOT_ALLOWED
        );
        let base = templates
            .create(layout("base", "<main>{{{@content}}}</main>"))
            .unwrap();
        let missing_layout = TemplateSource {
            layout_template: Some("nope".into()),
            ..standard("uses-nope")
        };
        assert_eq!(
            code(templates.create(missing_layout)),
            codes::TEMPLATE_NOT_FOUND
        );
        let child = TemplateSource {
            layout_template: Some("base".into()),
            ..standard("child")
        };
        let child = templates.create(child).unwrap();
        assert_eq!(
            templates.remove(base.id).unwrap_err().code,
            codes::LAYOUT_HAS_DEPENDENTS
        );
        let as_layout = TemplateSource {
            template_type: TemplateType::Layout,
            ..child.source.clone()
        };
        assert_eq!(
            templates.replace(child.id, as_layout).unwrap_err().code,
            codes::TEMPLATE_FIELD_NOT_ALLOWED
        );
        templates.remove(child.id).unwrap();
        templates.remove(base.id).unwrap();
        assert!(templates.find("base").is_none());
    }

    #[test]
    fn a_server_holds_at_most_100_templates() {
        let mut templates = Templates::new(Limits::default());
        for i in 0..MAX_TEMPLATES {
            templates
                .create(TemplateSource {
                    name: format!("T{i}"),
                    subject: Some("s".into()),
                    text_body: Some("t".into()),
                    ..TemplateSource::default()
                })
                .unwrap();
        }
        let over = templates.create(TemplateSource {
            name: "one too many".into(),
            subject: Some("s".into()),
            text_body: Some("t".into()),
            ..TemplateSource::default()
        });
        assert_eq!(over.unwrap_err().code, codes::TEMPLATE_LIMIT);
    }
}
