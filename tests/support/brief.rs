//! The architecture brief's own `[tool.comfydock]` example (every field it shows), with its
//! sources pointed at this test's offline fixtures: a registry pack served by the mirror, a git
//! pack, a local pack, a model found by content in the workspace's index, a tracked workflow.

/// Where the example's sources live in one test.
pub struct BriefSources<'a> {
    pub git_repository: &'a str,
    pub local_path: &'a str,
    pub model_hash: &'a str,
    pub model_size: u64,
}

/// The example's tables, as the brief writes them (TOML 1.1 multi-line inline table included),
/// to append to a manifest `comfydock create` wrote.
pub fn tables(s: &BriefSources) -> String {
    format!(
        r#"
[tool.comfydock.nodes.comfyui-impact-pack]
name = "ComfyUI Impact Pack"
source = "registry"                # registry | git | local
registry_id = "comfyui-impact-pack"
version = "8.8.1"

[tool.comfydock.nodes.my-git-node]
source = "git"
repository = "{git}"
rev = "main"                       # pinned to a commit in the lock

[tool.comfydock.nodes.my-dev-node]
source = "local"                   # developed in place: linked, never deleted
path = "{local}"

[tool.comfydock.models.sd15_base]
name = "SD 1.5 Base"
hash = "blake3:{hash}"
size = {size}
local_path = "models/checkpoints/sd15_base.safetensors"
sources = [
  {{ type = "huggingface", repo = "runwayml/stable-diffusion-v1-5", file = "v1-5-pruned.safetensors" }},
  {{ type = "civitai", model_id = "6431", version_id = "7425" }},
  {{ type = "url", url = "https://example.com/models/sd15.safetensors" }},
]

[tool.comfydock.workflows.tracked.my_workflow]
file = "workflows/my_workflow.json"
version = "1.0.0"
description = "My production workflow"
requires = {{
  nodes = ["comfyui-impact-pack"],
  models = ["sd15_base"],
}}
"#,
        git = s.git_repository,
        local = s.local_path,
        hash = s.model_hash,
        size = s.model_size,
    )
}
