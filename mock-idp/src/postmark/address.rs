//! Email addresses as Postmark accepts them in `From`, `To`, `Cc`, `Bcc` and `ReplyTo`.
//!
//! A field holds comma-separated mailboxes, each `addr@example.com`, `Name <addr@example.com>`
//! or `"Name, with punctuation" <addr@example.com>` (a name with commas must be quoted, as
//! Postmark requires). Addresses are checked with the rules Postmark publishes: the local part
//! uses `[a-z0-9.!#$%&'*+-/=^_`{}|~]` (any case), the domain letters, digits, `-` and dots,
//! and neither has a leading, trailing or doubled dot.

use serde::Serialize;

/// One mailbox: the address and an optional display name, serialised as Postmark's Messages
/// API shows recipients (`{"Email": …, "Name": …}`, `Name` null when there is none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mailbox {
    /// The address, as sent (case kept).
    #[serde(rename = "Email")]
    pub email: String,
    /// Display name, unquoted.
    #[serde(rename = "Name")]
    pub name: Option<String>,
}

impl Mailbox {
    /// Whether this mailbox is `address`, ignoring case (as mail systems compare them in
    /// practice). `address` may also be written `Name <addr@example.com>`.
    pub fn is(&self, address: &str) -> bool {
        self.email.eq_ignore_ascii_case(bare_address(address))
    }
}

impl std::fmt::Display for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            None => f.write_str(&self.email),
            Some(name) => write!(f, "\"{}\" <{}>", name.replace('"', "\\\""), self.email),
        }
    }
}

/// The address alone: `Name <a@example.com>` gives `a@example.com`; anything else is trimmed.
pub fn bare_address(address: &str) -> &str {
    let address = address.trim();
    match (address.rfind('<'), address.strip_suffix('>')) {
        (Some(open), Some(inner)) => inner[open + 1..].trim(),
        _ => address,
    }
}

/// Parses a comma-separated list; on failure returns the piece that is not a valid mailbox.
pub fn parse_list(field: &str) -> Result<Vec<Mailbox>, String> {
    split_outside_quotes(field)
        .into_iter()
        .map(str::trim)
        .filter(|piece| !piece.is_empty())
        .map(|piece| parse_mailbox(piece).ok_or_else(|| piece.to_owned()))
        .collect()
}

/// Splits at commas that are neither inside double quotes nor inside angle brackets.
fn split_outside_quotes(field: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted, mut angle, mut escaped) = (0, false, false, false);
    for (i, c) in field.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                pieces.push(&field[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&field[start..]);
    pieces
}

fn parse_mailbox(piece: &str) -> Option<Mailbox> {
    let Some(open) = piece.rfind('<') else {
        return valid_address(piece).then(|| Mailbox {
            email: piece.to_owned(),
            name: None,
        });
    };
    let rest = piece[open + 1..].strip_suffix('>')?;
    let email = rest.trim();
    if !valid_address(email) {
        return None;
    }
    let name = display_name(piece[..open].trim())?;
    Some(Mailbox {
        email: email.to_owned(),
        name: (!name.is_empty()).then_some(name),
    })
}

/// A display name: empty, plain words, or a quoted string with `\"` escapes. An unquoted name
/// may not contain characters that need quoting.
fn display_name(raw: &str) -> Option<String> {
    if let Some(inner) = raw.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        let mut name = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => name.push(chars.next()?),
                '"' => return None,
                c => name.push(c),
            }
        }
        return Some(name);
    }
    let needs_quotes = raw.chars().any(|c| {
        matches!(
            c,
            '"' | ',' | ';' | ':' | '<' | '>' | '@' | '[' | ']' | '\\'
        )
    });
    (!needs_quotes).then(|| raw.to_owned())
}

/// Postmark's published address rules.
pub fn valid_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let local_ok = local
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".!#$%&'`*+-/=^_{}|~".contains(c));
    let domain_ok = domain
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    local_ok && domain_ok && dots_ok(local) && dots_ok(domain)
}

fn dots_ok(part: &str) -> bool {
    !part.is_empty() && !part.starts_with('.') && !part.ends_with('.') && !part.contains("..")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(name: &str, email: &str) -> Mailbox {
        Mailbox {
            email: email.into(),
            name: (!name.is_empty()).then(|| name.into()),
        }
    }

    #[test]
    fn parses_the_forms_postmark_accepts() {
        assert_eq!(
            parse_list("a@example.com"),
            Ok(vec![mailbox("", "a@example.com")])
        );
        assert_eq!(
            parse_list("Alice <alice@example.com>, bob@example.com"),
            Ok(vec![
                mailbox("Alice", "alice@example.com"),
                mailbox("", "bob@example.com")
            ])
        );
        assert_eq!(
            parse_list(r#""Doe, \"Jo\"" <jo@example.com>,<x@example.com>"#),
            Ok(vec![
                mailbox("Doe, \"Jo\"", "jo@example.com"),
                mailbox("", "x@example.com")
            ])
        );
        assert_eq!(
            parse_list("a@example.com,"),
            Ok(vec![mailbox("", "a@example.com")])
        );
        assert_eq!(parse_list(" "), Ok(vec![]));
        assert_eq!(
            parse_list("O'Brien.x+tag@Mail-1.Example.COM"),
            Ok(vec![mailbox("", "O'Brien.x+tag@Mail-1.Example.COM")])
        );
    }

    #[test]
    fn rejects_what_postmark_rejects() {
        for bad in [
            "plainaddress",
            "@example.com",
            "a@",
            "a@@example.com",
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            "a@example..com",
            "a@.example.com",
            "a b@example.com",
            "a@exa_mple.com",
            "Doe, Jo <jo@example.com>",
            "Alice <alice@example.com",
            "Al<ice <alice@example.com>",
            "Alice <not-an-address>",
        ] {
            assert!(parse_list(bad).is_err(), "{bad} should be rejected");
        }
        assert_eq!(parse_list("ok@example.com, nope"), Err("nope".to_owned()));
    }

    #[test]
    fn matching_ignores_case_and_display_names() {
        let parsed = parse_list("Alice <Alice@Example.com>").unwrap();
        assert!(parsed[0].is("alice@example.com"));
        assert!(!parsed[0].is("bob@example.com"));
    }

    #[test]
    fn a_display_name_around_the_address_still_matches() {
        let parsed = parse_list("bob@example.com").unwrap();
        assert!(parsed[0].is("Bob <BOB@example.com>"));
        assert_eq!(bare_address(" Bob <bob@example.com> "), "bob@example.com");
        assert_eq!(bare_address("plain@example.com"), "plain@example.com");
    }

    #[test]
    fn display_round_trips() {
        let list = parse_list(r#""Doe, Jo" <jo@example.com>, x@example.com"#).unwrap();
        let shown: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(shown, [r#""Doe, Jo" <jo@example.com>"#, "x@example.com"]);
        assert_eq!(parse_list(&shown.join(", ")).unwrap(), list);
    }
}
