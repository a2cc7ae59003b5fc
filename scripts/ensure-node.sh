#!/usr/bin/env bash
# Print a directory holding `node` and `npm` of a version Vite 8 supports (^20.19 or >= 22.12).
# The machine's own are used when they are new enough; otherwise (Debian bookworm ships 18)
# pinned Node and npm packages are fetched once from the npm registry into .tools/node and
# checked against the registry's sha512 integrity. Usage: PATH="$(scripts/ensure-node.sh):$PATH"
set -euo pipefail
NODE_VERSION=22.21.1
NPM_VERSION=10.9.4
REGISTRY=${NPM_REGISTRY:-https://registry.npmjs.org}
root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools/node"

supported() {  # $1 = a node binary
    "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number);
             process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a > 22 ? 0 : 1)' 2>/dev/null
}

if command -v node >/dev/null && command -v npm >/dev/null && supported "$(command -v node)"; then
    dirname "$(command -v node)"
    exit 0
fi
if [ -x "$tools/bin/node" ] && [ -x "$tools/bin/npm" ] && supported "$tools/bin/node"; then
    echo "$tools/bin"
    exit 0
fi

case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) echo "error: no Node.js package for $(uname -m); install Node.js >= 22.12 yourself" >&2; exit 1 ;;
esac
for tool in curl tar openssl python3; do
    command -v "$tool" >/dev/null || { echo "error: $tool is needed to fetch Node.js" >&2; exit 1; }
done

fetch() {  # $1 = package, $2 = version, $3 = directory to unpack into
    local meta tarball integrity file
    meta=$(curl -fsSL "$REGISTRY/$1/$2")
    tarball=$(printf '%s' "$meta" | python3 -c 'import json,sys; print(json.load(sys.stdin)["dist"]["tarball"])')
    integrity=$(printf '%s' "$meta" | python3 -c 'import json,sys; print(json.load(sys.stdin)["dist"]["integrity"])')
    file=$(mktemp)
    curl -fsSL -o "$file" "$tarball"
    if [ "sha512-$(openssl dgst -sha512 -binary "$file" | base64 -w0)" != "$integrity" ]; then
        rm -f "$file"
        echo "error: $1@$2 does not match the registry's integrity hash" >&2
        exit 1
    fi
    mkdir -p "$3"
    tar -xzf "$file" -C "$3" --strip-components=1
    rm -f "$file"
}

echo "fetching Node.js $NODE_VERSION and npm $NPM_VERSION into $tools" >&2
rm -rf "$tools"
fetch "node-linux-$arch" "$NODE_VERSION" "$tools"
fetch npm "$NPM_VERSION" "$tools/lib/npm"
chmod +x "$tools/bin/node"
for cmd in npm npx; do
    printf '#!/bin/sh\nexec "%s/bin/node" "%s/lib/npm/bin/%s-cli.js" "$@"\n' "$tools" "$tools" "$cmd" > "$tools/bin/$cmd"
    chmod +x "$tools/bin/$cmd"
done
supported "$tools/bin/node" || { echo "error: the fetched Node.js does not run here" >&2; exit 1; }
echo "$tools/bin"
