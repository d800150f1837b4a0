//! The real `mock-idp` binary as a child process: started with arguments, its banner read to
//! learn where it listens, killed when dropped (a failing test leaks no process), its log
//! printed when a test panics.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The binary Cargo built for these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_mock-idp");
/// How long a condition may take to come true before the test gives up (a wait, not a sleep).
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A child process killed when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Each line `from` writes, as it comes; the reader drains to the end even when nobody
/// listens any more, so the child never blocks on a full pipe.
pub fn lines(from: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

/// `mock-idp ARGS…`, running, with its banner.
pub struct Running {
    /// The banner's `key  value` lines (`issuer`, `app id`, `fake Postmark`, …), in order.
    banner: Vec<(String, String)>,
    log: Arc<Mutex<String>>,
    /// Killed when dropped, unless [`Running::stop`] took it.
    child: Option<Child>,
}

impl Running {
    /// Starts the mock Logto with `args` and waits for its banner (up to its `seed` line).
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mock-idp starts");
        let stdout = lines(child.stdout.take().unwrap());
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = lines(child.stderr.take().unwrap());
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in stderr {
                let mut log = kept.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut running = Self {
            banner: Vec::new(),
            log,
            child: Some(child),
        };
        loop {
            match stdout.recv_timeout(PATIENCE) {
                Ok(line) => {
                    // `  issuer         http://127.0.0.1:PORT/oidc`: a key, two or more spaces,
                    // a value.
                    let line = line.trim();
                    if let Some((key, value)) = line.split_once("  ") {
                        let key = key.trim().to_owned();
                        let done = key == "seed";
                        running.banner.push((key, value.trim().to_owned()));
                        if done {
                            break running;
                        }
                    }
                }
                Err(e) => panic!(
                    "mock-idp printed no whole banner ({e}); its log:\n{}",
                    running.log()
                ),
            }
        }
    }

    /// The banner's value for `key` (the first, for keys that repeat).
    pub fn banner(&self, key: &str) -> &str {
        self.banner
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {key:?} in the banner {:?}", self.banner))
    }

    /// `http://127.0.0.1:PORT`: the issuer without `/oidc`.
    pub fn base_url(&self) -> String {
        self.banner("issuer")
            .strip_suffix("/oidc")
            .expect("the issuer ends in /oidc")
            .to_owned()
    }

    /// Stops the server as Ctrl-C or `docker stop` would (SIGTERM) and waits for it to exit;
    /// whether it exited successfully.
    pub fn stop(mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let pid = child.id().to_string();
        let signalled = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(signalled.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait().map(|s| s.success()).unwrap_or(false));
        });
        match rx.recv_timeout(PATIENCE) {
            Ok(success) => success,
            Err(_) => {
                let _ = Command::new("kill").args(["-KILL", &pid]).status();
                panic!(
                    "mock-idp did not stop within {PATIENCE:?}; its log:\n{}",
                    self.log()
                )
            }
        }
    }

    /// What the server wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = self.child.take() {
            drop(Killed(child));
        }
        if std::thread::panicking() {
            eprintln!("mock-idp's log:\n{}", self.log());
        }
    }
}
