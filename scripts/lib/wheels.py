"""Wheels for the benchmarks' local find-links folder: comfy-mini-dep (the requirement of the
miniature ComfyUI in fixtures/) and bench-dep-0 .. bench-dep-(N-1), one per generated node pack.

    python3 scripts/lib/wheels.py OUT [N]
"""
import base64
import hashlib
import os
import sys
import zipfile


def wheel(out, name, version):
    mod = name.replace("-", "_")
    info = f"{mod}-{version}.dist-info"
    files = {
        f"{mod}/__init__.py": f'__version__ = "{version}"\n',
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }

    def digest(c):
        return base64.urlsafe_b64encode(hashlib.sha256(c.encode()).digest()).decode().rstrip("=")

    files[f"{info}/RECORD"] = (
        "".join(f"{p},sha256={digest(c)},{len(c)}\n" for p, c in files.items()) + f"{info}/RECORD,,\n"
    )
    with zipfile.ZipFile(f"{out}/{mod}-{version}-py3-none-any.whl", "w") as z:
        for p, c in files.items():
            z.writestr(p, c)


if __name__ == "__main__":
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    os.makedirs(out, exist_ok=True)
    wheel(out, "comfy-mini-dep", "1.0.0")
    for i in range(n):
        wheel(out, f"bench-dep-{i}", "1.0.0")
