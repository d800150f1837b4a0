//! The checks of `/oidc/auth`, in node-oidc-provider's order, one small function each.
//!
//! [`run`] reads like the pipeline: duplicates, unsupported parameters (`request`,
//! `request_uri`, `registration`), client, response mode, response type, redirect_uri presence
//! (a client with exactly one registered may leave it out), OpenID-only parameters, `max_age`,
//! prompt, scope, redirect_uri, resource, PKCE, and Logto's extra parameters. When a check
//! fails, the error goes back to the client's `redirect_uri` only if the client exists and the
//! `redirect_uri` (given once, or the one registered) is one it registered; otherwise the answer
//! is a 400 in Logto's shape and nothing is redirected.

use sha2::Digest as _;

use super::super::claims;
use super::super::error::OidcError;
use super::super::params::Params;
use crate::interaction::{AuthRequest, FirstScreen, Prompt};
use crate::tenant::{Application, ApplicationType, Tenant};

/// A failed check: the error, and where it may be sent.
#[derive(Debug)]
pub(crate) struct Rejection {
    pub error: OidcError,
    /// `(redirect_uri, state)` when the error may be redirected.
    pub redirect: Option<Box<(String, Option<String>)>>,
}

/// Runs every check, in order.
pub(crate) fn run(params: &Params, tenant: &Tenant) -> Result<AuthRequest, Rejection> {
    let fail = |error: OidcError| reject(error, params, tenant);
    reject_duplicates(params).map_err(fail)?;
    reject_unsupported(params).map_err(fail)?;
    let client = check_client(params, tenant).map_err(fail)?;
    check_response_mode(params).map_err(fail)?;
    check_response_type(params, client).map_err(fail)?;
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) => uri,
        None => only_redirect_uri(client)
            .ok_or_else(|| OidcError::missing("redirect_uri"))
            .map_err(fail)?,
    };
    check_openid_scope(params).map_err(fail)?;
    let max_age = check_max_age(params).map_err(fail)?;
    // node-oidc-provider: `max_age=0` is `prompt=login`, before the prompt is checked (so
    // `prompt=none` with it is not `none` alone).
    let prompt = check_prompt(params, max_age == Some(0)).map_err(fail)?;
    let scopes = check_scope(params, prompt);
    check_redirect_uri(redirect_uri, client).map_err(fail)?;
    let resources = check_resource(params, tenant).map_err(fail)?;
    let resource_scopes = resource_scopes(params, &resources, tenant);
    let code_challenge = check_pkce(params, client).map_err(fail)?;
    let extras = logto_extra_params(params);
    Ok(AuthRequest {
        client_id: client.id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        resource_scopes,
        prompt,
        max_age: max_age.filter(|age| *age > 0),
        auth_time: max_age.is_some() || prompt.login,
        state: params.get("state").map(str::to_owned),
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge,
        resources,
        first_screen: extras.first_screen,
        login_hint: extras.login_hint,
    })
}

/// Redirects only to a registered redirect_uri of a known client. A parameter given twice
/// counts as not given (node-oidc-provider drops it), so a doubled `client_id` is never
/// redirected, and a doubled or missing `redirect_uri` only to the client's single one.
fn reject(error: OidcError, params: &Params, tenant: &Tenant) -> Rejection {
    let redirect = params
        .once("client_id")
        .and_then(|id| tenant.application(id))
        .and_then(|client| {
            let uri = params
                .once("redirect_uri")
                .or_else(|| only_redirect_uri(client))?;
            registered(client, uri).then_some(uri)
        })
        .map(|uri| Box::new((uri.to_owned(), params.once("state").map(str::to_owned))));
    Rejection { error, redirect }
}

/// The client's redirect URI when it registered exactly one (node-oidc-provider lets such a
/// client leave `redirect_uri` out).
pub(crate) fn only_redirect_uri(client: &Application) -> Option<&str> {
    match client.oidc_client_metadata.redirect_uris.as_slice() {
        [only] => Some(only),
        _ => None,
    }
}

/// Request objects, `request_uri` (Logto's PAR is not built here) and dynamic `registration`
/// are refused as node-oidc-provider refuses them when they are off.
fn reject_unsupported(params: &Params) -> Result<(), OidcError> {
    if params.get("request").is_some() {
        return Err(OidcError::unsupported(
            "request_not_supported",
            "request parameter provided but not supported",
        ));
    }
    if params.get("request_uri").is_some() {
        return Err(OidcError::unsupported(
            "request_uri_not_supported",
            "request_uri parameter provided but not supported",
        ));
    }
    if params.get("registration").is_some() {
        return Err(OidcError::unsupported(
            "registration_not_supported",
            "registration parameter provided but not supported",
        ));
    }
    Ok(())
}

/// `max_age`: a non-negative integer of seconds.
fn check_max_age(params: &Params) -> Result<Option<i64>, OidcError> {
    let Some(value) = params.get("max_age") else {
        return Ok(None);
    };
    // JavaScript's safe integers: up to 2^53 - 1.
    match value.parse::<i64>() {
        Ok(age) if (0..=9_007_199_254_740_991).contains(&age) => Ok(Some(age)),
        _ => Err(OidcError::invalid_request(
            "invalid max_age parameter value",
        )),
    }
}

fn registered(client: &Application, redirect_uri: &str) -> bool {
    client
        .oidc_client_metadata
        .redirect_uris
        .iter()
        .any(|registered| registered == redirect_uri)
}

/// Every parameter at most once, but `resource`.
fn reject_duplicates(params: &Params) -> Result<(), OidcError> {
    params.reject_duplicates(&["resource"])
}

/// `client_id` present and known.
fn check_client<'t>(params: &Params, tenant: &'t Tenant) -> Result<&'t Application, OidcError> {
    let id = params.required("client_id")?;
    tenant
        .application(id)
        .ok_or_else(|| OidcError::invalid_client().detail(format!("no application {id}")))
}

/// Only `query` (Logto also serves `form_post` and `fragment`; this mock does not yet).
fn check_response_mode(params: &Params) -> Result<(), OidcError> {
    match params.get("response_mode") {
        None | Some("query") => Ok(()),
        Some(_) => Err(OidcError::unsupported_response_mode()),
    }
}

/// `response_type=code`, for a client type that signs users in.
fn check_response_type(params: &Params, client: &Application) -> Result<(), OidcError> {
    let response_type = params.required("response_type")?;
    let mut parts: Vec<&str> = response_type.split(' ').filter(|p| !p.is_empty()).collect();
    parts.sort_unstable();
    parts.dedup();
    if parts != ["code"] {
        return Err(OidcError::unsupported_response_type());
    }
    match client.app_type {
        ApplicationType::Traditional | ApplicationType::Spa | ApplicationType::Native => Ok(()),
        _ => Err(OidcError::unauthorized_client(
            "requested response_type is not allowed for this client",
        )),
    }
}

/// OpenID-only parameters need the `openid` scope.
fn check_openid_scope(params: &Params) -> Result<(), OidcError> {
    let openid = params
        .get("scope")
        .is_some_and(|scope| scope.split(' ').any(|s| s == "openid"));
    if openid {
        return Ok(());
    }
    for gated in [
        "acr_values",
        "claims",
        "claims_locales",
        "id_token_hint",
        "max_age",
        "nonce",
    ] {
        if params.get(gated).is_some() {
            return Err(OidcError::invalid_request(format!(
                "openid scope must be requested when using the {gated} parameter"
            )));
        }
    }
    Ok(())
}

/// `none`, `login`, `consent`, `select_account`; `none` alone. `login` is added first when
/// `max_age=0` asked for it.
fn check_prompt(params: &Params, login: bool) -> Result<Prompt, OidcError> {
    let mut prompt = Prompt {
        login,
        ..Prompt::default()
    };
    let mut count = usize::from(login);
    let Some(value) = params.get("prompt") else {
        return Ok(prompt);
    };
    for part in value.split(' ').filter(|p| !p.is_empty()) {
        count += 1;
        match part {
            "none" => prompt.none = true,
            "login" if prompt.login => count -= 1,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            _ => {
                return Err(OidcError::invalid_request(
                    "unsupported prompt value requested",
                ));
            }
        }
    }
    if prompt.none && count != 1 {
        return Err(OidcError::invalid_request(
            "prompt none must only be used alone",
        ));
    }
    Ok(prompt)
}

/// Known scopes are kept in request order, unknown ones dropped (as node-oidc-provider does);
/// `offline_access` is dropped unless `prompt` has `consent`.
fn check_scope(params: &Params, prompt: Prompt) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in params.get("scope").unwrap_or_default().split(' ') {
        let known = claims::SCOPES.contains(&scope);
        let dropped = scope == "offline_access" && !prompt.consent;
        if known && !dropped && !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    scopes
}

/// Logto's reserved resource for organization scopes: asked for, the grant keeps the requested
/// organization scopes for organization tokens.
pub(crate) const ORGANIZATIONS_RESOURCE: &str = "urn:logto:resource:organizations";

/// The requested scope values that belong to a requested API resource (organization scopes
/// belong to [`ORGANIZATIONS_RESOURCE`]).
fn resource_scopes(params: &Params, resources: &[String], tenant: &Tenant) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    let organizations = resources.iter().any(|r| r == ORGANIZATIONS_RESOURCE);
    for scope in params.get("scope").unwrap_or_default().split(' ') {
        let of_a_resource = resources
            .iter()
            .filter_map(|indicator| tenant.resource(indicator))
            .any(|resource| resource.scopes.iter().any(|s| s.name == scope))
            || (organizations && tenant.is_organization_scope(scope));
        if of_a_resource && !kept.iter().any(|s| s == scope) {
            kept.push(scope.to_owned());
        }
    }
    kept
}

/// Exact match against the client's registered redirect URIs.
fn check_redirect_uri(redirect_uri: &str, client: &Application) -> Result<(), OidcError> {
    if registered(client, redirect_uri) {
        Ok(())
    } else {
        Err(OidcError::invalid_redirect_uri().detail(format!("{redirect_uri} is not registered")))
    }
}

/// Each `resource` (repeated or comma-separated) must be a registered API resource.
fn check_resource(params: &Params, tenant: &Tenant) -> Result<Vec<String>, OidcError> {
    let mut resources: Vec<String> = Vec::new();
    for value in params.all("resource") {
        for indicator in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if indicator == ORGANIZATIONS_RESOURCE {
                if !resources.iter().any(|r| r == indicator) {
                    resources.push(indicator.to_owned());
                }
                continue;
            }
            if indicator.contains('#') {
                return Err(OidcError::invalid_target(
                    "resource indicator must not contain a fragment component",
                ));
            }
            if !is_absolute_uri(indicator) {
                return Err(OidcError::invalid_target(
                    "resource indicator must be an absolute URI",
                ));
            }
            if tenant.resource(indicator).is_none() {
                return Err(
                    OidcError::invalid_target("resource indicator is missing, or unknown")
                        .detail(format!("{indicator} is not an API resource of this tenant")),
                );
            }
            if !resources.iter().any(|r| r == indicator) {
                resources.push(indicator.to_owned());
            }
        }
    }
    Ok(resources)
}

/// RFC 3986's absolute URI as node-oidc-provider checks a resource indicator: a scheme
/// (a letter, then letters, digits, `+`, `-`, `.`), a colon, something after it (`urn:…`
/// included).
pub(crate) fn is_absolute_uri(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !rest.is_empty()
}

/// S256 only; a challenge of 43–128 unreserved characters; required unless the client
/// authenticates with a secret (Logto: PKCE is optional for `client_secret_basic` clients).
fn check_pkce(params: &Params, client: &Application) -> Result<Option<String>, OidcError> {
    let challenge = params.get("code_challenge");
    let method = params.get("code_challenge_method");
    if challenge.is_some() && method.is_none() {
        return Err(OidcError::invalid_request(
            "plain code_challenge_method fallback disabled, code_challenge_method must be provided",
        ));
    }
    if let Some(method) = method {
        if method != "S256" {
            return Err(OidcError::invalid_request(
                "not supported value of code_challenge_method",
            ));
        }
        if challenge.is_none() {
            return Err(OidcError::invalid_request(
                "code_challenge must be provided with code_challenge_method",
            ));
        }
    }
    if challenge.is_none() && !client.is_confidential() {
        return Err(OidcError::invalid_request(
            "PKCE must be used for this request",
        ));
    }
    if let Some(challenge) = challenge {
        check_pkce_format(challenge, "code_challenge")?;
    }
    Ok(challenge.map(str::to_owned))
}

/// 43–128 characters of `[A-Za-z0-9-._~]` (verifiers and challenges alike).
pub(crate) fn check_pkce_format(value: &str, param: &str) -> Result<(), OidcError> {
    if value.len() < 43 {
        return Err(OidcError::invalid_request(format!(
            "{param} must be a string with a minimum length of 43 characters"
        )));
    }
    if value.len() > 128 {
        return Err(OidcError::invalid_request(format!(
            "{param} must be a string with a maximum length of 128 characters"
        )));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
    {
        return Err(OidcError::invalid_request(format!(
            "{param} contains invalid characters"
        )));
    }
    Ok(())
}

/// Whether `verifier` hashes (S256) to `challenge`.
pub(crate) fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    use base64::Engine as _;
    let digest = sha2::Sha256::digest(verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest) == challenge
}

/// Logto's extra parameters, after Logto's own parsing.
struct Extras {
    first_screen: FirstScreen,
    login_hint: Option<String>,
}

/// `interaction_mode`, `first_screen`, `identifier`, `login_hint`, `direct_sign_in`,
/// `organization_id`: one invalid value voids them all (Logto parses them as one object and
/// ignores it when the parse fails), leaving the default first screen.
fn logto_extra_params(params: &Params) -> Extras {
    let void = Extras {
        first_screen: FirstScreen::SignIn,
        login_hint: None,
    };
    let interaction_mode = match params.get("interaction_mode") {
        None => None,
        Some("signIn") => Some(FirstScreen::SignIn),
        Some("signUp") => Some(FirstScreen::Register),
        Some(_) => return void,
    };
    let first_screen = match params.get("first_screen") {
        None => None,
        Some("signIn" | "sign_in") => Some(FirstScreen::SignIn),
        Some("register") => Some(FirstScreen::Register),
        Some("identifier:sign_in") => Some(FirstScreen::IdentifierSignIn),
        Some("identifier:register") => Some(FirstScreen::IdentifierRegister),
        Some("reset_password") => Some(FirstScreen::ResetPassword),
        Some("single_sign_on") => Some(FirstScreen::SingleSignOn),
        Some(_) => return void,
    };
    if let Some(identifiers) = params.get("identifier")
        && !identifiers
            .split(' ')
            .filter(|i| !i.is_empty())
            .all(|i| matches!(i, "email" | "phone" | "username"))
    {
        return void;
    }
    Extras {
        first_screen: first_screen
            .or(interaction_mode)
            .unwrap_or(FirstScreen::SignIn),
        login_hint: params.get("login_hint").map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        assert!(pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn an_invalid_extra_parameter_voids_them_all() {
        let params =
            Params::from_urlencoded(b"first_screen=register&interaction_mode=nope&login_hint=a");
        let extras = logto_extra_params(&params);
        assert_eq!(extras.first_screen, FirstScreen::SignIn);
        assert_eq!(extras.login_hint, None);
        let params = Params::from_urlencoded(b"interaction_mode=signUp&login_hint=a%40b.c");
        let extras = logto_extra_params(&params);
        assert_eq!(extras.first_screen, FirstScreen::Register);
        assert_eq!(extras.login_hint.as_deref(), Some("a@b.c"));
        let params =
            Params::from_urlencoded(b"interaction_mode=signIn&first_screen=identifier:register");
        assert_eq!(
            logto_extra_params(&params).first_screen,
            FirstScreen::IdentifierRegister,
            "first_screen wins"
        );
    }
}
