#!/usr/bin/env bash
# Runs Rekindle locally at http://127.0.0.1:3000, rebuilding and reloading on every change.
#
#   scripts/run.sh [extra `cargo leptos watch` arguments]
#
# It installs what is missing (scripts/install-tools.sh --run: the wasm32 target, cargo-leptos,
# the wasm-bindgen CLI), then runs `cargo leptos watch`. The server uses its embedded defaults:
# SQLite and local storage in ./data (REKINDLE_DATA_DIR moves it) and the built-in restoration
# worker, so nothing else needs to run.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REKINDLE_ROOT"

bash scripts/install-tools.sh --run

if (exec 3<>/dev/tcp/127.0.0.1/3000) 2>/dev/null; then
    echo "run.sh: 127.0.0.1:3000 is already in use; stop whatever serves it first." >&2
    exit 1
fi

echo "==> cargo leptos watch: http://127.0.0.1:3000 once the first build finishes (a few minutes)"
exec cargo leptos watch "$@"
