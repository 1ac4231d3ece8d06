#!/usr/bin/env bash
# Installs this folder's Node modules from package-lock.json, again whenever the lock file changes (a copy of the
# installed one stays beside the modules), as test.sh does for tools/openapi-lint.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! cmp -s "$here/package-lock.json" "$here/node_modules/.installed-package-lock.json"; then
  command -v npm > /dev/null || { echo "$0: needs Node.js 20+ and npm (Debian: apt-get install -y nodejs npm)" >&2; exit 1; }
  npm ci --prefix "$here" --no-audit --no-fund > /dev/null
  cp "$here/package-lock.json" "$here/node_modules/.installed-package-lock.json"
fi
