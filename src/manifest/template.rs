//! The pyproject a new environment starts from. Built with toml_edit on a fixed skeleton, so any
//! value (a repository path with `"` or `\`) is escaped and the file always parses.

use super::SCHEMA_VERSION;
use crate::types::{EnvName, GitRef, PythonVersion, RepoUrl, TorchBackend};
use toml_edit::{Array, DocumentMut, value};

pub struct NewEnvironment<'a> {
    pub name: &'a EnvName,
    pub comfyui_version: &'a GitRef,
    pub comfyui_repo: &'a RepoUrl,
    pub python_version: &'a PythonVersion,
    /// Backends the lock covers (`cpu`, `cu124`, ...); empty: torch as the requirements say.
    pub torch_backends: &'a [TorchBackend],
}

const SKELETON: &str = r#"# Edit it by hand or with comfydock commands; `comfydock plan` shows what would change.

[project]
name = ""
version = "0.1.0"
requires-python = ""
dependencies = []

[tool.uv]
package = false

[tool.comfydock]
version = ""
comfyui_version = ""
comfyui_repo = ""
python_version = ""
# Torch backends the lock covers; `apply --torch-backend B` picks one (see docs/python.md).
torch_backends = []
"#;

/// A valid uv project (`package = false`: the environment is an application, never built or
/// installed itself) with comfydock's section. Dependencies are filled in by the caller; the
/// torch backend tables are written by `Manifest::sync_torch_backends` when the environment is
/// resolved.
pub fn new_pyproject(env: &NewEnvironment<'_>) -> String {
    let mut doc: DocumentMut = SKELETON.parse().expect("the skeleton is valid TOML");
    doc["project"]["name"] = value(format!("comfydock-env-{}", env.name));
    doc["project"]["requires-python"] = value(format!("=={}.*", env.python_version));
    let section = &mut doc["tool"]["comfydock"];
    section["version"] = value(SCHEMA_VERSION);
    section["comfyui_version"] = value(env.comfyui_version.as_str());
    section["comfyui_repo"] = value(env.comfyui_repo.as_str());
    section["python_version"] = value(env.python_version.as_str());
    let backends: Array = env.torch_backends.iter().map(|b| b.as_str()).collect();
    section["torch_backends"] = value(backends);
    // The name is an EnvName (letters, digits, `._-+`): safe inside a comment.
    format!(
        "# The desired state of the comfydock environment \"{}\".\n{doc}",
        env.name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::Manifest;

    #[test]
    fn template_is_a_readable_manifest() {
        let no: Vec<TorchBackend> = vec![];
        let two: Vec<TorchBackend> = vec!["cpu".parse().unwrap(), "cu124".parse().unwrap()];
        for backends in [no, two] {
            let text = new_pyproject(&NewEnvironment {
                name: &"demo".parse().unwrap(),
                comfyui_version: &"v0.2.0".parse().unwrap(),
                comfyui_repo: &"/x".parse().unwrap(),
                python_version: &"3.11".parse().unwrap(),
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

    #[test]
    fn quotes_and_backslashes_in_a_repository_path_are_escaped() {
        let repo: RepoUrl = r#"/tmp/we"ird\path"#.parse().unwrap();
        let text = new_pyproject(&NewEnvironment {
            name: &"demo".parse().unwrap(),
            comfyui_version: &"v0.2.0".parse().unwrap(),
            comfyui_repo: &repo,
            python_version: &"3.11".parse().unwrap(),
            torch_backends: &[],
        });
        let m = Manifest::parse(std::path::Path::new("p.toml"), &text).unwrap();
        assert_eq!(m.config().comfyui_repo.as_ref(), Some(&repo));
        assert!(text.contains("# Torch backends the lock covers"));
    }
}
