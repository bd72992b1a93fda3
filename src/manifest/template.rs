//! The pyproject a new environment starts from.

use super::SCHEMA_VERSION;

pub struct NewEnvironment<'a> {
    pub name: &'a str,
    pub comfyui_version: &'a str,
    pub comfyui_repo: &'a str,
    pub python_version: &'a str,
    pub torch_backend: &'a str,
}

/// A valid uv project (`package = false`: the environment is an application, never built or
/// installed itself) with comfydock's section. Dependencies are filled in by the caller.
pub fn new_pyproject(env: &NewEnvironment<'_>) -> String {
    let NewEnvironment {
        name,
        comfyui_version,
        comfyui_repo,
        python_version,
        torch_backend,
    } = env;
    let torch = torch_sources(torch_backend);
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
{torch}
[tool.comfydock]
version = "{SCHEMA_VERSION}"
comfyui_version = "{comfyui_version}"
comfyui_repo = "{comfyui_repo}"
python_version = "{python_version}"
torch_backend = "{torch_backend}"
"#
    )
}

/// For a named backend, torch, torchvision and torchaudio come from the PyTorch index of that
/// backend (explicit, so nothing else is looked up there).
fn torch_sources(backend: &str) -> String {
    if backend == "none" {
        return String::new();
    }
    let index = format!("pytorch-{backend}");
    format!(
        r#"
[[tool.uv.index]]
name = "{index}"
url = "https://download.pytorch.org/whl/{backend}"
explicit = true

[tool.uv.sources]
torch = {{ index = "{index}" }}
torchvision = {{ index = "{index}" }}
torchaudio = {{ index = "{index}" }}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;

    #[test]
    fn template_is_a_readable_manifest() {
        for backend in ["none", "cpu", "cu124"] {
            let text = new_pyproject(&NewEnvironment {
                name: "demo",
                comfyui_version: "v0.2.0",
                comfyui_repo: "/x",
                python_version: "3.11",
                torch_backend: backend,
            });
            let m = Manifest::parse(std::path::Path::new("p.toml"), &text).unwrap();
            assert_eq!(m.config().torch_backend.as_deref(), Some(backend));
            assert_eq!(text.contains("download.pytorch.org"), backend != "none");
        }
    }
}
