#!/usr/bin/env bash
# Runs the service benchmarks (the `loadgen` crate) and writes target/bench/report.md and
# report.json; `--tiny` runs the small configuration CI uses (target/bench-tiny/).
#
#   scripts/bench.sh [--tiny] [loadgen options: --only PHASES, --pg-url URL, --out DIR]
#
# It installs what the measurements need (PostgreSQL with pgbench, ImageMagick), starts
# PostgreSQL, builds the release server and the load generator, and runs them on this machine.
# The full run takes about 15 minutes on 2 cores; see BENCHMARKS.md for the figures.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REKINDLE_ROOT"

bash scripts/install-tools.sh --test
# shellcheck source=scripts/start-services.sh
source scripts/start-services.sh
cargo build --release -p server -p loadgen
target/release/loadgen --server-bin target/release/server "$@"
