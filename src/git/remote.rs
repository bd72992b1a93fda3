//! Network-facing git through the `git` command.

use super::{GitError, Result};
use std::path::Path;
use std::process::{Command, Stdio};

/// Transports a repository URL may use. `ext::` (runs a command) and `fd::` are not among them,
/// whatever the user's git configuration allows; `COMFYDOCK_GIT_ALLOW_PROTOCOL` widens it.
const ALLOWED_PROTOCOLS: &str = "file:git:http:https:ssh";

fn run(args: &[&str], cwd: Option<&Path>) -> Result<String> {
    let mut cmd = Command::new("git");
    let allowed = std::env::var("COMFYDOCK_GIT_ALLOW_PROTOCOL").unwrap_or_else(|_| ALLOWED_PROTOCOLS.into());
    cmd.args(args)
        .stdin(Stdio::null())
        // Never hang on a credential prompt: CI has no terminal, and a prompt is a hang.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ALLOW_PROTOCOL", allowed);
    crate::process::die_with_parent(&mut cmd);
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    tracing::debug!("running git {}", args.join(" "));
    let started = std::time::Instant::now();
    let result = cmd.output();
    tracing::debug!(
        "git {} finished in {:.2?}",
        args.first().unwrap_or(&""),
        started.elapsed()
    );
    let out = result.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => GitError::NotInstalled,
        _ => GitError::Command {
            args: args.join(" "),
            stderr: e.to_string(),
        },
    })?;
    if !out.status.success() {
        return Err(GitError::Command {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Clones `url` (any git URL, `file://` URL or local path) into `dest`.
pub fn clone(url: &str, dest: &Path) -> Result<()> {
    let dest = dest.to_string_lossy();
    run(&["clone", "--quiet", "--no-checkout", "--", url, &dest], None).map(drop)
}

/// Fetches every branch and tag of `source` (a mirror) into the clone at `repo`, so a commit
/// the mirror knows can be checked out there.
pub fn fetch_from(repo: &Path, source: &Path) -> Result<()> {
    let source = source.to_string_lossy();
    let args = [
        "fetch",
        "--quiet",
        "--force",
        "--",
        &source,
        "+refs/heads/*:refs/remotes/origin/*",
        "+refs/tags/*:refs/tags/*",
    ];
    run(&args, Some(repo)).map(drop)
}

/// Tags of a remote repository, with the commit each points to (peeled).
pub fn ls_remote_tags(url: &str) -> Result<Vec<(String, String)>> {
    let out = run(&["ls-remote", "--tags", "--", url], None)?;
    let mut tags: Vec<(String, String)> = Vec::new();
    for line in out.lines() {
        let Some((oid, name)) = line.split_once('\t') else {
            continue;
        };
        let Some(tag) = name.strip_prefix("refs/tags/") else {
            continue;
        };
        match tag.strip_suffix("^{}") {
            // A peeled entry gives the commit of an annotated tag: it wins over the tag object.
            Some(base) => {
                tags.retain(|(t, _)| t != base);
                tags.push((base.to_string(), oid.to_string()));
            }
            None if !tags.iter().any(|(t, _)| t == tag) => tags.push((tag.to_string(), oid.to_string())),
            None => {}
        }
    }
    Ok(tags)
}

/// The newest tag of a remote, by version order (`v0.10.0` after `v0.9.2`), ignoring
/// pre-releases when a release exists.
pub fn newest_tag(url: &str) -> Result<String> {
    let tags = ls_remote_tags(url)?;
    pick_newest(tags.iter().map(|(t, _)| t.as_str()))
        .map(str::to_string)
        .ok_or_else(|| GitError::NoTags { repo: url.to_string() })
}

fn pick_newest<'a>(tags: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let parsed: Vec<(&str, Option<semver::Version>)> = tags
        .map(|t| (t, semver::Version::parse(t.trim_start_matches(['v', 'V'])).ok()))
        .collect();
    let releases = parsed
        .iter()
        .filter(|(_, v)| v.as_ref().is_some_and(|v| v.pre.is_empty()));
    if let Some((t, _)) = releases.max_by(|a, b| a.1.cmp(&b.1)) {
        return Some(t);
    }
    if let Some((t, _)) = parsed.iter().filter(|(_, v)| v.is_some()).max_by(|a, b| a.1.cmp(&b.1)) {
        return Some(t);
    }
    parsed.iter().map(|(t, _)| *t).max()
}

/// A bare mirror of `url` at `dest` (every branch and tag).
pub fn clone_mirror(url: &str, dest: &Path) -> Result<()> {
    let dest = dest.to_string_lossy();
    run(&["clone", "--quiet", "--mirror", "--", url, &dest], None).map(drop)
}

/// Brings a mirror up to date with its remote.
pub fn fetch_mirror(mirror: &Path) -> Result<()> {
    run(&["fetch", "--quiet", "--prune", "--tags", "origin"], Some(mirror)).map(drop)
}

/// Points `origin` of a clone at `url` (a ComfyUI cloned from the local mirror keeps its
/// upstream as its remote, as if the user had cloned it).
pub fn set_origin(repo: &Path, url: &str) -> Result<()> {
    run(&["remote", "set-url", "--", "origin", url], Some(repo)).map(drop)
}

/// Fetches `branch` of remote `remote` of the repository at `repo` into
/// `refs/remotes/<remote>/<branch>` (the remote's name is checked by the caller).
pub fn fetch_branch(repo: &Path, remote: &str, branch: &str) -> Result<()> {
    let refspec = format!("+refs/heads/{branch}:refs/remotes/{remote}/{branch}");
    run(&["fetch", "--quiet", "--no-tags", "--", remote, &refspec], Some(repo)).map(drop)
}

/// Pushes HEAD of the repository at `repo` to `branch` of remote `remote` (fast-forward only:
/// a remote that moved on refuses, and the user pulls first).
pub fn push_branch(repo: &Path, remote: &str, branch: &str) -> Result<()> {
    let refspec = format!("HEAD:refs/heads/{branch}");
    run(&["push", "--quiet", "--", remote, &refspec], Some(repo)).map(drop)
}

#[cfg(test)]
mod tests {
    use super::pick_newest;

    #[test]
    fn newest_tag_uses_version_order_not_string_order() {
        let tags = ["v0.9.2", "v0.10.0", "v0.3.1", "latest-nightly"];
        assert_eq!(pick_newest(tags.into_iter()), Some("v0.10.0"));
    }

    #[test]
    fn prereleases_lose_to_releases() {
        let tags = ["v0.3.0", "v0.4.0-rc1"];
        assert_eq!(pick_newest(tags.into_iter()), Some("v0.3.0"));
    }
}
