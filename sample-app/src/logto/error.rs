//! [`LogtoError`]: what can go wrong talking to Logto, with a stable code and words a page can
//! show.

/// What can go wrong, in words a page can show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogtoError {
    /// The provider's metadata could not be read.
    Discovery(String),
    /// The configuration cannot work (a bad URL, a missing endpoint).
    Config(String),
    /// Logto sent the user back with an error (`error`, `error_description`).
    Callback {
        /// e.g. `access_denied`.
        error: String,
        /// Logto's description, when it gave one.
        description: Option<String>,
    },
    /// No sign-in was started in this session (or it was already used).
    SignInSessionNotFound,
    /// The callback URL is not the redirect URI this sign-in sent.
    CallbackUriMismatch,
    /// The callback's `state` is not the one this session sent.
    InvalidState,
    /// The callback URL has no `code`.
    CodeNotFound,
    /// Logto could not be reached (a network error, a timeout, no TLS for an https endpoint).
    Unreachable(String),
    /// Logto refused to exchange the callback's code (expired, used, or not this app's).
    CodeExchange(String),
    /// Logto refused the refresh for another reason than an ended grant (e.g. the app's
    /// credentials).
    Token(String),
    /// Logto no longer accepts this sign-in (the refresh token expired or was revoked, the
    /// grant was withdrawn): the stored tokens were dropped, and signing in again fixes it.
    SessionEnded(String),
    /// Logto answered with a server error (`server_error`, `temporarily_unavailable`, a 5xx):
    /// nothing is wrong with the sign-in, and trying again may work.
    Unavailable(String),
    /// The ID token's `iat` is further from this server's clock than the SDKs tolerate
    /// (300 s): Logto's clock and this server's disagree.
    ClockSkew {
        /// How far `iat` is ahead of this server's clock (negative: behind), in seconds.
        seconds: i64,
    },
    /// Logto answered with something the client cannot read: neither tokens nor an OAuth
    /// error (a 5xx, an HTML page), or a token of the wrong shape.
    UnexpectedToken(String),
    /// The ID token did not verify.
    IdToken(String),
    /// There is no signed-in user.
    NotAuthenticated,
    /// The userinfo endpoint failed.
    UserInfo(String),
    /// The storage failed.
    Storage(String),
}

impl std::fmt::Display for LogtoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Discovery(e) => write!(f, "Could not read Logto's OpenID configuration: {e}"),
            Self::Config(e) => write!(f, "The Logto configuration does not work: {e}"),
            Self::Callback { error, description } => match description {
                Some(description) => write!(f, "Sign-in failed: {error} ({description})"),
                None => write!(f, "Sign-in failed: {error}"),
            },
            Self::SignInSessionNotFound => {
                f.write_str("Sign-in session not found. Please sign in again.")
            }
            Self::CallbackUriMismatch => {
                f.write_str("The callback URI does not match the redirect URI of the sign-in.")
            }
            Self::InvalidState => f.write_str("Invalid state in the callback URI."),
            Self::CodeNotFound => f.write_str("Code not found in the callback URI."),
            Self::Unreachable(e) => write!(f, "Logto could not be reached: {e}"),
            Self::CodeExchange(e) => write!(f, "Logto refused the sign-in code: {e}"),
            Self::Token(e) => write!(f, "Logto's token endpoint refused: {e}"),
            Self::SessionEnded(e) => {
                write!(f, "Your sign-in has ended ({e}). Please sign in again.")
            }
            Self::Unavailable(e) => {
                write!(f, "Logto had a temporary problem ({e}). Please try again.")
            }
            Self::ClockSkew { seconds } => write!(
                f,
                "The ID token was issued {} s {} this server's clock: Logto's clock and this \
                 server's disagree by more than the 300 s allowed. Check that both keep time (NTP).",
                seconds.unsigned_abs(),
                if *seconds > 0 { "ahead of" } else { "behind" }
            ),
            Self::UnexpectedToken(e) => write!(f, "Logto's token is not what was expected: {e}"),
            Self::IdToken(e) => write!(f, "The ID token is not valid: {e}"),
            Self::NotAuthenticated => f.write_str("Not authenticated."),
            Self::UserInfo(e) => write!(f, "Could not fetch the user info: {e}"),
            Self::Storage(e) => write!(f, "The session storage failed: {e}"),
        }
    }
}

impl std::error::Error for LogtoError {}

impl LogtoError {
    /// A stable machine-readable name (`invalid_state`, `callback_error`, …).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Discovery(_) => "discovery_failed",
            Self::Config(_) => "invalid_config",
            Self::Callback { .. } => "callback_error",
            Self::SignInSessionNotFound => "sign_in_session_not_found",
            Self::CallbackUriMismatch => "callback_uri_mismatch",
            Self::InvalidState => "invalid_state",
            Self::CodeNotFound => "code_not_found",
            Self::Unreachable(_) => "logto_unreachable",
            Self::CodeExchange(_) => "code_exchange_failed",
            Self::Token(_) => "token_request_failed",
            Self::SessionEnded(_) => "session_ended",
            Self::Unavailable(_) => "logto_unavailable",
            Self::ClockSkew { .. } => "clock_skew",
            Self::UnexpectedToken(_) => "unexpected_token",
            Self::IdToken(_) => "invalid_id_token",
            Self::NotAuthenticated => "not_authenticated",
            Self::UserInfo(_) => "userinfo_failed",
            Self::Storage(_) => "storage_failed",
        }
    }
}
