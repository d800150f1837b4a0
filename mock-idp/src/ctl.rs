//! `mock-idp ctl`: the control plane of a running mock Logto ([`mock_idp::control`]) from a
//! shell. Each command is one request under `/_mock/` of the instance's port; answers print
//! as pretty JSON (events as JSON Lines), and an error answer `{code, message}` exits non-zero.
//!
//! Reading the arguments is separate from sending them: [`CtlCommand::request`] turns a
//! command into a [`Request`] and checks what can be checked here (JSON is JSON, an instant is
//! RFC 3339, a fault id is a number); [`run`] sends it. What only the instance knows (whether a
//! user exists, whether a fault is well formed) it says itself, in its own words.

use std::error::Error;
use std::io::Write;
use std::ops::ControlFlow;
use std::time::Duration;

use clap::{Args, Subcommand};
use mock_idp::MockIdp;
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};

/// The environment variable naming the instance when `--url` does not.
pub const URL_ENV: &str = "MOCK_IDP_URL";
/// The environment variable holding the control token when `--control-token` does not (a
/// token in the environment stays out of `ps` and shell history).
pub const TOKEN_ENV: &str = "MOCK_IDP_CONTROL_TOKEN";

/// Long enough for a loaded CI machine, short enough that a wrong address fails soon.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Every control-plane answer but the event stream is immediate.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Args, Debug)]
#[command(after_help = "JSON arguments are the JSON itself, @FILE, or @- for standard input.")]
pub struct CtlArgs {
    /// The running mock Logto's base URL; its issuer (…/oidc) or control-plane URL (…/_mock)
    /// work too [default: $MOCK_IDP_URL, else http://127.0.0.1:3001]
    #[arg(long, global = true, value_name = "URL")]
    url: Option<String>,
    /// Sent as `Authorization: Bearer TOKEN`: the instance's --control-token
    /// [default: $MOCK_IDP_CONTROL_TOKEN]
    #[arg(long, global = true, value_name = "TOKEN")]
    control_token: Option<String>,
    #[command(subcommand)]
    command: CtlCommand,
}

#[derive(Subcommand, Debug, PartialEq)]
enum CtlCommand {
    /// The tenant's users (list is the default).
    Users {
        #[command(subcommand)]
        action: Option<UserAction>,
    },
    /// The tenant's applications (list is the default).
    #[command(visible_alias = "applications")]
    Apps {
        #[command(subcommand)]
        action: Option<AppAction>,
    },
    /// The mock clock (show is the default).
    Clock {
        #[command(subcommand)]
        action: Option<ClockAction>,
    },
    /// Scheduled faults (list is the default).
    Faults {
        #[command(subcommand)]
        action: Option<FaultAction>,
    },
    /// The event log, one JSON object a line.
    Events {
        /// Only the events after this sequence number.
        #[arg(long, value_name = "SEQ", default_value_t = 0)]
        after: u64,
        /// Keep printing new events as they happen, until Ctrl-C or the instance stops.
        #[arg(long, short)]
        follow: bool,
    },
    /// The inbox of the fake Postmark the instance sends to.
    Inbox {
        #[command(subcommand)]
        action: InboxAction,
    },
    /// Put the whole instance back as it started (tenant, keys, clock, faults, log, inbox).
    Reset,
}

#[derive(Subcommand, Debug, PartialEq)]
enum UserAction {
    /// Every user.
    List,
    /// One user.
    Get {
        /// Its id, primary email or username.
        key: String,
    },
    /// Add a user in Logto's shape, e.g. '{"primaryEmail": "bob@example.com"}'.
    Add {
        /// The user: JSON, @FILE or @-.
        json: String,
    },
    /// Change some fields of a user.
    Update {
        /// Its id, primary email or username.
        key: String,
        /// The fields to change: JSON, @FILE or @-.
        json: String,
    },
    /// Delete a user (its grants are revoked, its sessions ended).
    Delete {
        /// Its id, primary email or username.
        key: String,
    },
}

#[derive(Subcommand, Debug, PartialEq)]
enum AppAction {
    /// Every application.
    List,
    /// One application.
    Get { id: String },
    /// Add an application in Logto's shape (id and secret are drawn when absent).
    Add {
        /// The application: JSON, @FILE or @-.
        json: String,
    },
    /// Change some fields of an application.
    Update {
        id: String,
        /// The fields to change: JSON, @FILE or @-.
        json: String,
    },
    /// Delete an application.
    Delete { id: String },
}

#[derive(Subcommand, Debug, PartialEq)]
enum ClockAction {
    /// The mock clock's time.
    Show,
    /// Set the clock to an RFC 3339 instant, e.g. 2026-01-01T00:00:00Z.
    Set { instant: String },
    /// Move the clock forward, e.g. 90s, 1h30m, 14d, 250ms or 90 (seconds).
    Advance { duration: String },
}

#[derive(Subcommand, Debug, PartialEq)]
enum FaultAction {
    /// The pending faults, with their ids.
    List,
    /// Schedule one fault or an array of them, e.g. '{"kind": "token_error", "status": 500, "times": 2}'.
    Add {
        /// One fault or an array: JSON, @FILE or @-.
        json: String,
    },
    /// Remove a pending fault.
    Remove {
        /// Its id, as `faults list` shows it.
        id: u64,
    },
    /// Remove every pending fault.
    Clear,
}

#[derive(Subcommand, Debug, PartialEq)]
enum InboxAction {
    /// Delete every message.
    Clear,
}

/// What a command sends: a method and a path under `/_mock/`.
#[derive(Debug, PartialEq)]
struct Request {
    method: Method,
    /// Segments after `/_mock/`, unencoded (a user key may hold any character).
    path: Vec<String>,
    query: Vec<(&'static str, String)>,
    body: Option<Value>,
    answer: Answer,
}

/// How the answer is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    /// Pretty JSON (nothing for 204).
    Json,
    /// JSON Lines, as the instance sends them.
    Lines,
    /// JSON Lines as they arrive, until the instance ends the stream.
    Stream,
}

impl Request {
    fn new(method: Method, path: &[&str]) -> Self {
        Self {
            method,
            path: path.iter().map(|s| (*s).to_owned()).collect(),
            query: Vec::new(),
            body: None,
            answer: Answer::Json,
        }
    }

    fn get(path: &[&str]) -> Self {
        Self::new(Method::GET, path)
    }

    fn with_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// What went wrong, said for a person (`main` prints it after `mock-idp: `).
#[derive(Debug, PartialEq)]
pub struct Failure(String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for Failure {}

impl CtlCommand {
    /// The request this command sends, checked as far as it can be without the instance.
    fn request(self) -> Result<Request, Failure> {
        use Method as M;
        Ok(match self {
            Self::Users { action } => match action.unwrap_or(UserAction::List) {
                UserAction::List => Request::get(&["users"]),
                UserAction::Get { key } => Request::get(&["users", &key]),
                UserAction::Add { json } => {
                    Request::new(M::POST, &["users"]).with_body(object(&json, "a user")?)
                }
                UserAction::Update { key, json } => Request::new(M::PATCH, &["users", &key])
                    .with_body(object(&json, "a user's changes")?),
                UserAction::Delete { key } => Request::new(M::DELETE, &["users", &key]),
            },
            Self::Apps { action } => match action.unwrap_or(AppAction::List) {
                AppAction::List => Request::get(&["applications"]),
                AppAction::Get { id } => Request::get(&["applications", &id]),
                AppAction::Add { json } => Request::new(M::POST, &["applications"])
                    .with_body(object(&json, "an application")?),
                AppAction::Update { id, json } => Request::new(M::PATCH, &["applications", &id])
                    .with_body(object(&json, "an application's changes")?),
                AppAction::Delete { id } => Request::new(M::DELETE, &["applications", &id]),
            },
            Self::Clock { action } => match action.unwrap_or(ClockAction::Show) {
                ClockAction::Show => Request::get(&["clock"]),
                ClockAction::Set { instant } => {
                    rfc3339(&instant)?;
                    Request::new(M::POST, &["clock"]).with_body(json!({ "set": instant }))
                }
                // The instance reads the duration: one parser, one set of messages.
                ClockAction::Advance { duration } => {
                    Request::new(M::POST, &["clock"]).with_body(json!({ "advance": duration }))
                }
            },
            Self::Faults { action } => match action.unwrap_or(FaultAction::List) {
                FaultAction::List => Request::get(&["faults"]),
                // The instance checks each fault (its version of the fault kinds is the one
                // that counts) and schedules none unless all are good.
                FaultAction::Add { json } => {
                    Request::new(M::POST, &["faults"]).with_body(faults(&json)?)
                }
                FaultAction::Remove { id } => Request::new(M::DELETE, &["faults", &id.to_string()]),
                FaultAction::Clear => Request::new(M::DELETE, &["faults"]),
            },
            Self::Events { after, follow } => {
                let path: &[&str] = if follow {
                    &["events", "stream"]
                } else {
                    &["events"]
                };
                let mut request = Request::get(path);
                if after > 0 {
                    request.query.push(("after", after.to_string()));
                }
                if follow {
                    request.answer = Answer::Stream;
                } else {
                    request.query.push(("format", "jsonl".into()));
                    request.answer = Answer::Lines;
                }
                request
            }
            Self::Inbox {
                action: InboxAction::Clear,
            } => Request::new(M::DELETE, &["inbox"]),
            Self::Reset => Request::new(M::POST, &["reset"]),
        })
    }
}

/// Reads a JSON argument: the JSON itself, `@FILE`, or `@-` (standard input). No JSON text
/// starts with `@`, so the two never overlap.
fn read_json(arg: &str) -> Result<Value, Failure> {
    let (text, source) = match arg.strip_prefix('@') {
        Some("-") => {
            let text = std::io::read_to_string(std::io::stdin())
                .map_err(|e| Failure(format!("reading standard input: {e}")))?;
            (text, "standard input".to_owned())
        }
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| Failure(format!("{path}: {e}")))?;
            (text, path.to_owned())
        }
        None => (arg.to_owned(), format!("{arg:?}")),
    };
    serde_json::from_str(&text).map_err(|e| Failure(format!("{source} is not JSON: {e}")))
}

fn object(arg: &str, what: &str) -> Result<Value, Failure> {
    match read_json(arg)? {
        value @ Value::Object(_) => Ok(value),
        _ => Err(Failure(format!("{what} is a JSON object ({{…}})"))),
    }
}

fn faults(arg: &str) -> Result<Value, Failure> {
    let value = read_json(arg)?;
    let all_objects = match &value {
        Value::Object(_) => true,
        Value::Array(list) => list.iter().all(Value::is_object),
        _ => false,
    };
    if !all_objects {
        return Err(Failure(
            "a fault is a JSON object ({\"kind\": …}); several are an array of them".into(),
        ));
    }
    Ok(value)
}

fn rfc3339(instant: &str) -> Result<(), Failure> {
    time::OffsetDateTime::parse(instant, &time::format_description::well_known::Rfc3339)
        .map(drop)
        .map_err(|e| {
            Failure(format!(
                "{instant:?} is not an RFC 3339 instant like 2026-01-01T00:00:00Z: {e}"
            ))
        })
}

/// The instance's base URL: `--url`, else `MOCK_IDP_URL`, else the default port on
/// 127.0.0.1. A bare `host:port` means http; a trailing `/oidc` (the issuer) or `/_mock` (the
/// control plane) names the same instance.
fn base_url(flag: Option<&str>, env: Option<&str>) -> Result<Url, Failure> {
    let given = flag
        .or(env.filter(|url| !url.trim().is_empty()))
        .map(str::trim)
        .map(str::to_owned)
        .unwrap_or_else(|| format!("http://127.0.0.1:{}", MockIdp::DEFAULT_PORT));
    let text = if given.contains("://") {
        given.clone()
    } else {
        format!("http://{given}")
    };
    let mut url = Url::parse(&text).map_err(|e| Failure(format!("{given:?} is not a URL: {e}")))?;
    match url.scheme() {
        "http" => {}
        // reqwest is built without TLS (the mock serves plain http).
        "https" => {
            return Err(Failure(format!(
                "{given}: mock-idp ctl speaks plain http (the mock Logto serves no TLS); \
                 give its http:// address"
            )));
        }
        other => return Err(Failure(format!("{given}: {other}: is not http"))),
    }
    url.set_query(None);
    url.set_fragment(None);
    let mut segments: Vec<String> = url
        .path_segments()
        .map(|s| s.filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    if matches!(segments.last().map(String::as_str), Some("oidc" | "_mock")) {
        segments.pop();
    }
    url.set_path(&segments.join("/"));
    Ok(url)
}

/// The URL of `request` on the instance at `base`, each path segment percent-encoded.
fn request_url(base: &Url, request: &Request) -> Result<Url, Failure> {
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| Failure(format!("{base} cannot take a path")))?
        .pop_if_empty()
        .push("_mock")
        .extend(&request.path);
    if !request.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&request.query);
    }
    Ok(url)
}

/// The control token: `--control-token`, else `MOCK_IDP_CONTROL_TOKEN`.
fn token(flag: Option<String>, env: Option<String>) -> Option<String> {
    flag.or(env.filter(|token| !token.is_empty()))
}

/// Sends the command to the instance and prints its answer.
pub async fn run(args: CtlArgs) -> Result<(), Failure> {
    let base = base_url(args.url.as_deref(), std::env::var(URL_ENV).ok().as_deref())?;
    let token = token(args.control_token, std::env::var(TOKEN_ENV).ok());
    let request = args.command.request()?;
    let url = request_url(&base, &request)?;
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Failure(format!("an HTTP client: {e}")))?;
    let mut call = client.request(request.method.clone(), url.clone());
    if let Some(token) = &token {
        call = call.bearer_auth(token);
    }
    if let Some(body) = &request.body {
        call = call.json(body);
    }
    if request.answer != Answer::Stream {
        call = call.timeout(ANSWER_TIMEOUT);
    }
    let mut response = call.send().await.map_err(|e| no_answer(&base, &e))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.bytes().await.unwrap_or_default();
        return Err(error_answer(&url, status, &body));
    }
    // Nothing follows a single answer: a reader that went away changes nothing there.
    match request.answer {
        Answer::Json => {
            let body = response.bytes().await.map_err(|e| no_answer(&base, &e))?;
            if !body.is_empty() {
                let _ = emit(&pretty(&body))?;
            }
        }
        Answer::Lines => {
            let body = response.bytes().await.map_err(|e| no_answer(&base, &e))?;
            let _ = emit(&body)?;
        }
        Answer::Stream => loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if emit(&chunk)?.is_break() {
                        break;
                    }
                }
                // The instance stopped and ended the stream.
                Ok(None) => break,
                Err(e) => {
                    return Err(Failure(format!(
                        "the event stream from {} broke off: {}",
                        shown(&base),
                        cause(&e)
                    )));
                }
            }
        },
    }
    Ok(())
}

/// The base URL as people write it (no trailing slash).
fn shown(base: &Url) -> &str {
    base.as_str().trim_end_matches('/')
}

/// A request that got no answer: which instance, and that it must be running.
fn no_answer(base: &Url, error: &reqwest::Error) -> Failure {
    let base = shown(base);
    if error.is_connect() {
        Failure(format!(
            "could not reach the mock Logto at {base} ({}): it must be running (start it \
             with `mock-idp`) and --url or {URL_ENV} must name it",
            cause(error)
        ))
    } else if error.is_timeout() {
        Failure(format!(
            "the mock Logto at {base} did not answer in time ({})",
            cause(error)
        ))
    } else {
        Failure(format!(
            "talking to the mock Logto at {base}: {}",
            cause(error)
        ))
    }
}

/// The innermost cause ("Connection refused (os error 111)"), which says the most.
fn cause(error: &(dyn Error + 'static)) -> String {
    let mut inner = error;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}

/// An error answer: the control plane's `{code, message}`, or whatever else answered.
fn error_answer(url: &Url, status: StatusCode, body: &[u8]) -> Failure {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match (field("code"), field("message")) {
        // The control plane speaks HTTP; from the command line, a token is given as a flag.
        (Some(code), Some(_)) if code == "control.unauthorized" => Failure(format!(
            "the control plane needs the instance's control token: pass --control-token TOKEN or \
             set {TOKEN_ENV} ({code})"
        )),
        (Some(code), Some(message)) => Failure(format!("{message} ({code})")),
        _ => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(200).collect();
            Failure(format!(
                "{url} answered {status} {text:?}: is this a mock Logto's address?"
            ))
        }
    }
}

/// Pretty JSON and a newline; a body that is not JSON as it came.
fn pretty(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<Value>(body).and_then(|v| serde_json::to_vec_pretty(&v)) {
        Ok(mut text) => {
            text.push(b'\n');
            text
        }
        Err(_) => body.to_vec(),
    }
}

/// Writes to stdout at once (a follower shows each event as it comes). A reader that went
/// away (`| head`) breaks: the command ends quietly, like other command-line tools.
fn emit(bytes: &[u8]) -> Result<ControlFlow<()>, Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(ControlFlow::Continue(())),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ControlFlow::Break(())),
        Err(e) => Err(Failure(format!("writing to standard output: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cli, Command};
    use clap::Parser;

    fn ctl(args: &[&str]) -> CtlArgs {
        let argv = ["mock-idp", "ctl"].into_iter().chain(args.iter().copied());
        match Cli::try_parse_from(argv).unwrap().command {
            Some(Command::Ctl(args)) => args,
            _ => panic!("not a ctl command: {args:?}"),
        }
    }

    fn request(args: &[&str]) -> Request {
        ctl(args).command.request().unwrap()
    }

    fn failure(args: &[&str]) -> String {
        ctl(args).command.request().unwrap_err().0
    }

    fn url_of(args: &[&str]) -> String {
        let base = base_url(Some("http://127.0.0.1:3001"), None).unwrap();
        request_url(&base, &request(args)).unwrap().to_string()
    }

    #[test]
    fn each_command_is_one_request_under_the_control_prefix() {
        let cases: &[(&[&str], Method, &str, Option<Value>)] = &[
            (&["users", "list"], Method::GET, "/_mock/users", None),
            (
                &["users", "get", "alice@example.com"],
                Method::GET,
                "/_mock/users/alice@example.com",
                None,
            ),
            (
                &["users", "add", r#"{"primaryEmail":"bob@example.com"}"#],
                Method::POST,
                "/_mock/users",
                Some(json!({"primaryEmail": "bob@example.com"})),
            ),
            (
                &["users", "update", "bob", r#"{"name":"Bob"}"#],
                Method::PATCH,
                "/_mock/users/bob",
                Some(json!({"name": "Bob"})),
            ),
            (
                &["users", "delete", "bob"],
                Method::DELETE,
                "/_mock/users/bob",
                None,
            ),
            (&["apps", "list"], Method::GET, "/_mock/applications", None),
            (
                &["applications", "get", "app1"],
                Method::GET,
                "/_mock/applications/app1",
                None,
            ),
            (
                &["apps", "add", "{}"],
                Method::POST,
                "/_mock/applications",
                Some(json!({})),
            ),
            (
                &["apps", "update", "app1", r#"{"name":"x"}"#],
                Method::PATCH,
                "/_mock/applications/app1",
                Some(json!({"name": "x"})),
            ),
            (
                &["apps", "delete", "app1"],
                Method::DELETE,
                "/_mock/applications/app1",
                None,
            ),
            (&["clock", "show"], Method::GET, "/_mock/clock", None),
            (
                &["clock", "set", "2026-01-01T00:00:00Z"],
                Method::POST,
                "/_mock/clock",
                Some(json!({"set": "2026-01-01T00:00:00Z"})),
            ),
            (
                &["clock", "advance", "1h30m"],
                Method::POST,
                "/_mock/clock",
                Some(json!({"advance": "1h30m"})),
            ),
            (&["faults", "list"], Method::GET, "/_mock/faults", None),
            (
                &["faults", "add", r#"[{"kind":"token_error"}]"#],
                Method::POST,
                "/_mock/faults",
                Some(json!([{"kind": "token_error"}])),
            ),
            (
                &["faults", "remove", "3"],
                Method::DELETE,
                "/_mock/faults/3",
                None,
            ),
            (&["faults", "clear"], Method::DELETE, "/_mock/faults", None),
            (&["inbox", "clear"], Method::DELETE, "/_mock/inbox", None),
            (&["reset"], Method::POST, "/_mock/reset", None),
        ];
        for (args, method, path, body) in cases {
            let request = request(args);
            assert_eq!(&request.method, method, "{args:?}");
            assert_eq!(&request.body, body, "{args:?}");
            assert_eq!(request.answer, Answer::Json, "{args:?}");
            assert_eq!(
                url_of(args),
                format!("http://127.0.0.1:3001{path}"),
                "{args:?}"
            );
        }
    }

    #[test]
    fn list_and_show_are_the_defaults() {
        assert_eq!(request(&["users"]), request(&["users", "list"]));
        assert_eq!(request(&["apps"]), request(&["apps", "list"]));
        assert_eq!(request(&["faults"]), request(&["faults", "list"]));
        assert_eq!(request(&["clock"]), request(&["clock", "show"]));
        assert!(Cli::try_parse_from(["mock-idp", "ctl", "inbox"]).is_err());
        assert!(Cli::try_parse_from(["mock-idp", "ctl"]).is_err());
    }

    #[test]
    fn events_are_json_lines_and_follow_reads_the_stream() {
        let once = request(&["events"]);
        assert_eq!(once.answer, Answer::Lines);
        assert_eq!(
            url_of(&["events"]),
            "http://127.0.0.1:3001/_mock/events?format=jsonl"
        );
        assert_eq!(
            url_of(&["events", "--after", "7"]),
            "http://127.0.0.1:3001/_mock/events?after=7&format=jsonl"
        );
        assert_eq!(request(&["events", "-f"]).answer, Answer::Stream);
        assert_eq!(
            url_of(&["events", "--follow", "--after", "7"]),
            "http://127.0.0.1:3001/_mock/events/stream?after=7"
        );
        assert!(Cli::try_parse_from(["mock-idp", "ctl", "events", "--after", "-1"]).is_err());
    }

    #[test]
    fn a_user_key_is_one_path_segment_whatever_it_holds() {
        assert_eq!(
            url_of(&["users", "get", "a/b?c#d e"]),
            "http://127.0.0.1:3001/_mock/users/a%2Fb%3Fc%23d%20e"
        );
    }

    #[test]
    fn json_that_is_not_json_is_an_error_before_anything_is_sent() {
        let message = failure(&["users", "add", "{primaryEmail: bob}"]);
        assert!(
            message.starts_with("\"{primaryEmail: bob}\" is not JSON: "),
            "{message}"
        );
        assert_eq!(
            failure(&["users", "add", "[1]"]),
            "a user is a JSON object ({…})"
        );
        assert_eq!(
            failure(&["apps", "update", "app1", "\"x\""]),
            "an application's changes is a JSON object ({…})"
        );
        assert!(failure(&["faults", "add", "[{}, 2]"]).starts_with("a fault is a JSON object"));
        let missing = failure(&["faults", "add", "@/nonexistent/faults.json"]);
        assert!(
            missing.starts_with("/nonexistent/faults.json: "),
            "{missing}"
        );
    }

    #[test]
    fn clock_set_takes_an_rfc3339_instant_and_fault_ids_are_numbers() {
        let message = failure(&["clock", "set", "tomorrow"]);
        assert!(
            message.starts_with("\"tomorrow\" is not an RFC 3339 instant"),
            "{message}"
        );
        assert!(Cli::try_parse_from(["mock-idp", "ctl", "faults", "remove", "x"]).is_err());
    }

    #[test]
    fn the_url_comes_from_the_flag_then_the_environment_then_the_default_port() {
        let url = |flag, env| base_url(flag, env).map(|url| shown(&url).to_owned());
        assert_eq!(url(None, None), Ok("http://127.0.0.1:3001".into()));
        assert_eq!(url(None, Some("")), Ok("http://127.0.0.1:3001".into()));
        assert_eq!(
            url(None, Some("http://idp:4000")),
            Ok("http://idp:4000".into())
        );
        assert_eq!(
            url(Some("http://localhost:5000/"), Some("http://idp:4000")),
            Ok("http://localhost:5000".into())
        );
        assert_eq!(
            url(Some("localhost:5000"), None),
            Ok("http://localhost:5000".into())
        );
        // The banner's issuer and control-plane lines name the same instance.
        for same in [
            "http://127.0.0.1:9/oidc",
            "http://127.0.0.1:9/_mock/",
            "http://127.0.0.1:9?x#y",
        ] {
            assert_eq!(
                url(Some(same), None),
                Ok("http://127.0.0.1:9".into()),
                "{same}"
            );
        }
        // Behind a proxy under a path, the prefix is kept.
        assert_eq!(
            url(Some("http://h/idp/oidc"), None),
            Ok("http://h/idp".into())
        );
        assert!(
            url(Some("https://h"), None)
                .unwrap_err()
                .0
                .contains("plain http")
        );
        assert!(url(Some("ftp://h"), None).is_err());
        assert!(url(Some("http://"), None).is_err());
    }

    #[test]
    fn url_and_token_go_before_or_after_the_command_and_the_token_may_come_from_the_environment() {
        let before = ctl(&["--url", "http://h:1", "--control-token", "t", "reset"]);
        let after = ctl(&["reset", "--url", "http://h:1", "--control-token", "t"]);
        for args in [before, after] {
            assert_eq!(args.url.as_deref(), Some("http://h:1"));
            assert_eq!(args.control_token.as_deref(), Some("t"));
        }
        assert_eq!(token(None, Some("env".into())), Some("env".into()));
        assert_eq!(
            token(Some("flag".into()), Some("env".into())),
            Some("flag".into())
        );
        assert_eq!(token(None, Some(String::new())), None);
    }

    #[test]
    fn error_answers_say_the_control_plane_message_and_code() {
        let url = Url::parse("http://127.0.0.1:3001/_mock/users/x").unwrap();
        let body = br#"{"code":"control.not_found","message":"no user has the id, email or username \"x\""}"#;
        assert_eq!(
            error_answer(&url, StatusCode::NOT_FOUND, body).0,
            r#"no user has the id, email or username "x" (control.not_found)"#
        );
        let other = error_answer(&url, StatusCode::NOT_FOUND, b"Not Found").0;
        assert!(other.contains("404 Not Found \"Not Found\""), "{other}");
    }
}
