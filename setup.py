"""Package build hook: the wheel and sdist carry the browser editor's built files.

Built assets are not committed. When flowengine/editor_dist is missing, building the package
runs `npm ci && npm run build` in web_editor/ (scripts/ensure-node.sh finds or fetches a Node.js
that Vite supports) and fails loudly when it cannot: a package without its editor would
install fine and then show a blank page on the Pi. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
EDITOR_SOURCE = ROOT / "web_editor"
EDITOR_BUILT = ROOT / "flowengine" / "editor_dist" / "index.html"


def build_editor() -> None:
    if EDITOR_BUILT.is_file():
        return
    if not (EDITOR_SOURCE / "package.json").is_file():
        raise SystemExit(f"error: {EDITOR_BUILT.parent} is missing and there is no web_editor/ to build it from")
    env = dict(os.environ)
    ensure = ROOT / "scripts" / "ensure-node.sh"
    if ensure.is_file():
        node_dir = subprocess.run([str(ensure)], check=True, capture_output=True, text=True).stdout.strip()
        env["PATH"] = node_dir + os.pathsep + env.get("PATH", "")
    npm = shutil.which("npm", path=env["PATH"])
    if npm is None:
        raise SystemExit("error: building flowengine needs npm to build the editor (web_editor/): install Node.js "
                         ">= 22.12 with npm, or run `make setup`, which fetches one")
    for command in ([npm, "ci", "--no-audit", "--no-fund"], [npm, "run", "build"]):
        subprocess.run(command, cwd=EDITOR_SOURCE, env=env, check=True)
    if not EDITOR_BUILT.is_file():
        raise SystemExit(f"error: `npm run build` did not produce {EDITOR_BUILT}")


class BuildPyWithEditor(build_py):
    def run(self) -> None:
        build_editor()
        super().run()


class SdistWithEditor(sdist):
    def run(self) -> None:
        build_editor()
        super().run()


setup(cmdclass={"build_py": BuildPyWithEditor, "sdist": SdistWithEditor})
