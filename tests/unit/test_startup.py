"""Start-up stays light: no numpy, OpenCV, ONNX Runtime or JSONata until a node needs them."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["numpy", "cv2", "onnxruntime", "jsonata", "pystache", "cryptography"]

PROBE = f"""
import asyncio, json, sys, tempfile
from pathlib import Path
from flowengine.app import Application
from flowengine.settings import load_settings
flows = json.loads(sys.argv[1])
async def main():
    d = tempfile.mkdtemp()
    p = Path(d) / "f.json"; p.write_text(json.dumps(flows))
    app = Application(load_settings(data_dir=Path(d), port=0))
    assert await app.start(p)
    await app.stop()
asyncio.run(main())
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))
"""


def _loaded(flows: list) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, json.dumps(flows)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_startup_imports_nothing_heavy():
    flows = [{"id": "t", "type": "tab"},
             {"id": "i", "type": "inject", "z": "t", "x": 0, "y": 0, "wires": [["c"]]},
             {"id": "c", "type": "change", "z": "t", "x": 0, "y": 0, "wires": [],
              "rules": [{"t": "set", "p": "payload", "to": "1", "tot": "num"}]}]
    assert _loaded(flows) == []


def test_jsonata_loads_only_when_a_flow_uses_it():
    flows = [{"id": "t", "type": "tab"},
             {"id": "c", "type": "change", "z": "t", "x": 0, "y": 0, "wires": [],
              "rules": [{"t": "set", "p": "payload", "to": "1 + 1", "tot": "jsonata"}]}]
    assert "jsonata" in _loaded(flows)
