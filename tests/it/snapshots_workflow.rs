//! What `workflow track/sync/untrack/import` print, pinned as snapshots before their edit
//! transaction moved into `ops/`: the move must change nothing a user sees. Paths of the test's
//! temporary folder are filtered.

use crate::support::{Run, TestContext};
use std::fs;

fn filtered(t: &TestContext) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(&regex::escape(&t.dir.path().display().to_string()), "[TMP]");
    settings.add_filter(r"\b[0-9a-f]{40}\b", "[COMMIT]");
    settings
}

/// One command's whole output: exit code, stdout and stderr.
fn shown(run: &Run) -> String {
    format!(
        "exit {}\n--- stdout\n{}--- stderr\n{}",
        run.code, run.stdout, run.stderr
    )
}

fn workflow(steps: u32) -> String {
    format!(
        r#"{{"last_node_id":2,"last_link_id":0,"nodes":[
  {{"id":1,"type":"CheckpointLoaderSimple","widgets_values":["sd15.safetensors"]}},
  {{"id":2,"type":"KSampler","widgets_values":[1,"fixed",{steps},7.0,"euler","normal",1.0]}}
],"links":[],"groups":[],"config":{{}},"extra":{{}},"version":0.4}}"#
    )
}

#[test]
fn workflow_tracking_output_for_people() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let user = env.join("ComfyUI/user/default/workflows");
    fs::create_dir_all(&user).unwrap();
    fs::write(user.join("first.json"), workflow(20)).unwrap();
    fs::write(user.join("second flow.json"), workflow(10)).unwrap();
    fs::write(user.join("broken.json"), "{not json").unwrap();
    let outside = t.path("shared.json");
    fs::write(&outside, workflow(5)).unwrap();
    let outside = outside.to_str().unwrap();

    let mut runs = Vec::new();
    let mut run = |name: &'static str, args: &[&str]| runs.push((name, shown(&t.run(args))));
    run("track_one", &["workflow", "track", "first"]);
    run("track_unknown", &["workflow", "track", "nowhere"]);
    run("track_all", &["workflow", "track", "--all"]);
    fs::write(user.join("first.json"), workflow(30)).unwrap();
    run("sync", &["workflow", "sync"]);
    run("sync_nothing", &["workflow", "sync"]);
    run("sync_not_tracked", &["workflow", "sync", "nowhere"]);
    run("import", &["workflow", "import", outside, "--name", "imported"]);
    run("import_again", &["workflow", "import", outside, "--name", "imported"]);
    run("untrack", &["workflow", "untrack", "second flow"]);
    run("untrack_not_tracked", &["workflow", "untrack", "second flow"]);
    filtered(&t).bind(|| {
        for (name, output) in runs {
            insta::assert_snapshot!(name, output);
        }
    });
}
