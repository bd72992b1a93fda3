//! The pyproject a new environment starts from.

use super::SCHEMA_VERSION;

pub struct NewEnvironment<'a> {
    pub name: &'a str,
    pub comfyui_version: &'a str,
    pub comfyui_repo: &'a str,
    pub python_version: &'a str,
    /// Backends the lock covers (`cpu`, `cu124`, ...); empty: torch as the requirements say.
    pub torch_backends: &'a [String],
}

/// A valid uv project (`package = false`: the environment is an application, never built or
/// installed itself) with comfydock's section. Dependencies are filled in by the caller; the
/// torch backend tables are written by `Manifest::sync_torch_backends` when the environment is
/// resolved.
pub fn new_pyproject(env: &NewEnvironment<'_>) -> String {
    let NewEnvironment {
        name,
        comfyui_version,
        comfyui_repo,
        python_version,
        torch_backends,
    } = env;
    let backends = torch_backends
        .iter()
        .map(|b| format!("\"{b}\""))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        r#"# The desired state of the comfydock environment "{name}".
# Edit it by hand or with comfydock commands; `comfydock plan` shows what would change.

[project]
name = "comfydock-env-{name}"
version = "0.1.0"
requires-python = "=={python_version}.*"
dependencies = []

[tool.uv]
package = false

[tool.comfydock]
version = "{SCHEMA_VERSION}"
comfyui_version = "{comfyui_version}"
comfyui_repo = "{comfyui_repo}"
python_version = "{python_version}"
# Torch backends the lock covers; `apply --torch-backend B` picks one (see docs/python.md).
torch_backends = [{backends}]
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;

    #[test]
    fn template_is_a_readable_manifest() {
        for backends in [vec![], vec!["cpu".to_string(), "cu124".to_string()]] {
            let text = new_pyproject(&NewEnvironment {
                name: "demo",
                comfyui_version: "v0.2.0",
                comfyui_repo: "/x",
                python_version: "3.11",
                torch_backends: &backends,
            });
            let mut m = Manifest::parse(std::path::Path::new("p.toml"), &text).unwrap();
            assert_eq!(m.config().torch_backends, backends);
            m.sync_torch_backends(&|b| format!("https://download.pytorch.org/whl/{b}"));
            assert_eq!(
                m.render().contains("download.pytorch.org/whl/cu124"),
                !backends.is_empty()
            );
        }
    }
}
