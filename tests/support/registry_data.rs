//! Generated registries for the data pipeline: N packs with versions and node classes, written
//! as a snapshot for `registry serve`, and changed between builds (new versions, packs and
//! versions removed, deprecations) to exercise incremental refreshes.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// A registry held as a snapshot document, changed in place, saved as often as needed.
pub struct GeneratedRegistry {
    pub doc: Value,
}

pub fn pack_id(i: usize) -> String {
    format!("pack-{i:03}")
}

fn comfy_node(name: &str, inputs: &str) -> Value {
    json!({
        "comfy_node_name": name, "category": "generated", "description": "",
        "input_types": inputs, "return_types": "[\"IMAGE\"]", "return_names": "[\"image\"]",
        "output_is_list": [false], "function": "run", "deprecated": false, "experimental": false
    })
}

/// The node classes of pack `i`: its own, plus `SharedNode` in every fifth pack (the same name
/// provided by several packs, with two different input signatures).
pub fn node_classes(i: usize, per_version: usize) -> Value {
    let mut out: Vec<Value> = (0..per_version)
        .map(|k| {
            comfy_node(
                &format!("Pack{i:03}Node{k}"),
                &format!(r#"{{"required":{{"image":["IMAGE"],"strength":["FLOAT",{{"default":1.0}}]}},"optional":{{"mode{k}":[["a","b"]]}}}}"#),
            )
        })
        .collect();
    if i.is_multiple_of(5) {
        let inputs = if i.is_multiple_of(10) {
            r#"{"required":{"text":["STRING"]}}"#
        } else {
            r#"{"required":{"text":["STRING"],"seed":["INT",{"max":18446744073709551615}]}}"#
        };
        out.push(comfy_node("SharedNode", inputs));
    }
    Value::Array(out)
}

fn version(id: &str, v: &str, day: usize, nodes: Option<Value>) -> Value {
    let mut entry = json!({
        "node_version": {
            "id": format!("uuid-{id}-{v}"), "node_id": id, "version": v,
            "createdAt": format!("2025-{:02}-{:02}T00:00:00Z", 1 + day / 28 % 12, 1 + day % 28),
            "changelog": "", "dependencies": ["numpy"], "deprecated": false,
            "downloadUrl": format!("https://cdn.comfy.org/pub/{id}/{v}/node.zip"),
            "status": "NodeVersionStatusActive", "comfy_node_extract_status": "success"
        }
    });
    if let Some(n) = nodes {
        entry["comfy_nodes"] = n;
    }
    entry
}

impl GeneratedRegistry {
    /// `packs` packs of `versions` versions each (1.0.0, 1.1.0, …); every version has
    /// `nodes` node classes, except that every seventh pack's versions have no metadata (the
    /// registry answers 404 for them).
    pub fn new(packs: usize, versions: usize, nodes: usize) -> GeneratedRegistry {
        let list: Vec<Value> = (0..packs)
            .map(|i| {
                let id = pack_id(i);
                let vs: Vec<Value> = (0..versions)
                    .map(|k| {
                        let meta = (i % 7 != 3).then(|| node_classes(i, nodes));
                        version(&id, &format!("1.{k}.0"), i + k, meta)
                    })
                    .collect();
                json!({
                    "node": {
                        "id": id, "name": format!("Generated Pack {i}"), "description": "generated",
                        "author": "gen", "repository": format!("https://github.com/gen-org/{id}.git"),
                        "downloads": (i * 37) % 1000, "github_stars": i % 13, "status": "NodeStatusActive",
                        "search_ranking": i % 4, "preempted_comfy_node_names": []
                    },
                    "versions": vs
                })
            })
            .collect();
        GeneratedRegistry {
            doc: json!({"format": "comfydock-registry-snapshot", "format_version": 1, "packs": list}),
        }
    }

    fn pack_mut(&mut self, id: &str) -> &mut Value {
        self.doc["packs"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|p| p["node"]["id"] == id)
            .unwrap_or_else(|| panic!("no pack {id}"))
    }

    /// Publishes a new version of pack `i` with node classes.
    pub fn add_version(&mut self, i: usize, v: &str) {
        let id = pack_id(i);
        let entry = version(&id, v, 300, Some(node_classes(i, 2)));
        self.pack_mut(&id)["versions"].as_array_mut().unwrap().push(entry);
    }

    pub fn remove_pack(&mut self, i: usize) {
        let id = pack_id(i);
        self.doc["packs"]
            .as_array_mut()
            .unwrap()
            .retain(|p| p["node"]["id"] != id.as_str());
    }

    pub fn remove_version(&mut self, i: usize, v: &str) {
        let id = pack_id(i);
        self.pack_mut(&id)["versions"]
            .as_array_mut()
            .unwrap()
            .retain(|e| e["node_version"]["version"] != v);
    }

    /// Sets a version's field (`deprecated`, `status`).
    pub fn set_version_field(&mut self, i: usize, v: &str, field: &str, value: Value) {
        let id = pack_id(i);
        let e = self.pack_mut(&id)["versions"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|e| e["node_version"]["version"] == v)
            .unwrap();
        e["node_version"][field] = value;
    }

    pub fn save(&self, dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("registry-snapshot.json"),
            serde_json::to_vec(&self.doc).unwrap(),
        )
        .unwrap();
        dir.to_path_buf()
    }
}
