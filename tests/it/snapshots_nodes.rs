//! The node commands' text, JSON and errors, pinned before they moved to `ops/nodes.rs`: the move
//! must change nothing a user sees.

use crate::support::snap::{filtered, transcript};
use crate::support::{TestContext, repos};

fn session(t: &TestContext, steps: &[Vec<String>]) -> String {
    steps
        .iter()
        .map(|args| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            transcript(&args, &t.run(&args))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(ToString::to_string).collect()
}

#[test]
fn node_commands_output_is_pinned() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let alpha = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    let beta = repos::node_pack(&t.path("packs/beta"), "BetaNode");
    let dev = repos::node_pack(&t.path("packs/devpack"), "DevNode");
    let (alpha, beta, dev) = (alpha.to_str().unwrap(), beta.to_str().unwrap(), dev.to_str().unwrap());
    let edits = session(
        &t,
        &[
            args(&["node", "add", alpha]),
            args(&["node", "add", beta, "--name", "bee", "--no-apply"]),
            args(&["node", "add", dev, "--dev"]),
            args(&["node", "list"]),
            args(&["node", "list", "--json"]),
            args(&["node", "update", "alpha"]),
            args(&["node", "update", "bee", "--version", "v1", "--no-apply"]),
            args(&["node", "remove", "bee"]),
        ],
    );
    let new_commit = repos::node_pack_v2(&t.path("packs/alpha"), "AlphaNode2");
    let updated = session(&t, &[args(&["node", "update"]), args(&["node", "list"])]);
    let refusals = session(
        &t,
        &[
            args(&["node", "add", alpha]),
            args(&["node", "add", alpha, beta, "--name", "x"]),
            args(&["node", "add", "not a source!"]),
            args(&["node", "add", "/no/such/folder", "--dev"]),
            args(&["node", "remove", "nope"]),
            args(&["node", "update", "nope"]),
            args(&["node", "update", "devpack", "--version", "v2"]),
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
