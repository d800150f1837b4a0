//! A headless Chromium driven over WebDriver (fantoccini), for tests of an app that signs in
//! with Logto. Behind the `browser` feature.
//!
//! [`Browser::start`] finds chromedriver and Chromium (`CHROMEDRIVER` / `CHROME_BIN`, else on
//! `PATH`), starts a chromedriver of its own on a free port in its own process group, and opens
//! one session with a fresh profile and the flags that work headless as root on a small
//! machine. With `WEBDRIVER_URL` set it uses that driver instead. Dropping the last clone of a
//! [`Browser`], even while a test panics, ends the driver's process group (Chromium with it) and
//! deletes the profile; if the test process dies without dropping it (Ctrl-C on `cargo test`, a
//! crash), a watchdog in the group ends the group. At most [`max_sessions`] browsers run at once
//! in a test process (the number of CPUs, or `BROWSER_SESSIONS`). A missing prerequisite is an
//! error saying what to install, never a skipped test.
//!
//! The helpers wait explicitly (WebDriver polling every 50 ms, 10 s at most) and fail the test
//! with what they saw, after saving the **failure artifacts** (`screenshot.png`, `page.html`,
//! `url.txt`) in `target/mock-idp-artifacts/{test}/`, beside the event log and the mail the
//! test's [`MockIdp`] writes there when it is dropped by the panic. [`Browser::run`] does the
//! same for any panic of a test body. Logto's flows are written once, in
//! [`sign_in_with_email_code`](Browser::sign_in_with_email_code),
//! [`sign_up_with_email_code`](Browser::sign_up_with_email_code) and
//! [`confirm_sign_out`](Browser::confirm_sign_out).
//!
//! ```no_run
//! # async fn demo(idp: mock_idp::MockIdp, app_url: &str) {
//! use mock_idp::browser::Browser;
//!
//! let browser = Browser::start().await.unwrap();
//! browser.goto(app_url).await;
//! browser.click("#sign-in").await;                     // your app's link to Logto
//! browser.sign_in_with_email_code(&idp, "alice@example.com").await;
//! browser.wait_for_text("#status", "Authenticated").await;
//! # }
//! ```

mod driver;
mod logto;

use std::future::Future;
use std::panic::Location;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use driver::Driver;
pub use driver::live_processes_in_group;

#[cfg(doc)]
use crate::MockIdp;

/// How long the helpers wait for a condition before they fail the test.
pub const WAIT: Duration = Duration::from_secs(10);
/// How often they look.
const POLL: Duration = Duration::from_millis(50);
/// How long [`Browser::run`] lets a test body take before it fails it.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// The line of the test that called a helper (`#[track_caller]`), named in its failure.
type At = &'static Location<'static>;

/// What to install when something is missing.
pub(crate) const INSTALL_HINT: &str = "install Chromium and its driver (Debian: `apt-get install -y chromium chromium-driver`; \
     scripts/test does it when run as root), or point CHROMEDRIVER and CHROME_BIN at them, or set WEBDRIVER_URL";

/// Why a browser could not be started. Its `Debug` is its message, so that
/// `Browser::start().await.unwrap()` says what to install.
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

impl std::fmt::Debug for BrowserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for BrowserError {}

/// Where the driver and the browser are, and where failures leave their artifacts.
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
    /// Where failure artifacts go (default: `target/mock-idp-artifacts/{test}/`, the folder the
    /// test's `MockIdp` writes to).
    pub artifacts: Option<PathBuf>,
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
            artifacts: None,
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

/// What a session holds until its last clone is dropped (drop order: the driver first, then
/// the profile it used, then the slot).
#[derive(Debug)]
struct Resources {
    driver: Option<Driver>,
    _profile: Option<tempfile::TempDir>,
    _slot: OwnedSemaphorePermit,
    /// This session's failure artifacts folder.
    artifacts: PathBuf,
    /// Whether a failure was captured already (a helper's, before [`Browser::run`] sees it).
    captured: AtomicBool,
}

impl Drop for Resources {
    fn drop(&mut self) {
        if std::thread::panicking() && !self.captured.load(Ordering::SeqCst) {
            eprintln!(
                "mock-idp: the browser took no screenshot: the panic did not come from one of its \
                 helpers. Run the test body with `browser.run(|browser| async move {{ … }})` to \
                 capture one for any panic."
            );
        }
    }
}

/// One browser session (a cheap clone: every clone drives the same window).
#[derive(Clone, Debug)]
pub struct Browser {
    client: Client,
    resources: Arc<Resources>,
}

/// A test body that failed under [`Browser::try_run`].
#[derive(Debug)]
pub struct Failure {
    /// Where its artifacts are.
    pub artifacts: PathBuf,
    /// The panic (or the timeout) that failed it.
    pub panic: Box<dyn std::any::Any + Send>,
}

impl Browser {
    /// A session with the configuration from the environment.
    pub async fn start() -> Result<Self, BrowserError> {
        Self::start_with(BrowserConfig::from_env()).await
    }

    /// A session with `config`. The test's artifacts folder is emptied, so what is there
    /// afterwards is from this run.
    pub async fn start_with(config: BrowserConfig) -> Result<Self, BrowserError> {
        // Named now, on the test's thread: helpers may fail on a runtime's worker thread.
        let artifacts = config
            .artifacts
            .clone()
            .unwrap_or_else(|| crate::artifacts::root().join(crate::artifacts::test_path()));
        let _ = std::fs::remove_dir_all(&artifacts);
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
                artifacts,
                captured: AtomicBool::new(false),
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

    /// The folder this session's failure artifacts go to.
    pub fn artifacts(&self) -> &Path {
        &self.resources.artifacts
    }

    /// Saves what explains a failure into [`artifacts`](Self::artifacts): `screenshot.png`,
    /// `page.html`, `url.txt` and `failure.txt` (`why`). Each part on its own, so one that
    /// cannot be had (a dead browser) does not hide the others.
    pub async fn capture(&self, why: &str) {
        self.resources.captured.store(true, Ordering::SeqCst);
        let dir = &self.resources.artifacts;
        if let Err(error) = std::fs::create_dir_all(dir) {
            eprintln!("cannot create {}: {error}", dir.display());
            return;
        }
        let write = |name: &str, bytes: &[u8]| {
            if let Err(error) = std::fs::write(dir.join(name), bytes) {
                eprintln!("cannot write {name} in {}: {error}", dir.display());
            }
        };
        write("failure.txt", why.as_bytes());
        match self.client.screenshot().await {
            Ok(png) => write("screenshot.png", &png),
            Err(error) => write("screenshot.error.txt", error.to_string().as_bytes()),
        }
        match self.client.source().await {
            Ok(html) => write("page.html", html.as_bytes()),
            Err(error) => write("page.error.txt", error.to_string().as_bytes()),
        }
        write("url.txt", self.url().await.as_bytes());
    }

    /// Fails the test: captures the artifacts, then panics with `why` and where they are.
    pub async fn fail(&self, why: String) -> ! {
        self.capture(&why).await;
        panic!(
            "{why}\n(screenshot, page and URL in {})",
            self.resources.artifacts.display()
        );
    }

    /// [`fail`](Self::fail), naming the line of the test that called the helper.
    async fn fail_at(&self, at: At, why: String) -> ! {
        self.fail(format!("{why}\n  at {}:{}", at.file(), at.line()))
            .await
    }

    /// Runs `test` with this browser as a task; when it panics or outlives [`RUN_TIMEOUT`],
    /// captures the artifacts (unless a helper did), closes the browser, and fails with the
    /// test's own panic. Assertions of your own then leave a screenshot too.
    pub async fn run<F, Fut>(self, test: F)
    where
        F: FnOnce(Browser) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        if let Err(failure) = self.try_run(test).await {
            eprintln!(
                "browser test failed; artifacts in {}",
                failure.artifacts.display()
            );
            std::panic::resume_unwind(failure.panic);
        }
    }

    /// [`run`](Self::run), returning the failure instead of failing (to test a harness).
    pub async fn try_run<F, Fut>(self, test: F) -> Result<(), Failure>
    where
        F: FnOnce(Browser) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let task = tokio::spawn(test(self.clone()));
        let abort = task.abort_handle();
        let outcome = match tokio::time::timeout(RUN_TIMEOUT, task).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) if error.is_panic() => Err(error.into_panic()),
            Ok(Err(error)) => Err(Box::new(format!("the test did not finish: {error}")) as _),
            Err(_) => {
                abort.abort();
                Err(Box::new(format!("the test took longer than {RUN_TIMEOUT:?}")) as _)
            }
        };
        let result = match outcome {
            Ok(()) => Ok(()),
            Err(panic) => {
                if !self.resources.captured.load(Ordering::SeqCst) {
                    self.capture(&panic_message(&panic)).await;
                }
                Err(Failure {
                    artifacts: self.resources.artifacts.clone(),
                    panic,
                })
            }
        };
        self.close().await;
        result
    }

    /// Opens `url`.
    #[track_caller]
    pub fn goto<'a>(&'a self, url: &'a str) -> impl Future<Output = ()> + Send + 'a {
        let at = Location::caller();
        async move { self.goto_at(at, url).await }
    }

    async fn goto_at(&self, at: At, url: &str) {
        if let Err(e) = self.client.goto(url).await {
            self.fail_at(at, format!("cannot open {url}: {e}")).await;
        }
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
    #[track_caller]
    pub fn wait_for<'a>(&'a self, css: &'a str) -> impl Future<Output = Element> + Send + 'a {
        let at = Location::caller();
        async move { self.wait_for_at(at, css).await }
    }

    async fn wait_for_at(&self, at: At, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(_) => {
                let url = self.url().await;
                self.fail_at(at, format!("waited {WAIT:?} for `{css}` on {url}"))
                    .await
            }
        }
    }

    /// Whether an element matches `css` now (no waiting).
    pub async fn exists(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// Waits for `css`, then clicks it.
    #[track_caller]
    pub fn click<'a>(&'a self, css: &'a str) -> impl Future<Output = ()> + Send + 'a {
        let at = Location::caller();
        async move { self.click_at(at, css).await }
    }

    async fn click_at(&self, at: At, css: &str) {
        let element = self.wait_for_at(at, css).await;
        if let Err(e) = element.click().await {
            let url = self.url().await;
            self.fail_at(at, format!("cannot click `{css}` on {url}: {e}"))
                .await;
        }
    }

    /// Waits for the field `css`, empties it and types `text`.
    #[track_caller]
    pub fn fill<'a>(&'a self, css: &'a str, text: &'a str) -> impl Future<Output = ()> + Send + 'a {
        let at = Location::caller();
        async move { self.fill_at(at, css, text).await }
    }

    async fn fill_at(&self, at: At, css: &str, text: &str) {
        let element = self.wait_for_at(at, css).await;
        let typed = async {
            element.clear().await?;
            element.send_keys(text).await
        };
        if let Err(e) = typed.await {
            let url = self.url().await;
            self.fail_at(at, format!("cannot type into `{css}` on {url}: {e}"))
                .await;
        }
    }

    /// The text of the first element matching `css`, once there is one.
    #[track_caller]
    pub fn text<'a>(&'a self, css: &'a str) -> impl Future<Output = String> + Send + 'a {
        let at = Location::caller();
        async move {
            let element = self.wait_for_at(at, css).await;
            match element.text().await {
                Ok(text) => text,
                Err(e) => self.fail_at(at, format!("cannot read `{css}`: {e}")).await,
            }
        }
    }

    /// Waits until the element `css` reads `expected` (trimmed); returns it.
    #[track_caller]
    pub fn wait_for_text<'a>(
        &'a self,
        css: &'a str,
        expected: &'a str,
    ) -> impl Future<Output = Element> + Send + 'a {
        let at = Location::caller();
        async move {
            let what = format!("to read {expected:?}");
            self.wait_until(at, css, |text| text.trim() == expected, &what)
                .await
        }
    }

    /// Waits until the element `css` contains `needle`.
    #[track_caller]
    pub fn wait_for_text_containing<'a>(
        &'a self,
        css: &'a str,
        needle: &'a str,
    ) -> impl Future<Output = Element> + Send + 'a {
        let at = Location::caller();
        async move {
            let what = format!("to contain {needle:?}");
            self.wait_until(at, css, |text| text.contains(needle), &what)
                .await
        }
    }

    /// Waits until the URL shown satisfies `ok` (`what` says how, for the failure); returns it.
    #[track_caller]
    pub fn wait_for_url<'a>(
        &'a self,
        ok: impl Fn(&str) -> bool + Send + 'a,
        what: &'a str,
    ) -> impl Future<Output = String> + Send + 'a {
        let at = Location::caller();
        async move { self.wait_for_url_at(at, ok, what).await }
    }

    async fn wait_for_url_at(&self, at: At, ok: impl Fn(&str) -> bool, what: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.url().await;
            if ok(&url) {
                return url;
            }
            if Instant::now() >= deadline {
                self.fail_at(
                    at,
                    format!("waited {WAIT:?} for the URL {what}; it is {url}"),
                )
                .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn wait_until(
        &self,
        at: At,
        css: &str,
        ok: impl Fn(&str) -> bool,
        what: &str,
    ) -> Element {
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
                let url = self.url().await;
                self.fail_at(
                    at,
                    format!("waited {WAIT:?} for `{css}` {what} on {url}; saw {seen}"),
                )
                .await;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

/// The text of a panic payload (`panic!` with a literal or a formatted message).
fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "the test panicked".to_owned())
}
