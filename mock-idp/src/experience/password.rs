//! Passwords: how the mock keeps them and checks them.
//!
//! Logto stores an Argon2i digest of every password set through it and verifies imported
//! digests of other algorithms. The mock keeps SHA-256 digests (`passwordEncryptionMethod:
//! "SHA256"`, one of Logto's methods, for imported users): a check costs microseconds in the
//! debug build tests run in, where Argon2i's would cost most of a second. A tenant with
//! digests of another method is refused when it loads, saying so, rather than failing every
//! sign-in of those users.

use sha2::{Digest as _, Sha256};

use crate::tenant::User;

/// The one encryption method the mock verifies.
pub(crate) const METHOD: &str = "SHA256";

/// The hex SHA-256 digest of `password`, as Logto's `SHA256` method stores it.
pub(crate) fn digest(password: &str) -> String {
    Sha256::digest(password.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// Whether `password` is `user`'s (false for a user without a password).
pub(crate) fn matches(user: &User, password: &str) -> bool {
    match (&user.password_encrypted, &user.password_encryption_method) {
        (Some(stored), Some(method)) if method == METHOD => {
            let given = digest(password);
            let stored = stored.to_ascii_lowercase();
            // Compared without stopping at the first difference.
            given.len() == stored.len()
                && given
                    .bytes()
                    .zip(stored.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0
        }
        _ => false,
    }
}

/// Replaces a clear `password` by its digest.
pub(crate) fn seal(user: &mut User) {
    if let Some(password) = user.password.take() {
        user.password_encrypted = Some(digest(&password));
        user.password_encryption_method = Some(METHOD.to_owned());
    }
}

/// Why a user's stored password cannot be used here, if it cannot.
pub(crate) fn unusable(user: &User) -> Option<String> {
    match (&user.password_encrypted, &user.password_encryption_method) {
        (None, None) => None,
        (Some(digest), Some(method)) if method == METHOD => {
            let hex = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
            (!hex).then(|| "its SHA256 passwordEncrypted is not 64 hex digits".to_owned())
        }
        (Some(_), Some(method)) => Some(format!(
            "its password is a {method} digest, and this mock verifies SHA256 digests only: \
             give the user a clear `password` (hashed at start) or a SHA256 digest"
        )),
        _ => Some("passwordEncrypted and passwordEncryptionMethod go together".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_password_matches_itself_only() {
        let mut user = User::email("a@example.com").password("correct horse 9");
        seal(&mut user);
        assert!(user.password.is_none(), "the clear password is gone");
        assert_eq!(user.password_encryption_method.as_deref(), Some("SHA256"));
        assert!(matches(&user, "correct horse 9"));
        assert!(!matches(&user, "correct horse 8"));
        assert!(!matches(&User::email("b@example.com"), ""));
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn digests_the_mock_cannot_check_are_named() {
        let mut user = User::email("a@example.com");
        user.password_encrypted = Some("$argon2i$v=19$m=8192,t=8,p=1$…".into());
        user.password_encryption_method = Some("Argon2i".into());
        assert!(unusable(&user).unwrap().contains("Argon2i digest"));
        user.password_encryption_method = None;
        assert!(unusable(&user).unwrap().contains("go together"));
    }
}
