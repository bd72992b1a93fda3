//! What people and CI read, pinned as snapshots: the plan in both forms. Commits, hashes and
//! paths are filtered so the snapshots say only what is stable.

use crate::support::snap::filtered;
use crate::support::{TestContext, repos};
use std::fs;

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
