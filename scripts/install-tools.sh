#!/usr/bin/env bash
# Installs what Rekindle needs on a Debian 12 machine, skipping every step already satisfied,
# so a rerun takes seconds.
#
#   scripts/install-tools.sh --run    what `cargo leptos watch` needs: the wasm32 Rust target,
#                                     cargo-leptos and the wasm-bindgen CLI
#   scripts/install-tools.sh --release  --run plus wasm-opt, for `cargo leptos build --release`
#   scripts/install-tools.sh --test   all of the above, plus wasm-opt (Binaryen 123, from npm),
#                                     s3s-fs, Chromium, ImageMagick, PostgreSQL when absent, and
#                                     the Playwright packages in end2end/ (the default)
#
# Versions are pinned on purpose: newer cargo-leptos and s3s-fs need a newer rustc than 1.95, and
# the wasm-bindgen CLI must equal the `wasm-bindgen` crate pinned in Cargo.toml.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

CARGO_LEPTOS_VERSION=0.3.10
WASM_BINDGEN_VERSION=0.2.130
S3S_FS_VERSION=0.14.1
BINARYEN_VERSION=123
NODE_MIN_MAJOR=20

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

mode="test"
case "${1:-}" in
    --run) mode="run" ;;
    --release) mode="release" ;;
    --test | "") mode="test" ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
esac

step() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
    printf 'install-tools.sh: error: %s\n' "$*" >&2
    exit 1
}

as_root() {
    if [[ $EUID -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "'$*' needs root and sudo is not available"
    fi
}

# True when `CMD...` runs and prints VERSION as a whole word ("0.3.10" does not match "0.3.100").
prints_version() {
    local version=$1 output
    shift
    output=$("$@" 2>&1) || return 1
    grep -qFw -- "$version" <<<"$output"
}

# True when BIN on PATH is at VERSION: by its own `--version` when it has one, else by cargo's
# install records.
cargo_tool_ok() {
    local bin=$1 crate=$2 version=$3 output
    command -v "$bin" >/dev/null || return 1
    if output=$("$bin" --version 2>&1); then
        grep -qFw -- "$version" <<<"$output"
    else
        # Not `grep -q`: it would close the pipe early and pipefail would report SIGPIPE.
        cargo install --list | grep -xF "$crate v$version:" >/dev/null
    fi
}

# Another `cargo install CRATE` (e.g. a set-up job started by hand) would race with ours for
# ~/.cargo/bin; wait for it instead of compiling the same crate twice on 2 cores.
wait_for_other_cargo_install() {
    local crate=$1
    local pattern="^[^ ]*cargo install (.* )?$crate( |$)"
    pgrep -f "$pattern" >/dev/null || return 0
    note "another 'cargo install $crate' is running; waiting for it to finish"
    while pgrep -f "$pattern" >/dev/null; do
        sleep 10
    done
}

# ensure_cargo_tool BIN CRATE VERSION MINUTES [EXTRA CARGO INSTALL ARGS...]
ensure_cargo_tool() {
    local bin=$1 crate=$2 version=$3 minutes=$4
    shift 4
    step "$crate $version"
    if cargo_tool_ok "$bin" "$crate" "$version"; then
        note "already installed: $(command -v "$bin")"
        return
    fi

    wait_for_other_cargo_install "$crate"
    if cargo_tool_ok "$bin" "$crate" "$version"; then
        note "installed by the other job: $(command -v "$bin")"
        return
    fi

    note "compiling with cargo install (about $minutes minutes on 2 cores)"
    cargo install "$crate" --version "$version" "$@"
    cargo_tool_ok "$bin" "$crate" "$version" ||
        die "$crate $version was installed but '$bin --version' does not report it"
}

# The CLI must equal the crate exactly, or the site builds and then fails with a "schema
# version" error; cargo-leptos does not compare them.
check_wasm_bindgen_pin() {
    local lock="$REKINDLE_ROOT/Cargo.lock" locked
    [[ -f $lock ]] || return 0
    locked=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/"/, "", $3); print $3 }' "$lock")
    [[ -z $locked || $locked == "$WASM_BINDGEN_VERSION" ]] || die "Cargo.lock resolves the" \
        "wasm-bindgen crate to $locked but this script installs the CLI $WASM_BINDGEN_VERSION;" \
        "pin the crate (wasm-bindgen = \"=$WASM_BINDGEN_VERSION\") or change WASM_BINDGEN_VERSION"
}

ensure_rust() {
    step "Rust toolchain and the wasm32-unknown-unknown target"
    if ! command -v cargo >/dev/null || ! command -v rustup >/dev/null; then
        die "cargo and rustup are required (https://rustup.rs); this script does not install Rust"
    fi
    if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        note "already installed ($(rustc --version))"
    else
        rustup target add wasm32-unknown-unknown
    fi
}

ensure_node() {
    step "Node.js >= $NODE_MIN_MAJOR and npm"
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        die "node and npm are required (Node.js $NODE_MIN_MAJOR or newer; Debian 12's nodejs" \
            "is 18, too old for Playwright)"
    fi
    local major
    major=$(node -p 'process.versions.node.split(".")[0]')
    ((major >= NODE_MIN_MAJOR)) ||
        die "Node.js $(node --version) is too old: Playwright needs $NODE_MIN_MAJOR or newer"
    note "node $(node --version), npm $(npm --version)"
}

# `npm ci` in DIR unless node_modules was installed from the current package-lock.json.
npm_ci_if_stale() {
    local dir=$1 stamp lock_sum
    stamp="$dir/node_modules/.rekindle-package-lock.sha256"
    lock_sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
    if [[ -f $stamp && $(<"$stamp") == "$lock_sum" ]]; then
        note "node_modules matches package-lock.json"
        return
    fi
    (cd "$dir" && npm ci --no-audit --no-fund)
    printf '%s\n' "$lock_sum" >"$stamp"
}

ensure_wasm_opt() {
    step "wasm-opt (Binaryen $BINARYEN_VERSION, npm) in tools/"
    npm_ci_if_stale "$REKINDLE_ROOT/tools"
    local found
    found=$(command -v wasm-opt) || die "wasm-opt is not on PATH after npm ci in tools/"
    [[ $found == "$REKINDLE_ROOT/tools/node_modules/.bin/wasm-opt" ]] ||
        die "PATH picks $found instead of tools/node_modules/.bin/wasm-opt; source scripts/env.sh"
    prints_version "version_$BINARYEN_VERSION" wasm-opt --version ||
        die "wasm-opt reports '$(wasm-opt --version)', expected version $BINARYEN_VERSION"
    note "$(wasm-opt --version)"
}

# Chromium (browser tests), ImageMagick (test images) and PostgreSQL (server tests), from
# Debian, each only when missing; one `apt-get update` for all of them.
ensure_debian_packages() {
    step "Debian packages: chromium, imagemagick, postgresql, curl"
    local -a missing=()
    [[ -x /usr/bin/chromium ]] || missing+=(chromium)
    # /usr/local/bin/convert may be a stand-in on these machines: ask dpkg for the real one.
    dpkg -s imagemagick >/dev/null 2>&1 || missing+=(imagemagick)
    command -v curl >/dev/null || missing+=(curl)
    # A server already listening on 5432 counts, wherever it came from.
    if ! compgen -G '/etc/postgresql/*/*/postgresql.conf' >/dev/null &&
        ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
        missing+=(postgresql)
    fi

    if ((${#missing[@]} == 0)); then
        note "already installed"
        return
    fi
    note "installing: ${missing[*]} (chromium takes 2-3 minutes)"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
}

ensure_end2end_packages() {
    step "Playwright packages in end2end/ (npm ci; the browser is Debian's /usr/bin/chromium)"
    npm_ci_if_stale "$REKINDLE_ROOT/end2end"
}

# The `runpod` package's local test server for server/tests/providers_runpod.rs, in a venv
# beside its handler (gitignored).
ensure_runpod_venv() {
    local dir="$REKINDLE_ROOT/server/tests/runpod_worker"
    if "$dir/.venv/bin/python" -c 'import runpod' 2>/dev/null; then
        note "runpod venv present"
        return
    fi
    step "runpod worker venv (pip install -r server/tests/runpod_worker/requirements.txt)"
    python3 -m venv "$dir/.venv"
    "$dir/.venv/bin/pip" install -q -r "$dir/requirements.txt"
}

start=$SECONDS
ensure_rust
ensure_cargo_tool cargo-leptos cargo-leptos "$CARGO_LEPTOS_VERSION" 15 --locked
# Without --locked on purpose: with it, resolution fails on webpki-roots.
ensure_cargo_tool wasm-bindgen wasm-bindgen-cli "$WASM_BINDGEN_VERSION" 3
check_wasm_bindgen_pin

if [[ $mode == release ]]; then
    ensure_node
    ensure_wasm_opt
fi

if [[ $mode == test ]]; then
    ensure_node
    ensure_wasm_opt
    ensure_cargo_tool s3s-fs s3s-fs "$S3S_FS_VERSION" 3 --features binary --locked
    ensure_debian_packages
    ensure_end2end_packages
fi

if [[ $mode == test ]]; then
    ensure_runpod_venv
fi

step "tools ready for --$mode ($((SECONDS - start)) s)"
