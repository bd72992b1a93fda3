//! A fresh install resolves workflows with no set-up: `registry update` with no mappings
//! configured builds the node index from ComfyUI-Manager's public files (served here by a test
//! server on 127.0.0.1, in Manager's formats, synthetic); Manager-only packs are named by their
//! repository and ranked by stars, then by the evidence of their names; a file that is not what
//! Manager writes is refused with the old index kept; an old index is refreshed by
//! `workflow resolve` (not under `--offline`, and a failed refresh keeps it).

use crate::support::TestContext;
use crate::support::http::HttpServer;
use crate::support::manager_data::{self, ManagerData};
use crate::support::registry::run_with;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn status(t: &TestContext) -> Value {
    let r = t.run(&["registry", "status", "--json"]);
    r.success();
    serde_json::from_str(&r.stdout).unwrap()
}

/// `(pack_id, reason)` of each provider of `node_type`, from the index alone.
fn providers(t: &TestContext, node_type: &str) -> Vec<(String, String)> {
    let r = t.run(&["--offline", "node", "find", "--provides", node_type, "--json"]);
    r.success();
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    doc["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["pack_id"].as_str().unwrap().to_string(),
                p["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A workspace whose only setting is `manager_data_url`, pointing at `server`'s `/manager/`.
fn workspace_with_manager_data(server: &HttpServer) -> TestContext {
    let t = TestContext::new();
    t.run(&["init"]).success();
    t.run(&["config", "set", "manager_data_url", &server.url("/manager/")])
        .success();
    t
}

#[test]
fn update_with_only_manager_data_url_fills_the_index_and_find_answers_offline() {
    let server = HttpServer::start();
    ManagerData::new().serve(&server, "/manager/");
    let t = workspace_with_manager_data(&server);
    // Empty: the hint says how to fill it.
    t.run(&["node", "find", "--provides", "ResizeImage+"])
        .success()
        .stderr_has("run `comfydock registry update`");

    t.run(&["registry", "update"])
        .success()
        .stderr_has("Downloading")
        .stderr_has("Node index updated from ComfyUI-Manager data at");
    let requested: Vec<String> = server.log().iter().map(|l| l.path.clone()).collect();
    for name in manager_data::ManagerData::new().files().map(|(n, _)| n) {
        assert!(
            requested.iter().any(|p| p == &format!("/manager/{name}")),
            "{requested:?}"
        );
    }
    let s = status(&t);
    assert_eq!(s["data"]["kind"], "comfyui-manager");
    assert_eq!(
        s["data"]["source"],
        format!("ComfyUI-Manager data at {}", server.url("/manager/"))
    );
    assert_eq!(s["data"]["packages"], 5, "five packs; ComfyUI's own entry is not one");
    assert_eq!(s["data"]["builtin"], 2);
    assert!(s["data"]["installed_at"].as_str().unwrap().starts_with("20"), "{s}");
    assert_eq!(s["stale"], false);
    let text = t.run(&["registry", "status"]);
    text.success()
        .stdout_has("source        ComfyUI-Manager data at")
        .stdout_has("kind          comfyui-manager")
        .stdout_has("(less than an hour ago)");
    drop(server);

    // Offline from here on. The real pack first, by its stars and its naming convention,
    // although the copy's owner sorts first; named by its repository as spelled there.
    let found = providers(&t, "ResizeImage+");
    assert_eq!(found[0].0, manager_data::TIDY, "{found:?}");
    assert!(found[0].1.contains("1,234 stars"), "{found:?}");
    assert!(found[0].1.contains("share the suffix `+`"), "{found:?}");
    assert_eq!(found[1].0, manager_data::COPYCAT, "{found:?}");
    assert!(found[1].1.contains("3 stars"), "{found:?}");
    // No stats for either: the name decides.
    let found = providers(&t, "Knob (widgets)");
    assert_eq!(found[0].0, manager_data::WIDGETS, "{found:?}");
    assert!(found[0].1.contains("share the suffix ` (widgets)`"), "{found:?}");
    assert_eq!(found[1].0, manager_data::GRAB_BAG, "{found:?}");
    // Patterns, built-ins, and no internal key anywhere.
    let found = providers(&t, "PatZeta");
    assert_eq!(found[0].0, manager_data::PATTERNS, "{found:?}");
    t.run(&["node", "find", "--provides", "KSampler"])
        .success()
        .stderr_has("one of ComfyUI's own node types");
    let table = t.run(&["node", "find", "--provides", "ResizeImage+"]);
    table.success().stdout_has(manager_data::TIDY);
    assert!(!table.stdout.contains("manager_"), "{}", table.stdout);
}

#[test]
fn manager_files_that_are_not_what_manager_writes_are_refused_and_the_old_index_kept() {
    let server = HttpServer::start();
    let good = ManagerData::new();
    good.serve(&server, "/manager/");
    let t = workspace_with_manager_data(&server);
    t.run(&["registry", "update"]).success();
    let before = status(&t);

    let [(map_name, map), (stats_name, _), (list_name, _)] = good.files();
    let map_path = format!("/manager/{map_name}");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        // Cut short: not JSON.
        (
            map_path.as_str(),
            map[..map.len() / 2].to_vec(),
            "extension-node-map.json",
        ),
        // JSON, but not Manager's shape.
        (
            map_path.as_str(),
            br#"{"https://github.com/x/y": ["OnlyOneList"]}"#.to_vec(),
            "is not [[node types], {metadata}]",
        ),
        (map_path.as_str(), b"{}".to_vec(), "lists no repositories"),
        (
            map_path.as_str(),
            b"<html>rate limited</html>".to_vec(),
            "extension-node-map.json",
        ),
    ];
    for (path, body, message) in cases {
        server.serve(path, &body);
        t.run(&["registry", "update"]).failure().stderr_has(message);
        assert_eq!(status(&t)["data"], before["data"], "the old index is kept ({message})");
    }
    good.serve(&server, "/manager/");
    let stats_path = format!("/manager/{stats_name}");
    server.serve(
        &stats_path,
        br#"{"https://github.com/alice/Tidy-Nodes": {"stars": "many"}}"#,
    );
    t.run(&["registry", "update"]).failure().stderr_has("github-stats.json");
    good.serve(&server, "/manager/");
    let list_path = format!("/manager/{list_name}");
    server.serve(&list_path, br#"{"custom_nodes": [{"title": "no reference"}]}"#);
    t.run(&["registry", "update"])
        .failure()
        .stderr_has("has no `reference`");
    // A missing file (404) is refused too.
    let other = HttpServer::start();
    let [(name, bytes), _, _] = good.files();
    other.serve(&format!("/partial/{name}"), &bytes);
    run_with(
        &t,
        &[("COMFYDOCK_MANAGER_DATA_URL", other.url("/partial").as_str())],
        &["registry", "update"],
    )
    .failure()
    .stderr_has("github-stats.json");

    assert_eq!(status(&t)["data"], before["data"], "the old index is untouched");
    assert_eq!(providers(&t, "ResizeImage+")[0].0, manager_data::TIDY);
    // And with good files again, the update goes through.
    good.serve(&server, "/manager/");
    t.run(&["registry", "update"]).success();
}

#[test]
fn mappings_url_still_wins_over_manager_data() {
    let server = HttpServer::start();
    ManagerData::new().serve(&server, "/manager/");
    let t = workspace_with_manager_data(&server);
    // A configured mappings_url is used (here it has no sidecar, so the update fails), and
    // Manager's files are not asked for.
    run_with(
        &t,
        &[("COMFYDOCK_MAPPINGS_URL", server.url("/m/node_mappings.json").as_str())],
        &["registry", "update"],
    )
    .failure()
    .stderr_has("sha256 sidecar");
    assert!(
        server.log().iter().all(|l| !l.path.starts_with("/manager/")),
        "{:?}",
        server.log()
    );
}

fn write_user_workflow(env: &Path, name: &str, text: &str) -> PathBuf {
    let dir = env.join("ComfyUI/user/default/workflows");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn workflow_resolve_refreshes_an_old_index_but_not_offline_and_proposes_git_urls() {
    let server = HttpServer::start();
    let mut data = ManagerData::new();
    data.serve(&server, "/manager/");
    let t = TestContext::new();
    let env = t.create_env("demo");
    t.run(&["config", "set", "manager_data_url", &server.url("/manager/")])
        .success();
    let workflow = r#"{"nodes":[
  {"id":1,"type":"ResizeImage+","widgets_values":[]},
  {"id":2,"type":"KSampler","widgets_values":[]}
],"links":[],"version":0.4}"#;
    write_user_workflow(&env, "wf", workflow);
    t.run(&["workflow", "track", "wf"]).success();
    // An empty index: resolve says how to fill it and does not download anything.
    t.run(&["workflow", "resolve", "wf", "--json", "--auto"])
        .failure()
        .stderr_has("run `comfydock registry update`");
    assert!(server.log().is_empty(), "{:?}", server.log());
    let analyzed = t.run(&[
        "workflow",
        "analyze",
        env.join("ComfyUI/user/default/workflows/wf.json").to_str().unwrap(),
    ]);
    analyzed.success().stderr_has("run `comfydock registry update`");

    t.run(&["registry", "update"]).success();
    // The proposal (`--auto`: the best ranked pack) names the Manager-only pack by its
    // repository: a git node, never a registry id that no registry could answer for.
    let r = t.run(&["workflow", "resolve", "wf", "--json", "--auto"]);
    r.success();
    let doc: Value = serde_json::from_str(&r.stdout).unwrap();
    let node = &doc["nodes"][0];
    assert_eq!(node["node_type"], "ResizeImage+", "{doc}");
    assert_eq!(node["spec"]["source"], "git", "{doc}");
    assert_eq!(node["spec"]["repository"], manager_data::TIDY, "{doc}");
    assert!(node["spec"]["registry_id"].is_null(), "{doc}");

    // Old (every index is, with a maximum age of 0 days): refreshed first, and the new data
    // is what resolution sees.
    data.add_to_tidy("FreshNode+");
    data.serve(&server, "/manager/");
    let stale = [("COMFYDOCK_MAPPINGS_MAX_AGE_DAYS", "0")];
    let asked = server.log().len();
    run_with(
        &t,
        &stale,
        &["--offline", "workflow", "resolve", "wf", "--json", "--auto"],
    )
    .success()
    .stderr_has("not refreshed under --offline");
    assert_eq!(server.log().len(), asked, "no request under --offline");
    assert!(providers(&t, "FreshNode+").is_empty());
    run_with(&t, &stale, &["workflow", "resolve", "wf", "--json", "--auto"])
        .success()
        .stderr_has("refreshing it")
        .stderr_has("Node index refreshed");
    assert_eq!(providers(&t, "FreshNode+")[0].0, manager_data::TIDY);
    // A refresh that fails keeps the old index and says so; resolution goes on with it.
    server.serve("/manager/extension-node-map.json", b"{\"truncated\": [[\"A\"], {");
    run_with(&t, &stale, &["workflow", "resolve", "wf", "--json", "--auto"])
        .success()
        .stderr_has("could not be refreshed");
    assert_eq!(providers(&t, "FreshNode+")[0].0, manager_data::TIDY);
    // doctor reports the index's age.
    t.run(&["doctor"])
        .stdout_has("node index")
        .stdout_has("packages from ComfyUI-Manager data at");
}

#[test]
fn downloads_over_the_size_cap_are_refused_without_leaving_files() {
    use comfydock::progress::Silent;
    use comfydock::store::download::fetch_at_most;
    use comfydock::store::{Expected, Http, HttpConfig, Request, StoreError};
    let server = HttpServer::start();
    let body = vec![b'x'; 10_000];
    server.serve("/big.json", &body);
    let dir = tempfile::tempdir().unwrap();
    let partials = dir.path().join("partial");
    let dest = dir.path().join("big.json");
    let url = server.url("/big.json");
    let expected = Expected::default();
    let request = Request {
        url: &url,
        downloads_dir: &partials,
        expected: &expected,
        token: None,
        dest: Some(&dest),
        attempts: None,
    };
    let http = Http::new(HttpConfig::default());
    let err = fetch_at_most(&http, &request, 9_999, &Silent).unwrap_err();
    assert!(
        matches!(err, StoreError::DownloadTooLarge { limit: 9_999, .. }),
        "{err:?}"
    );
    assert!(!dest.exists());
    assert_eq!(std::fs::read_dir(&partials).unwrap().count(), 0, "no partial file left");
    assert_eq!(server.log().len(), 1, "a refusal is not retried");
    let got = fetch_at_most(&http, &request, 10_000, &Silent).unwrap();
    assert_eq!(std::fs::read(got.path).unwrap(), body);
}
