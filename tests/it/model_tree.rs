//! Placed models as one tree per set of models (`store/model-trees/<id>`), behind the
//! environment's `.comfydock/models` link, read by ComfyUI through comfydock's section of
//! `ComfyUI/extra_model_paths.yaml`: the user's own section and `ComfyUI/models/` untouched,
//! rollback a switch of the link, an environment from before model trees moved on its next
//! apply, and a kill while switching a tree of 2,000 links leaving the old or the new one.

use crate::support::{TestContext, placed_model, tree};
use std::fs;
use std::path::Path;

const USER_YAML: &str = "# my own folders\nmine:\n    base_path: /srv/shared-models\n    loras: loras\n";

/// A workflow whose checkpoint loader names `file`: `comfydock test --level validate` passes
/// only when ComfyUI lists it among its checkpoints.
fn loader_workflow(file: &str) -> String {
    format!(
        r#"{{"version":0.4,"nodes":[
  {{"id":1,"type":"CheckpointLoaderSimple","outputs":[{{"name":"MODEL","type":"MODEL","links":[1]}},{{"name":"CLIP","type":"CLIP","links":null}},{{"name":"VAE","type":"VAE","links":[3]}}],"widgets_values":["{file}"]}},
  {{"id":2,"type":"EmptyLatentImage","outputs":[{{"name":"LATENT","type":"LATENT","links":[2]}}],"widgets_values":[64,64]}},
  {{"id":3,"type":"KSampler","inputs":[{{"name":"model","type":"MODEL","link":1}},{{"name":"latent_image","type":"LATENT","link":2}}],"outputs":[{{"name":"LATENT","type":"LATENT","links":[4]}}],"widgets_values":[7,"randomize",3,"euler"]}},
  {{"id":4,"type":"VAEDecode","inputs":[{{"name":"samples","type":"LATENT","link":4}},{{"name":"vae","type":"VAE","link":3}}],"outputs":[{{"name":"IMAGE","type":"IMAGE","links":[5]}}]}},
  {{"id":5,"type":"SaveImage","inputs":[{{"name":"images","type":"IMAGE","link":5}}],"widgets_values":["m"]}}
],"links":[[1,1,0,3,0,"MODEL"],[2,2,0,3,1,"LATENT"],[3,1,2,4,1,"VAE"],[4,3,0,4,0,"LATENT"],[5,4,0,5,0,"IMAGE"]],"extra":{{}}}}"#
    )
}

fn link_target(env: &Path) -> Option<String> {
    fs::read_link(env.join(".comfydock/models"))
        .ok()
        .map(|t| t.display().to_string())
}

#[test]
fn placed_models_are_one_tree_that_comfyui_reads_through_its_yaml_and_rollback_switches() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let yaml = env.join("ComfyUI/extra_model_paths.yaml");
    fs::write(&yaml, USER_YAML).unwrap();
    let users_lora = env.join("ComfyUI/models/loras/mine.safetensors");
    fs::create_dir_all(users_lora.parent().unwrap()).unwrap();
    fs::write(&users_lora, b"the user's own lora").unwrap();
    let file = t.workspace.join("models/checkpoints/tree.safetensors");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, b"a checkpoint placed through the model tree").unwrap();
    t.run(&["model", "scan"]).success();
    t.run(&["model", "add", file.to_str().unwrap()]).success();

    // One link to a tree in the store; ComfyUI/models/ has only what the user put there.
    let placed = placed_model(&env, "checkpoints/tree.safetensors");
    assert_eq!(fs::read_link(&placed).unwrap(), file);
    let tree_dir = link_target(&env).expect("the environment links its model tree");
    assert!(tree_dir.starts_with(&t.workspace.join("store/model-trees").display().to_string()));
    let weights: Vec<String> = tree(&env.join("ComfyUI/models"))
        .into_iter()
        .filter(|p| p.ends_with(".safetensors"))
        .collect();
    assert_eq!(weights, ["loras/mine.safetensors"]);
    // The user's section is kept byte for byte; comfydock's follows it.
    let text = fs::read_to_string(&yaml).unwrap();
    assert!(text.starts_with(USER_YAML), "{text}");
    assert!(
        text.contains(&format!(
            "comfydock_placed_models:\n  base_path: \"{}\"\n  \"checkpoints\": \"checkpoints\"\n",
            env.join(".comfydock/models").display()
        )),
        "{text}"
    );
    t.run(&["plan", "--detailed-exitcode"]).success();
    t.run(&["verify"]).success();
    // The model file moved away: its folder changed, so the link is read again and is drift.
    let moved = file.with_file_name("moved.bin");
    fs::rename(&file, &moved).unwrap();
    t.run(&["status"])
        .success()
        .stdout_has("drift: model tree was changed or relinked by hand");
    fs::rename(&moved, &file).unwrap();
    t.run(&["plan", "--detailed-exitcode"]).success();

    // ComfyUI (the miniature, reading the yaml as ComfyUI does) lists and loads it.
    crate::support::comfy::user_workflow(&env, "loads", &loader_workflow("tree.safetensors"));
    t.run(&["workflow", "track", "--all"]).success();
    t.run(&["test", "--level", "validate"]).success();

    // Rollback without the model: the link goes; rolling back again finds the same tree built.
    t.run(&["model", "remove", "tree"]).success();
    assert!(link_target(&env).is_none() && !placed.exists());
    t.run(&["plan", "--detailed-exitcode"]).success();
    t.run(&["rollback", "--yes"]).success();
    assert_eq!(link_target(&env).as_deref(), Some(tree_dir.as_str()), "the same tree");
    assert_eq!(fs::read_link(&placed).unwrap(), file);
    t.run(&["plan", "--detailed-exitcode"]).success();

    // comfydock's section removed by hand is drift, and apply writes it back; the user's stays.
    fs::write(&yaml, USER_YAML).unwrap();
    t.run(&["status"])
        .success()
        .stdout_has("ComfyUI/extra_model_paths.yaml: comfydock's section is missing");
    t.run(&["apply", "--yes"])
        .success()
        .stdout_has("~ ComfyUI/extra_model_paths.yaml: comfydock's section for the placed models");
    assert_eq!(fs::read_to_string(&yaml).unwrap(), text);
    assert_eq!(fs::read(&users_lora).unwrap(), b"the user's own lora");

    // An entry of the tree deleted by hand: the tree is not reused damaged, it is built again.
    fs::remove_file(&placed).unwrap();
    t.run(&["plan", "--detailed-exitcode"]).code(2);
    t.run(&["apply", "--yes"]).success();
    assert_eq!(fs::read_link(&placed).unwrap(), file);
    t.run(&["plan", "--detailed-exitcode"]).success();
    t.run(&["gc", "--keep", "1"])
        .success()
        .stdout_has("model tree found damaged");
    assert_eq!(fs::read_link(&placed).unwrap(), file, "the live tree is kept");
    assert!(file.is_file(), "model files are never deleted");
}

/// An environment placed by a comfydock from before model trees (links in `ComfyUI/models/`):
/// its next plan says the links move, apply moves them, and nothing of the user's is touched.
#[test]
fn links_an_older_comfydock_made_in_comfyui_models_move_into_a_tree_on_the_next_apply() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let file = t.workspace.join("models/checkpoints/old.safetensors");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, b"a checkpoint placed the old way").unwrap();
    t.run(&["model", "scan"]).success();
    t.run(&["model", "add", file.to_str().unwrap()]).success();

    // Made into what main left: the link in ComfyUI/models/, no tree, no section.
    let installed_path = env.join(".comfydock/installed.json");
    let mut installed: serde_json::Value = serde_json::from_str(&fs::read_to_string(&installed_path).unwrap()).unwrap();
    installed.as_object_mut().unwrap().remove("model_tree");
    fs::write(&installed_path, serde_json::to_string_pretty(&installed).unwrap()).unwrap();
    fs::remove_file(env.join(".comfydock/models")).unwrap();
    fs::remove_file(env.join("ComfyUI/extra_model_paths.yaml")).unwrap();
    let old_link = env.join("ComfyUI/models/checkpoints/old.safetensors");
    fs::create_dir_all(old_link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&file, &old_link).unwrap();
    let users = env.join("ComfyUI/models/checkpoints/users.safetensors");
    fs::write(&users, b"the user's").unwrap();
    t.run(&["verify"]).success();
    t.run(&["plan", "--detailed-exitcode"])
        .code(2)
        .stdout_has("~ ComfyUI/extra_model_paths.yaml: comfydock's section for the placed models (1 model link(s)");

    t.run(&["apply", "--yes"])
        .success()
        .stdout_has("1 model link(s) comfydock made in ComfyUI/models/ move into its model tree");
    assert!(old_link.symlink_metadata().is_err(), "the old link moved out");
    assert_eq!(fs::read(&users).unwrap(), b"the user's");
    assert_eq!(
        fs::read_link(placed_model(&env, "checkpoints/old.safetensors")).unwrap(),
        file
    );
    t.run(&["plan", "--detailed-exitcode"]).success();
    t.run(&["verify"]).success();
}

/// blake3 hex of `bytes`, as the manifest writes it.
fn b3(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[test]
fn a_kill_while_switching_a_tree_of_2000_links_leaves_the_old_or_the_new_one() {
    const N: usize = 2000;
    let t = TestContext::new();
    let env = t.create_env("demo");
    let dir = t.workspace.join("models/loras");
    fs::create_dir_all(&dir).unwrap();
    let manifest = env.join(".cec/pyproject.toml");
    let without = fs::read_to_string(&manifest).unwrap();
    let mut with = without.clone();
    for i in 0..N {
        let bytes = format!("lora number {i}").into_bytes();
        fs::write(dir.join(format!("l{i}.safetensors")), &bytes).unwrap();
        with.push_str(&format!(
            "\n[tool.comfydock.models.l{i}]\nhash = \"blake3:{}\"\nsize = {}\ncategory = \"loras\"\nfilename = \"l{i}.safetensors\"\n",
            b3(&bytes),
            bytes.len()
        ));
    }
    t.run(&["model", "scan"]).success();
    fs::write(&manifest, &with).unwrap();
    t.run(&["apply", "--yes"]).success();
    let full = link_target(&env).expect("a tree");
    assert_eq!(tree(Path::new(&full)).len(), N + 1, "the loras folder and its links");
    fs::write(&manifest, &without).unwrap();
    t.run(&["apply", "--yes"]).success();
    assert!(link_target(&env).is_none());

    // Rolling back to the 2,000 models, killed at every step and inside the switch's rename.
    let points = (0..12)
        .flat_map(|i| [format!("switch-before-{i}"), format!("switch-after-{i}")])
        .chain(["model-tree-rename".to_string()]);
    let mut crashed = 0;
    for point in points {
        let out = t
            .cmd()
            .env("COMFYDOCK_FAILPOINT", &point)
            .args(["rollback", "--yes"])
            .output()
            .unwrap();
        if out.status.code().is_some() {
            assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
            // Ran to the end (fewer steps than this): back to no models for the next point.
            t.run(&["rollback", "--yes"]).success();
            continue;
        }
        crashed += 1;
        t.run(&["recover"]).success().stderr_has("Recovered");
        // The old state, whole: no link, no temporary link, the manifest without models.
        assert_eq!(link_target(&env), None, "after a kill at {point}");
        let leftovers: Vec<String> = tree(&env.join(".comfydock"))
            .into_iter()
            .filter(|p| p.contains("comfydock-link"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?} after {point}");
        assert_eq!(tree(Path::new(&full)).len(), N + 1, "the tree is untouched");
    }
    assert!(crashed >= 4, "{crashed}");
    t.run(&["rollback", "--yes"]).success();
    assert_eq!(
        link_target(&env).as_deref(),
        Some(full.as_str()),
        "the same tree, switched"
    );
    t.run(&["plan", "--detailed-exitcode"]).success();
}

/// Rolling back to models placed before, or a second environment with the same models, finds
/// their tree from its record in the store and switches to it: nothing is looked up per model
/// (here the model index is gone, so a lookup would find nothing), yet the plan still lists the
/// models that come back.
#[test]
fn a_tree_built_before_is_switched_to_without_looking_up_each_model() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let file = t.workspace.join("models/checkpoints/known.safetensors");
    fs::create_dir_all(file.parent().unwrap()).unwrap();
    fs::write(&file, b"a checkpoint whose tree is built once").unwrap();
    // A file that has been there a moment: a folder changed within the racy window (50 ms)
    // of the stamp is never trusted, which on a fast machine this test would otherwise hit.
    let earlier = std::time::SystemTime::now() - std::time::Duration::from_secs(2);
    fs::File::open(file.parent().unwrap())
        .unwrap()
        .set_modified(earlier)
        .unwrap();
    t.run(&["model", "scan"]).success();
    t.run(&["model", "add", file.to_str().unwrap()]).success();
    let tree_dir = link_target(&env).expect("a tree");
    t.run(&["model", "remove", "known"]).success();
    assert!(link_target(&env).is_none());

    let index = t.workspace.join(".metadata/model_index.db");
    fs::rename(&index, index.with_extension("away")).unwrap();
    t.run(&["rollback", "--yes"]).success().stdout_has("+ model known");
    assert_eq!(link_target(&env).as_deref(), Some(tree_dir.as_str()), "the same tree");
    assert_eq!(
        fs::read_link(placed_model(&env, "checkpoints/known.safetensors")).unwrap(),
        file
    );
    t.run(&["plan", "--detailed-exitcode"]).success();

    // A second environment with the same desired state switches to the same tree.
    let repo = t.comfyui_repo.to_str().unwrap();
    t.run(&["create", "second", "--comfyui-repo", repo]).success();
    let second = t.workspace.join("environments/second");
    for name in ["pyproject.toml", "comfydock.lock", "uv.lock"] {
        fs::copy(env.join(".cec").join(name), second.join(".cec").join(name)).unwrap();
    }
    t.run(&["-e", "second", "apply", "--yes", "--frozen"]).success();
    assert_eq!(link_target(&second).as_deref(), Some(tree_dir.as_str()));

    // The model file moved away: its folder changed, the record is not trusted, and without
    // the index nothing says where the model is: refused, the environment unchanged.
    t.run(&["model", "remove", "known"]).success();
    let moved = file.with_file_name("moved.bin");
    fs::rename(&file, &moved).unwrap();
    t.run(&["rollback", "--yes"])
        .failure()
        .stderr_has("comfydock::apply::model_unavailable");
    assert!(link_target(&env).is_none());
}
