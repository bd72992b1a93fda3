//! Synthetic ComfyUI-Manager data in Manager's own formats (`extension-node-map.json`,
//! `github-stats.json`, `custom-node-list.json`), small and made up: the real files are GPL and
//! never copied here. It has the cases ranking must get right:
//!
//! - `ResizeImage+` is provided by the real pack (alice/Tidy-Nodes, many stars, its node types
//!   end in `+`) and by a copy whose owner sorts first (aardvark/copycat-pack, 3 stars);
//! - `Knob (widgets)` by bob/Widget-Suite (its types end in ` (widgets)`) and by a grab-bag pack
//!   that sorts first; neither has stats, so only the name decides;
//! - `PatA` and anything else starting with `Pat` through carol's `nodename_pattern`;
//! - ComfyUI's own entry, whose node types are built-in.

use serde_json::{Value, json};
use std::path::Path;

pub const CORE: &str = "https://github.com/comfyanonymous/ComfyUI";
pub const TIDY: &str = "https://github.com/alice/Tidy-Nodes";
pub const COPYCAT: &str = "https://github.com/aardvark/copycat-pack";
pub const WIDGETS: &str = "https://github.com/bob/Widget-Suite";
pub const GRAB_BAG: &str = "https://github.com/aaron/grab-bag";
pub const PATTERNS: &str = "https://github.com/carol/pattern-pack";

/// The three files, as `(file name, bytes)`; `extra` node types are added to alice's pack (to
/// tell one version of the data from another).
pub struct ManagerData {
    pub map: Value,
    pub stats: Value,
    pub list: Value,
}

impl ManagerData {
    pub fn new() -> Self {
        let map = json!({
            CORE: [["KSampler", "CheckpointLoaderSimple"], {"title_aux": "ComfyUI"}],
            TIDY: [["ResizeImage+", "BlendImages+", "SharpenImage+", "MathExpression+", "TidyNote"], {"title_aux": "Tidy Nodes"}],
            COPYCAT: [["ResizeImage+", "LoadFromUrl", "ToolboxMisc"], {"title_aux": "Copycat Pack"}],
            WIDGETS: [["Knob (widgets)", "Slider (widgets)", "Dial (widgets)", "Meter (widgets)"], {"title_aux": "Widget Suite"}],
            GRAB_BAG: [["Knob (widgets)", "GrabBagOne", "GrabBagTwo", "GrabBagThree"], {"title_aux": "Grab Bag", "author": "aaron"}],
            PATTERNS: [["PatA"], {"title_aux": "Pattern Pack", "nodename_pattern": "^Pat"}],
        });
        let stats = json!({
            TIDY: {"stars": 1234, "last_update": "2026-10-01 10:00:00", "author_account_age_days": 3000},
            COPYCAT: {"stars": 3, "last_update": "2026-11-01 10:00:00", "author_account_age_days": 40},
            PATTERNS: {"stars": 10, "last_update": "2025-01-01 00:00:00", "author_account_age_days": 900},
            "https://github.com/somebody/not-in-the-map": {"stars": 99999, "last_update": "2026-01-01 00:00:00", "author_account_age_days": 1},
        });
        let entry = |author: &str, title: &str, url: &str| {
            json!({"author": author, "title": title, "reference": url, "files": [url],
                   "install_type": "git-clone", "description": format!("{title}, made up for tests")})
        };
        let list = json!({"custom_nodes": [
            entry("alice", "Tidy Nodes", TIDY),
            entry("aardvark", "Copycat Pack", COPYCAT),
            entry("bob", "Widget Suite", WIDGETS),
            entry("aaron", "Grab Bag", GRAB_BAG),
            entry("carol", "Pattern Pack", PATTERNS),
        ]});
        ManagerData { map, stats, list }
    }

    /// Adds `node_type` to alice's pack.
    pub fn add_to_tidy(&mut self, node_type: &str) {
        self.map[TIDY][0].as_array_mut().unwrap().push(json!(node_type));
    }

    pub fn files(&self) -> [(&'static str, Vec<u8>); 3] {
        [
            ("extension-node-map.json", serde_json::to_vec_pretty(&self.map).unwrap()),
            ("github-stats.json", serde_json::to_vec_pretty(&self.stats).unwrap()),
            ("custom-node-list.json", serde_json::to_vec_pretty(&self.list).unwrap()),
        ]
    }

    /// Serves the three files under `prefix` (`/manager/`).
    pub fn serve(&self, server: &super::http::HttpServer, prefix: &str) {
        for (name, bytes) in self.files() {
            server.serve(&format!("{prefix}{name}"), &bytes);
        }
    }

    pub fn save(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, bytes) in self.files() {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}

impl Default for ManagerData {
    fn default() -> Self {
        ManagerData::new()
    }
}
