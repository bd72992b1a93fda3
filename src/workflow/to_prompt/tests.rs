//! The conversion against prompts written by hand from the frontend's rules.

use super::*;
use serde_json::json;

/// A few node classes as `/object_info` describes them.
fn defs() -> NodeDefs {
    NodeDefs::from_object_info(&json!({
        "CheckpointLoaderSimple": {
            "input": {"required": {"ckpt_name": [["a.safetensors", "b.safetensors"], {}]}},
            "input_order": {"required": ["ckpt_name"]},
            "output": ["MODEL", "CLIP", "VAE"], "output_node": false, "display_name": "Load Checkpoint"
        },
        "KSampler": {
            "input": {"required": {
                "model": ["MODEL"],
                "seed": ["INT", {"default": 0, "min": 0, "max": 100, "control_after_generate": true}],
                "steps": ["INT", {"default": 20, "min": 1, "max": 10000}],
                "cfg": ["FLOAT", {"default": 8.0}],
                "sampler_name": [["euler", "ddim"]],
                "positive": ["CONDITIONING"],
                "latent_image": ["LATENT"],
                "denoise": ["FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0}]
            }},
            "input_order": {"required": ["model", "seed", "steps", "cfg", "sampler_name", "positive", "latent_image", "denoise"]},
            "output": ["LATENT"], "output_node": false
        },
        "CLIPTextEncode": {
            "input": {"required": {"text": ["STRING", {"multiline": true}], "clip": ["CLIP"]}},
            "input_order": {"required": ["text", "clip"]},
            "output": ["CONDITIONING"], "output_node": false
        },
        "EmptyLatentImage": {
            "input": {"required": {"width": ["INT", {"default": 512, "min": 16, "max": 4096}], "height": ["INT", {"default": 512, "min": 16, "max": 4096}]}},
            "input_order": {"required": ["width", "height"]},
            "output": ["LATENT"], "output_node": false
        },
        "Blur": {
            "input": {"required": {"samples": ["LATENT"], "radius": ["INT", {"default": 1, "min": 0, "max": 9}]}},
            "input_order": {"required": ["samples", "radius"]},
            "output": ["LATENT"], "output_node": false
        },
        "SaveLatent": {
            "input": {"required": {"samples": ["LATENT"], "filename_prefix": ["STRING", {"default": "latents"}]},
                      "optional": {"note": ["STRING", {"forceInput": true}]}},
            "input_order": {"required": ["samples", "filename_prefix"], "optional": ["note"]},
            "output": [], "output_node": true
        }
    }))
}

fn ui(v: Value) -> Prompt {
    ui_to_prompt(v.as_object().unwrap(), &defs()).prompt
}

fn entry(class: &str, title: &str, inputs: Value) -> Value {
    json!({"class_type": class, "inputs": inputs, "_meta": {"title": title}})
}

#[test]
fn widgets_map_in_order_control_values_drop_and_links_follow_reroutes_and_primitives() {
    let p = ui(json!({
        "version": 0.4,
        "nodes": [
            {"id": 1, "type": "CheckpointLoaderSimple", "widgets_values": ["a.safetensors"],
             "outputs": [{"name": "MODEL", "type": "MODEL"}, {"name": "CLIP", "type": "CLIP"}, {"name": "VAE", "type": "VAE"}]},
            {"id": 2, "type": "KSampler", "title": "Main sampler",
             "inputs": [{"name": "model", "type": "MODEL", "link": 1},
                        {"name": "positive", "type": "CONDITIONING", "link": 2},
                        {"name": "latent_image", "type": "LATENT", "link": 3},
                        {"name": "steps", "type": "INT", "widget": {"name": "steps"}, "link": 7}],
             "widgets_values": [5, "randomize", 20, 7.5, "ddim"]},
            {"id": 3, "type": "CLIPTextEncode", "inputs": [{"name": "clip", "type": "CLIP", "link": 4}], "widgets_values": ["a cat"]},
            {"id": 4, "type": "EmptyLatentImage", "widgets_values": [64, 32]},
            {"id": 5, "type": "Reroute", "inputs": [{"name": "", "type": "*", "link": 5}], "outputs": [{"name": "", "type": "*"}]},
            {"id": 6, "type": "PrimitiveNode", "outputs": [{"name": "INT", "type": "INT"}], "widgets_values": [33, "fixed"]},
            {"id": 7, "type": "SaveLatent", "inputs": [{"name": "samples", "type": "LATENT", "link": 6}], "widgets_values": ["out"]},
            {"id": 8, "type": "Note", "widgets_values": ["remember the cat"]},
            {"id": 9, "type": "MarkdownNote", "widgets_values": ["# hi"]}
        ],
        "links": [[1, 1, 0, 2, 0, "MODEL"], [2, 3, 0, 2, 1, "CONDITIONING"], [3, 5, 0, 2, 2, "LATENT"],
                  [4, 1, 1, 3, 1, "CLIP"], [5, 4, 0, 5, 0, "LATENT"], [6, 2, 0, 7, 0, "LATENT"], [7, 6, 0, 2, 3, "INT"]]
    }));
    let expected: Prompt = [
        (
            "1",
            entry(
                "CheckpointLoaderSimple",
                "Load Checkpoint",
                json!({"ckpt_name": "a.safetensors"}),
            ),
        ),
        (
            "2",
            entry(
                "KSampler",
                "Main sampler",
                json!({
                    "model": ["1", 0], "positive": ["3", 0], "latent_image": ["4", 0],
                    "seed": 5, "steps": 33, "cfg": 7.5, "sampler_name": "ddim", "denoise": 1.0
                }),
            ),
        ),
        (
            "3",
            entry(
                "CLIPTextEncode",
                "CLIPTextEncode",
                json!({"text": "a cat", "clip": ["1", 1]}),
            ),
        ),
        (
            "4",
            entry(
                "EmptyLatentImage",
                "EmptyLatentImage",
                json!({"width": 64, "height": 32}),
            ),
        ),
        (
            "7",
            entry(
                "SaveLatent",
                "SaveLatent",
                json!({"samples": ["2", 0], "filename_prefix": "out"}),
            ),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(p, expected);
}

#[test]
fn bypassed_nodes_pass_their_input_through_and_muted_nodes_cut_links() {
    let nodes = |blur_mode: i64| {
        json!({
            "nodes": [
                {"id": 1, "type": "EmptyLatentImage", "widgets_values": [64, 64]},
                {"id": 2, "type": "Blur", "mode": blur_mode, "inputs": [{"name": "samples", "type": "LATENT", "link": 1}],
                 "outputs": [{"name": "LATENT", "type": "LATENT"}], "widgets_values": [3]},
                {"id": 3, "type": "SaveLatent", "inputs": [{"name": "samples", "type": "LATENT", "link": 2}], "widgets_values": ["x"]}
            ],
            "links": [[1, 1, 0, 2, 0, "LATENT"], [2, 2, 0, 3, 0, "LATENT"]]
        })
    };
    let bypassed = ui(nodes(4));
    assert_eq!(bypassed.keys().collect::<Vec<_>>(), ["1", "3"]);
    assert_eq!(bypassed["3"]["inputs"]["samples"], json!(["1", 0]));
    let muted = ui(nodes(2));
    assert_eq!(muted.keys().collect::<Vec<_>>(), ["1", "3"]);
    // The frontend removes an input linked to a node it does not send.
    assert_eq!(muted["3"]["inputs"], json!({"filename_prefix": "x"}));
    let normal = ui(nodes(0));
    assert_eq!(normal["3"]["inputs"]["samples"], json!(["2", 0]));
    assert_eq!(normal["2"]["inputs"], json!({"samples": ["1", 0], "radius": 3}));
}

const SG: &str = "11111111-2222-3333-4444-555555555555";

#[test]
fn subgraphs_flatten_with_instance_values_and_links_across_the_boundary() {
    let p = ui(json!({
        "nodes": [
            {"id": 1, "type": "EmptyLatentImage", "widgets_values": [64, 64]},
            {"id": 10, "type": SG, "title": "Blur twice",
             "inputs": [{"name": "samples", "type": "LATENT", "link": 1}, {"name": "radius", "type": "INT", "widget": {"name": "radius"}, "link": null}],
             "outputs": [{"name": "LATENT", "type": "LATENT"}],
             "widgets_values": [7]},
            {"id": 3, "type": "SaveLatent", "inputs": [{"name": "samples", "type": "LATENT", "link": 2}], "widgets_values": ["sg"]}
        ],
        "links": [[1, 1, 0, 10, 0, "LATENT"], [2, 10, 0, 3, 0, "LATENT"]],
        "definitions": {"subgraphs": [{
            "id": SG, "name": "Blur twice", "version": 1,
            "inputs": [{"name": "samples", "type": "LATENT"}, {"name": "radius", "type": "INT"}],
            "outputs": [{"name": "LATENT", "type": "LATENT"}],
            "nodes": [
                {"id": 1, "type": "Blur", "inputs": [{"name": "samples", "type": "LATENT", "link": 11}, {"name": "radius", "type": "INT", "widget": {"name": "radius"}, "link": 12}],
                 "outputs": [{"name": "LATENT", "type": "LATENT"}], "widgets_values": [1]},
                {"id": 2, "type": "Blur", "inputs": [{"name": "samples", "type": "LATENT", "link": 13}],
                 "outputs": [{"name": "LATENT", "type": "LATENT"}], "widgets_values": [2]}
            ],
            "links": [
                {"id": 11, "origin_id": -10, "origin_slot": 0, "target_id": 1, "target_slot": 0, "type": "LATENT"},
                {"id": 12, "origin_id": -10, "origin_slot": 1, "target_id": 1, "target_slot": 1, "type": "INT"},
                {"id": 13, "origin_id": 1, "origin_slot": 0, "target_id": 2, "target_slot": 0, "type": "LATENT"},
                {"id": 14, "origin_id": 2, "origin_slot": 0, "target_id": -20, "target_slot": 0, "type": "LATENT"}
            ]
        }]}
    }));
    assert_eq!(p.keys().collect::<Vec<_>>(), ["1", "10:1", "10:2", "3"]);
    assert_eq!(p["10:1"]["inputs"], json!({"samples": ["1", 0], "radius": 7}));
    assert_eq!(p["10:2"]["inputs"], json!({"samples": ["10:1", 0], "radius": 2}));
    assert_eq!(p["3"]["inputs"]["samples"], json!(["10:2", 0]));
}

#[test]
fn legacy_group_nodes_expand_with_the_instance_values() {
    let p = ui(json!({
        "nodes": [
            {"id": 1, "type": "EmptyLatentImage", "widgets_values": [64, 64]},
            {"id": 5, "type": "workflow>blur pair", "inputs": [{"name": "samples", "type": "LATENT", "link": 1}],
             "outputs": [{"name": "LATENT", "type": "LATENT"}], "widgets_values": [4, 5]},
            {"id": 3, "type": "SaveLatent", "inputs": [{"name": "samples", "type": "LATENT", "link": 2}], "widgets_values": ["g"]}
        ],
        "links": [[1, 1, 0, 5, 0, "LATENT"], [2, 5, 0, 3, 0, "LATENT"]],
        "extra": {"groupNodes": {"blur pair": {
            "nodes": [
                {"index": 0, "type": "Blur", "inputs": [{"name": "samples", "type": "LATENT", "link": null}],
                 "outputs": [{"name": "LATENT", "type": "LATENT", "links": []}], "widgets_values": [1]},
                {"index": 1, "type": "Blur", "inputs": [{"name": "samples", "type": "LATENT", "link": null}],
                 "outputs": [{"name": "LATENT", "type": "LATENT", "links": []}], "widgets_values": [1]}
            ],
            "links": [[null, 0, 0, 0, 1, "LATENT"], [0, 0, 1, 0, 9, "LATENT"]],
            "external": []
        }}}
    }));
    assert_eq!(p.keys().collect::<Vec<_>>(), ["1", "3", "5:0", "5:1"]);
    assert_eq!(p["5:0"]["inputs"], json!({"samples": ["1", 0], "radius": 4}));
    assert_eq!(p["5:1"]["inputs"], json!({"samples": ["5:0", 0], "radius": 5}));
    assert_eq!(p["3"]["inputs"]["samples"], json!(["5:1", 0]));
}

#[test]
fn missing_widget_values_take_defaults_and_lists_are_wrapped() {
    let p = ui(json!({"nodes": [
        {"id": 1, "type": "EmptyLatentImage", "widgets_values": [128]},
        {"id": 2, "type": "CLIPTextEncode", "widgets_values": [["a", "b"]]}
    ], "links": []}));
    assert_eq!(p["1"]["inputs"], json!({"width": 128, "height": 512}));
    assert_eq!(p["2"]["inputs"], json!({"text": {"__value__": ["a", "b"]}}));
}

#[test]
fn validation_names_what_comfyui_would_refuse() {
    use crate::workflow::prompt_check::check;
    let d = defs();
    let mut p = ui(json!({"nodes": [
        {"id": 1, "type": "EmptyLatentImage", "widgets_values": [8, 64]},
        {"id": 2, "type": "CheckpointLoaderSimple", "widgets_values": ["missing.safetensors"]},
        {"id": 3, "type": "SaveLatent", "inputs": [{"name": "samples", "type": "LATENT", "link": 1}], "widgets_values": ["x"]},
        {"id": 4, "type": "SaveLatent", "inputs": [{"name": "samples", "type": "MODEL", "link": 2}], "widgets_values": ["y"]}
    ], "links": [[1, 1, 0, 3, 0, "LATENT"], [2, 2, 0, 4, 0, "MODEL"]]}));
    let errors = check(&p, &d);
    let kinds: Vec<(&str, &str)> = errors
        .iter()
        .map(|e| (e.node_id.as_deref().unwrap(), e.kind.as_str()))
        .collect();
    assert_eq!(kinds, [("1", "value_smaller_than_min"), ("4", "return_type_mismatch")]);
    assert_eq!(errors[0].message, "Value 8 smaller than min of 16");
    // Fixing the link reaches the loader, whose file is not in the list.
    p.get_mut("4").unwrap()["inputs"]["samples"] = json!(["1", 0]);
    p.get_mut("3").unwrap()["inputs"]["samples"] = json!(["1", 0]);
    p.get_mut("1").unwrap()["inputs"]["width"] = json!(64);
    assert!(check(&p, &d).is_empty(), "{:?}", check(&p, &d));
    p.get_mut("4").unwrap()["class_type"] = json!("KSampler");
    p.get_mut("4").unwrap()["inputs"] = json!({"model": ["2", 0], "seed": 1, "steps": 1, "cfg": 1, "sampler_name": "euler", "positive": ["2", 1], "latent_image": ["1", 0]});
    p.insert(
        "5".into(),
        json!({"class_type": "SaveLatent", "inputs": {"samples": ["4", 0], "filename_prefix": "z"}}),
    );
    let errors = check(&p, &d);
    let kinds: Vec<&str> = errors.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["value_not_in_list", "return_type_mismatch", "required_input_missing"],
        "{errors:#?}"
    );
    assert_eq!(errors[0].model_category.as_deref(), Some("checkpoints"));
    assert_eq!(
        errors[0].details,
        "ckpt_name: 'missing.safetensors' not in ['a.safetensors', 'b.safetensors']"
    );
    p.clear();
    assert_eq!(check(&p, &d)[0].kind, "prompt_no_outputs");
    p.insert("1".into(), json!({"class_type": "Nope", "inputs": {}}));
    assert_eq!(
        check(&p, &d)[0].message,
        "Cannot execute because node Nope does not exist."
    );
}
