//! The steps journeys share.

use std::future::Future;
use std::path::PathBuf;

use e2e::journey::{self, Journey};
use mock_idp::MockIdp;

/// Where failing tests leave their artifacts: `target/tmp/browser-artifacts`.
pub fn artifacts_root() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser-artifacts")
}

/// Runs a journey against a default stack, with artifacts under [`artifacts_root`].
pub async fn journey<F, Fut>(test: F)
where
    F: FnOnce(Journey) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    journey::run(artifacts_root(), MockIdp::builder(), test).await;
}
