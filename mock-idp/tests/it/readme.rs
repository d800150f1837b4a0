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
        "docs/logto.md",
        include_str!("../../../docs/logto.md"),
        include_str!("management_example.rs"),
    ),
    (
        "docs/postmark.md",
        include_str!("../../../docs/postmark.md"),
        include_str!("postmark_example.rs"),
    ),
    (
        "docs/reproducing.md",
        include_str!("../../../docs/reproducing.md"),
        include_str!("bug_report_example.rs"),
    ),
];

/// Documents whose ```json blocks are scenario files, faults or events, as the mock reads them.
const JSON_DOCUMENTS: &[(&str, &str)] = &[
    ("README.md", include_str!("../../../README.md")),
    (
        "docs/reproducing.md",
        include_str!("../../../docs/reproducing.md"),
    ),
];

#[test]
fn every_documented_scenario_fault_and_event_is_read_as_shown() {
    use mock_idp::{Event, Scenario, ScheduledFault};
    let mut checked = 0;
    for (document, text) in JSON_DOCUMENTS {
        for block in text.split("```json\n").skip(1) {
            let json = &block[..block.find("```").unwrap()];
            let read = Scenario::from_json(json).map(|_| ()).or_else(|scenario| {
                let faults = serde_json::from_str::<Vec<ScheduledFault>>(json)
                    .map_err(|e| e.to_string())
                    .and_then(|faults| {
                        faults
                            .iter()
                            .try_for_each(|f| f.validate().map_err(|e| e.to_string()))
                    });
                faults
                    .or_else(|_| {
                        serde_json::from_str::<Event>(json)
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    })
                    .map_err(|e| format!("{scenario}; {e}"))
            });
            if let Err(error) = read {
                panic!(
                    "{document}: this block is no scenario, fault list or event ({error}):\n{json}"
                );
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 4,
        "the documents show scenarios ({checked} blocks)"
    );
}

/// (document, its text, a file of a test that contains the snippet, the snippet's first line):
/// excerpts, found in the file with their indentation removed.
const SNIPPETS: &[(&str, &str, &str, &str)] = &[
    (
        "docs/browser.md",
        include_str!("../../../docs/browser.md"),
        include_str!("../../../examples/axum-app/tests/sign_in.rs"),
        "browser.goto(&app_url).await;",
    ),
    (
        "docs/browser.md",
        include_str!("../../../docs/browser.md"),
        include_str!("../../../examples/axum-app/tests/more.rs"),
        "let browser = Browser::start().await.unwrap();\nbrowser\n",
    ),
];

/// Whether `file` has the lines of `snippet` in a row, all indented alike.
fn contains_dedented(file: &str, snippet: &str) -> bool {
    let wanted: Vec<&str> = snippet.lines().collect();
    let lines: Vec<&str> = file.lines().collect();
    lines.windows(wanted.len()).any(|window| {
        let indent = window[0].len() - window[0].trim_start().len();
        window.iter().zip(&wanted).all(|(line, want)| {
            line.get(indent..) == Some(want) && line[..indent].trim().is_empty()
        })
    })
}

#[test]
fn every_documented_snippet_is_in_a_tested_file() {
    for (document, text, file, first_line) in SNIPPETS {
        let start = text
            .find(&format!("```rust\n{first_line}"))
            .unwrap_or_else(|| panic!("{document} has no snippet starting {first_line:?}"))
            + "```rust\n".len();
        let length = text[start..].find("```").unwrap();
        let snippet = &text[start..start + length];
        assert!(
            contains_dedented(file, snippet),
            "{document}'s snippet is not in its tested file:\n{snippet}"
        );
    }
}

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
