//! The steps journeys share.

use std::future::Future;
use std::path::PathBuf;

use e2e::journey::{self, Journey};
use mock_idp::{MockIdp, MockIdpBuilder};

/// Where failing tests leave their artifacts: `target/tmp/browser-artifacts`.
pub fn artifacts_root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-artifacts")
}

/// Runs a journey against a default stack.
pub async fn journey<F, Fut>(test: F)
where
    F: FnOnce(Journey) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    journey_with(MockIdp::builder(), test).await;
}

/// Runs a journey against a customised mock.
pub async fn journey_with<F, Fut>(idp: MockIdpBuilder, test: F)
where
    F: FnOnce(Journey) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    journey::run(artifacts_root(), idp, test).await;
}

/// A code that is not `code`.
pub fn wrong(code: &str) -> &'static str {
    if code == "000000" { "111111" } else { "000000" }
}
