//! The documents' Rust examples are files of this test binary: each document shows a file
//! verbatim in a ```rust block, the file runs as a test here, and
//! `every_documented_example_is_a_tested_file` fails when a copy drifts from its file.

/// (document, its text, the example file it shows).
const EXAMPLES: &[(&str, &str, &str)] = &[
    (
        "README.md",
        include_str!("../../../README.md"),
        include_str!("first_test.rs"),
    ),
    (
        "README.md",
        include_str!("../../../README.md"),
        include_str!("../../../examples/axum-app/tests/sign_in.rs"),
    ),
    (
        "docs/logto.md",
        include_str!("../../../docs/logto.md"),
        include_str!("token_example.rs"),
    ),
    (
        "docs/postmark.md",
        include_str!("../../../docs/postmark.md"),
        include_str!("postmark_example.rs"),
    ),
];

#[test]
fn every_documented_example_is_a_tested_file() {
    for (document, text, example) in EXAMPLES {
        let block = format!("```rust\n{example}```");
        assert!(
            text.contains(&block),
            "{document} does not show this example verbatim:\n{block}"
        );
    }
}
