//! Fixtures for `comfydock test`: node packs whose classes the miniature ComfyUI executes, and
//! workflows (UI and API format) written from the frontend's rules.

use super::repos;
use std::path::{Path, PathBuf};

/// A pack registering `Tint` (IMAGE, amount 0..=max -> IMAGE); `version` is written in.
pub fn tint_init(max: u32, version: u32) -> String {
    format!(
        r#"VERSION = {version}


class Tint:
    @classmethod
    def INPUT_TYPES(cls):
        return {{"required": {{"image": ("IMAGE",), "amount": ("INT", {{"default": 1, "min": 0, "max": {max}}})}}}}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "tint"
    CATEGORY = "tint"

    def tint(self, image, amount):
        image.rgb = tuple(min(255, c + amount) for c in image.rgb)
        return (image,)


NODE_CLASS_MAPPINGS = {{"Tint": Tint}}
"#
    )
}

/// A pack repository with this `__init__.py`, committed and tagged `v1`.
pub fn pack(dest: &Path, init: &str) -> PathBuf {
    repos::init(dest);
    std::fs::write(dest.join("__init__.py"), init).unwrap();
    repos::commit_all(dest, "v1");
    repos::git(dest, &["tag", "v1"]);
    dest.to_path_buf()
}

/// A new commit of the pack with this `__init__.py`.
pub fn pack_update(dest: &Path, init: &str) -> String {
    std::fs::write(dest.join("__init__.py"), init).unwrap();
    repos::commit_all(dest, "update")
}

/// A UI workflow: SolidImage(width) -> [middle node type with widgets] -> SaveImage.
pub fn ui_chain(width: i64, middle: &str, middle_widgets: &str, pack: Option<&str>) -> String {
    let props = pack.map_or(String::new(), |p| {
        format!(r#","properties":{{"cnr_id":"{p}","ver":"1.0.0"}}"#)
    });
    format!(
        r#"{{"last_node_id":3,"last_link_id":2,"version":0.4,"nodes":[
  {{"id":1,"type":"SolidImage","outputs":[{{"name":"IMAGE","type":"IMAGE","links":[1]}}],"widgets_values":[{width},4,"green"]}},
  {{"id":2,"type":"{middle}","inputs":[{{"name":"image","type":"IMAGE","link":1}}],"outputs":[{{"name":"IMAGE","type":"IMAGE","links":[2]}}],"widgets_values":{middle_widgets}{props}}},
  {{"id":3,"type":"SaveImage","inputs":[{{"name":"images","type":"IMAGE","link":2}}],"widgets_values":["chain"]}}
],"links":[[1,1,0,2,0,"IMAGE"],[2,2,0,3,0,"IMAGE"]],"groups":[],"config":{{}},"extra":{{}}}}"#
    )
}

/// Writes `text` as ComfyUI's copy of workflow `name` in the environment at `env`.
pub fn user_workflow(env: &Path, name: &str, text: &str) {
    let dir = env.join("ComfyUI/user/default/workflows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.json")), text).unwrap();
}
