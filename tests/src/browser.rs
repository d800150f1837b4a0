//! A headless Chromium driven over WebDriver (fantoccini), for tests.
//!
//! [`Browser::start`] finds chromedriver and Chromium (`CHROMEDRIVER` / `CHROME_BIN`, else on
//! `PATH`), starts a chromedriver of its own on a free port (`--port=0`; the port is read from
//! its banner, no polling) in its own process group, and opens one session with a fresh profile
//! directory and the flags that work headless as root on a small machine. With `WEBDRIVER_URL`
//! set it uses that driver instead. Dropping the last clone of a [`Browser`], even while a test
//! panics, sends SIGTERM to the driver's process group, which takes Chromium with it, and reaps
//! the driver; the profile directory is deleted. If the test process dies without dropping it
//! (Ctrl-C on `cargo test`, a crash), a watchdog in the group ends the group.
//!
//! At most [`max_sessions`] browsers run at once in a test process (the number of CPUs, or
//! `BROWSER_SESSIONS`): more Chromiums than cores only add contention. A missing prerequisite
//! is an error saying what to install, never a skipped test.
//!
//! The helpers wait explicitly (WebDriver polling every 50 ms, 10 s at most) and panic with
//! what they saw: a test that uses them reads like the user's journey.
//!
//! ```no_run
//! # async fn demo() {
//! let browser = e2e::browser::Browser::start().await.expect("chromedriver and Chromium");
//! browser.goto("http://localhost:3000/").await;
//! browser.wait_for_text("#status", "Not authenticated").await;
//! browser.click("#sign-in").await;
//! browser.fill("#identifier", "alice@example.com").await;
//! browser.close().await;
//! # }
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long the helpers wait for a condition before they fail the test.
pub const WAIT: Duration = Duration::from_secs(10);
/// How often they look.
const POLL: Duration = Duration::from_millis(50);
/// How long chromedriver may take to say it listens.
const DRIVER_START: Duration = Duration::from_secs(20);

/// What to install when something is missing.
const INSTALL_HINT: &str = "install Chromium and its driver (Debian: `apt-get install -y chromium chromium-driver`; \
     scripts/test does it when run as root), or point CHROMEDRIVER and CHROME_BIN at them, or set WEBDRIVER_URL";

/// Why a browser could not be started.
#[derive(Debug)]
pub enum BrowserError {
    /// A program is not installed (or not where the environment says).
    NotFound(String),
    /// chromedriver did not start.
    Driver(String),
    /// The WebDriver session could not be created.
    Session(String),
}

impl std::fmt::Display for BrowserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound(what) => write!(f, "{what}: {INSTALL_HINT}"),
            Self::Driver(why) => write!(f, "chromedriver did not start: {why}"),
            Self::Session(why) => write!(f, "no browser session: {why}"),
        }
    }
}

impl std::error::Error for BrowserError {}

/// Where the driver and the browser are.
#[derive(Clone, Debug, Default)]
pub struct BrowserConfig {
    /// A WebDriver already running (`WEBDRIVER_URL`); no chromedriver is started.
    pub webdriver_url: Option<String>,
    /// The chromedriver to start (`CHROMEDRIVER`, else `chromedriver` on `PATH`).
    pub chromedriver: Option<PathBuf>,
    /// The Chromium binary (`CHROME_BIN`; for a chromedriver of our own, else `chromium`,
    /// `chromium-browser`, `google-chrome` or `google-chrome-stable` on `PATH`). A remote
    /// driver is only told a binary through `CHROME_BIN`: a local path means nothing there.
    pub chrome: Option<PathBuf>,
}

impl BrowserConfig {
    /// The configuration from the environment and `PATH`.
    pub fn from_env() -> Self {
        let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
        let webdriver_url = var("WEBDRIVER_URL").and_then(|v| v.into_string().ok());
        let local = webdriver_url.is_none();
        Self {
            chromedriver: var("CHROMEDRIVER")
                .map(PathBuf::from)
                .or_else(|| local.then(|| on_path(&["chromedriver"])).flatten()),
            chrome: var("CHROME_BIN").map(PathBuf::from).or_else(|| {
                local
                    .then(|| {
                        on_path(&[
                            "chromium",
                            "chromium-browser",
                            "google-chrome",
                            "google-chrome-stable",
                        ])
                    })
                    .flatten()
            }),
            webdriver_url,
        }
    }
}

/// The first of `names` that is an executable file in a `PATH` directory.
fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    path.is_file()
}

/// How many browsers may run at once in this process.
pub fn max_sessions() -> usize {
    std::env::var("BROWSER_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
}

static SESSIONS: LazyLock<Arc<Semaphore>> =
    LazyLock::new(|| Arc::new(Semaphore::new(max_sessions())));

/// A chromedriver of our own, leader of its process group.
#[derive(Debug)]
struct Driver {
    child: Child,
    url: String,
    /// A `sh` in the driver's process group that ends the group when this pipe closes: when
    /// the test process dies without running `Drop` (Ctrl-C on `cargo test`, a crash, a kill),
    /// the kernel closes the pipe and the group goes with it.
    watchdog: Option<(Child, std::process::ChildStdin)>,
}

impl Driver {
    async fn start(program: &Path) -> Result<Self, BrowserError> {
        let mut command = Command::new(program);
        command
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().map_err(|e| {
            BrowserError::NotFound(format!("cannot run {}: {e}", program.display()))
        })?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| BrowserError::Driver("no stdout".into()))?;
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        // Reads the banner for the port, then keeps draining so the driver never blocks on a
        // full pipe; ends when the driver exits.
        std::thread::spawn(move || {
            let mut port_tx = Some(port_tx);
            let mut seen = Vec::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = banner_port(&line) {
                    if let Some(tx) = port_tx.take() {
                        let _ = tx.send(Ok(port));
                    }
                } else if port_tx.is_some() {
                    seen.push(line);
                }
            }
            if let Some(tx) = port_tx {
                let _ = tx.send(Err(seen.join("\n")));
            }
        });
        let watchdog = watchdog(child.id());
        let mut driver = Self {
            child,
            url: String::new(),
            watchdog,
        };
        let port = match tokio::time::timeout(DRIVER_START, port_rx).await {
            Ok(Ok(Ok(port))) => port,
            Ok(Ok(Err(output))) => {
                return Err(BrowserError::Driver(format!(
                    "it exited before listening: {output}"
                )));
            }
            Ok(Err(_)) => return Err(BrowserError::Driver("its output ended".into())),
            Err(_) => {
                return Err(BrowserError::Driver(format!(
                    "it did not listen within {DRIVER_START:?}"
                )));
            }
        };
        driver.url = format!("http://127.0.0.1:{port}");
        Ok(driver)
    }
}

/// Starts the watchdog of the process group `group` (see [`Driver::watchdog`]); `None` where
/// there is no `sh` or no process groups, which only loses the cleanup after a crash.
fn watchdog(group: u32) -> Option<(Child, std::process::ChildStdin)> {
    #[cfg(unix)]
    {
        let mut command = Command::new("sh");
        command
            .args(["-c", "read -r _; kill -TERM 0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut command, i32::try_from(group).ok()?);
        let mut child = command.spawn().ok()?;
        let stdin = child.stdin.take()?;
        Some((child, stdin))
    }
    #[cfg(not(unix))]
    {
        let _ = group;
        None
    }
}

/// The port in chromedriver's "ChromeDriver was started successfully on port 38663."
fn banner_port(line: &str) -> Option<u16> {
    let rest = line.split("started successfully on port ").nth(1)?;
    rest.trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .ok()
}

/// How long Chromium may take to exit after SIGTERM before it gets SIGKILL.
const EXIT_GRACE: Duration = Duration::from_secs(5);

impl Drop for Driver {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Ok(pid) = i32::try_from(self.child.id()) {
            use nix::sys::signal::{Signal, killpg};
            let group = nix::unistd::Pid::from_raw(pid);
            // The whole group: chromedriver and the Chromium processes it started.
            let _ = killpg(group, Signal::SIGTERM);
            // Chromium's processes are not our children, and chromedriver may ignore the
            // signal: watch the whole group go, and insist once the grace period is over.
            let deadline = Instant::now() + EXIT_GRACE;
            loop {
                let driver_gone = !matches!(self.child.try_wait(), Ok(None));
                if driver_gone && live_processes_in_group(self.child.id()).is_empty() {
                    break;
                }
                if Instant::now() >= deadline {
                    let _ = killpg(group, Signal::SIGKILL);
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = self.child.wait();
            if let Some((mut watchdog, stdin)) = self.watchdog.take() {
                drop(stdin);
                let _ = watchdog.wait();
            }
            return;
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a session holds until its last clone is dropped (drop order: the driver first, then
/// the profile it used, then the slot).
#[derive(Debug)]
struct Resources {
    driver: Option<Driver>,
    _profile: Option<tempfile::TempDir>,
    _slot: OwnedSemaphorePermit,
}

/// One browser session (a cheap clone: every clone drives the same window).
#[derive(Clone, Debug)]
pub struct Browser {
    client: Client,
    resources: Arc<Resources>,
}

impl Browser {
    /// A session with the configuration from the environment.
    pub async fn start() -> Result<Self, BrowserError> {
        Self::start_with(BrowserConfig::from_env()).await
    }

    /// A session with `config`.
    pub async fn start_with(config: BrowserConfig) -> Result<Self, BrowserError> {
        let local = config.webdriver_url.is_none();
        let driver_program = match (&config.chromedriver, local) {
            (Some(path), true) if is_executable(path) => Some(path.clone()),
            (Some(path), true) => {
                return Err(BrowserError::NotFound(format!(
                    "no chromedriver at {}",
                    path.display()
                )));
            }
            (None, true) => {
                return Err(BrowserError::NotFound(
                    "chromedriver is not installed (not on PATH)".into(),
                ));
            }
            (_, false) => None,
        };

        let chrome = match (&config.chrome, local) {
            // A remote driver's machine has its own files: pass the path on as given.
            (Some(path), false) => Some(path.clone()),
            (Some(path), true) if is_executable(path) => Some(path.clone()),
            (Some(path), true) => {
                return Err(BrowserError::NotFound(format!(
                    "no Chromium at {}",
                    path.display()
                )));
            }
            (None, true) => {
                return Err(BrowserError::NotFound(
                    "Chromium is not installed (no chromium, chromium-browser or google-chrome on PATH)"
                        .into(),
                ));
            }
            (None, false) => None,
        };
        let slot = SESSIONS
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| BrowserError::Session(e.to_string()))?;
        let profile = if local {
            Some(
                tempfile::Builder::new()
                    .prefix("e2e-chromium-")
                    .tempdir()
                    .map_err(|e| BrowserError::Session(format!("no profile directory: {e}")))?,
            )
        } else {
            None
        };
        let driver = match &driver_program {
            Some(program) => Some(Driver::start(program).await?),
            None => None,
        };
        let url = driver
            .as_ref()
            .map(|d| d.url.clone())
            .or(config.webdriver_url.clone())
            .unwrap_or_default();

        let mut args = vec![
            "--headless=new".to_owned(),
            // Root (containers, CI) cannot use Chromium's sandbox.
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--window-size=1280,800".into(),
            // Without it Chrome may stall ~5 s loading its new-tab page from the network.
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost".into(),
        ];
        if let Some(profile) = &profile {
            args.push(format!("--user-data-dir={}", profile.path().display()));
        }
        let mut options = json!({ "args": args });
        if let Some(chrome) = &chrome {
            options["binary"] = json!(chrome.display().to_string());
        }
        let capabilities = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": options,
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            return Err(BrowserError::Session(
                "capabilities are not an object".into(),
            ));
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&url)
            .await
            .map_err(|e| BrowserError::Session(e.to_string()))?;
        Ok(Self {
            client,
            resources: Arc::new(Resources {
                driver,
                _profile: profile,
                _slot: slot,
            }),
        })
    }

    /// The fantoccini client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The process group of the chromedriver this session started (`None` with
    /// `WEBDRIVER_URL`).
    pub fn driver_process_group(&self) -> Option<u32> {
        self.resources.driver.as_ref().map(|d| d.child.id())
    }

    /// Ends the session (Chromium quits). When this was the last clone, the driver's group is
    /// ended and reaped on a blocking thread, not on the runtime's.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
        let resources = self.resources;
        let _ = tokio::task::spawn_blocking(move || drop(resources)).await;
    }

    /// Opens `url`.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The URL shown.
    pub async fn url(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_else(|e| format!("(unknown: {e})"))
    }

    /// Waits for an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("waited {WAIT:?} for `{css}` on {}: {e}", self.url().await),
        }
    }

    /// Waits for `css`, then clicks it.
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        if let Err(e) = element.click().await {
            panic!("cannot click `{css}` on {}: {e}", self.url().await);
        }
    }

    /// Waits for the field `css`, empties it and types `text`.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.wait_for(css).await;
        let typed = async {
            element.clear().await?;
            element.send_keys(text).await
        };
        if let Err(e) = typed.await {
            panic!("cannot type into `{css}` on {}: {e}", self.url().await);
        }
    }

    /// The text of the first element matching `css`, once there is one.
    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        element
            .text()
            .await
            .unwrap_or_else(|e| panic!("cannot read `{css}`: {e}"))
    }

    /// Waits until the element `css` reads `expected` (trimmed); returns it.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> Element {
        self.wait_until(
            css,
            |text| text.trim() == expected,
            &format!("to read {expected:?}"),
        )
        .await
    }

    /// Waits until the element `css` contains `needle`.
    pub async fn wait_for_text_containing(&self, css: &str, needle: &str) -> Element {
        self.wait_until(
            css,
            |text| text.contains(needle),
            &format!("to contain {needle:?}"),
        )
        .await
    }

    async fn wait_until(&self, css: &str, ok: impl Fn(&str) -> bool, what: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        let mut last = None;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                // A navigation can make the element stale between find and text: look again.
                if let Ok(text) = element.text().await {
                    if ok(&text) {
                        return element;
                    }
                    last = Some(text);
                }
            }
            if Instant::now() >= deadline {
                let seen = last.map_or_else(|| "no such element".to_owned(), |t| format!("{t:?}"));
                panic!(
                    "waited {WAIT:?} for `{css}` {what} on {}; saw {seen}",
                    self.url().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The processes of process group `group` that are still alive (Linux: read from `/proc`;
/// zombies waiting to be reaped do not count). Empty where `/proc` does not exist.
pub fn live_processes_in_group(group: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // "pid (comm) state ppid pgrp …": comm may contain spaces, so split after ')'.
            let Some((_, rest)) = stat.rsplit_once(')') else {
                return false;
            };
            let mut fields = rest.split_whitespace();
            let state = fields.next();
            let pgrp = fields.nth(1).and_then(|p| p.parse::<u32>().ok());
            pgrp == Some(group) && state != Some("Z")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_port_is_read_from_chromedrivers_banner() {
        assert_eq!(
            banner_port("ChromeDriver was started successfully on port 38663."),
            Some(38663)
        );
        assert_eq!(banner_port("Only local connections are allowed."), None);
    }

    /// What happens when the test process dies without dropping the driver: its end of the
    /// watchdog's pipe closes, and the driver's whole process group ends.
    #[cfg(unix)]
    #[tokio::test]
    async fn the_driver_group_ends_when_the_watchdog_pipe_closes() {
        let program = BrowserConfig::from_env()
            .chromedriver
            .unwrap_or_else(|| panic!("chromedriver is not installed: {INSTALL_HINT}"));
        let mut driver = Driver::start(&program).await.unwrap();
        let group = driver.child.id();
        assert!(!live_processes_in_group(group).is_empty());
        let (mut watchdog, stdin) = driver.watchdog.take().expect("a watchdog");
        drop(stdin);
        watchdog.wait().unwrap();
        driver.child.wait().unwrap();
        let deadline = Instant::now() + EXIT_GRACE;
        while !live_processes_in_group(group).is_empty() {
            assert!(Instant::now() < deadline, "the group outlived its watchdog");
            tokio::time::sleep(POLL).await;
        }
    }
}
