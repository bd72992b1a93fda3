//! ComfyUI's model categories: which folder a file sits in says what kind of model it is, and
//! which extensions ComfyUI looks at there (ComfyUI `folder_paths.py`, see
//! `reference/model_categories.tsv`).

use std::path::Path;

/// ComfyUI's default extension set for weights, plus formats custom packs load (`.gguf` from
/// ComfyUI-GGUF, `.onnx` from ReActor/Impact, `.engine` from TensorRT).
const WEIGHT_EXTENSIONS: &[&str] = &[
    "ckpt",
    "pt",
    "pt2",
    "bin",
    "pth",
    "safetensors",
    "pkl",
    "sft",
    "gguf",
    "onnx",
    "engine",
];

/// A builtin category: its name and the folders ComfyUI searches for it (first is canonical).
pub struct Category {
    pub name: &'static str,
    pub folders: &'static [&'static str],
}

/// The builtin categories, in ComfyUI's order.
pub const CATEGORIES: &[Category] = &[
    cat("checkpoints", &["checkpoints"]),
    cat("configs", &["configs"]),
    cat("loras", &["loras"]),
    cat("vae", &["vae"]),
    cat("text_encoders", &["text_encoders", "clip"]),
    cat("diffusion_models", &["unet", "diffusion_models"]),
    cat("clip_vision", &["clip_vision"]),
    cat("style_models", &["style_models"]),
    cat("embeddings", &["embeddings"]),
    cat("diffusers", &["diffusers"]),
    cat("vae_approx", &["vae_approx"]),
    cat("controlnet", &["controlnet", "t2i_adapter"]),
    cat("gligen", &["gligen"]),
    cat("upscale_models", &["upscale_models"]),
    cat("hypernetworks", &["hypernetworks"]),
    cat("photomaker", &["photomaker"]),
    cat("classifiers", &["classifiers"]),
    cat("model_patches", &["model_patches"]),
    cat("audio_encoders", &["audio_encoders"]),
];

const fn cat(name: &'static str, folders: &'static [&'static str]) -> Category {
    Category { name, folders }
}

/// The category of a top-level folder of a model directory. Builtin folder names map to their
/// category (`clip` -> `text_encoders`); any other folder is taken as a custom pack's category
/// under its own name (`ipadapter`, `sams`), as ComfyUI does for unknown keys.
pub fn category_of_folder(folder: &str) -> String {
    CATEGORIES
        .iter()
        .find(|c| c.folders.contains(&folder))
        .map(|c| c.name.to_string())
        .unwrap_or_else(|| folder.to_string())
}

/// The category of a file given its path relative to a model directory, or `None` when the file
/// is not a model file ComfyUI would list there. Files directly in the model directory have no
/// category (`Some(None)`): they are indexed, but ComfyUI does not see them.
pub fn classify(rel: &Path) -> Option<Option<String>> {
    let mut components = rel.iter();
    let first = components.next()?.to_str()?;
    let file_name = rel.file_name()?.to_str()?;
    if file_name.starts_with('.') {
        return None;
    }
    let ext = Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    if rel.components().count() == 1 {
        return is_weight(ext.as_deref()).then_some(None);
    }
    let category = category_of_folder(first);
    let wanted = match category.as_str() {
        "configs" => ext.as_deref() == Some("yaml"),
        "classifiers" => ext.is_none() || is_weight(ext.as_deref()),
        _ => is_weight(ext.as_deref()),
    };
    wanted.then_some(Some(category))
}

fn is_weight(ext: Option<&str>) -> bool {
    ext.is_some_and(|e| WEIGHT_EXTENSIONS.contains(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(p: &str) -> Option<Option<String>> {
        classify(Path::new(p))
    }

    #[test]
    fn folders_decide_the_category() {
        assert_eq!(c("checkpoints/sd15.safetensors"), Some(Some("checkpoints".into())));
        assert_eq!(c("clip/t5.SAFETENSORS"), Some(Some("text_encoders".into())));
        assert_eq!(c("unet/sub/flux.gguf"), Some(Some("diffusion_models".into())));
        assert_eq!(c("ipadapter/ip.bin"), Some(Some("ipadapter".into())));
        assert_eq!(c("configs/v1.yaml"), Some(Some("configs".into())));
        assert_eq!(c("classifiers/model"), Some(Some("classifiers".into())));
        assert_eq!(c("loose.ckpt"), Some(None));
    }

    #[test]
    fn other_files_are_not_models() {
        assert_eq!(c("checkpoints/readme.txt"), None);
        assert_eq!(c("checkpoints/v1.yaml"), None);
        assert_eq!(c("loras/.hidden.safetensors"), None);
        assert_eq!(c("loras/noext"), None);
        assert_eq!(c("put_models_here"), None);
    }
}
