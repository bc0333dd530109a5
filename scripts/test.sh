#!/usr/bin/env bash
# Rekindle's whole test suite, from a fresh Debian 12 machine to a verdict; CI runs it too.
#
#   scripts/test.sh
#
# It installs what is missing (scripts/install-tools.sh --test), starts PostgreSQL and s3s-fs
# (scripts/start-services.sh), then checks formatting, lints native and WASM code, runs the Rust
# tests against SQLite and again against PostgreSQL, and finally the Playwright browser tests
# through `cargo leptos end-to-end` on a fresh, empty data folder. It stops at the first failure
# and ends with one SUMMARY line.
#
# The browser tests run on the release build (WASM optimised by wasm-opt, as in production);
# REKINDLE_E2E_RELEASE=0 runs them on a debug build instead.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REKINDLE_ROOT"

SITE_PORT=3000
suite_start=$SECONDS
current_step="start-up"
passed_steps=()

format_duration() {
    printf '%dm%02ds' $(($1 / 60)) $(($1 % 60))
}

# run_step NAME COMMAND...: runs COMMAND under `set -e`, so a failure ends the script and the
# EXIT trap names the step that failed.
run_step() {
    local name=$1 start=$SECONDS
    shift
    current_step=$name
    printf '\n==> %s\n' "$name"
    "$@"
    passed_steps+=("$name ($(format_duration $((SECONDS - start))))")
}

# `cargo leptos end-to-end` leaves its server running when a browser test fails. The port was
# checked free before the step, so whatever listens there now is that server of ours.
stop_leftover_site_server() {
    command -v ss >/dev/null || return 0
    local pid exe pids
    pids=$(ss -Hltnp "sport = :$SITE_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2)
    for pid in $pids; do
        exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
        if [[ $exe == "$REKINDLE_ROOT"/target/* ]]; then
            echo "    stopping the leftover site server (pid $pid, $exe)"
            kill "$pid" 2>/dev/null || true
        fi
    done
}

on_exit() {
    local status=$?
    set +e
    if [[ $current_step == "browser tests"* ]]; then
        stop_leftover_site_server
    fi
    if declare -F rekindle_stop_services >/dev/null; then
        rekindle_stop_services
    fi

    local total
    total=$(format_duration $((SECONDS - suite_start)))
    printf '\n'
    for step in "${passed_steps[@]}"; do
        printf '    passed: %s\n' "$step"
    done
    if ((status == 0)); then
        printf '==> SUMMARY: PASSED, all %d steps in %s\n' "${#passed_steps[@]}" "$total"
    else
        printf '==> SUMMARY: FAILED at step "%s" (exit %d) after %s\n' \
            "$current_step" "$status" "$total" >&2
    fi
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

site_port_is_free() {
    if (exec 3<>"/dev/tcp/127.0.0.1/$SITE_PORT") 2>/dev/null; then
        echo "test.sh: 127.0.0.1:$SITE_PORT is already in use (a \`cargo leptos watch\`?);" \
            "the browser tests would talk to it. Stop it and rerun." >&2
        return 1
    fi
}

browser_tests() {
    site_port_is_free

    # An empty data folder: the server starts on a new embedded SQLite database and empty
    # local storage, as on a first run.
    export REKINDLE_DATA_DIR="$REKINDLE_TEST_TMP/e2e-data"
    mkdir -p "$REKINDLE_DATA_DIR"
    local -a profile=()
    [[ ${REKINDLE_E2E_RELEASE:-1} == 1 ]] && profile=(--release)
    echo "    data folder: $REKINDLE_DATA_DIR; screenshots: end2end/test-results/screenshots/"
    cargo leptos end-to-end "${profile[@]}"
}

run_step "install tools" bash scripts/install-tools.sh --test
# Checked now too, rather than only after the long builds.
run_step "port $SITE_PORT is free for the browser tests" site_port_is_free
run_step "start PostgreSQL and s3s-fs" source scripts/start-services.sh
# The S3 tests (server/tests/s3.rs) skip without a server; here they must run, not skip.
export REKINDLE_REQUIRE_S3=1
# Likewise the real RunPod local server test (server/tests/providers_runpod.rs).
export REKINDLE_REQUIRE_RUNPOD=1

run_step "rustfmt" cargo fmt --all -- --check
run_step "type-check the Playwright tests" npm --prefix end2end run --silent typecheck

# Not `clippy --workspace`: that would unify app's `ssr` and `hydrate` features, a build that
# never ships. The native pass covers the server side, the WASM pass the hydrating front end
# (and app's `hydrate` code through it); target/front is the folder cargo-leptos builds into.
run_step "clippy (native)" \
    cargo clippy -p app -p restore -p worker -p server -p quality -p loadgen --all-targets \
    -- -D warnings
run_step "clippy (wasm32)" \
    cargo clippy -p frontend -p app --features app/hydrate --target wasm32-unknown-unknown \
    --target-dir target/front -- -D warnings

run_step "Rust tests on SQLite" \
    env REKINDLE_TEST_DB=sqlite cargo test -p app -p restore -p worker -p server -p quality \
    -p loadgen
# Each test makes its own database; drop what earlier runs left behind.
drop_old_test_databases() {
    psql -w "$REKINDLE_TEST_PG_URL" -Atc \
        "SELECT datname FROM pg_database WHERE datname LIKE 'rekindle\_test\_%'" |
        while read -r name; do
            psql -w "$REKINDLE_TEST_PG_URL" -qc "DROP DATABASE IF EXISTS \"$name\"" >/dev/null
        done
}
run_step "drop old test databases" drop_old_test_databases
run_step "Rust tests on PostgreSQL" \
    env REKINDLE_TEST_DB=postgres cargo test -p server

# The build that ships (optimised WASM through wasm-opt), with its size report; the browser
# tests then run against it.
run_step "release build" bash scripts/build-release.sh
run_step "browser tests (cargo leptos end-to-end)" browser_tests
# The benchmark tool in its tiny configuration, so it keeps working (its figures mean nothing
# at this size; BENCHMARKS.md has the full run). It drives the release server built above.
run_step "load generator (tiny configuration)" bash -c \
    'cargo build --release -p loadgen && target/release/loadgen --tiny --server-bin target/release/server'
