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
