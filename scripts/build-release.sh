#!/usr/bin/env bash
# The release build, as shipped: `cargo leptos build --release` (server optimised, WASM
# size-optimised and run through wasm-opt), then a size report of the browser bundle.
# CI runs it, and the Dockerfile's build stage calls it.
#
#   scripts/build-release.sh        leaves target/release/server and target/site/
#
# The report (raw, gzip and brotli sizes of every file in target/site/pkg) is printed and
# written to target/site-sizes.txt.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$REKINDLE_ROOT"

bash scripts/install-tools.sh --release
cargo leptos build --release

report=target/site-sizes.txt
python3 - "$report" <<'PY'
import gzip, pathlib, sys, zlib
try:
    import brotli  # optional; the report says when it is missing
except ImportError:
    brotli = None
rows = []
for path in sorted(pathlib.Path("target/site/pkg").iterdir()):
    if path.suffix.lstrip(".") not in {"wasm", "js", "css"}:
        continue
    data = path.read_bytes()
    gz = len(gzip.compress(data, 9))
    br = len(brotli.compress(data, quality=11)) if brotli else None
    rows.append((path.name, len(data), gz, br))
lines = ["| file | raw | gzip -9 | brotli -11 |", "| --- | ---: | ---: | ---: |"]
for name, raw, gz, br in rows:
    kib = lambda n: f"{n / 1024:.1f} KiB" if n is not None else "n/a (pip install brotli)"
    lines.append(f"| {name} | {kib(raw)} | {kib(gz)} | {kib(br)} |")
text = "\n".join(lines) + "\n"
pathlib.Path(sys.argv[1]).write_text(text)
print(text)
PY
echo "==> release build ready: target/release/server and target/site/ (sizes in $report)"
