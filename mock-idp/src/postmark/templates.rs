//! Templates as Postmark stores them, parsed once, rendered per send.
//!
//! The fake's server starts with the fixture templates (Logto's default aliases); each one is
//! parsed with the Mustachio parser when stored, so a send only renders.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::mustachio::{self, Escape, Limits, ParseError, RenderError};

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

/// Which part of a template failed to parse, and why.
#[derive(Clone, Debug)]
pub struct InvalidTemplate {
    /// `Subject`, `HtmlBody` or `TextBody`.
    pub field: &'static str,
    /// Every problem in that field.
    pub errors: Vec<ParseError>,
}

impl std::fmt::Display for InvalidTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "The {} is invalid: ", self.field)?;
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{error}")?;
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
        let part = |field: &'static str, text: &Option<String>| {
            text.as_deref()
                .map(|text| mustachio::parse(text, limits))
                .transpose()
                .map_err(|errors| InvalidTemplate { field, errors })
        };
        Ok(Self {
            id,
            subject: part("Subject", &source.subject)?,
            html_body: part("HtmlBody", &source.html_body)?,
            text_body: part("TextBody", &source.text_body)?,
            source,
        })
    }

    /// Renders subject, HTML and text with `model`; `layout` wraps the bodies when given.
    pub fn render(
        &self,
        model: &Value,
        layout: Option<&StoredTemplate>,
        limits: &Limits,
    ) -> Result<Rendered, RenderError> {
        let render = |template: &Option<mustachio::Template>,
                      layout_part: Option<&Option<mustachio::Template>>,
                      escape: Escape|
         -> Result<Option<String>, RenderError> {
            let Some(template) = template else {
                return Ok(None);
            };
            let content = template.render(model, escape, limits)?;
            match layout_part {
                Some(Some(layout)) => layout
                    .render_with_content(model, escape, limits, Some(&content))
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

    /// Stores a template under the next id.
    pub fn insert(
        &mut self,
        source: TemplateSource,
    ) -> Result<Arc<StoredTemplate>, InvalidTemplate> {
        let stored = Arc::new(StoredTemplate::parse(self.next_id, source, &self.limits)?);
        self.by_id.insert(stored.id, stored.clone());
        self.next_id += 1;
        Ok(stored)
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

    /// The rendering limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_a_template_inside_its_layout() {
        let mut templates = Templates::new(Limits::default());
        let layout = templates
            .insert(TemplateSource {
                name: "Base".into(),
                alias: Some("base".into()),
                html_body: Some("<body>{{{@content}}}</body>".into()),
                text_body: Some("--\n{{{@content}}}\n--".into()),
                template_type: TemplateType::Layout,
                ..TemplateSource::default()
            })
            .unwrap();
        let template = templates
            .insert(TemplateSource {
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
            .insert(TemplateSource {
                name: "Broken".into(),
                html_body: Some("{{#open}}".into()),
                ..TemplateSource::default()
            })
            .unwrap_err();
        assert_eq!(err.field, "HtmlBody");
        assert!(
            templates.by_id(FIRST_TEMPLATE_ID).is_none(),
            "nothing half-stored"
        );
    }
}
