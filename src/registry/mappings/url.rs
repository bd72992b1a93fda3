//! The one repository URL normaliser (REGISTRY-NOTES §2.10), used for registry repositories,
//! Manager keys and lookups alike: lowercase; no `.git`, trailing `/`, query or fragment;
//! raw/gist content URLs mapped to their repository; ssh forms mapped to https.

/// The normal form of a repository (or single-file) URL.
pub fn normalize_repository(url: &str) -> String {
    let mut u = url.trim().to_lowercase();
    if let Some(rest) = u.strip_prefix("git@") {
        // git@github.com:owner/repo -> https://github.com/owner/repo
        u = format!("https://{}", rest.replacen(':', "/", 1));
    } else if let Some(rest) = u.strip_prefix("ssh://") {
        let rest = rest.strip_prefix("git@").unwrap_or(rest);
        u = format!("https://{rest}");
    } else if let Some(rest) = u.strip_prefix("git://") {
        u = format!("https://{rest}");
    }
    if let Some(cut) = u.find(['?', '#']) {
        u.truncate(cut);
    }
    while u.ends_with('/') {
        u.pop();
    }
    if let Some(stripped) = u.strip_suffix(".git") {
        u = stripped.to_string();
    }
    while u.ends_with('/') {
        u.pop();
    }
    let (scheme, rest) = match u.split_once("://") {
        Some((s, r)) => (s.to_string(), r.to_string()),
        None => ("https".to_string(), u.clone()),
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["raw.githubusercontent.com", user, repo, ..] => format!("https://github.com/{user}/{repo}"),
        ["gist.githubusercontent.com", user, hash, ..] => format!("https://gist.github.com/{user}/{hash}"),
        [host, tail @ ..] => {
            let host = host.strip_prefix("www.").unwrap_or(host);
            if tail.is_empty() {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}/{}", tail.join("/"))
            }
        }
        [] => String::new(),
    }
}

/// Hosts whose Manager entries are merged; others are skipped.
pub fn supported_host(normalized: &str) -> bool {
    [
        "github.com",
        "githubusercontent.com",
        "gist.github.com",
        "gitee.com",
        "git.mmaker.moe",
    ]
    .iter()
    .any(|h| normalized.contains(h))
}

/// The id of a synthetic package for a Manager-only repository: `manager_<user>_<repo>` on
/// GitHub, `manager_gist_<hash>` for gists, `manager_<host>_<user>_<repo>` elsewhere; `-` and
/// `.` become `_`.
pub fn synthetic_id(normalized: &str) -> String {
    let clean = |s: &str| s.replace(['-', '.'], "_");
    let rest = normalized.split_once("://").map_or(normalized, |(_, r)| r);
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["github.com", user, repo, ..] => format!("manager_{}_{}", clean(user), clean(repo)),
        ["gist.github.com", _, hash, ..] | ["gist.github.com", hash] => format!("manager_gist_{}", clean(hash)),
        [host, user, repo, ..] => format!("manager_{}_{}_{}", clean(host), clean(user), clean(repo)),
        [host, user] => format!("manager_{}_{}", clean(host), clean(user)),
        [host] => format!("manager_{}", clean(host)),
        [] => "manager_unknown".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_form_for_every_spelling() {
        for u in [
            "https://github.com/Owner/Repo.git",
            "https://github.com/owner/repo/",
            "https://www.github.com/owner/repo?tab=readme#x",
            "git@github.com:Owner/Repo.git",
            "ssh://git@github.com/owner/repo",
            "https://raw.githubusercontent.com/owner/repo/main/node.py",
        ] {
            assert_eq!(normalize_repository(u), "https://github.com/owner/repo", "{u}");
        }
        assert_eq!(
            normalize_repository("https://gist.githubusercontent.com/u/abc123/raw/x/f.py"),
            "https://gist.github.com/u/abc123"
        );
        assert_eq!(
            normalize_repository("http://git.mmaker.moe/a/b"),
            "http://git.mmaker.moe/a/b"
        );
    }

    #[test]
    fn synthetic_ids() {
        assert_eq!(
            synthetic_id("https://github.com/some-user/my.repo"),
            "manager_some_user_my_repo"
        );
        assert_eq!(synthetic_id("https://gist.github.com/u/abc"), "manager_gist_abc");
        assert_eq!(
            synthetic_id("https://git.mmaker.moe/a/b-c"),
            "manager_git_mmaker_moe_a_b_c"
        );
    }
}
