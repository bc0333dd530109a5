# shellcheck shell=bash
# Rekindle's shell environment, sourced by the other scripts (and usable by hand:
# `source scripts/env.sh`). It only sets variables; it installs nothing.
#
# - REKINDLE_ROOT: the repository's root folder.
# - PATH: cargo's bin folder (cargo-leptos, wasm-bindgen, s3s-fs) and the repo-local npm tools
#   (wasm-opt from Binaryen 123) come first, so that a system wasm-opt (Debian's is version 108,
#   whose output crashes at hydration) is never picked by `cargo leptos build --release`.

REKINDLE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export REKINDLE_ROOT

rekindle_path_prepend() {
    case ":$PATH:" in
        *":$1:"*) ;;
        *) PATH="$1:$PATH" ;;
    esac
}

rekindle_path_prepend "${CARGO_HOME:-$HOME/.cargo}/bin"
rekindle_path_prepend "$REKINDLE_ROOT/tools/node_modules/.bin"
export PATH
unset -f rekindle_path_prepend

# Chromium for Playwright comes from Debian; Playwright must never try to download its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
