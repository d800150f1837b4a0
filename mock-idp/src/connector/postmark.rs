//! Logto's Postmark connector (`@logto/connector-postmark`), as it talks to Postmark.
//!
//! It sends exactly what the real connector's postmark.js client sends:
//! `POST {baseUrl}/email/withTemplate` with `X-Postmark-Server-Token`, `Accept` and
//! `Content-Type: application/json` and a postmark.js `User-Agent`, and a body with exactly
//! `{From, TemplateAlias, To, TemplateModel}`. The template is the one configured for the
//! usage type (`SignIn`, `Register`, `ForgotPassword`, `Generic`; the config must name all
//! four, as Logto's config guard requires, so there is nothing to fall back on). Real Logto hard-codes
//! `https://api.postmarkapp.com`; here `baseUrl` in the connector config says where the
//! (fake) Postmark is, over plain http.
//!
//! Any failure (an error answer, a refused connection, a timeout) becomes Logto's
//! `connector.general` error carrying Postmark's `Message`; no template for the usage type is
//! `connector.template_not_found`.

use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::request_error::RequestError;

/// What postmark.js 4.x (the version Logto's connector uses) sends as `User-Agent`.
const USER_AGENT: &str = "Postmark.JS - 4.0.7";
/// How long a send may take. postmark.js waits 180 s; a test tool should fail sooner.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The message template types (`TemplateType` in connector-kit) the mock sends with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UsageType {
    SignIn,
    Register,
    ForgotPassword,
}

impl UsageType {
    fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "SignIn",
            Self::Register => "Register",
            Self::ForgotPassword => "ForgotPassword",
        }
    }
}

/// The connector's config, in Logto's shape plus `baseUrl`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Config {
    server_token: String,
    from_email: String,
    templates: Vec<TemplateConfig>,
    base_url: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TemplateConfig {
    usage_type: String,
    template_alias: String,
}

/// The body the connector posts.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SendWithTemplate<'a> {
    from: &'a str,
    template_alias: &'a str,
    to: &'a str,
    template_model: &'a Value,
}

/// The connector, ready to send.
#[derive(Clone, Debug)]
pub(crate) struct PostmarkConnector {
    config: Config,
    http: reqwest::Client,
}

impl PostmarkConnector {
    /// Reads the connector config; `connector.invalid_config` when it does not have Logto's
    /// shape or lacks a template Logto requires (Register, SignIn, ForgotPassword, Generic).
    pub(crate) fn new(config: &Value) -> Result<Self, RequestError> {
        let config: Config =
            serde_json::from_value(config.clone()).map_err(|e| invalid_config(&format!("{e}")))?;
        for required in ["Register", "SignIn", "ForgotPassword", "Generic"] {
            if !config.templates.iter().any(|t| t.usage_type == required) {
                return Err(invalid_config(&format!(
                    "Template with UsageType ({required}) should be provided!"
                )));
            }
        }
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| invalid_config(&e.to_string()))?;
        Ok(Self { config, http })
    }

    /// Sends `model` (`{code, locale, application?}`) to `to` with the template of `usage`.
    pub(crate) async fn send(
        &self,
        to: &str,
        usage: UsageType,
        model: &Value,
    ) -> Result<(), RequestError> {
        let alias = self.template_alias(usage)?;
        let body = SendWithTemplate {
            from: &self.config.from_email,
            template_alias: alias,
            to,
            template_model: model,
        };
        let url = format!(
            "{}/email/withTemplate",
            self.config.base_url.trim_end_matches('/')
        );
        let response = self
            .http
            .post(url)
            .header("X-Postmark-Server-Token", self.config.server_token.trim())
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .header("User-Agent", USER_AGENT)
            .body(serde_json::to_vec(&body).map_err(|e| general(&e.to_string()))?)
            .send()
            .await
            .map_err(|e| general(&transport_message(&e)))?;
        if response.status().is_success() {
            return Ok(());
        }
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("Message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| format!("Request failed with status code {}", status.as_u16()));
        Err(general(&message))
    }

    /// The alias configured for `usage` (the first, if several are).
    fn template_alias(&self, usage: UsageType) -> Result<&str, RequestError> {
        self.config
            .templates
            .iter()
            .find(|t| t.usage_type == usage.as_str())
            .map(|t| t.template_alias.as_str())
            .ok_or_else(|| RequestError {
                status: StatusCode::BAD_REQUEST,
                code: "connector.template_not_found",
                message: "Unable to find correct template in connector config.".to_owned(),
                data: None,
                extra: None,
            })
    }
}

/// What axios (inside postmark.js) would say for a failure below HTTP.
fn transport_message(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("timeout of {}ms exceeded", TIMEOUT.as_millis())
    } else if error.is_connect() {
        format!("connect ECONNREFUSED ({error})")
    } else {
        error.to_string()
    }
}

/// Logto's `connector.general` (400): `Error occurred in connector: {"message":"…"}`.
pub(crate) fn general(message: &str) -> RequestError {
    let data = json!({ "message": message });
    RequestError {
        status: StatusCode::BAD_REQUEST,
        code: "connector.general",
        message: format!("Error occurred in connector: {data}"),
        data: Some(Box::new(data)),
        extra: None,
    }
}

fn invalid_config(detail: &str) -> RequestError {
    RequestError {
        status: StatusCode::BAD_REQUEST,
        code: "connector.invalid_config",
        message: format!("The connector's config is invalid. {detail}"),
        data: None,
        extra: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_url: &str) -> Value {
        json!({
            "serverToken": " token ", "fromEmail": "noreply@example.com", "baseUrl": base_url,
            "templates": [
                {"usageType": "SignIn", "templateAlias": "logto-sign-in"},
                {"usageType": "Register", "templateAlias": "logto-register"},
                {"usageType": "ForgotPassword", "templateAlias": "logto-forgot-password"},
                {"usageType": "Generic", "templateAlias": "logto-generic"},
            ],
        })
    }

    #[test]
    fn the_config_needs_logtos_four_templates() {
        let mut incomplete = config("http://x");
        incomplete["templates"].as_array_mut().unwrap().remove(3);
        let error = PostmarkConnector::new(&incomplete).unwrap_err();
        assert_eq!(error.code, "connector.invalid_config");
        assert!(
            error
                .message
                .contains("Template with UsageType (Generic) should be provided!")
        );
        assert!(PostmarkConnector::new(&json!({"serverToken": 1})).is_err());
    }

    #[test]
    fn connector_general_carries_postmarks_message() {
        let error = general("Request does not contain a valid Server token.");
        assert_eq!(
            error.message,
            r#"Error occurred in connector: {"message":"Request does not contain a valid Server token."}"#
        );
        assert_eq!(
            error.data.as_deref(),
            Some(&json!({"message": "Request does not contain a valid Server token."}))
        );
    }

    #[test]
    fn each_usage_type_sends_its_own_template() {
        let connector = PostmarkConnector::new(&config("http://x")).unwrap();
        for (usage, alias) in [
            (UsageType::SignIn, "logto-sign-in"),
            (UsageType::Register, "logto-register"),
            (UsageType::ForgotPassword, "logto-forgot-password"),
        ] {
            assert_eq!(connector.template_alias(usage).unwrap(), alias, "{usage:?}");
        }
    }
}
