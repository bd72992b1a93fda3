//! Snapshot settings shared by the tests that pin what people and CI read: paths, hashes,
//! commits and times are filtered so a snapshot says only what is stable.

use super::TestContext;

pub fn filtered(t: &TestContext) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex::escape(&t.dir.path().display().to_string()), "[TMP]");
    settings.add_filter(r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]");
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    settings.add_filter(r"blake3:[0-9a-f]{64}", "blake3:[HASH]");
    settings.add_filter(r"\b[0-9a-f]{40}\b", "[COMMIT]");
    settings.add_filter(r"\b[0-9a-f]{10}\b", "[SHORT]");
    settings.add_filter(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?Z?", "[TIME]");
    settings.add_filter(r#""(created|time)": \d+"#, "\"$1\": [SECS]");
    settings.add_filter(r"\d+(\.\d+)?(ms|s)\b", "[DURATION]");
    settings
}

/// One command's exit code, stdout and stderr as one text to pin.
pub fn transcript(args: &[&str], run: &super::Run) -> String {
    format!(
        "$ comfydock {}\n[exit {}]\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        run.code,
        run.stdout,
        run.stderr
    )
}

/// Runs each command in turn and joins their [`transcript`]s.
pub fn transcripts(t: &TestContext, steps: &[&[&str]]) -> String {
    steps
        .iter()
        .map(|args| transcript(args, &t.run(args)))
        .collect::<Vec<_>>()
        .join("\n")
}
