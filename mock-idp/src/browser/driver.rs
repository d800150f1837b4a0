//! The chromedriver a [`Browser`](super::Browser) starts: its own process group (so ending the
//! group ends Chromium too), its port read from its banner, a watchdog that ends the group if
//! the test process dies without dropping it, and a drop that waits for the whole group to go.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::BrowserError;

/// How long chromedriver may take to say it listens.
const DRIVER_START: Duration = Duration::from_secs(20);

/// A chromedriver of our own, leader of its process group.
#[derive(Debug)]
pub(super) struct Driver {
    pub(super) child: Child,
    pub(super) url: String,
    /// A `sh` in the driver's process group that ends the group when this pipe closes: when
    /// the test process dies without running `Drop` (Ctrl-C on `cargo test`, a crash, a kill),
    /// the kernel closes the pipe and the group goes with it.
    watchdog: Option<(Child, std::process::ChildStdin)>,
}

impl Driver {
    pub(super) async fn start(program: &Path) -> Result<Self, BrowserError> {
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
        let program = super::super::BrowserConfig::from_env()
            .chromedriver
            .unwrap_or_else(|| {
                panic!(
                    "chromedriver is not installed: {}",
                    super::super::INSTALL_HINT
                )
            });
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
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
