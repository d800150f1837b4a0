//! Scenario files: a bug report's conditions as data, loaded by `mock-idp --scenario FILE`,
//! [`MockIdpBuilder::scenario`](crate::MockIdpBuilder::scenario), or, to replay a failed test,
//! the `MOCK_IDP_SCENARIO` environment variable.
//!
//! ```json
//! {
//!   "seed": 7,
//!   "clock": "2026-01-01T09:00:00Z",
//!   "tenant": { "users": [ { "id": "u1", "primaryEmail": "dana@example.com" } ] },
//!   "faults": [
//!     { "kind": "token_error", "grant_type": "refresh_token", "error": "invalid_grant" },
//!     { "kind": "rotate_signing_key", "at": "2026-01-01T10:00:00Z" }
//!   ]
//! }
//! ```
//!
//! - `seed`: every random value (ids, codes, tokens) of the run.
//! - `clock`: the mock clock stands at this instant until moved (a fixed clock), so every
//!   timestamp replays too. Absent: the system time.
//! - `tenant`: sections in Logto's JSON shapes (`users`, `applications`, `resources`, `roles`,
//!   `signInExperience`, `connectors`, `logtoConfigs`); each replaces the fixture's, as
//!   `--config` does.
//! - `faults`: scheduled as the instance starts ([`crate::faults`]), and again after a reset.
//! - `postmark_faults`: failures of the fake Postmark the IdP starts, in the shape of
//!   `POST /_inbox/faults` (`{"Count": 1, "Status": 503, "ErrorCode": 100}`).
//!
//! Every key is optional; unknown keys are refused, so a typo does not silently replay
//! something else.

use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::faults::ScheduledFault;

/// The environment variable naming a scenario file every [`MockIdp`](crate::MockIdp) of the
/// process loads over its builder: how the command a failed test prints replays it.
pub const SCENARIO_ENV: &str = "MOCK_IDP_SCENARIO";

/// A scenario: seed, clock, tenant sections and faults.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The seed of every random value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The instant a fixed clock stands at.
    #[serde(
        default,
        serialize_with = "time::serde::rfc3339::option::serialize",
        deserialize_with = "instant",
        skip_serializing_if = "Option::is_none"
    )]
    pub clock: Option<OffsetDateTime>,
    /// Tenant sections in Logto's shapes, each replacing the fixture's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Value>,
    /// Faults scheduled at start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<ScheduledFault>,
    /// Failures of the fake Postmark the IdP starts, queued at start (Postmark's shape:
    /// `{"Count": 1, "Status": 503, "ErrorCode": 100, "Message"?}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub postmark_faults: Vec<crate::postmark::Fault>,
}

/// `clock`, with a message that names it and the format.
fn instant<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<OffsetDateTime>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    text.map(|text| {
        OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).map_err(|_| {
            serde::de::Error::custom(format!(
                "`clock` is an RFC 3339 instant like \"2026-01-01T09:00:00Z\", not {text:?}"
            ))
        })
    })
    .transpose()
}

/// Why a scenario could not be read.
#[derive(Debug)]
pub struct ScenarioError(pub String);

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ScenarioError {}

impl From<ScenarioError> for std::io::Error {
    fn from(error: ScenarioError) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, error.0)
    }
}

impl Scenario {
    /// Reads a scenario from JSON; every fault is checked.
    pub fn from_json(json: &str) -> Result<Self, ScenarioError> {
        let scenario: Self = serde_json::from_str(json)
            .map_err(|e| ScenarioError(format!("not a scenario: {e}")))?;
        if let Some(tenant) = &scenario.tenant
            && !tenant.is_object()
        {
            return Err(ScenarioError(
                "`tenant` must be an object of Logto sections".into(),
            ));
        }
        scenario.validate()?;
        Ok(scenario)
    }

    /// Checks every fault.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        for (i, fault) in self.faults.iter().enumerate() {
            fault
                .validate()
                .map_err(|e| ScenarioError(format!("faults[{i}]: {e}")))?;
        }
        for (i, fault) in self.postmark_faults.iter().enumerate() {
            let counted = if fault.count == 0 {
                Err("`Count` must be at least 1".to_owned())
            } else {
                fault.validate().map_err(|e| e.to_string())
            };
            counted.map_err(|e| ScenarioError(format!("postmark_faults[{i}]: {e}")))?;
        }
        Ok(())
    }

    /// Reads a scenario file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ScenarioError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path)
            .map_err(|e| ScenarioError(format!("{}: {e}", path.display())))?;
        Self::from_json(&json).map_err(|e| ScenarioError(format!("{}: {e}", path.display())))
    }

    /// The scenario as pretty JSON (what a failed test writes for its replay).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The file `MOCK_IDP_SCENARIO` names, if it is set.
    pub(crate) fn env_path() -> Option<std::path::PathBuf> {
        std::env::var_os(SCENARIO_ENV)
            .filter(|v| !v.is_empty())
            .map(std::path::PathBuf::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_documented_scenario_reads_and_round_trips() {
        let json = r#"{
          "seed": 7,
          "clock": "2026-01-01T09:00:00Z",
          "tenant": { "users": [ { "id": "u1", "primaryEmail": "dana@example.com" } ] },
          "faults": [
            { "kind": "token_error", "grant_type": "refresh_token", "error": "invalid_grant" },
            { "kind": "rotate_signing_key", "at": "2026-01-01T10:00:00Z" }
          ],
          "postmark_faults": [ { "Count": 1, "Status": 503, "ErrorCode": 100 } ]
        }"#;
        let scenario = Scenario::from_json(json).unwrap();
        assert_eq!(scenario.postmark_faults[0].status, 503);
        assert_eq!(scenario.seed, Some(7));
        assert_eq!(scenario.clock, Some(datetime!(2026-01-01 09:00 UTC)));
        assert_eq!(scenario.faults.len(), 2);
        assert_eq!(Scenario::from_json(&scenario.to_json()).unwrap(), scenario);
        assert_eq!(Scenario::from_json("{}").unwrap(), Scenario::default());
    }

    #[test]
    fn typos_and_bad_faults_are_refused() {
        let typo = Scenario::from_json(r#"{"sede": 7}"#).unwrap_err();
        assert!(typo.0.contains("unknown field"), "{typo}");
        let fault = Scenario::from_json(
            r#"{"faults": [{"kind": "token_error", "times": 0, "error": "invalid_grant"}]}"#,
        )
        .unwrap_err();
        assert!(fault.0.contains("faults[0]"), "{fault}");
        let postmark = Scenario::from_json(
            r#"{"postmark_faults": [{"Count": 0, "Status": 503, "ErrorCode": 100}]}"#,
        )
        .unwrap_err();
        assert!(postmark.0.contains("postmark_faults[0]"), "{postmark}");
        let clock = Scenario::from_json(r#"{"clock": "2026-03-02 09:00"}"#).unwrap_err();
        assert!(
            clock.0.contains("`clock` is an RFC 3339 instant"),
            "{clock}"
        );
        let section = Scenario::from_json(r#"{"tenant": {"user": []}}"#).unwrap();
        let misspelt = crate::tenant::Tenant::fixture()
            .unwrap()
            .with_sections(section.tenant.unwrap())
            .unwrap_err();
        assert!(misspelt.0.contains(r#"no section "user""#), "{misspelt}");
        let tenant = Scenario::from_json(r#"{"tenant": []}"#).unwrap_err();
        assert!(tenant.0.contains("object"), "{tenant}");
    }
}
