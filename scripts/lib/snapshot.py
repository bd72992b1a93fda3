"""A generated registry snapshot for benchmarks: N packs of two versions each (a small zip with a
2,000-line module), in the format `registry serve --snapshot` reads.

    python3 scripts/lib/snapshot.py OUT_DIR N
"""
import json, os, sys, zipfile
out, n = sys.argv[1], int(sys.argv[2])
packs = []
for i in range(n):
    pid = f"bench-pack-{i:04d}"
    versions = []
    for v in ("1.9.0", "1.10.0"):
        rel = f"archives/{pid}/{v}/node.zip"
        os.makedirs(os.path.join(out, os.path.dirname(rel)), exist_ok=True)
        with zipfile.ZipFile(os.path.join(out, rel), "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("__init__.py", f"# {pid} {v}\nNODE_CLASS_MAPPINGS = {{}}\n")
            z.writestr("nodes.py", "x = 1\n" * 2000)
        versions.append({"node_version": {"id": f"{pid}-{v}", "node_id": pid, "version": v,
                         "createdAt": "2025-01-01T00:00:00Z", "dependencies": [],
                         "deprecated": False, "downloadUrl": "", "status": "NodeVersionStatusActive"},
                         "archive": rel,
                         "comfy_nodes": [{"comfy_node_name": f"Bench{i}", "input_types": "{}",
                                          "return_types": "[]", "return_names": "[]"}]})
    packs.append({"node": {"id": pid, "name": f"Bench Pack {i}", "downloads": i,
                           "status": "NodeStatusActive"}, "versions": versions})
json.dump({"format": "comfydock-registry-snapshot", "format_version": 1, "packs": packs},
          open(os.path.join(out, "registry-snapshot.json"), "w"))
