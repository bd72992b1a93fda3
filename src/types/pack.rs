//! A node pack's identity. A registry id, a repository URL in any spelling (`.git`, case,
//! trailing slash, `git@host:o/r`), an `aux_id` (`owner/repo`), a Manager entry, a `cnr_id` on a
//! workflow node and a manifest entry can all name the same pack: each becomes a `PackIdentity`
//! through one function here, and two identities are the same pack when they share a registry id
//! or a canonical repository.

use std::fmt;

/// What is known of a pack's name: its registry id, its repository, or both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackIdentity {
    registry_id: Option<String>,
    repository: Option<CanonicalRepo>,
}

/// A repository URL in its canonical form: `https://host/owner/repo`, compared without case
/// (GitHub and its peers ignore it), displayed as the repository spells it.
#[derive(Debug, Clone)]
pub struct CanonicalRepo {
    spelled: String,
    key: String,
}

impl PartialEq for CanonicalRepo {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl Eq for CanonicalRepo {}

impl CanonicalRepo {
    /// Any spelling of a repository URL or a local path; None for text that names no repository.
    pub fn parse(url: &str) -> Option<CanonicalRepo> {
        let mut u = url.trim().to_string();
        if u.is_empty() {
            return None;
        }
        if let Some(rest) = u.strip_prefix("git@") {
            u = format!("https://{}", rest.replacen(':', "/", 1));
        } else if let Some(rest) = u.strip_prefix("ssh://") {
            u = format!("https://{}", rest.strip_prefix("git@").unwrap_or(rest));
        } else if let Some(rest) = u.strip_prefix("git://") {
            u = format!("https://{rest}");
        } else if let Some(rest) = u.strip_prefix("http://") {
            u = format!("https://{rest}");
        }
        if let Some(cut) = u.find(['?', '#']) {
            u.truncate(cut);
        }
        let trimmed = u.trim_end_matches('/');
        let trimmed = trimmed.strip_suffix(".git").unwrap_or(trimmed).trim_end_matches('/');
        let spelled = match trimmed.split_once("://") {
            Some((scheme, rest)) => {
                let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
                let host = host.to_ascii_lowercase();
                let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
                if path.is_empty() {
                    format!("{scheme}://{host}")
                } else {
                    format!("{scheme}://{host}/{path}")
                }
            }
            None => trimmed.to_string(),
        };
        (!spelled.is_empty()).then(|| CanonicalRepo {
            key: spelled.to_lowercase(),
            spelled,
        })
    }

    /// The repository as it spells itself (`https://github.com/cubiq/ComfyUI_essentials`).
    pub fn as_str(&self) -> &str {
        &self.spelled
    }

    /// The repository's own name, as spelled (`ComfyUI_essentials`): what `git clone` names its
    /// folder.
    pub fn name(&self) -> &str {
        self.spelled.rsplit(['/', ':']).next().unwrap_or(&self.spelled)
    }
}

impl fmt::Display for CanonicalRepo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spelled)
    }
}

impl PackIdentity {
    /// A Comfy Registry id (also a workflow node's `cnr_id`).
    pub fn registry(id: &str) -> PackIdentity {
        PackIdentity {
            registry_id: Some(id.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()),
            repository: None,
        }
    }

    /// A repository URL in any spelling.
    pub fn repository(url: &str) -> PackIdentity {
        PackIdentity {
            registry_id: None,
            repository: CanonicalRepo::parse(url),
        }
    }

    /// A workflow node's `aux_id`: `owner/repo` on GitHub.
    pub fn aux_id(aux: &str) -> PackIdentity {
        PackIdentity::repository(&format!("https://github.com/{}", aux.trim().trim_matches('/')))
    }

    /// What a resolution or an index names a pack by: a URL or an absolute path is a
    /// repository, an `owner/repo` an aux id, anything else a registry id.
    pub fn named(pack: &str) -> PackIdentity {
        if pack.contains("://") || pack.starts_with("git@") || pack.starts_with('/') {
            PackIdentity::repository(pack)
        } else if pack.matches('/').count() == 1 && !pack.starts_with('/') {
            PackIdentity::aux_id(pack)
        } else {
            PackIdentity::registry(pack)
        }
    }

    /// A pack known by its registry id, its repository, or both (a manifest entry, an index row).
    pub fn of(registry_id: Option<&str>, repository: Option<&str>) -> PackIdentity {
        PackIdentity {
            registry_id: registry_id
                .map(|r| r.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty()),
            repository: repository.and_then(CanonicalRepo::parse),
        }
    }

    /// Both names, when a source knows both (a registry pack's repository).
    pub fn with_repository(mut self, url: Option<&str>) -> PackIdentity {
        if self.repository.is_none() {
            self.repository = url.and_then(CanonicalRepo::parse);
        }
        self
    }

    pub fn registry_id(&self) -> Option<&str> {
        self.registry_id.as_deref()
    }

    pub fn repo(&self) -> Option<&CanonicalRepo> {
        self.repository.as_ref()
    }

    /// The same pack: a shared registry id or the same canonical repository.
    pub fn same_pack(&self, other: &PackIdentity) -> bool {
        let ids = self.registry_id.is_some() && self.registry_id == other.registry_id;
        ids || (self.repository.is_some() && self.repository == other.repository)
    }
}

impl fmt::Display for PackIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.registry_id, &self.repository) {
            (Some(id), _) => f.write_str(id),
            (None, Some(repo)) => write!(f, "{repo}"),
            (None, None) => f.write_str("?"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_repository_is_one_pack() {
        let base = PackIdentity::repository("https://github.com/cubiq/ComfyUI_essentials");
        for other in [
            "https://github.com/cubiq/ComfyUI_essentials.git",
            "https://github.com/cubiq/comfyui_essentials/",
            "git@github.com:cubiq/ComfyUI_essentials.git",
            "http://www.github.com/Cubiq/ComfyUI_essentials",
            "ssh://git@github.com/cubiq/ComfyUI_essentials",
        ] {
            assert!(base.same_pack(&PackIdentity::repository(other)), "{other}");
        }
        assert!(base.same_pack(&PackIdentity::aux_id("cubiq/ComfyUI_essentials")));
        assert!(base.same_pack(&PackIdentity::named("cubiq/comfyui_essentials")));
        assert!(!base.same_pack(&PackIdentity::repository(
            "https://github.com/cubiq/ComfyUI_essentials2"
        )));
        assert!(!base.same_pack(&PackIdentity::registry("comfyui_essentials")));
        assert_eq!(base.repo().unwrap().name(), "ComfyUI_essentials");
    }

    #[test]
    fn a_registry_id_and_a_repository_meet_when_one_side_knows_both() {
        let declared = PackIdentity::registry("comfyui-impact-pack")
            .with_repository(Some("https://github.com/ltdrdata/ComfyUI-Impact-Pack"));
        assert!(declared.same_pack(&PackIdentity::named("comfyui-impact-pack")));
        assert!(declared.same_pack(&PackIdentity::named(
            "https://github.com/ltdrdata/comfyui-impact-pack.git"
        )));
        assert!(!PackIdentity::default().same_pack(&PackIdentity::default()));
        assert!(CanonicalRepo::parse("  ").is_none());
    }
}
