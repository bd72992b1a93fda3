//! The node commands' text, JSON and errors, pinned before they moved to `ops/nodes.rs`: the move
//! must change nothing a user sees.

use crate::support::snap::{filtered, transcripts};
use crate::support::{TestContext, repos};

#[test]
fn node_commands_output_is_pinned() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let alpha = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    let beta = repos::node_pack(&t.path("packs/beta"), "BetaNode");
    let dev = repos::node_pack(&t.path("packs/devpack"), "DevNode");
    let (alpha, beta, dev) = (alpha.to_str().unwrap(), beta.to_str().unwrap(), dev.to_str().unwrap());
    let edits = transcripts(
        &t,
        &[
            &["node", "add", alpha],
            &["node", "add", beta, "--name", "bee", "--no-apply"],
            &["node", "add", dev, "--dev"],
            &["node", "list"],
            &["node", "list", "--json"],
            &["node", "update", "alpha"],
            &["node", "update", "bee", "--version", "v1", "--no-apply"],
            &["node", "remove", "bee"],
        ],
    );
    let new_commit = repos::node_pack_v2(&t.path("packs/alpha"), "AlphaNode2");
    let updated = transcripts(&t, &[&["node", "update"], &["node", "list"]]);
    let refusals = transcripts(
        &t,
        &[
            &["node", "add", alpha],
            &["node", "add", alpha, beta, "--name", "x"],
            &["node", "add", "not a source!"],
            &["node", "add", "/no/such/folder", "--dev"],
            &["node", "remove", "nope"],
            &["node", "update", "nope"],
            &["node", "update", "devpack", "--version", "v2"],
        ],
    );
    assert!(env.join("ComfyUI/custom_nodes/alpha").is_dir());
    assert!(!new_commit.is_empty());
    filtered(&t).bind(|| {
        insta::assert_snapshot!("node_edits", edits);
        insta::assert_snapshot!("node_update_all", updated);
        insta::assert_snapshot!("node_refusals", refusals);
    });
}
