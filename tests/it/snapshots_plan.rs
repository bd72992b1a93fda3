//! What people and CI read, pinned as snapshots: the plan in both forms. Commits, hashes and
//! paths are filtered so the snapshots say only what is stable.

use crate::support::{TestContext, repos};
use std::fs;

fn filtered(t: &TestContext) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex_escape(&t.dir.path().display().to_string()), "[TMP]");
    settings.add_filter(r"blake3:[0-9a-f]{64}", "blake3:[HASH]");
    settings.add_filter(r"\b[0-9a-f]{40}\b", "[COMMIT]");
    settings.add_filter(r"\b[0-9a-f]{10}\b", "[SHORT]");
    settings.add_filter(r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]");
    settings
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                vec![c]
            } else {
                vec!['\\', c]
            }
        })
        .collect()
}

#[test]
fn plan_output_for_people_and_for_machines() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let alpha = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    let beta = repos::node_pack(&t.path("packs/beta"), "BetaNode");
    t.run(&["node", "add", alpha.to_str().unwrap()]).success();
    t.run(&["node", "add", beta.to_str().unwrap(), "--no-apply"]).success();
    t.run(&["node", "remove", "alpha", "--no-apply"]).success();
    fs::create_dir_all(env.join("ComfyUI/custom_nodes/stray")).unwrap();

    let text = t.run(&["plan"]);
    let json = t.run(&["plan", "--json"]);
    let mut doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    doc["fingerprint"] = "[FINGERPRINT]".into();
    filtered(&t).bind(|| {
        insta::assert_snapshot!("plan_text", text.stdout);
        insta::assert_json_snapshot!("plan_json", doc);
    });
}
