//! The exit-code contract and command-line errors.

use crate::support::TestContext;

#[test]
fn usage_errors_exit_1_not_2() {
    let t = TestContext::new();
    // 2 is reserved for "changes present"; clap would use it for usage errors.
    t.run(&["--no-such-flag"]).failure();
    t.run(&["create"]).failure().stderr_has("<NAME>");
    t.run(&["--help"]).success().stdout_has("create");
}

#[test]
fn commands_without_a_workspace_say_how_to_make_one() {
    let t = TestContext::new();
    t.run(&["list"])
        .failure()
        .stderr_has("no comfydock workspace")
        .stderr_has("comfydock init");
    assert!(
        !t.workspace.exists(),
        "a read-only command must not create the workspace"
    );
}

/// Every `--json` output is one object with `format_version` (issue 24: `remote list`, `verify`,
/// `gc` and `workflow resolve` printed theirs without it, `remote list` as a bare array).
#[test]
fn every_json_output_carries_its_format_version() {
    let t = TestContext::new();
    t.create_env("demo");
    let remote = t.path("remote.git");
    crate::support::repos::git(t.dir.path(), &["init", "-q", "--bare", remote.to_str().unwrap()]);
    t.run(&["remote", "add", remote.to_str().unwrap()]).success();
    let commands: &[&[&str]] = &[
        &["remote", "list", "--json"],
        &["verify", "--json"],
        &["gc", "--dry-run", "--json"],
        &["status", "--json"],
        &["log", "--json"],
        &["node", "list", "--json"],
        &["-e", "demo", "model", "list", "--json"],
        &["py", "list", "--json"],
        &["constraint", "list", "--json"],
        &["comfyui", "show", "--json"],
        &["plan", "--json"],
        &["list", "--json"],
    ];
    for args in commands {
        let run = t.run(args);
        run.success();
        let doc: serde_json::Value = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {}", run.stdout));
        assert_eq!(doc["format_version"], "1", "{args:?}: {}", run.stdout);
    }
    let remotes = t.run(&["remote", "list", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&remotes.stdout).unwrap();
    assert_eq!(doc["remotes"][0]["name"], "origin", "{}", remotes.stdout);
}
