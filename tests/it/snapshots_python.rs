//! `py` and `constraint`: text, JSON and refusals, pinned before they moved to `ops/`.

use crate::support::TestContext;
use crate::support::snap::{filtered, transcripts};
use crate::support::wheel::{WheelSpec, build_wheel};

#[test]
fn python_commands_output_is_pinned() {
    let t = TestContext::new();
    for (name, version) in [("extra-lib", "1.0.0"), ("extra-lib", "1.1.0"), ("other-lib", "2.0.0")] {
        build_wheel(
            &t.wheels,
            &WheelSpec {
                name,
                version,
                requires: &[],
                body: "",
            },
        );
    }
    t.create_env("demo");
    let edits = transcripts(
        &t,
        &[
            &["py", "add", "extra-lib>=1.0", "other-lib"],
            &["constraint", "add", "extra-lib<1.1"],
            &["py", "list"],
            &["py", "list", "--json"],
            &["constraint", "list"],
            &["constraint", "list", "--json"],
            &["constraint", "remove", "extra-lib"],
            &["py", "remove", "other-lib", "--no-apply"],
        ],
    );
    let refusals = transcripts(
        &t,
        &[
            &["py", "add", "not a requirement!"],
            &["py", "remove", "torch"],
            &["py", "remove", "never-added"],
            &["constraint", "remove", "nothing"],
        ],
    );
    filtered(&t).bind(|| {
        insta::assert_snapshot!("python_edits", edits);
        insta::assert_snapshot!("python_refusals", refusals);
    });
}
