"""The editor's pure TypeScript helpers (form data <-> node, problems, cron, topics), checked by
the script web_editor/src/form/tests/helpers.test.ts under Node (the same Node that builds it)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_form_helpers_pass_their_checks():
    node_dir = subprocess.run([str(ROOT / "scripts" / "ensure-node.sh")], check=True, capture_output=True,
                              text=True).stdout.strip()
    env = {**os.environ, "PATH": node_dir + os.pathsep + os.environ.get("PATH", "")}
    result = subprocess.run(["npm", "run", "--silent", "test:unit"], cwd=ROOT / "web_editor", env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "all passed" in result.stdout
