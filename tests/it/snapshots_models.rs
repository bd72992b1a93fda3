//! The environment's model commands (`model add/remove/list` with `-e`): text, JSON and refusals,
//! pinned before they moved to `ops/`.

use crate::support::TestContext;
use crate::support::http::HttpServer;
use crate::support::snap::{filtered, transcripts};
use std::fs;

#[test]
fn model_commands_output_is_pinned() {
    let t = TestContext::new();
    t.create_env("demo");
    let ckpt = t.workspace.join("models/checkpoints/mini.safetensors");
    let stray = t.path("elsewhere/odd.bin");
    for (path, seed) in [(&ckpt, 1u8), (&stray, 2)] {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, vec![seed; 50_000]).unwrap();
    }
    let lora = t.workspace.join("models/loras/style.safetensors");
    fs::create_dir_all(lora.parent().unwrap()).unwrap();
    fs::write(&lora, vec![3u8; 70_000]).unwrap();
    let server = HttpServer::start();
    server.serve("/files/vae-mini.safetensors", &[4u8; 30_000]);
    let url = server.url("/files/vae-mini.safetensors");
    t.run(&["model", "scan"]).success();

    let (ckpt, stray) = (ckpt.to_str().unwrap(), stray.to_str().unwrap());
    let edits = transcripts(
        &t,
        &[
            &["model", "add", ckpt],
            &["model", "add", "style", "--no-apply"],
            &["model", "add", &url, "--category", "vae", "--name", "tiny-vae"],
            &["model", "add", stray, "--category", "upscale_models"],
            &["-e", "demo", "model", "list"],
            &["-e", "demo", "model", "list", "--json"],
            &["model", "remove", "style"],
        ],
    );
    let refusals = transcripts(
        &t,
        &[
            &["model", "add", ckpt],
            &["model", "add", stray],
            &["model", "add", &url],
            &["model", "add", &url, "--category", "vae"],
            &["model", "add", "no-such-model"],
            &["model", "remove", "nope"],
        ],
    );
    filtered(&t).bind(|| {
        insta::assert_snapshot!("model_edits", edits);
        insta::assert_snapshot!("model_refusals", refusals);
    });
}
