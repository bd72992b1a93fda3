//! `comfyui show` and `comfyui update`: text, JSON, warnings and refusals, pinned before they
//! moved to `ops/`.

use crate::support::snap::{filtered, transcripts};
use crate::support::{TestContext, repos};
use std::fs;

#[test]
fn comfyui_commands_output_is_pinned() {
    let t = TestContext::new();
    t.create_env("demo");
    let old = repos::pack_requiring_comfyui(&t.path("packs/old-pack"), "old-pack", "OldNode", "<0.3");
    t.run(&["node", "add", old.to_str().unwrap()]).success();
    fs::write(
        t.comfyui_repo.join("requirements.txt"),
        "comfy-mini-dep>=1.0,<9\n-e ./local-thing\n",
    )
    .unwrap();
    fs::write(t.comfyui_repo.join("comfyui_version.py"), "__version__ = \"0.4.0\"\n").unwrap();
    repos::commit_all(&t.comfyui_repo, "ComfyUI 0.4.0");
    repos::git(&t.comfyui_repo, &["tag", "v0.4.0"]);
    let out = transcripts(
        &t,
        &[
            &["comfyui", "show"],
            &["comfyui", "update", "--no-apply"],
            &["comfyui", "show", "--json"],
            &["comfyui", "update"],
            &["comfyui", "show"],
            &["comfyui", "update", "no-such-tag"],
        ],
    );
    filtered(&t).bind(|| insta::assert_snapshot!("comfyui_show_and_update", out));
}
