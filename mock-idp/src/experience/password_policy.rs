//! Logto's password policy (`signInExperience.passwordPolicy`, checked by core-kit's
//! `PasswordPolicyChecker`): what a new password must be, and the issues Logto answers with in
//! `password.rejected` (422, `data`: `[{"code": "password_rejected.too_short",
//! "interpolation": {"min": 8}}, …]`).
//!
//! The checks, in Logto's order: length (`too_short` / `too_long`), character types
//! (`character_types`: lower case, upper case, digits, symbols; `unsupported_characters` for
//! anything else), breached passwords (`pwned`), then restricted phrases (repetitions and
//! sequences of three or more, the user's own information, the tenant's words), which are
//! reported only when they make up all but three characters of the password at most.
//!
//! One difference: Logto asks haveibeenpwned.com whether a password was breached; the mock is
//! offline, so it checks a committed list of the most common breached passwords instead (what
//! Logto's own integration tests do with a fixed list).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// `passwordPolicy`, with Logto's defaults for what is left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PasswordPolicy {
    /// Length bounds.
    pub length: LengthPolicy,
    /// How many kinds of characters a password needs.
    pub character_types: CharacterTypesPolicy,
    /// What a password must not be.
    pub rejects: RejectsPolicy,
}

/// `passwordPolicy.length`: 8 to 256 characters by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LengthPolicy {
    /// At least this many characters.
    pub min: usize,
    /// At most this many.
    pub max: usize,
}

impl Default for LengthPolicy {
    fn default() -> Self {
        Self { min: 8, max: 256 }
    }
}

/// `passwordPolicy.characterTypes`: 1 to 4 kinds (default 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CharacterTypesPolicy {
    /// Kinds needed among lower case, upper case, digits and symbols.
    pub min: usize,
}

impl Default for CharacterTypesPolicy {
    fn default() -> Self {
        Self { min: 1 }
    }
}

/// `passwordPolicy.rejects`: everything on by default, no words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RejectsPolicy {
    /// Breached passwords.
    pub pwned: bool,
    /// Runs such as `aaa`, `abc`, `qwe`, `321`.
    pub repetition_and_sequence: bool,
    /// The user's name, username, email and phone.
    pub user_info: bool,
    /// The tenant's own words (case-insensitive).
    pub words: Vec<String>,
}

impl Default for RejectsPolicy {
    fn default() -> Self {
        Self {
            pwned: true,
            repetition_and_sequence: true,
            user_info: true,
            words: Vec::new(),
        }
    }
}

/// What is known of the user a password is for (its user-info check).
#[derive(Clone, Debug, Default)]
pub(crate) struct UserInfo {
    pub name: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// One reason a password is refused: Logto's issue code and its interpolation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Issue {
    pub code: &'static str,
    pub interpolation: Option<Value>,
}

impl Issue {
    fn plain(code: &'static str) -> Self {
        Self {
            code,
            interpolation: None,
        }
    }

    /// As Logto's `data` lists it.
    pub(crate) fn to_json(&self) -> Value {
        match &self.interpolation {
            Some(interpolation) => json!({"code": self.code, "interpolation": interpolation}),
            None => json!({"code": self.code}),
        }
    }

    /// The experience's English phrase for the issue.
    pub(crate) fn phrase(&self) -> String {
        let value = |key: &str| {
            self.interpolation
                .as_ref()
                .and_then(|i| i.get(key))
                .map(Value::to_string)
                .unwrap_or_default()
        };
        match self.code {
            "password_rejected.too_short" => format!("Minimum length is {}.", value("min")),
            "password_rejected.too_long" => format!("Maximum length is {}.", value("max")),
            "password_rejected.character_types" => {
                format!(
                    "At least {} types of characters are required.",
                    value("min")
                )
            }
            "password_rejected.unsupported_characters" => "Unsupported character found.".into(),
            "password_rejected.pwned" => {
                "Avoid using simple passwords that are easy to guess.".into()
            }
            "password_rejected.restricted.repetition" => "repeated characters".into(),
            "password_rejected.restricted.sequence" => "sequential characters".into(),
            "password_rejected.restricted.user_info" => "your personal information".into(),
            _ => "product context".into(),
        }
    }
}

/// The one message the experience shows for `issues`, as Logto's UI picks it: the first of
/// unsupported characters, too short, character types, too long and pwned; else "Avoid
/// overusing …" with every restricted issue.
pub(crate) fn message(issues: &[Issue]) -> String {
    for code in [
        "password_rejected.unsupported_characters",
        "password_rejected.too_short",
        "password_rejected.character_types",
        "password_rejected.too_long",
        "password_rejected.pwned",
    ] {
        if let Some(issue) = issues.iter().find(|i| i.code == code) {
            return issue.phrase();
        }
    }
    let restricted: Vec<String> = issues.iter().map(Issue::phrase).collect();
    match restricted.as_slice() {
        [] => "Password rejected. Please check if your password meets the requirements.".into(),
        [one] => format!("Avoid overusing {one}."),
        [rest @ .., last] => format!("Avoid overusing {} and {last}.", rest.join(", ")),
    }
}

/// Symbols Logto counts as a character type (space included).
const SYMBOLS: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ ";

/// Keyboard and alphabet runs Logto calls sequences (reversed and upper case count too).
const SEQUENCES: &[&str] = &[
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiop",
    "asdfghjkl",
    "zxcvbnm",
    "1qaz",
    "2wsx",
    "3edc",
    "4rfv",
    "5tgb",
    "6yhn",
    "7ujm",
    "8ik",
    "9ol",
];

/// Some of the most common breached passwords (eight characters or more: shorter ones fail
/// the length check first).
const PWNED: &[&str] = &[
    "12345678",
    "123456789",
    "1234567890",
    "password",
    "password1",
    "password12",
    "password123",
    "Password1",
    "Password123",
    "P@ssw0rd",
    "passw0rd",
    "qwertyuiop",
    "qwerty123",
    "1q2w3e4r",
    "1q2w3e4r5t",
    "1qaz2wsx",
    "abcd1234",
    "Aa123456",
    "11111111",
    "00000000",
    "87654321",
    "987654321",
    "iloveyou",
    "sunshine",
    "princess",
    "football",
    "baseball",
    "starwars",
    "trustno1",
    "welcome1",
    "Welcome1",
    "superman",
    "computer",
    "michelle",
    "jennifer",
    "whatever",
    "letmein1",
    "qazwsxedc",
    "zaq12wsx",
    "admin123",
];

/// The issues of `password` under `policy` for `user` (empty: accepted).
pub(crate) fn check(policy: &PasswordPolicy, password: &str, user: &UserInfo) -> Vec<Issue> {
    let mut issues = Vec::new();
    let length = password.chars().count();
    if length < policy.length.min {
        issues.push(Issue {
            code: "password_rejected.too_short",
            interpolation: Some(json!({"min": policy.length.min})),
        });
    } else if length > policy.length.max {
        issues.push(Issue {
            code: "password_rejected.too_long",
            interpolation: Some(json!({"max": policy.length.max})),
        });
    }
    let kinds = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| SYMBOLS.contains(c)),
    ];
    let present = kinds.iter().filter(|k| **k).count();
    if present < policy.character_types.min {
        issues.push(Issue {
            code: "password_rejected.character_types",
            interpolation: Some(json!({"min": policy.character_types.min})),
        });
    }
    if password
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || SYMBOLS.contains(c)))
    {
        issues.push(Issue::plain("password_rejected.unsupported_characters"));
    }
    if policy.rejects.pwned && PWNED.contains(&password) {
        issues.push(Issue::plain("password_rejected.pwned"));
    }
    issues.extend(restricted(&policy.rejects, password, user));
    issues
}

/// Restricted phrases, reported only when they cover more than all but three characters.
fn restricted(rejects: &RejectsPolicy, password: &str, user: &UserInfo) -> Vec<Issue> {
    let chars: Vec<char> = password.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut covered = vec![false; chars.len()];
    let mut found = Vec::new();
    let mut mark = |code: &'static str, spans: Vec<(usize, usize)>| {
        if !spans.is_empty() {
            found.push(code);
        }
        for (start, end) in spans {
            covered[start..end].iter_mut().for_each(|c| *c = true);
        }
    };
    if rejects.repetition_and_sequence {
        mark(
            "password_rejected.restricted.repetition",
            repetitions(&chars),
        );
        mark("password_rejected.restricted.sequence", sequences(&chars));
    }
    if rejects.user_info {
        mark(
            "password_rejected.restricted.user_info",
            phrases(&chars, &user_phrases(user)),
        );
    }
    let words: Vec<String> = rejects.words.iter().map(|w| w.to_lowercase()).collect();
    mark(
        "password_rejected.restricted.words",
        phrases(&chars, &words),
    );
    let count = covered.iter().filter(|c| **c).count();
    if count > chars.len().saturating_sub(3).max(1) {
        found.into_iter().map(Issue::plain).collect()
    } else {
        Vec::new()
    }
}

/// Runs of one character, three or more long.
fn repetitions(chars: &[char]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = 0;
    for i in 1..=chars.len() {
        if i == chars.len() || chars[i] != chars[start] {
            if i - start >= 3 {
                spans.push((start, i));
            }
            start = i;
        }
    }
    spans
}

/// Runs that follow a sequence, forwards or backwards, three or more long.
fn sequences(chars: &[char]) -> Vec<(usize, usize)> {
    let forward = |a: char, b: char| {
        SEQUENCES.iter().any(|seq| {
            seq.as_bytes()
                .windows(2)
                .any(|pair| (char::from(pair[0]), char::from(pair[1])) == (a, b))
        })
    };
    // The direction of the step from `a` to `b`, if it is one of a sequence.
    let step = |a: char, b: char| {
        if forward(a, b) {
            Some(true)
        } else if forward(b, a) {
            Some(false)
        } else {
            None
        }
    };
    let mut spans = Vec::new();
    let mut close = |start: usize, end: usize, direction: Option<bool>| {
        if direction.is_some() && end - start >= 3 {
            spans.push((start, end));
        }
    };
    let (mut start, mut direction) = (0, None);
    for i in 1..chars.len() {
        match (step(chars[i - 1], chars[i]), direction) {
            (Some(next), Some(current)) if next == current => {}
            (next, current) => {
                close(start, i, current);
                start = if next.is_some() { i - 1 } else { i };
                direction = next;
            }
        }
    }
    close(start, chars.len(), direction);
    spans
}

/// What of the user's information a password must not lean on (three characters or more).
fn user_phrases(user: &UserInfo) -> Vec<String> {
    let mut phrases = Vec::new();
    if let Some(name) = &user.name {
        phrases.push(name.to_lowercase());
        phrases.push(name.to_lowercase().replace(' ', ""));
        phrases.extend(name.split_whitespace().map(str::to_lowercase));
    }
    phrases.extend(user.username.iter().map(|u| u.to_lowercase()));
    if let Some(email) = &user.email {
        phrases.extend(email.split('@').next().map(str::to_lowercase));
    }
    phrases.extend(user.phone.iter().cloned());
    phrases.retain(|p| p.chars().count() >= 3);
    phrases
}

/// Where any of `phrases` occurs in `chars`.
fn phrases(chars: &[char], phrases: &[String]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for phrase in phrases {
        let wanted: Vec<char> = phrase.chars().collect();
        if wanted.is_empty() || wanted.len() > chars.len() {
            continue;
        }
        for start in 0..=chars.len() - wanted.len() {
            if chars[start..start + wanted.len()] == wanted[..] {
                spans.push((start, start + wanted.len()));
            }
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(password: &str, user: &UserInfo) -> Vec<&'static str> {
        check(&PasswordPolicy::default(), password, user)
            .into_iter()
            .map(|i| i.code)
            .collect()
    }

    fn none() -> UserInfo {
        UserInfo::default()
    }

    #[test]
    fn a_reasonable_password_passes_the_default_policy() {
        for good in ["alice-Secret-1", "correct horse battery", "Tr0ub4dor&3"] {
            assert_eq!(codes(good, &none()), Vec::<&str>::new(), "{good}");
        }
    }

    #[test]
    fn length_types_and_characters_are_checked_with_their_interpolations() {
        let short = check(&PasswordPolicy::default(), "a1", &none());
        assert_eq!(
            short[0].to_json(),
            json!({"code": "password_rejected.too_short", "interpolation": {"min": 8}})
        );
        let long = "x".repeat(257);
        assert!(codes(&long, &none()).contains(&"password_rejected.too_long"));
        let strict = PasswordPolicy {
            character_types: CharacterTypesPolicy { min: 3 },
            ..PasswordPolicy::default()
        };
        let issues = check(&strict, "lowercase1", &none());
        assert_eq!(issues[0].code, "password_rejected.character_types");
        assert_eq!(
            issues[0].phrase(),
            "At least 3 types of characters are required."
        );
        assert!(codes("pässword-1", &none()).contains(&"password_rejected.unsupported_characters"));
    }

    #[test]
    fn common_breached_passwords_are_refused() {
        assert_eq!(codes("Password123", &none()), ["password_rejected.pwned"]);
    }

    #[test]
    fn restricted_phrases_count_only_when_they_make_up_the_password() {
        assert_eq!(
            codes("aaaaaaaa", &none()),
            ["password_rejected.restricted.repetition"]
        );
        assert_eq!(
            codes("abcdefgh", &none()),
            ["password_rejected.restricted.sequence"]
        );
        assert_eq!(
            codes("87654zyx", &none()),
            ["password_rejected.restricted.sequence"]
        );
        // A run inside an otherwise varied password is fine.
        assert_eq!(codes("xyz-Mango-7", &none()), Vec::<&str>::new());
        let dana = UserInfo {
            name: Some("Dana Scully".into()),
            username: Some("dscully".into()),
            email: Some("dana@example.com".into()),
            phone: None,
        };
        assert_eq!(
            codes("DanaScully1", &dana),
            ["password_rejected.restricted.user_info"]
        );
        let words = PasswordPolicy {
            rejects: RejectsPolicy {
                words: vec!["Acme".into()],
                ..RejectsPolicy::default()
            },
            ..PasswordPolicy::default()
        };
        let issues = check(&words, "acmeacme1", &none());
        assert!(
            issues
                .iter()
                .any(|i| i.code == "password_rejected.restricted.words"),
            "{issues:?}"
        );
    }

    #[test]
    fn the_experience_shows_one_message_as_logtos_ui_picks_it() {
        let issues = check(&PasswordPolicy::default(), "aaa", &none());
        assert_eq!(message(&issues), "Minimum length is 8.");
        let restricted = check(&PasswordPolicy::default(), "aaaabcde", &none());
        assert_eq!(
            message(&restricted),
            "Avoid overusing repeated characters and sequential characters."
        );
    }
}
