//! `comfydock test` on the miniature ComfyUI (which serves ComfyUI's HTTP and websocket API with
//! real, quick nodes): each level passing and failing for the right reason, the UI -> API
//! conversion against prompts written by hand, JUnit and JSON reports read back, the timeout,
//! a ComfyUI that never starts, and `apply --test` switching back.

use crate::support::TestContext;
use crate::support::comfy::{pack, pack_update, tint_init, ui_chain, user_workflow};
use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};

const BROKEN_INIT: &str = "import module_nobody_installed  # fails at import, as a pack missing a dependency\n\n\nclass BrokenNode:\n    RETURN_TYPES = ()\n\n\nNODE_CLASS_MAPPINGS = {\"BrokenNode\": BrokenNode}\n";

/// An environment with the Tint pack (and more packs when given), its workflows tracked.
fn env_with(t: &TestContext, packs: &[(&str, &str)], workflows: &[(&str, String)]) -> PathBuf {
    let env = t.create_env("demo");
    for (name, init) in packs {
        let p = pack(&t.path(&format!("packs/{name}")), init);
        t.run(&["node", "add", p.to_str().unwrap()]).success();
    }
    for (name, text) in workflows {
        user_workflow(&env, name, text);
    }
    if !workflows.is_empty() {
        t.run(&["workflow", "track", "--all"]).success();
    }
    env
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn workflow<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {report:#}"))
}

fn stage<'a>(w: &'a Value, level: &str) -> &'a Value {
    w["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["level"] == level)
        .unwrap_or_else(|| panic!("{level} in {w:#}"))
}

const API_WORKFLOW: &str = r#"{"1": {"class_type": "SolidImage", "inputs": {"width": 3, "height": 2, "color": "blue"}, "_meta": {"title": "img"}},
 "2": {"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "api"}}}"#;

#[test]
fn each_level_passes_and_fails_for_the_right_reason() {
    let t = TestContext::new();
    let missing_model = r#"{"version":0.4,"nodes":[
  {"id":1,"type":"CheckpointLoaderSimple","outputs":[{"name":"MODEL","type":"MODEL","links":[1]},{"name":"CLIP","type":"CLIP","links":null},{"name":"VAE","type":"VAE","links":[3]}],"widgets_values":["nope.safetensors"]},
  {"id":2,"type":"EmptyLatentImage","outputs":[{"name":"LATENT","type":"LATENT","links":[2]}],"widgets_values":[64,64]},
  {"id":3,"type":"KSampler","inputs":[{"name":"model","type":"MODEL","link":1},{"name":"latent_image","type":"LATENT","link":2}],"outputs":[{"name":"LATENT","type":"LATENT","links":[4]}],"widgets_values":[7,"randomize",3,"euler"]},
  {"id":4,"type":"VAEDecode","inputs":[{"name":"samples","type":"LATENT","link":4},{"name":"vae","type":"VAE","link":3}],"outputs":[{"name":"IMAGE","type":"IMAGE","links":[5]}]},
  {"id":5,"type":"SaveImage","inputs":[{"name":"images","type":"IMAGE","link":5}],"widgets_values":["m"]}
],"links":[[1,1,0,3,0,"MODEL"],[2,2,0,3,1,"LATENT"],[3,1,2,4,1,"VAE"],[4,3,0,4,0,"LATENT"],[5,4,0,5,0,"IMAGE"]],"extra":{}}"#;
    let env = env_with(
        &t,
        &[("tint-pack", &tint_init(10, 1)), ("broken-pack", BROKEN_INIT)],
        &[
            ("good", ui_chain(5, "Tint", "[3]", Some("tint-pack"))),
            ("needs broken", ui_chain(5, "BrokenNode", "[]", Some("broken-pack"))),
            ("bad value", ui_chain(0, "Tint", "[3]", Some("tint-pack"))),
            ("too much", ui_chain(5, "Tint", "[11]", Some("tint-pack"))),
            ("missing model", missing_model.to_string()),
            (
                "fails",
                ui_chain(5, "FailOnDemand", "[true, \"the node gave up\"]", None),
            ),
            ("api", API_WORKFLOW.to_string()),
        ],
    );
    let junit = t.path("junit.xml");
    let run = t.run(&["test", "--level", "run", "--json", "--junit", junit.to_str().unwrap()]);
    run.failure();
    let report = json_of(&run.stdout);
    crate::schemas::assert_valid(&crate::schemas::schema("test-report.schema.json"), &report);
    assert_eq!(report["format_version"], "1");
    assert_eq!(
        report["summary"],
        json!({"passed": 2, "failed": 5, "skipped": 0}),
        "{report:#}"
    );

    // run: passed, its output listed with its hash (the PNG really written).
    let good = workflow(&report, "good");
    assert_eq!(good["status"], "passed");
    let outputs = stage(good, "run")["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 1, "{good:#}");
    assert_eq!(outputs[0]["node_id"], "3");
    assert!(outputs[0]["blake3"].as_str().unwrap().starts_with("blake3:"));
    assert_eq!(workflow(&report, "api")["format"], "api");
    assert_eq!(workflow(&report, "api")["status"], "passed");

    // import: the missing type names its pack and the pack's import error from the log.
    let broken = stage(workflow(&report, "needs broken"), "import");
    assert_eq!(broken["status"], "failed");
    let f = &broken["failures"][0];
    assert_eq!(f["kind"], "missing_node");
    assert_eq!(f["node_type"], "BrokenNode");
    assert_eq!(f["pack"], "broken-pack");
    let error = f["import_error"].as_str().unwrap();
    assert!(error.starts_with("Traceback (most recent call last):"), "{error}");
    assert!(error.contains("No module named 'module_nobody_installed'"), "{error}");
    assert_eq!(
        stage(workflow(&report, "needs broken"), "validate")["status"],
        "skipped"
    );

    // validate: ComfyUI's own error types, with the node and input.
    let bad = &stage(workflow(&report, "bad value"), "validate")["failures"][0];
    assert_eq!(
        (bad["kind"].as_str(), bad["node_id"].as_str(), bad["input"].as_str()),
        (Some("value_smaller_than_min"), Some("1"), Some("width"))
    );
    let much = &stage(workflow(&report, "too much"), "validate")["failures"][0];
    assert_eq!(much["kind"], "value_bigger_than_max");
    assert_eq!(much["node_type"], "Tint");
    let model = &stage(workflow(&report, "missing model"), "validate")["failures"][0];
    assert_eq!(model["kind"], "value_not_in_list");
    assert_eq!(
        model["model"],
        json!({"category": "checkpoints", "file": "nope.safetensors", "in_index": false, "declared": false, "skipped_on_this_machine": false})
    );
    assert_eq!(stage(workflow(&report, "missing model"), "run")["status"], "skipped");

    // run: a node error with ComfyUI's execution_error.
    let fails = stage(workflow(&report, "fails"), "run");
    assert_eq!(stage(workflow(&report, "fails"), "validate")["status"], "passed");
    let f = &fails["failures"][0];
    assert_eq!(
        (
            f["kind"].as_str(),
            f["node_id"].as_str(),
            f["node_type"].as_str(),
            f["message"].as_str()
        ),
        (
            Some("execution_error"),
            Some("2"),
            Some("FailOnDemand"),
            Some("the node gave up")
        )
    );

    // The JUnit file parses back: one testcase per workflow and level.
    let xml = fs::read_to_string(&junit).unwrap();
    let (cases, failures, skipped) = junit_counts(&xml);
    let stages: usize = report["workflows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["stages"].as_array().unwrap().len())
        .sum();
    assert_eq!(cases, stages, "{xml}");
    assert_eq!(failures, 5, "{xml}");
    assert_eq!(skipped, 5, "{xml}");
    assert!(xml.contains("classname=\"demo.good\" name=\"run\""), "{xml}");

    // The default level is validate; names choose workflows; text names the failure.
    t.run(&["test", "good", "api"]).success().stdout_has("PASS  good");
    let text = t.run(&["test", "needs broken"]);
    text.failure()
        .stdout_has("FAIL  needs broken")
        .stdout_has("pack broken-pack failed to import")
        .stdout_has("No module named 'module_nobody_installed'");
    t.run(&["test", "nobody"])
        .failure()
        .stderr_has("no tracked workflow named nobody");
    // Nothing is left running: ComfyUI's port is closed after the command.
    let url = report["comfyui"]["url"]
        .as_str()
        .unwrap()
        .trim_start_matches("http://")
        .to_string();
    assert!(std::net::TcpStream::connect(url).is_err());
    let _ = env;
}

/// (testcases, failed testcases, skipped testcases) of a JUnit document, read with an XML parser.
fn junit_counts(xml: &str) -> (usize, usize, usize) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut cases, mut failures, mut skipped, mut in_case_failed) = (0, 0, 0, false);
    loop {
        match reader.read_event().expect("well-formed JUnit XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testcase" => {
                    cases += 1;
                    in_case_failed = false;
                }
                b"failure" if !in_case_failed => {
                    failures += 1;
                    in_case_failed = true;
                }
                b"skipped" => skipped += 1,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    (cases, failures, skipped)
}

const SG: &str = "11111111-2222-3333-4444-555555555555";

/// A workflow with a subgraph, a legacy group node, a primitive, a reroute, a bypassed and a
/// muted node, notes; and the prompt ComfyUI's frontend makes of it, written by hand.
fn conversion_fixture() -> (String, Value) {
    let ui = json!({
        "version": 0.4, "last_node_id": 20, "last_link_id": 20,
        "nodes": [
            {"id": 1, "type": "SolidImage", "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [1]}],
             "inputs": [{"name": "width", "type": "INT", "widget": {"name": "width"}, "link": 9}],
             "widgets_values": [4, 3, "red"]},
            {"id": 9, "type": "PrimitiveNode", "outputs": [{"name": "INT", "type": "INT", "links": [9]}], "widgets_values": [6, "fixed"]},
            {"id": 2, "type": "Reroute", "inputs": [{"name": "", "type": "*", "link": 1}], "outputs": [{"name": "", "type": "*", "links": [2]}]},
            {"id": 3, "type": SG, "inputs": [{"name": "image", "type": "IMAGE", "link": 2}, {"name": "amount", "type": "INT", "widget": {"name": "amount"}, "link": null}],
             "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [3]}], "widgets_values": [2]},
            {"id": 4, "type": "Tint", "mode": 4, "inputs": [{"name": "image", "type": "IMAGE", "link": 3}], "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [4]}], "widgets_values": [9]},
            {"id": 5, "type": "workflow>tint and save", "inputs": [{"name": "image", "type": "IMAGE", "link": 4}], "widgets_values": [1, "grouped"]},
            {"id": 6, "type": "SaveImage", "mode": 2, "inputs": [{"name": "images", "type": "IMAGE", "link": 5}], "widgets_values": ["muted"]},
            {"id": 7, "type": "Note", "widgets_values": ["a note"]},
            {"id": 8, "type": "MarkdownNote", "widgets_values": ["# notes"]}
        ],
        "links": [[1, 1, 0, 2, 0, "IMAGE"], [2, 2, 0, 3, 0, "IMAGE"], [3, 3, 0, 4, 0, "IMAGE"], [4, 4, 0, 5, 0, "IMAGE"],
                  [5, 1, 0, 6, 0, "IMAGE"], [9, 9, 0, 1, 0, "INT"]],
        "definitions": {"subgraphs": [{
            "id": SG, "name": "Tint twice", "version": 1,
            "inputs": [{"name": "image", "type": "IMAGE"}, {"name": "amount", "type": "INT"}],
            "outputs": [{"name": "IMAGE", "type": "IMAGE"}],
            "nodes": [
                {"id": 1, "type": "Tint", "inputs": [{"name": "image", "type": "IMAGE", "link": 11}, {"name": "amount", "type": "INT", "widget": {"name": "amount"}, "link": 12}],
                 "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [13]}], "widgets_values": [1]},
                {"id": 2, "type": "Tint", "inputs": [{"name": "image", "type": "IMAGE", "link": 13}],
                 "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": [14]}], "widgets_values": [5]}
            ],
            "links": [
                {"id": 11, "origin_id": -10, "origin_slot": 0, "target_id": 1, "target_slot": 0, "type": "IMAGE"},
                {"id": 12, "origin_id": -10, "origin_slot": 1, "target_id": 1, "target_slot": 1, "type": "INT"},
                {"id": 13, "origin_id": 1, "origin_slot": 0, "target_id": 2, "target_slot": 0, "type": "IMAGE"},
                {"id": 14, "origin_id": 2, "origin_slot": 0, "target_id": -20, "target_slot": 0, "type": "IMAGE"}
            ]
        }]},
        "extra": {"groupNodes": {"tint and save": {
            "nodes": [
                {"index": 0, "type": "Tint", "inputs": [{"name": "image", "type": "IMAGE", "link": null}],
                 "outputs": [{"name": "IMAGE", "type": "IMAGE", "links": []}], "widgets_values": [0]},
                {"index": 1, "type": "SaveImage", "inputs": [{"name": "images", "type": "IMAGE", "link": null}], "widgets_values": ["stale"]}
            ],
            "links": [[null, 0, 0, 0, 4, "IMAGE"], [0, 0, 1, 0, 20, "IMAGE"]],
            "external": []
        }}}
    });
    let expected = json!({
        "1": {"class_type": "SolidImage", "inputs": {"width": 6, "height": 3, "color": "red"}, "_meta": {"title": "SolidImage"}},
        "3:1": {"class_type": "Tint", "inputs": {"image": ["1", 0], "amount": 2}, "_meta": {"title": "Tint"}},
        "3:2": {"class_type": "Tint", "inputs": {"image": ["3:1", 0], "amount": 5}, "_meta": {"title": "Tint"}},
        "5:0": {"class_type": "Tint", "inputs": {"image": ["3:2", 0], "amount": 1}, "_meta": {"title": "Tint"}},
        "5:1": {"class_type": "SaveImage", "inputs": {"images": ["5:0", 0], "filename_prefix": "grouped"}, "_meta": {"title": "Save Image"}}
    });
    (ui.to_string(), expected)
}

#[test]
fn ui_workflows_convert_as_the_frontend_converts_them_and_run() {
    let t = TestContext::new();
    let (ui, expected) = conversion_fixture();
    let env = env_with(&t, &[("tint-pack", &tint_init(10, 1))], &[("shapes", ui)]);
    let kept = t.path("prompts");
    let run = t.run(&[
        "test",
        "--level",
        "run",
        "--keep-prompts",
        kept.to_str().unwrap(),
        "--json",
    ]);
    run.success();
    let prompt: Value = serde_json::from_slice(&fs::read(kept.join("shapes.json")).unwrap()).unwrap();
    assert_eq!(prompt, expected);
    let report = json_of(&run.stdout);
    let outputs = stage(workflow(&report, "shapes"), "run")["outputs"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(outputs.len(), 1, "{report:#}");
    assert_eq!(outputs[0]["node_id"], "5:1");
    assert_eq!(outputs[0]["file"], "grouped_00001_.png");
    let _ = env;
}

#[test]
fn a_stuck_workflow_is_interrupted_at_the_timeout() {
    let t = TestContext::new();
    env_with(&t, &[], &[("slow", ui_chain(4, "Sleep", "[60.0]", None))]);
    let started = std::time::Instant::now();
    let run = t.run(&["test", "--level", "run", "--timeout", "1", "--json"]);
    run.failure();
    assert!(started.elapsed().as_secs() < 30, "took {:?}", started.elapsed());
    let report = json_of(&run.stdout);
    let f = &stage(workflow(&report, "slow"), "run")["failures"][0];
    assert_eq!(f["kind"], "timeout");
    assert!(f["message"].as_str().unwrap().contains("interrupted"), "{f:#}");
}

#[test]
fn a_comfyui_that_never_starts_exits_2_with_its_log_tail() {
    let t = TestContext::new();
    env_with(
        &t,
        &[(
            "exit-pack",
            "import sys\nprint('exit-pack refuses to load', flush=True)\nsys.exit(3)\n",
        )],
        &[("good", ui_chain(4, "SolidImage", "[]", None))],
    );
    t.run(&["test"])
        .code(2)
        .stderr_has("ComfyUI could not start")
        .stderr_has("exit-pack refuses to load");
}

#[test]
fn apply_test_switches_back_when_a_pack_update_breaks_a_workflow() {
    let t = TestContext::new();
    let env = env_with(
        &t,
        &[("tint-pack", &tint_init(10, 1))],
        &[("good", ui_chain(5, "Tint", "[7]", Some("tint-pack")))],
    );
    t.run(&["test"]).success();
    let live = env.join("ComfyUI/custom_nodes/tint-pack/__init__.py");
    assert!(fs::read_to_string(&live).unwrap().contains("VERSION = 1"));
    // The update lowers Tint's maximum below the workflow's value.
    pack_update(&t.path("packs/tint-pack"), &tint_init(5, 2));
    move_to_master(&env);
    let applied = t.run(&["apply", "--yes", "--test"]);
    applied
        .failure()
        .stdout_has("value_bigger_than_max")
        .stdout_has("switched back to generation");
    assert!(
        fs::read_to_string(&live).unwrap().contains("VERSION = 1"),
        "{}",
        applied.stdout
    );
    t.run(&["log"]).success().stdout_has("Rollback to generation");
    t.run(&["test"]).success();
    // rollback --test to the broken generation switches back the same way.
    t.run(&["rollback", "--yes", "--test"])
        .failure()
        .stdout_has("switched back to generation");
    assert!(fs::read_to_string(&live).unwrap().contains("VERSION = 1"));
    t.run(&["test"]).success();
}

/// Points the tint pack at its branch, so the next lock takes the new commit.
fn move_to_master(env: &Path) {
    let manifest = env.join(".cec/pyproject.toml");
    let text = fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("[tool.comfydock.nodes.tint-pack]\n"), "{text}");
    fs::write(
        &manifest,
        text.replace(
            "[tool.comfydock.nodes.tint-pack]\n",
            "[tool.comfydock.nodes.tint-pack]\nrev = \"master\"\n",
        ),
    )
    .unwrap();
}
