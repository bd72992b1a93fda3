//! Everything the integration tests stand on, built offline in milliseconds: a tiny ComfyUI git
//! repository with tags, wheels in a find-links folder, and a runner for the real binary.
#![allow(dead_code)]

pub mod brief;
pub mod cdp;
pub mod comfy;
pub mod http;
pub mod manager_data;
pub mod media;
pub mod packs;
pub mod registry;
pub mod registry_data;
pub mod repos;
pub mod s3;
pub mod snap;
pub mod wheel;

use std::path::{Path, PathBuf};
use std::process::Output;

pub const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

/// One test's world: its own workspace, HOME, ComfyUI repository and wheels.
pub struct TestContext {
    pub dir: tempfile::TempDir,
    pub workspace: PathBuf,
    pub home: PathBuf,
    pub comfyui_repo: PathBuf,
    pub wheels: PathBuf,
}

impl TestContext {
    pub fn new() -> Self {
        require_uv();
        let dir = tempfile::Builder::new()
            .prefix("comfydock-it-")
            .tempdir()
            .expect("tempdir");
        let root = dir.path().to_path_buf();
        let home = root.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let wheels = root.join("wheels");
        wheel::build_fixture_wheels(&wheels);
        let comfyui_repo = root.join("ComfyUI.git");
        repos::comfyui_fixture(&comfyui_repo);
        TestContext {
            workspace: root.join("ws"),
            home,
            comfyui_repo,
            wheels,
            dir,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The real binary with a hermetic environment: this test's workspace and HOME, uv offline
    /// with the test's find-links folder, no colours.
    pub fn cmd(&self) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.std_cmd())
    }

    /// The same command as a `std::process::Command` (to spawn and kill).
    pub fn std_cmd(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("comfydock"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("COMFYDOCK_HOME", &self.workspace)
            .env("UV_OFFLINE", "1")
            .env("UV_FIND_LINKS", &self.wheels)
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("NO_COLOR", "1")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .current_dir(self.dir.path());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.cmd().args(args).output().expect("spawn comfydock"))
    }

    /// A node pack repository registering `node_type`, reachable as `https://github.com/{path}`:
    /// git's `insteadOf` in this test's HOME points GitHub at a local folder, as an air-gapped
    /// mirror would, so resolving it stays offline.
    pub fn github_pack(&self, path: &str, node_type: &str) -> PathBuf {
        let mirror = self.path("mirror");
        let pack = repos::node_pack(&mirror.join(path), node_type);
        std::fs::write(
            self.home.join(".gitconfig"),
            format!(
                "[url \"file://{}/\"]\n\tinsteadOf = https://github.com/\n",
                mirror.display()
            ),
        )
        .unwrap();
        pack
    }

    /// `init` and `create NAME` from the fixture's newest tag; panics with the output on failure.
    pub fn create_env(&self, name: &str) -> PathBuf {
        self.run(&["init"]).success();
        let repo = self.comfyui_repo.to_str().unwrap();
        self.run(&["create", name, "--comfyui-repo", repo]).success();
        self.workspace.join("environments").join(name)
    }
}

/// The outcome of one command, with assertions that print everything when they fail.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl Run {
    pub fn success(&self) -> &Self {
        self.code(0)
    }

    pub fn failure(&self) -> &Self {
        self.code(1)
    }

    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }

    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Tests that need uv fail when it is missing: a skipped test would hide a broken machine.
pub fn require_uv() {
    let ok = std::process::Command::new("uv")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "these tests need uv on PATH (install it with `pip install uv`)");
}

/// Every file below `dir`, relative, sorted: for "nothing was lost / nothing changed" checks.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .collect();
    out.sort();
    out
}

/// Runs comfydock under `script`, so that its stderr is a terminal; returns what the terminal got.
pub fn on_a_terminal(t: &TestContext, envs: &[(&str, &str)], args: &[&str]) -> String {
    let plain = t.std_cmd();
    let mut command_line = shell_quote(plain.get_program().to_str().unwrap());
    for a in args {
        command_line.push(' ');
        command_line.push_str(&shell_quote(a));
    }
    let mut cmd = std::process::Command::new("script");
    cmd.env_clear();
    for (k, v) in plain.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .envs(envs.iter().copied());
    let out = cmd
        .args(["-qec", &command_line, "/dev/null"])
        .current_dir(plain.get_current_dir().unwrap())
        .output()
        .expect("script(1) from util-linux");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Where ComfyUI finds the model an environment placed at `models/<rel>`: the environment's model
/// tree (`.comfydock/models`, a link into the store), read through `extra_model_paths.yaml`.
pub fn placed_model(env: &Path, rel: &str) -> PathBuf {
    env.join(".comfydock/models").join(rel)
}
