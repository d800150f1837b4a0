//! `mock-idp ctl` end to end: the real binary serves on port 0 (its banner says where), and
//! each `ctl` command is a child process of its own, as a person or a script runs it.

use std::process::{Command, Output, Stdio};

use mock_idp::Event;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::binary::{BIN, Killed, PATIENCE, Running, lines};

const TOKEN: &str = "cli-test-token";

/// `mock-idp --port 0 --postmark-port 0 --control-token …`, and the URL its banner names.
struct Server {
    url: String,
    running: Running,
}

impl Server {
    fn start() -> Self {
        let running = Running::start(&[
            "--port",
            "0",
            "--postmark-port",
            "0",
            "--control-token",
            TOKEN,
        ]);
        Self {
            url: running.base_url(),
            running,
        }
    }

    fn log(&self) -> String {
        self.running.log()
    }

    /// `mock-idp ctl --url URL ARGS…`, with the control token in the environment.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(["ctl", "--url", &self.url])
            .args(args)
            .env("MOCK_IDP_CONTROL_TOKEN", TOKEN)
            .env_remove("MOCK_IDP_URL")
            .stdin(Stdio::null());
        command
    }

    fn ctl(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("mock-idp ctl runs")
    }

    /// Runs a command that must succeed; its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.ctl(args);
        assert!(
            output.status.success(),
            "mock-idp ctl {args:?} failed: {}\nmock-idp's log:\n{}",
            String::from_utf8_lossy(&output.stderr),
            self.log()
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs a command that must succeed and print JSON.
    fn json(&self, args: &[&str]) -> Value {
        let stdout = self.ok(args);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?} printed {stdout:?}: {e}"))
    }

    fn events(&self, args: &[&str]) -> Vec<Event> {
        let stdout = self.ok(&[&["events"][..], args].concat());
        stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
            .collect()
    }
}

fn instant(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().unwrap(), &Rfc3339).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn ctl_changes_a_running_mock_logto_and_reset_undoes_it() {
    let server = Server::start();
    let fixture = server.json(&["users", "list"]);

    // Users.
    let carol = server.json(&[
        "users",
        "add",
        r#"{"primaryEmail": "carol.cli@example.com"}"#,
    ]);
    let id = carol["id"].as_str().unwrap();
    let users = server.json(&["users"]);
    let listed = users.as_array().unwrap();
    assert_eq!(listed.len(), fixture.as_array().unwrap().len() + 1);
    assert!(
        listed
            .iter()
            .any(|u| u["primaryEmail"] == "carol.cli@example.com")
    );
    assert_eq!(
        server.json(&["users", "get", "carol.cli@example.com"])["id"],
        id
    );

    // The clock.
    let before = instant(&server.json(&["clock"])["now"]);
    let moved = server.json(&["clock", "advance", "1h30m"]);
    let shown = instant(&server.json(&["clock", "show"])["now"]);
    assert!(shown >= instant(&moved["now"]));
    assert!(
        shown >= before + time::Duration::minutes(90),
        "{before} then {shown}"
    );
    server.json(&["clock", "set", "2030-01-01T00:00:00Z"]);
    let shown = instant(&server.json(&["clock"])["now"]);
    let set = instant(&Value::from("2030-01-01T00:00:00Z"));
    assert!(
        shown >= set && shown < set + time::Duration::hours(1),
        "{shown}"
    );

    // Faults, from a file.
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-faults-{}.json", std::process::id()));
    std::fs::write(
        &file,
        r#"[{"kind": "token_error", "status": 500, "times": 2}]"#,
    )
    .unwrap();
    let added = server.json(&["faults", "add", &format!("@{}", file.display())]);
    let _ = std::fs::remove_file(&file);
    let fault_id = added[0]["id"].as_u64().unwrap();
    let faults = server.json(&["faults", "list"]);
    assert_eq!(faults.as_array().unwrap().len(), 1, "{faults}");
    assert_eq!(faults[0]["id"], fault_id);
    assert_eq!(faults[0]["kind"], "token_error");

    // The event log, as JSON Lines.
    let events = server.events(&[]);
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    for kind in [
        "user.created",
        "clock.advanced",
        "clock.set",
        "fault.scheduled",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    let last = events.last().unwrap().seq;
    assert_eq!(
        server.events(&["--after", &(last - 1).to_string()]).len(),
        1
    );

    // Following the log: what happens next arrives while the command runs.
    let mut follower = server.command(&["events", "--follow"]);
    let mut follower = Killed(follower.stdout(Stdio::piped()).spawn().unwrap());
    let followed = lines(follower.0.stdout.take().unwrap());
    let first: Event = serde_json::from_str(&followed.recv_timeout(PATIENCE).unwrap()).unwrap();
    assert_eq!(first.seq, 1);
    assert_eq!(server.ok(&["users", "delete", "carol.cli@example.com"]), "");
    loop {
        let line = followed
            .recv_timeout(PATIENCE)
            .expect("the follower prints user.deleted");
        let event: Event = serde_json::from_str(&line).unwrap();
        if event.kind == "user.deleted" {
            break;
        }
    }
    drop(follower);

    server.ok(&["faults", "remove", &fault_id.to_string()]);
    assert_eq!(server.json(&["faults"]), serde_json::json!([]));
    assert_eq!(server.json(&["inbox", "clear"])["cleared"], 0);

    // Reset: users are the fixture's again, and nothing else is left over.
    server.json(&["users", "add", r#"{"username": "dave"}"#]);
    server.json(&["faults", "add", r#"{"kind": "userinfo_unauthorized"}"#]);
    assert_eq!(server.ok(&["reset"]), "");
    assert_eq!(server.json(&["users"]), fixture);
    assert_eq!(server.json(&["faults"]), serde_json::json!([]));
}

#[test]
fn ctl_errors_say_the_control_planes_message_and_code_and_exit_non_zero() {
    let server = Server::start();

    let missing = server.ctl(&["users", "get", "nobody@example.com"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(missing.stdout.is_empty());
    let said = stderr(&missing);
    assert!(said.starts_with("mock-idp: no user has"), "{said}");
    assert!(said.trim_end().ends_with("(control.not_found)"), "{said}");

    let anonymous = server
        .command(&["users"])
        .env_remove("MOCK_IDP_CONTROL_TOKEN")
        .output()
        .unwrap();
    assert_eq!(anonymous.status.code(), Some(1));
    assert!(
        stderr(&anonymous).contains("(control.unauthorized)"),
        "{}",
        stderr(&anonymous)
    );

    let bad_fault = server.ctl(&["faults", "add", r#"{"kind": "no_such_fault"}"#]);
    assert_eq!(bad_fault.status.code(), Some(1));
    assert!(
        stderr(&bad_fault).contains("(control.invalid_input)"),
        "{}",
        stderr(&bad_fault)
    );

    // Checked before anything is sent: an error message, not a panic (exit code 101).
    let not_json = server.ctl(&["users", "add", "{primaryEmail: nope}"]);
    assert_eq!(not_json.status.code(), Some(1));
    assert!(
        stderr(&not_json).contains("is not JSON"),
        "{}",
        stderr(&not_json)
    );
}

#[test]
fn ctl_says_which_url_it_could_not_reach_and_that_the_instance_must_run() {
    // A port nothing listens on: bound, then freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let output = Command::new(BIN)
        .args(["ctl", "--url", &url, "users", "list"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let said = stderr(&output);
    assert!(said.contains(&url), "{said}");
    assert!(said.contains("must be running"), "{said}");
}
