//! `comfydock workflow analyze` / `comfydock analyze`: real workflows against their oracle
//! (`fixtures/corpus/expected.json`), workflows embedded in media files, garbage inputs, the
//! JSON schema, model resolution in a workspace, and a no-panic property over mutated files.
//!
//! The corpus is the repository's own (permissively licensed files, attributed in
//! `fixtures/corpus/README.md`); `COMFYDOCK_CORPUS_DIR` points the same checks at a larger corpus of
//! the same layout (`scripts/check-shared.sh` runs them on the team's 30-file corpus).

use crate::support::{MANIFEST_DIR, Run, media};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    match std::env::var_os("COMFYDOCK_CORPUS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(MANIFEST_DIR).join("fixtures/corpus"),
    }
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(corpus_dir().join("workflows"))
        .unwrap_or_else(|e| panic!("the corpus at {}: {e}", corpus_dir().display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

/// A world with no workspace: only a HOME and a COMFYDOCK_HOME that do not exist yet.
struct Bare {
    dir: tempfile::TempDir,
}

impl Bare {
    fn new() -> Self {
        Bare {
            dir: tempfile::Builder::new().prefix("comfydock-wf-").tempdir().unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, bytes: &[u8]) -> String {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, bytes).unwrap();
        p.to_str().unwrap().to_string()
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = assert_cmd::Command::cargo_bin("comfydock").unwrap();
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.path("home"))
            .env("COMFYDOCK_HOME", self.path("ws"))
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path());
        Run::from(cmd.args(args).output().unwrap())
    }

    fn analyze_json(&self, files: &[&str]) -> (Run, Value) {
        let mut args = vec!["analyze", "--json"];
        args.extend_from_slice(files);
        let run = self.run(&args);
        let doc = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}\n{}\n{}", run.stdout, run.stderr));
        (run, doc)
    }
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// (name, category, node_type, input, sources) of a model reference.
fn model_key(m: &Value) -> String {
    let mut sources: Vec<String> = strings(&m["sources"]).into_iter().collect();
    sources.sort();
    format!(
        "{} | {} | {}.{} | {}",
        m["name"].as_str().unwrap(),
        m["category"],
        m["node_type"],
        m["input"],
        sources.join(",")
    )
}

#[test]
fn corpus_matches_the_oracle() {
    let t = Bare::new();
    let files = corpus_files();
    let expected: Value =
        serde_json::from_str(&fs::read_to_string(corpus_dir().join("expected.json")).unwrap()).unwrap();
    assert_eq!(
        files.len(),
        expected["files"].as_object().unwrap().len(),
        "every workflow of the corpus has an oracle answer"
    );
    let args: Vec<&str> = files.iter().map(|p| p.to_str().unwrap()).collect();
    let (run, doc) = t.analyze_json(&args);
    run.success();

    let (mut models_expected, mut models_matched) = (0usize, 0usize);
    let mut model_misses = Vec::new();
    for (path, report) in files.iter().zip(doc["files"].as_array().unwrap()) {
        let name = path.file_name().unwrap().to_str().unwrap();
        let want = &expected["files"][name];
        let got = &report["analysis"];
        assert_eq!(report["ok"], true, "{name}: {report:#}");
        assert_eq!(got["format"], want["format"], "{name}: format");
        assert_eq!(got["schema_version"], want["schema_version"], "{name}: schema_version");

        // Node types and the builtin/custom split: exact.
        let types: BTreeSet<String> = got["node_types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(types, strings(&want["node_types"]), "{name}: node types");
        let custom: BTreeSet<String> = got["node_types"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["builtin"] == false)
            .map(|n| n["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(custom, strings(&want["custom_node_types"]), "{name}: custom node types");
        assert_eq!(
            strings(&got["group_node_types"]),
            strings(&want["group_node_types"]),
            "{name}: group nodes"
        );
        assert_eq!(
            strings(&got["subgraph_ids"]),
            strings(&want["subgraph_ids"]),
            "{name}: subgraphs"
        );

        // Pack hints per type, as sets of stamps.
        let packs: BTreeMap<String, BTreeSet<String>> = got["node_types"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| !n["packs"].as_array().unwrap().is_empty())
            .map(|n| {
                (
                    n["name"].as_str().unwrap().to_string(),
                    n["packs"].as_array().unwrap().iter().map(Value::to_string).collect(),
                )
            })
            .collect();
        let want_packs: BTreeMap<String, BTreeSet<String>> = want["node_packs"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_array().unwrap().iter().map(Value::to_string).collect()))
            .collect();
        assert_eq!(packs, want_packs, "{name}: pack hints");
        assert_eq!(
            got["extra_node_versions"], want["extra_node_versions"],
            "{name}: extra.node_versions"
        );

        // Models from builtin loaders: the oracle's table. Custom-table references are extra.
        let got_models: BTreeSet<String> = got["models"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["table"] == "builtin")
            .map(model_key)
            .collect();
        for m in want["models"].as_array().unwrap() {
            models_expected += 1;
            if got_models.contains(&model_key(m)) {
                models_matched += 1;
            } else {
                model_misses.push(format!("{name}: {}", model_key(m)));
            }
        }
        let want_models: BTreeSet<String> = want["models"].as_array().unwrap().iter().map(model_key).collect();
        let extra: Vec<&String> = got_models.difference(&want_models).collect();
        assert!(
            extra.is_empty(),
            "{name}: builtin model references the oracle does not have: {extra:#?}"
        );

        // Embedded model lists.
        let embedded = |v: &Value| -> BTreeSet<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|e| {
                    format!(
                        "{} {} {} {} {}",
                        e["name"], e["directory"], e["category"], e["url"], e["scope"]
                    )
                })
                .collect()
        };
        assert_eq!(
            embedded(&got["embedded_models"]),
            embedded(&want["embedded_models"]),
            "{name}: embedded models"
        );

        // Unmapped values: what the oracle calls unmapped is either unmapped here too or explained
        // by the custom-loader table.
        let mut explained: BTreeSet<(String, String)> = got["unmapped_model_like_values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u["node_type"].as_str().unwrap().to_string(),
                    u["value"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        explained.extend(
            got["models"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|m| m["table"] == "custom")
                .map(|m| {
                    (
                        m["node_type"].as_str().unwrap().to_string(),
                        m["name"].as_str().unwrap().to_string(),
                    )
                }),
        );
        for u in want["unmapped_model_like_values"].as_array().unwrap() {
            let key = (
                u["node_type"].as_str().unwrap().to_string(),
                u["value"].as_str().unwrap().to_string(),
            );
            assert!(
                explained.contains(&key),
                "{name}: {key:?} is neither unmapped nor a custom-loader reference"
            );
        }
        let embeddings: BTreeSet<String> = got["embeddings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            embeddings,
            strings(&want["embeddings_in_prompts"]),
            "{name}: embeddings"
        );

        // Muted and bypassed nodes are reported as such.
        for note in want["notes"].as_array().unwrap().iter().filter_map(Value::as_str) {
            for kind in ["muted", "bypassed"] {
                if note.contains(&format!("is {kind}")) {
                    let node = note.split(" (").next().unwrap();
                    assert!(
                        got["notes"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|n| n["kind"] == kind && n["message"].as_str().unwrap().starts_with(node)),
                        "{name}: missing note {note:?}"
                    );
                }
            }
        }
    }
    let listed: usize = expected["files"]
        .as_object()
        .unwrap()
        .values()
        .map(|f| f["models"].as_array().unwrap().len())
        .sum();
    assert!(
        listed > 0 && models_expected == listed,
        "every model reference was compared"
    );
    // docs/workflows.md explains every reference in model_misses.
    assert!(
        models_matched * 100 >= models_expected * 95,
        "{models_matched}/{models_expected}: {model_misses:#?}"
    );
    assert!(model_misses.is_empty(), "{model_misses:#?}");
}

/// A small UI workflow with a loader, a custom node with a pack stamp and an embedding.
fn small_ui() -> String {
    json!({
        "last_node_id": 3, "last_link_id": 0, "version": 0.4, "links": [],
        "nodes": [
            {"id": 1, "type": "CheckpointLoaderSimple", "mode": 0, "widgets_values": ["sd15\\dream.safetensors"]},
            {"id": 2, "type": "CLIPTextEncode", "mode": 4, "widgets_values": ["a cat, embedding:EasyNegative"]},
            {"id": 3, "type": "FancySampler", "properties": {"cnr_id": "fancy-pack", "ver": "1.2.0"}, "widgets_values": ["x"]}
        ]
    })
    .to_string()
}

fn small_api() -> String {
    json!({"1": {"class_type": "UNETLoader", "inputs": {"unet_name": "flux.safetensors", "weight_dtype": "default"}}})
        .to_string()
}

fn check_small_ui(a: &Value, container: &str) {
    assert_eq!(a["format"], "ui");
    assert_eq!(a["container"], container);
    let types: Vec<&str> = a["node_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["CLIPTextEncode", "CheckpointLoaderSimple", "FancySampler"]);
    assert_eq!(a["models"][0]["path"], "sd15/dream.safetensors");
    assert_eq!(a["models"][0]["name"], "sd15\\dream.safetensors");
    assert_eq!(a["embeddings"][0]["name"], "EasyNegative");
    assert!(a["notes"].as_array().unwrap().iter().any(|n| n["kind"] == "bypassed"));
}

#[test]
fn workflows_embedded_in_media_files() {
    let t = Bare::new();
    let (ui, api) = (small_ui(), small_api());
    let both = [("prompt", api.as_str()), ("workflow", ui.as_str())];
    let files = [
        t.write("plain.png", &media::png(&both, media::Text::Plain)),
        t.write("z.png", &media::png(&both, media::Text::Compressed)),
        t.write(
            "i.png",
            &media::png(&both, media::Text::International { compressed: true }),
        ),
        t.write(
            "iu.png",
            &media::png(&both, media::Text::International { compressed: false }),
        ),
        t.write("anim.webp", &media::webp(Some(&ui), Some(&api))),
        t.write("audio.flac", &media::flac(&[("prompt", &api), ("workflow", &ui)])),
        t.write("video.mp4", &media::mp4(&[("prompt", &api), ("workflow", &ui)])),
    ];
    let args: Vec<&str> = files.iter().map(String::as_str).collect();
    let (run, doc) = t.analyze_json(&args);
    run.success();
    let containers = ["png", "png", "png", "png", "webp", "flac", "mp4"];
    for (report, container) in doc["files"].as_array().unwrap().iter().zip(containers) {
        assert_eq!(report["analysis"]["embedded_key"], "workflow", "{report:#}");
        check_small_ui(&report["analysis"], container);
    }

    // A download cut in the image data still gives the workflow written before it.
    let whole = media::png(&both, media::Text::Plain);
    let cut = t.write("cut.png", &whole[..whole.len() - 20]);
    let (run, doc) = t.analyze_json(&[&cut]);
    run.success();
    check_small_ui(&doc["files"][0]["analysis"], "png");

    // Only the API prompt embedded: the prompt is read.
    let prompt_only = t.write("prompt.png", &media::png(&[("prompt", &api)], media::Text::Plain));
    let (_, doc) = t.analyze_json(&[&prompt_only]);
    let a = &doc["files"][0]["analysis"];
    assert_eq!(a["format"], "api");
    assert_eq!(a["embedded_key"], "prompt");
    assert_eq!(a["models"][0]["sources"], json!(["api-input"]));

    // Human output names the container and the model.
    let run = t.run(&["workflow", "analyze", &files[0]]);
    run.success();
    assert!(run.stdout.contains("embedded in PNG `workflow`"), "{}", run.stdout);
    assert!(
        run.stdout.contains("checkpoints") && run.stdout.contains("sd15/dream.safetensors"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("custom  FancySampler  [fancy-pack@1.2.0]"),
        "{}",
        run.stdout
    );
}

#[test]
fn garbage_gets_a_diagnostic_and_exit_1() {
    let t = Bare::new();
    let corpus = fs::read(corpus_dir().join("workflows/ComfyUI_examples__ltxv_image_to_video.json")).unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.json", Vec::new(), "workflow::empty"),
        ("cut.json", corpus[..corpus.len() / 2].to_vec(), "probably truncated"),
        ("list.json", b"[1, 2, 3]".to_vec(), "not a ComfyUI workflow"),
        (
            "config.json",
            br#"{"name": "x", "version": 3}"#.to_vec(),
            "keys name, version",
        ),
        ("deep.json", "[".repeat(5000).into_bytes(), "workflow::too_deep"),
        (
            "noise.bin",
            (0..2048u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect(),
            "workflow::unknown_format",
        ),
        (
            "photo.png",
            media::png(&[("Software", "gimp")], media::Text::Plain),
            "without an embedded workflow",
        ),
        (
            "cut.png",
            media::png(&[("workflow", &small_ui())], media::Text::Plain)[..40].to_vec(),
            "damaged PNG",
        ),
        (
            "bad.webp",
            media::webp(Some("{\"not\": \"a workflow\"}"), None),
            "not a ComfyUI workflow",
        ),
    ];
    for (file, bytes, wanted) in &cases {
        let path = t.write(file, bytes);
        let run = t.run(&["analyze", &path]);
        run.failure();
        assert!(
            run.stderr.contains(file),
            "{file}: the diagnostic names the file\n{}",
            run.stderr
        );
        assert!(run.stderr.contains(wanted), "{file}: wanted {wanted:?}\n{}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    // One bad file among good ones: the good ones are still reported, the exit code is 1.
    let good = t.write("good.json", small_ui().as_bytes());
    let bad = t.path("list.json");
    let (run, doc) = t.analyze_json(&[&good, bad.to_str().unwrap(), "missing.json"]);
    run.failure();
    assert_eq!(doc["files"][0]["ok"], true);
    assert_eq!(doc["files"][1]["error"]["code"], "comfydock::workflow::not_a_workflow");
    assert_eq!(doc["files"][2]["error"]["code"], "comfydock::workflow::unreadable");
}

#[test]
fn json_output_follows_its_schema() {
    let t = Bare::new();
    let text = fs::read_to_string(Path::new(MANIFEST_DIR).join("schema/workflow-analysis.schema.json")).unwrap();
    let schema = jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap();
    let mut args: Vec<String> = corpus_files().iter().map(|p| p.to_str().unwrap().to_string()).collect();
    args.push(t.write("list.json", b"[]"));
    args.push(t.write("wf.png", &media::png(&[("workflow", &small_ui())], media::Text::Plain)));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (run, doc) = t.analyze_json(&args);
    run.failure();
    let errors: Vec<String> = schema
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn models_resolved_in_a_workspace() {
    let t = Bare::new();
    t.run(&["init"]).success();
    let models = t.path("ws/models");
    for (rel, bytes) in [
        ("checkpoints/sd15/dream.safetensors", &b"ckpt"[..]),
        ("vae/elsewhere/myvae.safetensors", b"vae"),
    ] {
        fs::create_dir_all(models.join(rel).parent().unwrap()).unwrap();
        fs::write(models.join(rel), bytes).unwrap();
    }
    t.run(&["model", "scan"]).success();
    let wf = json!({"nodes": [
        {"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["sd15\\dream.safetensors"]},
        {"id": 2, "type": "VAELoader", "widgets_values": ["myvae.safetensors"]},
        {"id": 3, "type": "LoraLoader", "widgets_values": ["detail.safetensors", 1, 1],
         "properties": {"models": [{"name": "detail.safetensors", "url": "https://example.invalid/detail.safetensors", "directory": "loras"}]}},
        {"id": 4, "type": "UpscaleModelLoader", "widgets_values": ["4x.pth"]},
        {"id": 5, "type": "FancySampler", "properties": {"aux_id": "someone/fancy"}}
    ]});
    let file = t.write("wf.json", wf.to_string().as_bytes());
    let (run, doc) = t.analyze_json(&[&file]);
    run.success();
    let r = &doc["files"][0]["resolution"];
    let rule = |path: &str| {
        r["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["path"] == path)
            .map(|m| m["rule"].as_str().unwrap().to_string())
    };
    assert_eq!(rule("sd15/dream.safetensors").as_deref(), Some("relative-path"));
    assert_eq!(rule("myvae.safetensors").as_deref(), Some("file-name"));
    assert_eq!(rule("detail.safetensors").as_deref(), Some("download-hint"));
    assert_eq!(rule("4x.pth").as_deref(), Some("unresolved"));
    let fancy = r["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["node_type"] == "FancySampler")
        .unwrap();
    assert_eq!(fancy["rule"], "aux-id");
    assert_eq!(fancy["pack"], "https://github.com/someone/fancy");
    let human = t.run(&["workflow", "analyze", &file]);
    human.success();
    assert!(
        human
            .stdout
            .contains("in this workspace: 5 of 5 node types resolved, 2 of 4 models found"),
        "{}",
        human.stdout
    );

    // A workspace whose index was never built still resolves node types and download hints.
    let fresh = Bare::new();
    fresh.run(&["init"]).success();
    let _ = fs::remove_file(fresh.path("ws/.metadata/model_index.db"));
    let (run, doc) = fresh.analyze_json(&[&file]);
    run.success();
    let r = &doc["files"][0]["resolution"];
    assert_eq!(r["nodes"].as_array().unwrap().len(), 5);
    let rules: BTreeSet<&str> = r["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, BTreeSet::from(["download-hint", "unresolved"]));

    // Without a workspace there is no resolution, and nothing is created.
    let bare = Bare::new();
    let (run, doc) = bare.analyze_json(&[&file]);
    run.success();
    assert!(doc["files"][0].get("resolution").is_none());
    assert!(!bare.path("ws").exists());
}

mod no_panic {
    use super::*;
    use comfydock::workflow::{Builtins, analyze};
    use proptest::prelude::*;

    fn corpus_bytes() -> &'static [Vec<u8>] {
        static BYTES: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        BYTES.get_or_init(|| corpus_files().iter().map(|p| fs::read(p).unwrap()).collect())
    }

    #[derive(Debug, Clone)]
    enum Mutation {
        Truncate(usize),
        Flip(usize, u8),
        Delete(usize, usize),
        Insert(usize, Vec<u8>),
        Duplicate(usize, usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            any::<usize>().prop_map(Mutation::Truncate),
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
            (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
            (
                any::<usize>(),
                prop::sample::select(vec![
                    b"{".to_vec(),
                    b"}".to_vec(),
                    b"[".to_vec(),
                    b"null".to_vec(),
                    b"\"workflow>x\"".to_vec(),
                    b"\"nodes\":".to_vec(),
                    b"NaN".to_vec(),
                    b"-1".to_vec(),
                    b"\\".to_vec(),
                    vec![0xff, 0xfe],
                ])
            )
                .prop_map(|(i, b)| Mutation::Insert(i, b)),
            (any::<usize>(), 1usize..256).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        ]
    }

    fn apply(mut bytes: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
        for m in muts {
            let len = bytes.len().max(1);
            match m {
                Mutation::Truncate(i) => bytes.truncate(i % len),
                Mutation::Flip(i, b) => {
                    if let Some(x) = bytes.get_mut(i % len) {
                        *x ^= b | 1;
                    }
                }
                Mutation::Delete(i, n) => {
                    let start = (i % len).min(bytes.len());
                    let end = (start + n).min(bytes.len());
                    bytes.drain(start..end);
                }
                Mutation::Insert(i, b) => {
                    let at = (i % len).min(bytes.len());
                    bytes.splice(at..at, b.iter().copied());
                }
                Mutation::Duplicate(i, n) => {
                    let start = (i % len).min(bytes.len());
                    let end = (start + n).min(bytes.len());
                    let copy = bytes[start..end].to_vec();
                    bytes.splice(start..start, copy);
                }
            }
        }
        bytes
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn mutated_corpus_files_never_panic(file in 0usize..64, muts in prop::collection::vec(mutation(), 1..6), wrap in 0u8..6) {
            let corpus = corpus_bytes();
            let bytes = apply(corpus[file % corpus.len()].clone(), &muts);
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let input = match wrap {
                0 => bytes,
                1 => media::png(&[("workflow", &text)], media::Text::Compressed),
                2 => media::webp(Some(&text), None),
                3 => media::flac(&[("workflow", &text)]),
                4 => apply(media::mp4(&[("workflow", &text)]), &muts),
                _ => apply(media::png(&[("workflow", &text)], media::Text::Plain), &muts),
            };
            // Ok or a diagnostic; a panic fails the property.
            let _ = analyze(&input, "mutated.json", Builtins::shipped());
        }
    }
}

#[test]
fn builtins_come_from_the_environments_comfyui() {
    let t = crate::support::TestContext::new();
    let env = t.create_env("demo");
    let wf = json!({"nodes": [
        {"id": 1, "type": "KSampler"},
        {"id": 2, "type": "VAELoader", "widgets_values": ["v.safetensors"]},
        {"id": 3, "type": "CLIPTextEncode", "properties": {"cnr_id": "comfy-core", "ver": "0.3.60"}}
    ]});
    let file = t.path("wf.json");
    fs::write(&file, wf.to_string()).unwrap();
    let run = t.run(&["analyze", "--json", file.to_str().unwrap()]);
    run.success();
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    // The miniature ComfyUI registers a few of ComfyUI's node types (fixtures/comfyui-mini/nodes.py).
    let builtins = doc["builtins"].as_str().unwrap();
    assert!(
        builtins.starts_with("ComfyUI checkout at ") && builtins.ends_with("(environment demo)"),
        "{builtins}"
    );
    let split: BTreeMap<String, Value> = doc["files"][0]["analysis"]["node_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["name"].as_str().unwrap().to_string(), n["builtin_by"].clone()))
        .collect();
    assert_eq!(split["KSampler"], "list");
    assert_eq!(split["VAELoader"], Value::Null, "not in this ComfyUI");
    assert_eq!(split["CLIPTextEncode"], "cnr_id");
    // The list is cached per ComfyUI commit.
    let head = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(env.join("ComfyUI"))
        .output()
        .unwrap();
    let commit = String::from_utf8(head.stdout).unwrap();
    let cached = t
        .workspace
        .join(format!(".metadata/builtin-nodes-{}.txt", commit.trim()));
    assert_eq!(
        fs::read_to_string(cached).unwrap(),
        "CheckpointLoaderSimple\nEmptyLatentImage\nFailOnDemand\nKSampler\nSaveImage\nSleep\nSolidImage\nVAEDecode"
    );
}

#[test]
fn a_100_mb_workflow_is_analysed() {
    let t = Bare::new();
    let note = "x".repeat(100 * 1024 * 1024);
    let wf = json!({"nodes": [
        {"id": 1, "type": "Note", "widgets_values": [note]},
        {"id": 2, "type": "CheckpointLoaderSimple", "widgets_values": ["big.safetensors"]}
    ]});
    let file = t.write("huge.json", wf.to_string().as_bytes());
    drop(wf);
    let (run, doc) = t.analyze_json(&[&file]);
    run.success();
    assert_eq!(doc["files"][0]["analysis"]["models"][0]["name"], "big.safetensors");
}

/// Issue 23 row 5: compressed text chunks inflate to at most 256 MiB per file together (40
/// chunks of 8 MiB each are refused, not inflated to 320 MiB), and chunks under keys ComfyUI
/// never writes are skipped unread.
#[test]
fn many_compressed_chunks_are_bounded_together() {
    let t = Bare::new();
    let bomb = t.write("bomb.png", &media::png_repeated_ztxt("workflow", &[b' '; 8 << 20], 40));
    t.run(&["analyze", &bomb])
        .failure()
        .stderr_has("bomb.png")
        .stderr_has("more than 268435456 bytes");
    let mut other = media::png_repeated_ztxt("Comment", &[b' '; 8 << 20], 40);
    let good = media::png(&[("workflow", &small_ui())], media::Text::Compressed);
    other.truncate(other.len() - 12); // IEND
    other.extend_from_slice(&good[8..]);
    let file = t.write("other-keys.png", &other);
    let (run, doc) = t.analyze_json(&[&file]);
    run.success();
    check_small_ui(&doc["files"][0]["analysis"], "png");
}
