//! comfydock's ComfyUI panel: `panel enable|disable` as a locked node, the pack's routes in the
//! miniature ComfyUI started by `comfydock run` (which supervises and restarts it), refused
//! changes, and the sidebar tab in ComfyUI's real frontend (the comfyui-frontend-package wheel)
//! in headless chromium.

use crate::support::cdp::{self, Browser};
use crate::support::{TestContext, repos};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The `static/` folder of the comfyui-frontend-package wheel: the test fails without it
/// (`.ci/run` installs it).
fn frontend_root() -> PathBuf {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import comfyui_frontend_package, os; print(os.path.join(os.path.dirname(comfyui_frontend_package.__file__), 'static'))",
        ])
        .output()
        .expect("run python3");
    let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        out.status.success() && dir.join("index.html").is_file(),
        "this test needs ComfyUI's frontend: `python3 -m pip install comfyui-frontend-package==1.27.10` (.ci/run installs it)\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `comfydock run` (the miniature ComfyUI under it) for one test, stopped by its pid.
struct Running {
    child: std::process::Child,
    port: u16,
}

impl Running {
    fn start(t: &TestContext, extra: &[&str], envs: &[(&str, &str)]) -> Running {
        let port = free_port();
        let log = fs::File::create(t.path(&format!("comfyui-{port}.log"))).unwrap();
        let port_text = port.to_string();
        let mut args = vec!["run", "--", "--port", &port_text];
        args.extend_from_slice(extra);
        let child = t
            .std_cmd()
            .args(&args)
            .envs(envs.iter().copied())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn comfydock run");
        let running = Running { child, port };
        running.wait_up(t);
        running
    }

    fn wait_up(&self, t: &TestContext) {
        cdp::wait_for(Duration::from_secs(60), || cdp::http_get(self.port, "/system_stats"))
            .unwrap_or_else(|| panic!("ComfyUI did not start: {}", self.log(t)));
    }

    fn log(&self, t: &TestContext) -> String {
        fs::read_to_string(t.path(&format!("comfyui-{}.log", self.port))).unwrap_or_default()
    }

    fn post(&self, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
        let mut headers = vec![("Content-Type", "application/json")];
        if let Some(token) = token {
            headers.push(("X-Comfydock-Token", token));
        }
        let (status, text) = cdp::http(self.port, "POST", path, &headers, body).unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    fn token(&self) -> String {
        let text = cdp::http_get(self.port, "/api/comfydock/session").expect("session");
        let v: Value = serde_json::from_str(&text).unwrap();
        v["token"].as_str().unwrap().to_string()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // The supervisor ends ComfyUI with it (a SIGTERM is passed on; its child dies with it).
        signal(&self.child, rustix::process::Signal::TERM);
        let _ = self.child.wait();
    }
}

/// A git pack providing `GammaNode`, served from a local folder in place of GitHub (git's
/// `insteadOf`), so resolving it stays offline.
fn gamma_mirror(t: &TestContext) {
    t.github_pack("someone/gamma-nodes", "GammaNode");
}

const GAMMA_WORKFLOW: &str = r#"{"last_node_id":2,"last_link_id":0,"nodes":[
  {"id":1,"type":"GammaNode","pos":[420,160],"size":[240,80],"flags":{},"order":0,"mode":0,
   "properties":{"aux_id":"someone/gamma-nodes"},"widgets_values":[]},
  {"id":2,"type":"EmptyLatentImage","pos":[60,160],"size":[240,110],"flags":{},"order":1,"mode":0,
   "outputs":[{"name":"LATENT","type":"LATENT","links":[]}],"properties":{},"widgets_values":[64,64]}
],"links":[],"groups":[],"config":{},"extra":{},"version":0.4}"#;

fn generations(t: &TestContext) -> Vec<Value> {
    let log = t.run(&["log", "--json"]);
    log.success();
    let v: Value = serde_json::from_str(&log.stdout).unwrap();
    v["generations"].as_array().unwrap().clone()
}

#[test]
fn panel_enable_locks_places_and_disable_rolls_back() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    t.run(&["panel", "enable"])
        .success()
        .stdout_has("+ node comfydock-panel");
    let pyproject = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(
        pyproject.contains("[tool.comfydock.nodes.comfydock-panel]") && pyproject.contains("source = \"comfydock\""),
        "{pyproject}"
    );
    let lock = fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap();
    assert!(
        lock.contains("[nodes.comfydock-panel]\nsource = \"comfydock\"\nversion = \""),
        "{lock}"
    );
    let pack = env.join("ComfyUI/custom_nodes/comfydock-panel");
    assert!(pack.join("__init__.py").is_file() && pack.join("web/comfydock.js").is_file());
    t.run(&["plan", "--detailed-exitcode"]).success();
    t.run(&["verify"]).success();
    // Enabling again changes nothing on disk.
    t.run(&["panel", "enable"]).success();
    t.run(&["plan", "--detailed-exitcode"]).success();

    t.run(&["panel", "disable"]).success();
    assert!(!pack.exists());
    assert!(
        !fs::read_to_string(env.join(".cec/pyproject.toml"))
            .unwrap()
            .contains("comfydock-panel")
    );
    // Rolled back like any node: the generation with the panel places it again.
    t.run(&["rollback", "2", "--yes"]).success();
    assert!(pack.join("__init__.py").is_file());
    t.run(&["plan", "--detailed-exitcode"]).success();
}

#[test]
fn panel_key_taken_by_another_node_is_refused() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    let other = repos::node_pack(&t.path("packs/comfydock-panel"), "Other");
    t.run(&["node", "add", other.to_str().unwrap()]).success();
    let before = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    t.run(&["panel", "enable"])
        .failure()
        .stderr_has("not comfydock's panel");
    assert_eq!(fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap(), before);
}

/// An address of this machine that is not loopback (where a request from the network arrives).
fn non_loopback_ip() -> std::net::IpAddr {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    // No packet is sent: connecting a UDP socket only picks the outgoing interface.
    socket
        .connect("192.0.2.1:9")
        .expect("this test needs a network interface besides loopback");
    let ip = socket.local_addr().unwrap().ip();
    assert!(
        !ip.is_loopback(),
        "this test needs a network interface besides loopback"
    );
    ip
}

#[test]
fn panel_changes_need_the_token_and_come_from_this_machine() {
    let t = TestContext::new();
    let env = t.create_env("demo");
    t.run(&["panel", "enable"]).success();
    let comfy = Running::start(&t, &["--listen", "0.0.0.0"], &[]);
    let token = comfy.token();
    let session: Value = serde_json::from_str(&cdp::http_get(comfy.port, "/api/comfydock/session").unwrap()).unwrap();
    assert_eq!(session["environment"], "demo", "{session}");
    assert_eq!(session["supervised"], true, "{session}");

    // Reading needs no token.
    let status: Value = serde_json::from_str(&cdp::http_get(comfy.port, "/api/comfydock/status").unwrap()).unwrap();
    assert_eq!(status["report"]["environment"], "demo", "{status}");
    assert_eq!(status["report"]["in_sync"], true, "{status}");

    let (code, body) = comfy.post("/api/comfydock/apply", None, "{}");
    assert_eq!(code, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("X-Comfydock-Token"), "{body}");
    let (code, body) = comfy.post("/api/comfydock/apply", Some("0123"), "{}");
    assert_eq!(code, 403, "{body}");

    // From the network, with the right token: refused, and the way to allow it is named.
    let ip = non_loopback_ip();
    let (code, text) = cdp::http_to(
        ip,
        comfy.port,
        "POST",
        "/api/comfydock/apply",
        &[("X-Comfydock-Token", &token), ("Content-Type", "application/json")],
        "{}",
    )
    .unwrap();
    assert_eq!(code, 403, "{text}");
    assert!(
        text.contains("only from this machine") && text.contains("panel_remote_changes"),
        "{text}"
    );
    assert_eq!(generations(&t).len(), 2, "nothing was applied");

    // From this machine with the token: comfydock runs.
    let (code, body) = comfy.post("/api/comfydock/apply", Some(&token), "{}");
    assert_eq!((code, &body["ok"]), (200, &Value::Bool(true)), "{body}");

    // A pack cloned by hand shows as untracked, and Adopt declares it in place.
    let origin = repos::node_pack(&t.path("origins/manual-pack"), "ManualNode");
    repos::git(
        &env.join("ComfyUI/custom_nodes"),
        &["clone", "--quiet", origin.to_str().unwrap(), "manual-pack"],
    );
    let status: Value = serde_json::from_str(&cdp::http_get(comfy.port, "/api/comfydock/status").unwrap()).unwrap();
    assert_eq!(
        status["report"]["untracked"],
        serde_json::json!(["manual-pack"]),
        "{status}"
    );
    let (code, body) = comfy.post("/api/comfydock/adopt", Some(&token), r#"{"name": "manual-pack"}"#);
    assert_eq!((code, &body["ok"]), (200, &Value::Bool(true)), "{body}");
    let manifest = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(manifest.contains("[tool.comfydock.nodes.manual-pack]"), "{manifest}");
    assert!(
        env.join("ComfyUI/custom_nodes/manual-pack/.git").is_dir(),
        "adopted in place"
    );
    let (code, body) = comfy.post("/api/comfydock/adopt", Some(&token), r#"{"name": "--all"}"#);
    assert_eq!(code, 400, "an option is not a folder name: {body}");

    // SIGHUP to `comfydock run` starts ComfyUI again.
    signal(&comfy.child, rustix::process::Signal::HUP);
    cdp::wait_for(Duration::from_secs(60), || {
        comfy.log(&t).contains("starting ComfyUI again").then_some(())
    })
    .unwrap_or_else(|| panic!("no restart after SIGHUP: {}", comfy.log(&t)));
    comfy.wait_up(&t);
    assert_ne!(comfy.token(), token, "a new ComfyUI process, a new session token");
    drop(comfy);

    // The setting lets the network in.
    t.run(&["config", "set", "panel_remote_changes", "true"]).success();
    let comfy = Running::start(&t, &["--listen", "0.0.0.0"], &[]);
    let token = comfy.token();
    let (code, text) = cdp::http_to(
        ip,
        comfy.port,
        "POST",
        "/api/comfydock/rollback",
        &[("X-Comfydock-Token", &token), ("Content-Type", "application/json")],
        r#"{"generation": "1; rm -rf /"}"#,
    )
    .unwrap();
    assert_eq!(code, 400, "a generation is a number: {text}");
}

#[test]
fn the_panel_adds_what_the_open_workflow_needs_in_comfyuis_frontend() {
    let frontend = frontend_root();
    cdp::chromium();
    let t = TestContext::new();
    let env = t.create_env("demo");
    gamma_mirror(&t);
    t.run(&["panel", "enable"]).success();
    let front = frontend.to_str().unwrap();
    let comfy = Running::start(&t, &["--front-end-root", front], &[]);
    // A first start shows no tutorial and no dialog about the node types the panel will add.
    let (code, _) = comfy.post(
        "/api/settings",
        None,
        r#"{"Comfy.Workflow.ShowMissingNodesWarning": false, "Comfy.TutorialCompleted": true}"#,
    );
    assert_eq!(code, 200);

    let mut browser = Browser::start(&t.path("chromium-profile"), &t.home, 1400, 900);
    browser.navigate(&format!("http://127.0.0.1:{}/", comfy.port));
    let long = Duration::from_secs(60);
    browser.wait_until(
        "the comfydock tab",
        long,
        "!!document.querySelector('.comfydock-tab-button')",
    );
    browser.eval(&format!(
        "app.loadGraphData({GAMMA_WORKFLOW}, true, true, null, {{showMissingNodesDialog: false, showMissingModelsDialog: false}}).then(() => true)"
    ));
    browser.eval("document.querySelector('.comfydock-tab-button').click(); true");
    browser.wait_until(
        "the missing pack named in the panel",
        long,
        "!!document.querySelector('.comfydock-panel [data-action=add-needs]')",
    );
    let text = panel_text(&mut browser);
    for needle in [
        "demo",
        "generation 2",
        "GammaNode",
        "gamma-nodes",
        "https://github.com/someone/gamma-nodes",
        "why:",
    ] {
        assert!(text.contains(needle), "{needle:?} not in the panel:\n{text}");
    }
    save_screenshot(&mut browser, &t, "panel-needs.png");

    // One button adds it, after a confirmation.
    browser.eval(
        "window.confirm = () => true; document.querySelector('.comfydock-panel [data-action=add-needs]').click(); true",
    );
    browser.wait_until(
        "the add to finish",
        Duration::from_secs(180),
        "(document.querySelector('.comfydock-panel')?.innerText || '').includes('Done.') || !!document.querySelector('.comfydock-error')",
    );
    let text = panel_text(&mut browser);
    assert!(text.contains("Done."), "{text}\n{}", comfy.log(&t));
    let pyproject = fs::read_to_string(env.join(".cec/pyproject.toml")).unwrap();
    assert!(pyproject.contains("[tool.comfydock.nodes.gamma-nodes]"), "{pyproject}");
    let lock = fs::read_to_string(env.join(".cec/comfydock.lock")).unwrap();
    assert!(lock.contains("[nodes.gamma-nodes]"), "{lock}");
    assert!(env.join("ComfyUI/custom_nodes/gamma-nodes/__init__.py").is_file());
    let gens = generations(&t);
    assert_eq!(gens.len(), 3, "{gens:?}");
    assert!(gens[0]["actions"].to_string().contains("node gamma-nodes"), "{gens:?}");
    // The panel refreshed: the environment is in sync and the workflow needs nothing more.
    browser.wait_until(
        "the panel to show the new generation",
        long,
        "(document.querySelector('.comfydock-panel')?.innerText || '').includes('generation 3')",
    );
    save_screenshot(&mut browser, &t, "panel.png");

    // Restart: ComfyUI exits with the restart code, `comfydock run` starts it on the current
    // generation (GammaNode is now registered) and the page reconnects.
    browser.eval("document.querySelector('.comfydock-panel [data-action=restart]').click(); true");
    browser.wait_until(
        "ComfyUI restarted with the new pack",
        long,
        "fetch('/api/object_info').then(r => r.json()).then(j => 'GammaNode' in j).catch(() => false)",
    );
    comfy.wait_up(&t);
    assert!(
        comfy
            .log(&t)
            .contains("starting ComfyUI again on the environment's current generation"),
        "{}",
        comfy.log(&t)
    );
    browser.wait_until(
        "the panel to reconnect",
        long,
        "(document.querySelector('.comfydock-panel')?.innerText || '').includes('Nothing: the environment has every node type')",
    );
}

fn panel_text(browser: &mut Browser) -> String {
    browser
        .eval("document.querySelector('.comfydock-panel')?.innerText || ''")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// The pictures in docs/, renewed on request (a test run leaves the checkout clean).
fn save_screenshot(browser: &mut Browser, t: &TestContext, name: &str) {
    let png = browser.screenshot();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG");
    fs::write(t.path(name), &png).unwrap();
    if std::env::var_os("COMFYDOCK_UPDATE_SCREENSHOTS").is_some() {
        let docs = Path::new(crate::support::MANIFEST_DIR).join("docs/screenshots");
        fs::create_dir_all(&docs).unwrap();
        fs::write(docs.join(name), png).unwrap();
    }
}

/// Sends `sig` to a process the test started.
fn signal(child: &std::process::Child, sig: rustix::process::Signal) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("a child has a pid");
    rustix::process::kill_process(pid, sig).expect("signal the child");
}
