//! Postmark's template language, Mustachio, as its reference implementation
//! (ActiveCampaign/mustachio) parses and renders it.
//!
//! No Rust crate speaks this dialect, so it is ours. What it does, following Mustachio:
//!
//! - `{{ path }}` prints a value, HTML-escaped when rendering an HtmlBody (and only then);
//!   `{{{ path }}}` and `{{& path }}` print it raw. Strings and numbers print as they are,
//!   booleans as `True` / `False` (Mustachio is C#); objects, arrays and missing values print
//!   nothing.
//! - `{{#path}}…{{/path}}` renders its body once, scoped to the value, when the value is truthy
//!   (not missing, null, false, 0, "", [] or {}); `{{^path}}…{{/path}}` when it is not. A section
//!   over an array does not iterate: that is `{{#each path}}…{{/each}}`, which renders its body
//!   once per item (and fails on a truthy non-array, as Mustachio does).
//! - Paths are dotted (`user.name`), `.` or an empty tag is the current scope, and `../` climbs
//!   one scope (inside `each`, the first `../` reaches the array's scope, as in Mustachio).
//!   Climbing above the root stays at the root.
//! - `{{! comment }}` prints nothing; `{{{@content}}}` marks where a layout puts its template.
//! - A tag is `{{` + at least one character that is not a brace + `}}` (or the triple form);
//!   anything else is text.
//!
//! Against hostile templates and models, parsing limits nesting depth and how deep paths reach
//! into the model, and reports at most [`MAX_ERRORS`] problems; rendering limits output size
//! and total work ([`Limits`]). So nothing can crash or bloat the server.

use std::cell::Cell;
use std::fmt::Write as _;
use std::rc::Rc;

use serde_json::Value;

/// Bounds that keep a hostile template or model from exhausting the server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Deepest nesting of sections and `each` blocks accepted by [`parse`], and the most levels
    /// a path may reach into the model, counting the parts of the paths of the blocks around it
    /// (`{{#a.b}}{{c}}` reaches three): both bound the recursion over what was parsed and over
    /// the model suggested from it.
    pub max_depth: usize,
    /// Largest rendered output, in bytes (Postmark caps each body at 5 MB).
    pub max_output: usize,
    /// Most steps one request may spend rendering: every node visited and every `each`
    /// iteration is a step (this bounds `each` over `each` over big arrays, and batches).
    pub max_steps: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: 64,
            max_output: 5 * 1024 * 1024,
            max_steps: 1_000_000,
        }
    }
}

/// Whether `{{x}}` escapes HTML: only when rendering an HtmlBody.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// HtmlBody: `{{x}}` is HTML-escaped.
    Html,
    /// Subject and TextBody: everything prints as is.
    None,
}

/// A parsed template, ready to render any number of times.
#[derive(Clone, Debug)]
pub struct Template {
    nodes: Vec<Node>,
}

#[derive(Clone, Debug)]
enum Node {
    Text(String),
    Value {
        path: Path,
        raw: bool,
    },
    Section {
        path: Path,
        inverted: bool,
        body: Vec<Node>,
    },
    Each {
        path: Path,
        body: Vec<Node>,
    },
    /// `{{{@content}}}`: where a layout inserts the rendered template.
    Content,
}

#[derive(Clone, Debug, Default)]
struct Path(Vec<Step>);

#[derive(Clone, Debug)]
enum Step {
    Up,
    Key(String),
}

/// A problem found while parsing, with its 1-based position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line of the offending tag.
    pub line: usize,
    /// 1-based character on that line.
    pub column: usize,
    /// What is wrong, in Mustachio's words where it has them.
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {}, character {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Why a render stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenderError {
    /// The output grew past [`Limits::max_output`].
    OutputTooLarge {
        /// The limit that was hit, in bytes.
        limit: usize,
    },
    /// The render took more than [`Limits::max_steps`] steps.
    TooMuchWork {
        /// The limit that was hit.
        limit: u64,
    },
    /// `{{#each path}}` met a truthy value that is not an array.
    NotAnArray {
        /// The path as written in the template.
        path: String,
    },
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::OutputTooLarge { limit } => {
                write!(f, "the rendered content is larger than {limit} bytes")
            }
            Self::TooMuchWork { limit } => {
                write!(f, "rendering took more than {limit} steps")
            }
            Self::NotAnArray { path } => write!(
                f,
                "'{path}' is used like an array by the template, but is a scalar value or object in your model."
            ),
        }
    }
}

impl std::error::Error for RenderError {}

/// Most problems [`parse`] reports for one template; the rest are counted, not described.
pub const MAX_ERRORS: usize = 100;

/// Parses `source`; every problem is reported, not just the first (as Mustachio does), up to
/// [`MAX_ERRORS`] of them, in the order they appear.
pub fn parse(source: &str, limits: &Limits) -> Result<Template, Vec<ParseError>> {
    Parser::new(source, limits).run()
}

/// An open block while parsing: what closes it and where its children go.
struct Open {
    kind: OpenKind,
    name: String,
    path: Path,
    /// Levels this block's path reaches into the model, with the blocks around it.
    reach: usize,
    at: usize,
    body: Vec<Node>,
}

#[derive(PartialEq, Eq)]
enum OpenKind {
    Section,
    Inverted,
    Each,
}

struct Parser<'a> {
    source: &'a str,
    limits: &'a Limits,
    /// Byte offset and message of each problem found (at most [`MAX_ERRORS`] kept while
    /// scanning); lines and columns are worked out once, at the end.
    errors: Vec<(usize, String)>,
    /// Problems found beyond [`MAX_ERRORS`].
    dropped: usize,
    stack: Vec<Open>,
    root: Vec<Node>,
}

impl<'a> Parser<'a> {
    fn new(source: &'a str, limits: &'a Limits) -> Self {
        Self {
            source,
            limits,
            errors: Vec::new(),
            dropped: 0,
            stack: Vec::new(),
            root: Vec::new(),
        }
    }

    fn run(mut self) -> Result<Template, Vec<ParseError>> {
        let mut text_start = 0;
        let mut at = 0;
        while let Some(found) = self.source[at..].find("{{") {
            let start = at + found;
            let Some((end, tag)) = tag_at(self.source, start) else {
                at = start + 1;
                continue;
            };
            if start > text_start {
                let text = self.source[text_start..start].to_owned();
                self.push(Node::Text(text));
            }
            self.tag(start, tag);
            text_start = end;
            at = end;
        }
        if text_start < self.source.len() {
            let text = self.source[text_start..].to_owned();
            self.push(Node::Text(text));
        }
        while let Some(open) = self.stack.pop() {
            self.error(
                open.at,
                format!(
                    "A scope block to the following path was opened but not closed: '{}', \
                     please close it using the appropriate syntax.",
                    open.name
                ),
            );
        }
        if self.errors.is_empty() {
            return Ok(Template { nodes: self.root });
        }
        // Unclosed blocks were added last but sit earlier in the source: order by position
        // (stable, so problems at one tag keep the order they were found in).
        self.errors.sort_by_key(|(at, _)| *at);
        self.dropped += self.errors.len().saturating_sub(MAX_ERRORS);
        self.errors.truncate(MAX_ERRORS);
        let mut errors = positions(self.source, self.errors);
        if self.dropped > 0
            && let Some(last) = errors.last_mut()
        {
            last.message.push_str(&format!(
                " ({} more problems are not listed.)",
                self.dropped
            ));
        }
        Err(errors)
    }

    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(open) => open.body.push(node),
            None => self.root.push(node),
        }
    }

    fn error(&mut self, at: usize, message: String) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push((at, message));
        } else {
            self.dropped += 1;
        }
    }

    /// Levels the innermost open block reaches into the model.
    fn reach(&self) -> usize {
        self.stack.last().map_or(0, |open| open.reach)
    }

    fn path(&mut self, at: usize, token: &str) -> Path {
        match parse_path(token) {
            Some(path) if self.reach() + path.0.len() > self.limits.max_depth => {
                let shown: String = token.chars().take(40).collect();
                let more = if shown.len() < token.len() { "…" } else { "" };
                self.error(
                    at,
                    format!(
                        "The path '{shown}{more}' reaches more than {} levels into the model.",
                        self.limits.max_depth
                    ),
                );
                Path::default()
            }
            Some(path) => path,
            None => {
                self.error(
                    at,
                    format!(
                        "The path '{token}' is not valid. Please see documentation for examples of valid paths."
                    ),
                );
                Path::default()
            }
        }
    }

    fn open(&mut self, at: usize, kind: OpenKind, name: &str) {
        if self.stack.len() >= self.limits.max_depth {
            self.error(
                at,
                format!(
                    "Blocks are nested more than {} deep.",
                    self.limits.max_depth
                ),
            );
            return;
        }
        let path = self.path(at, name);
        let reach = self.reach() + path.0.len();
        self.stack.push(Open {
            kind,
            name: name.to_owned(),
            path,
            reach,
            at,
            body: Vec::new(),
        });
    }

    fn close(&mut self, at: usize, each: bool, name: &str) {
        let matches = self.stack.last().is_some_and(|open| {
            if each {
                open.kind == OpenKind::Each
            } else {
                open.kind != OpenKind::Each && open.name == name
            }
        });
        if !matches {
            let message = if each {
                "An 'each' block is being closed, but no corresponding opening element \
                 ('{{#each <name>}}') was detected."
            } else {
                "It appears that open and closing elements are mismatched."
            };
            self.error(at, message.to_owned());
            return;
        }
        if let Some(open) = self.stack.pop() {
            let node = match open.kind {
                OpenKind::Each => Node::Each {
                    path: open.path,
                    body: open.body,
                },
                OpenKind::Section | OpenKind::Inverted => Node::Section {
                    path: open.path,
                    inverted: open.kind == OpenKind::Inverted,
                    body: open.body,
                },
            };
            self.push(node);
        }
    }

    /// Handles one tag; `tag` is everything between the outer braces.
    fn tag(&mut self, at: usize, tag: Tag<'_>) {
        let Tag { inner, triple } = tag;
        if triple {
            let token = inner.trim_start_matches('&').trim();
            self.value(at, token, true);
        } else if let Some(rest) = inner.strip_prefix("#each") {
            if rest.starts_with(char::is_whitespace) && !rest.trim().is_empty() {
                self.open(at, OpenKind::Each, rest.trim());
            } else {
                self.error(
                    at,
                    "The 'each' block being opened requires a model path to be specified in \
                     the form '{{#each <name>}}'."
                        .to_owned(),
                );
            }
        } else if let Some(rest) = inner.strip_prefix("/each") {
            if rest.is_empty() {
                self.close(at, true, "");
            } else {
                self.error(
                    at,
                    "The syntax to close the 'each' block should be: '{{/each}}'.".to_owned(),
                );
            }
        } else if let Some(name) = inner.strip_prefix('#') {
            self.open(at, OpenKind::Section, name.trim());
        } else if let Some(name) = inner.strip_prefix('^') {
            self.open(at, OpenKind::Inverted, name.trim());
        } else if let Some(name) = inner.strip_prefix('/') {
            self.close(at, false, name.trim());
        } else if let Some(token) = inner.strip_prefix('&') {
            self.value(at, token.trim(), true);
        } else if inner.starts_with('!') {
            // A comment: nothing to render.
        } else {
            self.value(at, inner.trim(), false);
        }
    }

    fn value(&mut self, at: usize, token: &str, raw: bool) {
        if token == "@content" {
            self.push(Node::Content);
            return;
        }
        let path = self.path(at, token);
        self.push(Node::Value { path, raw });
    }
}

/// A tag found in the source: its inside and whether it used triple braces.
struct Tag<'a> {
    inner: &'a str,
    triple: bool,
}

/// Matches a tag at `start` (which holds `{{`) the way Mustachio's tokenizer regex does:
/// `{{[^{}]+?}}` first, then `{{{[^{}]+?}}}`. Returns the end offset and the tag.
fn tag_at(source: &str, start: usize) -> Option<(usize, Tag<'_>)> {
    let bytes = source.as_bytes();
    let scan = |from: usize| {
        let mut end = from;
        while end < bytes.len() && bytes[end] != b'{' && bytes[end] != b'}' {
            end += 1;
        }
        end
    };
    let body_end = scan(start + 2);
    if body_end > start + 2 && source[body_end..].starts_with("}}") {
        let inner = &source[start + 2..body_end];
        return Some((
            body_end + 2,
            Tag {
                inner,
                triple: false,
            },
        ));
    }
    if source[start..].starts_with("{{{") {
        let body_end = scan(start + 3);
        if body_end > start + 3 && source[body_end..].starts_with("}}}") {
            let inner = &source[start + 3..body_end];
            return Some((
                body_end + 3,
                Tag {
                    inner,
                    triple: true,
                },
            ));
        }
    }
    None
}

/// Validates and splits a path as Mustachio does. Invalid: `...`, any character other than
/// letters, digits, `_`, `.` and `/`, a `/` not preceded by `..`, or `..` not followed by `/`.
fn parse_path(token: &str) -> Option<Path> {
    let chars: Vec<char> = token.chars().collect();
    if token.contains("...") {
        return None;
    }
    for (i, &c) in chars.iter().enumerate() {
        let ok = c.is_alphanumeric() || c == '_' || c == '.' || c == '/';
        if !ok {
            return None;
        }
        if c == '/' && !(i >= 2 && chars[i - 1] == '.' && chars[i - 2] == '.') {
            return None;
        }
        let starts_dotdot = c == '.' && chars.get(i + 1) == Some(&'.');
        if starts_dotdot && chars.get(i + 2) != Some(&'/') {
            return None;
        }
    }
    let mut steps = Vec::new();
    let mut rest = token;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("../") {
            steps.push(Step::Up);
            rest = after;
        } else if let Some(after) = rest.strip_prefix('.') {
            rest = after;
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            steps.push(Step::Key(rest[..end].to_owned()));
            rest = &rest[end..];
        }
    }
    Some(Path(steps))
}

/// Turns `(byte offset, message)` pairs, sorted by offset, into errors with their 1-based
/// line and character, in one pass over `source`.
fn positions(source: &str, errors: Vec<(usize, String)>) -> Vec<ParseError> {
    let (mut offset, mut line, mut column) = (0, 1, 1);
    errors
        .into_iter()
        .map(|(at, message)| {
            let at = at.clamp(offset, source.len());
            for c in source.get(offset..at).unwrap_or_default().chars() {
                if c == '\n' {
                    line += 1;
                    column = 1;
                } else {
                    column += 1;
                }
            }
            offset = at;
            ParseError {
                line,
                column,
                message,
            }
        })
        .collect()
}

/// One scope while rendering: a value (maybe missing) and the scope it was reached from.
struct Scope<'v> {
    value: Option<&'v Value>,
    parent: Option<Rc<Scope<'v>>>,
}

/// The rendering work one request may still do; shared by every render of the request (all
/// parts of all messages of a batch), so no request can keep the server busy for long.
#[derive(Debug)]
pub struct Budget {
    left: Cell<u64>,
    limit: u64,
}

impl Budget {
    /// A budget of `steps`.
    pub fn new(steps: u64) -> Self {
        Self {
            left: Cell::new(steps),
            limit: steps,
        }
    }

    fn spend(&self) -> Result<(), RenderError> {
        match self.left.get().checked_sub(1) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => Err(RenderError::TooMuchWork { limit: self.limit }),
        }
    }
}

struct Renderer<'t> {
    out: String,
    budget: &'t Budget,
    escape: Escape,
    limits: Limits,
    content: Option<&'t str>,
}

impl Template {
    /// Renders with `model` as the root scope, with a budget of its own.
    #[cfg(test)]
    pub fn render(
        &self,
        model: &Value,
        escape: Escape,
        limits: &Limits,
    ) -> Result<String, RenderError> {
        self.render_in(model, escape, limits, None, &Budget::new(limits.max_steps))
    }

    /// Renders within `budget`; in a layout, `{{{@content}}}` prints `content`.
    pub fn render_in(
        &self,
        model: &Value,
        escape: Escape,
        limits: &Limits,
        content: Option<&str>,
        budget: &Budget,
    ) -> Result<String, RenderError> {
        let mut renderer = Renderer {
            out: String::new(),
            budget,
            escape,
            limits: *limits,
            content,
        };
        let root = Rc::new(Scope {
            value: Some(model),
            parent: None,
        });
        renderer.nodes(&self.nodes, &root)?;
        Ok(renderer.out)
    }

    /// How many `{{{@content}}}` placeholders the template has (a layout needs exactly one).
    pub fn content_placeholders(&self) -> usize {
        fn count(nodes: &[Node]) -> usize {
            nodes
                .iter()
                .map(|node| match node {
                    Node::Content => 1,
                    Node::Section { body, .. } | Node::Each { body, .. } => count(body),
                    Node::Text(_) | Node::Value { .. } => 0,
                })
                .sum()
        }
        count(&self.nodes)
    }
}

/// The model Postmark suggests for a template (`SuggestedTemplateModel`), inferred from how
/// each path is used, as Mustachio's `InferredTemplateModel` does: a printed value becomes
/// `"<name>_Value"`, an `each` over nothing else `["<name>_1", "<name>_2", "<name>_3"]`, an
/// `each` with fields `[{…}]`, and a section `{…}` of what it uses.
#[derive(Debug, Default)]
pub struct SuggestedModel {
    nodes: Vec<Inferred>,
}

#[derive(Debug, Default)]
struct Inferred {
    key: String,
    parent: Option<usize>,
    children: Vec<(String, usize)>,
    scalar: bool,
    conditional: bool,
    collection: bool,
}

impl SuggestedModel {
    /// An empty model, ready to learn from one or more templates.
    pub fn new() -> Self {
        Self {
            nodes: vec![Inferred::default()],
        }
    }

    /// Records every path `template` uses.
    pub fn learn(&mut self, template: &Template) {
        self.walk(&template.nodes, 0);
    }

    fn walk(&mut self, nodes: &[Node], scope: usize) {
        for node in nodes {
            match node {
                Node::Value { path, .. } => {
                    let at = self.find(scope, path);
                    self.nodes[at].scalar = true;
                }
                Node::Section { path, body, .. } => {
                    let at = self.find(scope, path);
                    self.nodes[at].conditional = true;
                    self.walk(body, at);
                }
                Node::Each { path, body } => {
                    let at = self.find(scope, path);
                    self.nodes[at].collection = true;
                    self.walk(body, at);
                }
                Node::Text(_) | Node::Content => {}
            }
        }
    }

    fn find(&mut self, scope: usize, path: &Path) -> usize {
        let mut at = scope;
        for step in &path.0 {
            at = match step {
                Step::Up => self.nodes[at].parent.unwrap_or(at),
                Step::Key(key) => {
                    let existing = self.nodes[at]
                        .children
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, i)| *i);
                    existing.unwrap_or_else(|| {
                        let index = self.nodes.len();
                        self.nodes.push(Inferred {
                            key: key.clone(),
                            parent: Some(at),
                            ..Inferred::default()
                        });
                        self.nodes[at].children.push((key.clone(), index));
                        index
                    })
                }
            };
        }
        at
    }

    /// The model as JSON.
    pub fn to_value(&self) -> Value {
        self.value_of(0)
    }

    fn value_of(&self, index: usize) -> Value {
        let node = &self.nodes[index];
        let children = || {
            Value::Object(
                node.children
                    .iter()
                    .map(|(key, child)| (key.clone(), self.value_of(*child)))
                    .collect(),
            )
        };
        let used = node.scalar || node.conditional || node.collection;
        if !used {
            children()
        } else if node.scalar && !node.conditional && !node.collection {
            Value::String(format!("{}_Value", node.key))
        } else if node.collection && node.children.is_empty() {
            Value::Array(
                (1..=3)
                    .map(|i| Value::String(format!("{}_{i}", node.key)))
                    .collect(),
            )
        } else if node.collection {
            Value::Array(vec![children()])
        } else {
            children()
        }
    }
}

impl Renderer<'_> {
    fn nodes<'v>(&mut self, nodes: &[Node], scope: &Rc<Scope<'v>>) -> Result<(), RenderError> {
        for node in nodes {
            self.budget.spend()?;
            match node {
                Node::Text(text) => self.write(text, false)?,
                Node::Content => {
                    if let Some(content) = self.content {
                        self.write(content, false)?;
                    }
                }
                Node::Value { path, raw } => {
                    let found = resolve(scope, path);
                    if let Some(text) = found.value.and_then(printable) {
                        let escape = !raw && self.escape == Escape::Html;
                        self.write(&text, escape)?;
                    }
                }
                Node::Section {
                    path,
                    inverted,
                    body,
                } => {
                    let found = resolve(scope, path);
                    if truthy(found.value) != *inverted {
                        self.nodes(body, &found)?;
                    }
                }
                Node::Each { path, body } => {
                    let found = resolve(scope, path);
                    if !truthy(found.value) {
                        continue;
                    }
                    let Some(items) = found.value.and_then(Value::as_array) else {
                        return Err(RenderError::NotAnArray {
                            path: path.to_string(),
                        });
                    };
                    for item in items {
                        self.budget.spend()?;
                        let item = Rc::new(Scope {
                            value: Some(item),
                            parent: Some(found.clone()),
                        });
                        self.nodes(body, &item)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn write(&mut self, text: &str, escape: bool) -> Result<(), RenderError> {
        if escape {
            // Escapes & < > " ' (as HttpUtility.HtmlEncode does, spelled as numeric entities).
            use askama::filters::Escaper as _;
            let _ = askama::filters::Html.write_escaped_str(&mut self.out, text);
        } else {
            self.out.push_str(text);
        }
        if self.out.len() > self.limits.max_output {
            return Err(RenderError::OutputTooLarge {
                limit: self.limits.max_output,
            });
        }
        Ok(())
    }
}

/// Walks `path` from `scope`. Every step makes a scope, even for a missing value, so `../`
/// climbs back the way the path came (Mustachio's ContextObject does the same).
fn resolve<'v>(scope: &Rc<Scope<'v>>, path: &Path) -> Rc<Scope<'v>> {
    let mut current = scope.clone();
    for step in &path.0 {
        current = match step {
            Step::Up => current.parent.clone().unwrap_or(current),
            Step::Key(key) => {
                let value = current
                    .value
                    .and_then(Value::as_object)
                    .and_then(|object| object.get(key));
                Rc::new(Scope {
                    value,
                    parent: Some(current),
                })
            }
        };
    }
    current
}

/// Mustachio's "exists": JavaScript-like falsiness, plus empty objects and arrays.
fn truthy(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// What `{{x}}` prints: scalars only, as C# would print them.
fn printable(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(true) => Some("True".to_owned()),
        Value::Bool(false) => Some("False".to_owned()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for step in &self.0 {
            match step {
                Step::Up => f.write_str("../")?,
                Step::Key(key) => {
                    if !first {
                        f.write_char('.')?;
                    }
                    f.write_str(key)?;
                    first = false;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(template: &str, model: Value, escape: Escape) -> Result<String, String> {
        let limits = Limits::default();
        let parsed = parse(template, &limits).map_err(|errors| {
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        parsed
            .render(&model, escape, &limits)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn renders_the_table() {
        let model = json!({
            "code": "123456",
            "name": "Zoë & <Co>",
            "quote": "\"it's\"",
            "n": 42, "f": 1.5, "zero": 0, "yes": true, "no": false, "empty": "", "nothing": null,
            "user": {"name": "Alice", "address": {"city": "Paris"}},
            "items": [{"title": "a"}, {"title": "b"}],
            "words": ["x", "y", "z"],
            "none": [], "blank": {},
            "title": "Root",
        });
        let html = Escape::Html;
        let text = Escape::None;
        let cases: &[(&str, Escape, &str)] = &[
            ("Your code is {{code}}.", text, "Your code is 123456."),
            ("{{ code }}", text, "123456"),
            ("{{name}}", html, "Zoë &#38; &#60;Co&#62;"),
            ("{{name}}", text, "Zoë & <Co>"),
            ("{{{name}}}", html, "Zoë & <Co>"),
            ("{{& name}}", html, "Zoë & <Co>"),
            ("{{quote}}", html, "&#34;it&#39;s&#34;"),
            ("{{n}} {{f}} {{zero}}", text, "42 1.5 0"),
            ("{{yes}} {{no}}", text, "True False"),
            (
                "[{{missing}}][{{nothing}}][{{user}}][{{items}}]",
                text,
                "[][][][]",
            ),
            (
                "{{user.name}} in {{user.address.city}}",
                text,
                "Alice in Paris",
            ),
            ("{{#user}}{{name}}{{/user}}", text, "Alice"),
            (
                "{{#user}}{{#address}}{{city}}/{{../name}}{{/address}}{{/user}}",
                text,
                "Paris/Alice",
            ),
            (
                "{{#user.address}}{{../name}}{{/user.address}}",
                text,
                "Alice",
            ),
            ("{{#user}}{{../../../title}}{{/user}}", text, "Root"),
            (
                "{{#missing}}no{{/missing}}{{^missing}}yes{{/missing}}",
                text,
                "yes",
            ),
            (
                "{{#zero}}no{{/zero}}{{#empty}}no{{/empty}}{{#no}}no{{/no}}",
                text,
                "",
            ),
            (
                "{{#none}}no{{/none}}{{#blank}}no{{/blank}}{{^none}}empty{{/none}}",
                text,
                "empty",
            ),
            ("{{#each items}}<{{title}}>{{/each}}", text, "<a><b>"),
            ("{{#each words}}{{.}},{{/each}}", text, "x,y,z,"),
            ("{{#each items}}{{../../title}}{{/each}}", text, "RootRoot"),
            (
                "{{#each none}}x{{/each}}{{#each missing}}x{{/each}}",
                text,
                "",
            ),
            ("{{#items}}[{{title}}]{{/items}}", text, "[]"),
            ("a{{! a comment }}b", text, "ab"),
            ("{not a tag} {{}} {{{ }} }", text, "{not a tag} {{}} { }"),
            ("{{{code}}", text, "{123456"),
            ("{{{@content}}}", text, ""),
        ];
        for (template, escape, expected) in cases {
            let got = render(template, model.clone(), *escape);
            assert_eq!(got.as_deref(), Ok(*expected), "template {template:?}");
        }
    }

    #[test]
    fn html_escaping_applies_only_to_double_braces_in_html() {
        let model = json!({"x": "<b>"});
        assert_eq!(
            render("{{x}}", model.clone(), Escape::Html).unwrap(),
            "&#60;b&#62;"
        );
        assert_eq!(render("{{x}}", model.clone(), Escape::None).unwrap(), "<b>");
        assert_eq!(render("{{{x}}}", model, Escape::Html).unwrap(), "<b>");
    }

    #[test]
    fn layouts_insert_content() {
        let limits = Limits::default();
        let layout = parse("<main>{{{ @content }}}</main> {{title}}", &limits).unwrap();
        assert_eq!(layout.content_placeholders(), 1);
        let out = layout
            .render_in(
                &json!({"title": "T"}),
                Escape::Html,
                &limits,
                Some("<p>hi</p>"),
                &Budget::new(100),
            )
            .unwrap();
        assert_eq!(out, "<main><p>hi</p></main> T");
        assert_eq!(parse("{{x}}", &limits).unwrap().content_placeholders(), 0);
    }

    #[test]
    fn reports_every_parse_error_with_positions() {
        let limits = Limits::default();
        let errors = parse("{{#a}}\n{{/b}} {{#each}} {{bad path}} {{/each}}", &limits).unwrap_err();
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(errors.len(), 5, "{messages:#?}");
        assert!(
            messages[0].starts_with("line 1, character 1: A scope block"),
            "{messages:#?}"
        );
        assert!(messages[1].starts_with("line 2, character 1: It appears that open and closing"));
        assert!(messages[2].contains("requires a model path"));
        assert!(messages[3].contains("The path 'bad path' is not valid"));
        assert!(messages[4].contains("An 'each' block is being closed"));
    }

    #[test]
    fn at_most_max_errors_are_described_and_the_rest_counted() {
        let source = "{{bad path}}\n".repeat(MAX_ERRORS + 50);
        let errors = parse(&source, &Limits::default()).unwrap_err();
        assert_eq!(errors.len(), MAX_ERRORS);
        let last = &errors[MAX_ERRORS - 1];
        assert_eq!((last.line, last.column), (MAX_ERRORS, 1));
        assert!(
            last.message.ends_with("(50 more problems are not listed.)"),
            "{last}"
        );
    }

    #[test]
    fn rejects_invalid_paths() {
        let limits = Limits::default();
        for bad in [
            "{{a...b}}",
            "{{a/b}}",
            "{{a..}}",
            "{{..}}",
            "{{a-b}}",
            "{{#x y}}{{/x y}}",
        ] {
            assert!(parse(bad, &limits).is_err(), "{bad} should not parse");
        }
        for good in [
            "{{a.b}}",
            "{{../a}}",
            "{{../../a.b_c}}",
            "{{.}}",
            "{{ }}",
            "{{Ünïcode}}",
        ] {
            assert!(parse(good, &limits).is_ok(), "{good} should parse");
        }
    }

    #[test]
    fn suggests_a_model_the_way_mustachio_infers_it() {
        let limits = Limits::default();
        let mut model = SuggestedModel::new();
        for source in [
            "{{code}} {{user.name}} {{#application}}{{name}}{{/application}}",
            "{{#each tags}}{{.}}{{/each}}{{#each items}}{{title}}{{../label}}{{/each}}{{^missing}}x{{/missing}}",
        ] {
            model.learn(&parse(source, &limits).unwrap());
        }
        assert_eq!(
            model.to_value(),
            json!({
                "code": "code_Value",
                "user": {"name": "name_Value"},
                "application": {"name": "name_Value"},
                "tags": ["tags_1", "tags_2", "tags_3"],
                "items": [{"title": "title_Value"}],
                "label": "label_Value",
                "missing": {},
            })
        );
    }

    #[test]
    fn each_over_a_scalar_is_an_error() {
        let err = render(
            "{{#each code}}x{{/each}}",
            json!({"code": "1"}),
            Escape::None,
        );
        assert_eq!(
            err.unwrap_err(),
            "'code' is used like an array by the template, but is a scalar value or object in your model."
        );
    }

    #[test]
    fn nesting_depth_is_limited() {
        let limits = Limits::default();
        let deep = "{{#a}}".repeat(10_000) + &"{{/a}}".repeat(10_000);
        let errors = parse(&deep, &limits).unwrap_err();
        assert!(
            errors
                .iter()
                .any(|e| e.message.contains("nested more than 64 deep"))
        );
        let ok = "{{#a}}".repeat(64) + "x" + &"{{/a}}".repeat(64);
        assert!(parse(&ok, &limits).is_ok());

        // Paths count with the blocks around them: 32 blocks of `a.b` plus `c` reach 65 levels.
        let far = "{{#a.b}}".repeat(32) + "{{c}}" + &"{{/a.b}}".repeat(32);
        let errors = parse(&far, &limits).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0]
                .message
                .contains("'c' reaches more than 64 levels")
        );
        let near = "{{#a.b}}".repeat(32) + "x" + &"{{/a.b}}".repeat(32);
        assert!(parse(&near, &limits).is_ok());
    }

    #[test]
    fn output_size_is_limited() {
        let limits = Limits {
            max_output: 1000,
            ..Limits::default()
        };
        let words: Vec<String> = (0..300).map(|i| format!("word{i}")).collect();
        let template = parse("{{#each w}}{{.}}{{/each}}", &limits).unwrap();
        let err = template
            .render(&json!({ "w": words }), Escape::None, &limits)
            .unwrap_err();
        assert_eq!(err, RenderError::OutputTooLarge { limit: 1000 });
    }

    #[test]
    fn iterations_count_even_when_the_body_is_empty() {
        // each over each over 2000 items with nothing inside: 4 million iterations.
        let limits = Limits::default();
        let items: Vec<u8> = vec![0; 2000];
        let template = parse("{{#each a}}{{#each ../../a}}{{/each}}{{/each}}", &limits).unwrap();
        let err = template
            .render(&json!({ "a": items }), Escape::None, &limits)
            .unwrap_err();
        assert_eq!(err, RenderError::TooMuchWork { limit: 1_000_000 });
    }

    #[test]
    fn one_budget_covers_several_renders() {
        let limits = Limits::default();
        let template = parse("{{#each a}}x{{/each}}", &limits).unwrap();
        let model = json!({"a": vec![0; 40]});
        let budget = Budget::new(100);
        assert!(
            template
                .render_in(&model, Escape::None, &limits, None, &budget)
                .is_ok()
        );
        let second = template.render_in(&model, Escape::None, &limits, None, &budget);
        assert_eq!(second.unwrap_err(), RenderError::TooMuchWork { limit: 100 });
    }

    #[test]
    fn work_is_limited_even_without_output() {
        // each over each over 2000 items: 4 million iterations that print nothing.
        let limits = Limits::default();
        let items: Vec<u8> = vec![0; 2000];
        let template = parse(
            "{{#each a}}{{#each ../../a}}{{x}}{{/each}}{{/each}}",
            &limits,
        )
        .unwrap();
        let err = template
            .render(&json!({ "a": items }), Escape::None, &limits)
            .unwrap_err();
        assert_eq!(err, RenderError::TooMuchWork { limit: 1_000_000 });
    }
}
