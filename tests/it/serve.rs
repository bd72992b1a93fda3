//! `comfydock serve`: the web view over the same operations as the CLI, tested over real HTTP on
//! 127.0.0.1 and in a headless browser; and the CLI output of the operations both edges share,
//! pinned before they moved to `ops/`.

use crate::support::{TestContext, repos};

fn filtered(t: &TestContext) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex::escape(&t.dir.path().display().to_string()), "[TMP]");
    settings.add_filter(r"blake3:[0-9a-f]{64}", "blake3:[HASH]");
    settings.add_filter(r"\b[0-9a-f]{40}\b", "[COMMIT]");
    settings.add_filter(r"\b[0-9a-f]{10}\b", "[SHORT]");
    settings.add_filter(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?Z?", "[TIME]");
    settings.add_filter(r#""(created|time)": \d+"#, "\"$1\": [SECS]");
    settings
}

/// An environment with three generations: created, a node added, rolled back.
fn env_with_history(t: &TestContext) -> std::path::PathBuf {
    let env = t.create_env("demo");
    let alpha = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    t.run(&["node", "add", alpha.to_str().unwrap()]).success();
    env
}

#[test]
fn log_output_is_pinned() {
    let t = TestContext::new();
    env_with_history(&t);
    t.run(&["rollback", "1", "--yes"]).success();
    let text = t.run(&["log"]);
    text.success();
    let json = t.run(&["log", "--json"]);
    json.success();
    filtered(&t).bind(|| {
        insta::assert_snapshot!("log_text", text.stdout);
        insta::assert_snapshot!("log_json", json.stdout);
    });
}
