//! Torch backends. The torch family (torch, torchvision, torchaudio) is declared by the
//! environment, never by node packs: once per backend, as mutually exclusive extras of the uv
//! project, each with its own explicit index, so one `uv.lock` covers every backend and
//! `uv sync --extra BACKEND` picks one. See docs/python.md.

use serde::Deserialize;
use std::path::Path;

/// The packages whose builds differ per backend. Node packs cannot change them.
pub const TORCH_FAMILY: &[&str] = &["torch", "torchvision", "torchaudio"];

/// Where the PyTorch wheels of a backend are, `{backend}` standing for its name.
pub const DEFAULT_INDEX_URL: &str = "https://download.pytorch.org/whl/{backend}";

/// True for torch, torchvision and torchaudio (normalised names).
pub fn is_torch_family(name: &str) -> bool {
    TORCH_FAMILY.contains(&name)
}

/// `cpu`, `cuXYZ`, `rocmX.Y` or `xpu`: the names of PyTorch's indexes.
pub fn is_backend_name(value: &str) -> bool {
    let cuda = value
        .strip_prefix("cu")
        .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()));
    let rocm = value
        .strip_prefix("rocm")
        .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    matches!(value, "cpu" | "xpu") || cuda || rocm
}

/// The name of the uv index that serves a backend.
pub fn index_name(backend: &str) -> String {
    format!("pytorch-{backend}")
}

/// The workspace's torch settings (`workspace.toml`), read beside the rest of its config.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TorchSettings {
    /// The backend `apply` syncs when `--torch-backend` is not given.
    pub torch_backend: Option<crate::types::TorchBackend>,
    /// The index URL template for new backends (`{backend}` is replaced); a path without a
    /// scheme is a local folder of wheels (a flat index).
    pub torch_index_url: Option<String>,
}

impl TorchSettings {
    /// `workspace.toml` of the workspace at `root`, then `COMFYDOCK_TORCH_INDEX_URL` and
    /// `COMFYDOCK_TORCH_BACKEND` over it.
    pub fn load(root: &Path) -> Self {
        let mut s: TorchSettings = fs_err::read_to_string(root.join("workspace.toml"))
            .ok()
            .and_then(|t| toml::from_str(&t).ok())
            .unwrap_or_default();
        if let Some(v) = std::env::var_os("COMFYDOCK_TORCH_INDEX_URL").filter(|v| !v.is_empty()) {
            s.torch_index_url = Some(v.to_string_lossy().into_owned());
        }
        if let Some(v) = std::env::var_os("COMFYDOCK_TORCH_BACKEND").filter(|v| !v.is_empty()) {
            // A value that is no backend name is ignored, as a bad workspace.toml value is.
            s.torch_backend = v.to_str().and_then(|v| v.parse().ok());
        }
        s
    }

    /// The index URL of `backend`: the template with `{backend}` replaced; a URL without
    /// `{backend}` is taken as given (one index serving whichever backend is asked for).
    pub fn index_url(&self, backend: &str) -> String {
        let template = self.torch_index_url.as_deref().unwrap_or(DEFAULT_INDEX_URL);
        template.replace("{backend}", backend)
    }
}

/// A local folder of wheels is a flat index for uv; anything with a scheme is a simple index.
pub fn is_flat_index(url: &str) -> bool {
    !url.contains("://") || url.starts_with("file://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_names_and_urls() {
        for ok in ["cpu", "cu124", "rocm6.2", "xpu"] {
            assert!(is_backend_name(ok), "{ok}");
        }
        for bad in ["none", "cuda", "cu", "rocm", "CPU"] {
            assert!(!is_backend_name(bad), "{bad}");
        }
        let s = TorchSettings::default();
        assert_eq!(s.index_url("cu124"), "https://download.pytorch.org/whl/cu124");
        let s = TorchSettings {
            torch_index_url: Some("/srv/wheels/".into()),
            ..Default::default()
        };
        assert_eq!(s.index_url("cpu"), "/srv/wheels/");
        assert!(is_flat_index("/srv/wheels/cpu"));
        assert!(!is_flat_index("http://127.0.0.1:8000/cpu"));
    }
}
