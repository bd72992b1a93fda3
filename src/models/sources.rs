//! Where a model can be downloaded from, turned into a URL. Every base URL can be pointed
//! elsewhere (mirrors, air-gapped sites, tests): `HF_ENDPOINT` for Hugging Face (as the
//! `huggingface_hub` library reads it), `COMFYDOCK_CIVITAI_API` for Civitai's API.

use super::download::Token;
use super::{ModelError, Result};

pub const DEFAULT_HF_ENDPOINT: &str = "https://huggingface.co";
pub const DEFAULT_CIVITAI_API: &str = "https://civitai.com/api";

/// A model source as the manifest states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    HuggingFace {
        repo: String,
        file: String,
        /// Branch, tag or commit; `main` when absent.
        revision: Option<String>,
    },
    Civitai {
        version_id: String,
    },
    Url {
        url: String,
    },
}

/// Base URLs of the services.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub huggingface: String,
    pub civitai_api: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            huggingface: DEFAULT_HF_ENDPOINT.into(),
            civitai_api: DEFAULT_CIVITAI_API.into(),
        }
    }
}

impl Endpoints {
    /// The defaults, overridden by `HF_ENDPOINT` and `COMFYDOCK_CIVITAI_API`.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let d = Endpoints::default();
        Endpoints {
            huggingface: var("HF_ENDPOINT").unwrap_or(d.huggingface),
            civitai_api: var("COMFYDOCK_CIVITAI_API").unwrap_or(d.civitai_api),
        }
    }
}

/// A download URL and the environment variable holding the token that service accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub url: String,
    pub token_var: Option<&'static str>,
}

impl Resolved {
    /// The token from the environment when set, else from the user's credentials file
    /// (`comfydock config set HF_TOKEN`); never from the workspace or the manifest.
    pub fn token(&self) -> Option<Token> {
        crate::workspace::credentials::token(self.token_var?).map(Token::new)
    }
}

/// The URL to fetch `source` from.
pub fn resolve(source: &Source, endpoints: &Endpoints) -> Result<Resolved> {
    match source {
        Source::HuggingFace { repo, file, revision } => {
            let mut segments: Vec<&str> = repo.split('/').collect();
            segments.push("resolve");
            segments.push(revision.as_deref().unwrap_or("main"));
            segments.extend(file.split('/'));
            Ok(Resolved {
                url: join(&endpoints.huggingface, &segments)?,
                token_var: Some("HF_TOKEN"),
            })
        }
        Source::Civitai { version_id } => {
            if version_id.is_empty() || !version_id.chars().all(|c| c.is_ascii_digit()) {
                return Err(ModelError::Download {
                    url: format!("civitai version `{version_id}`"),
                    reason: "a Civitai version id is a number".into(),
                });
            }
            Ok(Resolved {
                url: join(&endpoints.civitai_api, &["download", "models", version_id])?,
                token_var: Some("CIVITAI_API_KEY"),
            })
        }
        Source::Url { url } => Ok(Resolved {
            url: url.clone(),
            token_var: None,
        }),
    }
}

/// `base` with `segments` appended, each percent-encoded as a path segment.
fn join(base: &str, segments: &[&str]) -> Result<String> {
    let mut url = reqwest::Url::parse(base).map_err(|e| ModelError::Download {
        url: base.to_string(),
        reason: format!("not a base URL: {e}"),
    })?;
    url.path_segments_mut()
        .map_err(|_| ModelError::Download {
            url: base.to_string(),
            reason: "not a base URL".into(),
        })?
        .pop_if_empty()
        .extend(segments);
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let e = Endpoints {
            huggingface: "http://127.0.0.1:9/hf/".into(),
            civitai_api: "https://civitai.com/api".into(),
        };
        let hf = resolve(
            &Source::HuggingFace {
                repo: "runwayml/stable-diffusion-v1-5".into(),
                file: "sub dir/v1-5 pruned.safetensors".into(),
                revision: None,
            },
            &e,
        )
        .unwrap();
        assert_eq!(
            hf.url,
            "http://127.0.0.1:9/hf/runwayml/stable-diffusion-v1-5/resolve/main/sub%20dir/v1-5%20pruned.safetensors"
        );
        assert_eq!(hf.token_var, Some("HF_TOKEN"));
        let cv = resolve(
            &Source::Civitai {
                version_id: "7425".into(),
            },
            &e,
        )
        .unwrap();
        assert_eq!(cv.url, "https://civitai.com/api/download/models/7425");
        assert!(
            resolve(
                &Source::Civitai {
                    version_id: "../x".into()
                },
                &e
            )
            .is_err()
        );
    }
}
