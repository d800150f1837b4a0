//! Where a failing test leaves what explains it: `{target}/mock-idp-artifacts/{binary}/{test}/`.
//!
//! A panicking test's [`MockIdp`](crate::MockIdp) writes its event log and the mail it sent
//! there, and the browser harness its screenshot, page and URL. `{target}` is the Cargo target
//! directory the test binary runs from (found by walking up from the executable to the folder
//! that holds Cargo's `CACHEDIR.TAG`), so a dependent crate's artifacts land in its own
//! `target/`; `MOCK_IDP_ARTIFACTS` overrides the root, and the system's temporary directory is
//! the last resort. `{binary}` is the test binary's name without Cargo's hash (`sign_in` for
//! `tests/sign_in.rs`), so two test files may have tests of one name; `{test}` is the running
//! test's name (libtest names the thread after it), with `::` as `-`.

use std::path::{Path, PathBuf};

/// The environment variable that overrides the artifacts root.
pub const ARTIFACTS_ENV: &str = "MOCK_IDP_ARTIFACTS";

/// The root folder of every test's artifacts.
pub fn root() -> PathBuf {
    if let Some(dir) = std::env::var_os(ARTIFACTS_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .as_deref()
        .and_then(target_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("mock-idp-artifacts")
}

/// The artifacts folder of the test running on this thread, relative to [`root`]:
/// `{binary}/{test}`.
pub fn test_path() -> PathBuf {
    Path::new(&binary_name()).join(test_name())
}

/// Empties a test's artifacts folder, but for `keep` (the scenario a replay reads from it).
pub(crate) fn clear(dir: &Path, keep: Option<&Path>) {
    let keep = keep.and_then(|k| k.canonicalize().ok());
    let inside = keep
        .as_deref()
        .is_some_and(|k| dir.canonicalize().is_ok_and(|d| k.starts_with(d)));
    if !inside {
        let _ = std::fs::remove_dir_all(dir);
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.canonicalize().ok() == keep {
            continue;
        }
        let _ = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
    }
}

/// The command that runs the test on this thread again, with `env` set first:
/// `MOCK_IDP_SCENARIO=… cargo test -p {package} --test {binary} -- {test} --exact`.
pub fn rerun_command(env: &[(&str, &Path)]) -> String {
    let package = std::env::var("CARGO_PKG_NAME").unwrap_or_else(|_| "PACKAGE".into());
    let binary = binary_name();
    let target = if binary == package.replace('-', "_") {
        "--lib".to_owned()
    } else {
        format!("--test {binary}")
    };
    let test = std::thread::current().name().unwrap_or("TEST").to_owned();
    let mut command = String::new();
    for (name, value) in env {
        command.push_str(&format!(
            "{name}={} ",
            shell_quote(&value.display().to_string())
        ));
    }
    command.push_str(&format!(
        "cargo test -p {package} {target} -- {} --exact",
        shell_quote(&test)
    ));
    command
}

/// `text` as one word for a POSIX shell.
fn shell_quote(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// The test binary's name without the hash Cargo appends (`it-4178a1b9317c579d` → `it`).
fn binary_name() -> String {
    let exe = std::env::current_exe().ok();
    let stem = exe
        .as_deref()
        .and_then(Path::file_stem)
        .and_then(|s| s.to_str())
        .unwrap_or("unknown-binary");
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name.to_owned()
        }
        _ => stem.to_owned(),
    }
}

/// The Cargo target directory `exe` was built into, if it is in one.
fn target_dir(exe: &Path) -> Option<PathBuf> {
    exe.ancestors()
        .skip(1)
        .find(|dir| dir.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
}

/// The running test's name as a folder name (`module::test` → `module-test`), or the thread's
/// name, or `unnamed-thread`.
pub fn test_name() -> String {
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("unnamed-thread");
    name.replace("::", "-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clearing_keeps_only_the_scenario_being_replayed() {
        let dir = std::env::temp_dir().join(format!("mock-idp-clear-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("nested")).unwrap();
        for file in ["events.jsonl", "scenario.json", "nested/x"] {
            std::fs::write(dir.join(file), "{}").unwrap();
        }
        clear(&dir, Some(&dir.join("scenario.json")));
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["scenario.json"]);
        // A scenario elsewhere does not keep the folder.
        clear(&dir, Some(&std::env::temp_dir()));
        assert!(!dir.exists());
    }

    #[test]
    fn the_folder_is_named_after_the_binary_and_the_running_test() {
        assert_eq!(
            test_path(),
            Path::new("mock_idp")
                .join("artifacts-tests-the_folder_is_named_after_the_binary_and_the_running_test")
        );
    }

    #[test]
    fn the_root_is_in_the_target_directory_the_test_runs_from() {
        let root = root();
        assert!(root.ends_with("mock-idp-artifacts"), "{}", root.display());
        let target = root.parent().unwrap_or(&root);
        assert!(
            target.join("CACHEDIR.TAG").is_file(),
            "{} is Cargo's target directory",
            target.display()
        );
    }
}
