"""comfydock's panel in ComfyUI: a sidebar tab (web/comfydock.js) and routes under /comfydock/.

Embedded in the comfydock binary and placed by `comfydock panel enable`; see docs/panel.md.
Every route runs the comfydock binary with `--json` and passes its report on: no environment
logic lives here. `comfydock run` says which binary and environment through the environment
variables COMFYDOCK_BIN, COMFYDOCK_ENV and COMFYDOCK_HOME (the workspace); without them
(ComfyUI started some other way) the routes answer 503 and say so.

Routes that change anything need the session token (GET /comfydock/session gives it to pages of
this origin; a page on another site cannot read it) in the X-Comfydock-Token header, and come
from this machine, unless COMFYDOCK_PANEL_REMOTE_CHANGES=1 (the workspace setting
`panel_remote_changes`, which `comfydock run` passes on): see docs/security.md.
"""
import asyncio
import ipaddress
import json
import os
import secrets
import subprocess
import tempfile
import threading

import server
from aiohttp import web

NODE_CLASS_MAPPINGS = {}
WEB_DIRECTORY = "./web"

BIN = os.environ.get("COMFYDOCK_BIN")
ENV = os.environ.get("COMFYDOCK_ENV")
SUPERVISED = os.environ.get("COMFYDOCK_SUPERVISED") == "1"
REMOTE_CHANGES = os.environ.get("COMFYDOCK_PANEL_REMOTE_CHANGES", "").lower() in ("1", "true", "yes")
# The exit code that asks `comfydock run` to start ComfyUI again on the current generation.
RESTART_EXIT_CODE = 75
TOKEN = secrets.token_hex(16)
PROGRESS_EVENT = "comfydock.progress"

routes = server.PromptServer.instance.routes
# One changing operation at a time (comfydock itself also takes the environment's lock).
_changing = threading.Lock()


def _progress(line):
    server.PromptServer.instance.send_sync(PROGRESS_EVENT, {"line": line})


def _run(args, progress):
    """comfydock ARGS for this environment: (exit code, stdout, stderr). With `progress`, each
    line comfydock writes on stderr is pushed to the browser as it comes."""
    command = [BIN, "--color", "never", "-e", ENV, *args]
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    err_lines = []

    def read_stderr():
        for line in proc.stderr:
            err_lines.append(line)
            if progress:
                _progress(line.rstrip("\n"))

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    out = proc.stdout.read()
    code = proc.wait()
    reader.join()
    return code, out, "".join(err_lines)


async def _call(args, progress=False):
    code, out, err = await asyncio.get_running_loop().run_in_executor(None, _run, args, progress)
    try:
        report = json.loads(out) if out.strip() else None
    except ValueError:
        report = None
    return web.json_response({"ok": code == 0, "exit_code": code, "report": report,
                              "output": out if report is None else "", "log": err})


def _error(status, message):
    return web.json_response({"ok": False, "error": message}, status=status)


def _unconfigured():
    if not BIN or not ENV:
        return _error(503, "this ComfyUI was not started by `comfydock run`, so the panel does not know "
                           "its environment: start it with `comfydock -e NAME run`")
    return None


def _loopback(remote):
    try:
        ip = ipaddress.ip_address((remote or "").split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


def _refused(request):
    """Why a changing request is refused, as a response; None when it may go ahead."""
    unconfigured = _unconfigured()
    if unconfigured is not None:
        return unconfigured
    if not secrets.compare_digest(request.headers.get("X-Comfydock-Token", ""), TOKEN):
        return _error(403, "refused: the X-Comfydock-Token header is missing or wrong (reload the page)")
    if not REMOTE_CHANGES and not _loopback(request.remote):
        return _error(403, f"refused: changes come only from this machine, and this request came from "
                           f"{request.remote} (ComfyUI listens on the network and has no login); "
                           f"`comfydock config set panel_remote_changes true` allows them, see docs/security.md")
    return None


async def _changing_call(args):
    if not _changing.acquire(blocking=False):
        return _error(409, "another comfydock operation from the panel is still running")
    try:
        return await _call(args, progress=True)
    finally:
        _changing.release()


async def _body(request):
    try:
        return await request.json()
    except Exception:
        return None


def _workflow_file(graph):
    f = tempfile.NamedTemporaryFile("w", suffix=".json", prefix="comfydock-panel-", delete=False)
    with f:
        json.dump(graph, f)
    return f.name


@routes.get("/comfydock/session")
async def session(request):
    return web.json_response({"token": TOKEN, "environment": ENV, "configured": bool(BIN and ENV),
                              "supervised": SUPERVISED, "remote_changes": REMOTE_CHANGES,
                              "local": _loopback(request.remote)})


@routes.get("/comfydock/status")
async def status(request):
    return _unconfigured() or await _call(["status", "--json"])


@routes.get("/comfydock/plan")
async def plan(request):
    return _unconfigured() or await _call(["plan", "--json"])


@routes.get("/comfydock/log")
async def log(request):
    return _unconfigured() or await _call(["log", "--json"])


@routes.get("/comfydock/workflows")
async def workflows(request):
    return _unconfigured() or await _call(["workflow", "status", "--json"])


@routes.get("/comfydock/tests")
async def tests(request):
    return _unconfigured() or await _call(["test", "--last", "--json"])


@routes.post("/comfydock/needs")
async def needs(request):
    """What the graph open in the editor needs and the environment lacks, and the packs and models
    that `workflow resolve --auto` would add (with why each pack was chosen). Changes nothing."""
    return await _resolve_graph(request, _call, ["--json"])


@routes.post("/comfydock/add")
async def add(request):
    """Adds what the graph needs (node packs, models) to the environment: resolve, lock, apply."""
    return await _resolve_graph(request, _changing_call, [])


async def _resolve_graph(request, call, extra):
    """`workflow resolve --auto` of the graph in the request's body (written to a scratch file for
    the call), through `call`; refused requests and bodies that are not a workflow change nothing."""
    refused = _refused(request)
    if refused is not None:
        return refused
    graph = await _body(request)
    if not isinstance(graph, dict):
        return _error(400, "the body must be the workflow as JSON")
    path = _workflow_file(graph)
    try:
        return await call(["workflow", "resolve", "--file", path, "--auto", *extra])
    finally:
        os.unlink(path)


@routes.post("/comfydock/apply")
async def apply(request):
    refused = _refused(request)
    return refused or await _changing_call(["apply", "--yes"])


@routes.post("/comfydock/rollback")
async def rollback(request):
    refused = _refused(request)
    if refused is not None:
        return refused
    body = await _body(request) or {}
    generation = body.get("generation")
    if not isinstance(generation, int) or isinstance(generation, bool) or generation < 1:
        return _error(400, "give the generation to roll back to as a positive number")
    return await _changing_call(["rollback", str(generation), "--yes"])


@routes.post("/comfydock/adopt")
async def adopt(request):
    refused = _refused(request)
    if refused is not None:
        return refused
    body = await _body(request) or {}
    name = body.get("name")
    if not isinstance(name, str) or not name or name.startswith("-"):
        return _error(400, "give the folder name in custom_nodes/ to adopt")
    return await _changing_call(["node", "adopt", name, "--json"])


@routes.post("/comfydock/restart")
async def restart(request):
    """Ends ComfyUI with RESTART_EXIT_CODE: `comfydock run` starts it again on the environment's
    current generation, and the page reconnects."""
    refused = _refused(request)
    if refused is not None:
        return refused
    if not SUPERVISED:
        return _error(409, "this ComfyUI is not supervised by `comfydock run`: stop and start it yourself")
    _progress("ComfyUI restarts on the current generation")
    threading.Timer(0.5, lambda: os._exit(RESTART_EXIT_CODE)).start()
    return web.json_response({"ok": True, "restarting": True})
