//! `status` in text and JSON, pinned before its drift report moved to `ops/`: each kind of drift
//! a person can cause by hand, at once.

use crate::support::snap::{filtered, transcript};
use crate::support::{TestContext, repos};
use std::fs;

#[test]
fn status_output_is_pinned() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let in_sync = transcript(&["status"], &t.run(&["status"]));
    let in_sync_json = transcript(&["status", "--json"], &t.run(&["status", "--json"]));

    let alpha = repos::node_pack(&t.path("packs/alpha"), "AlphaNode");
    let beta = repos::node_pack(&t.path("packs/beta"), "BetaNode");
    t.run(&["node", "add", alpha.to_str().unwrap(), beta.to_str().unwrap()])
        .success();
    let model = t.workspace.join("models/checkpoints/mini.safetensors");
    fs::create_dir_all(model.parent().unwrap()).unwrap();
    fs::write(&model, vec![7u8; 20_000]).unwrap();
    t.run(&["model", "add", model.to_str().unwrap()]).success();
    t.run(&[
        "node",
        "add",
        "--no-apply",
        &t.path("packs/alpha").display().to_string(),
        "--name",
        "gamma",
    ])
    .success();

    // By hand: a node deleted, another edited, a model relinked, a folder ComfyUI-Manager made,
    // ComfyUI's own file edited.
    let nodes = env.join("ComfyUI/custom_nodes");
    fs::remove_dir_all(nodes.join("alpha")).unwrap();
    fs::write(nodes.join("beta/__init__.py"), "edited = True\n").unwrap();
    let link = crate::support::placed_model(&env, "checkpoints/mini.safetensors");
    fs::remove_file(&link).unwrap();
    fs::write(&link, b"not the model").unwrap();
    fs::create_dir_all(nodes.join("manual-pack")).unwrap();
    fs::write(env.join("ComfyUI/nodes.py"), "# edited\n").unwrap();
    let drifted = transcript(&["status"], &t.run(&["status"]));
    let drifted_json = transcript(&["status", "--json"], &t.run(&["status", "--json"]));
    filtered(&t).bind(|| {
        insta::assert_snapshot!("status_in_sync", format!("{in_sync}\n{in_sync_json}"));
        insta::assert_snapshot!("status_drifted", format!("{drifted}\n{drifted_json}"));
    });
}
