#!/usr/bin/env bash
# Installs the classical baseline the quality benchmark compares the pipeline with:
# ImageMagick from Debian (when missing and apt-get is available) and OpenCV from PyPI in a
# virtual environment at quality/.venv (gitignored).
#
#   quality/setup-baseline.sh
#
# Then: cargo run --release -p quality   (it finds quality/.venv/bin/python by itself).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"

if [[ ! -x /usr/bin/convert ]]; then
    if command -v apt-get >/dev/null; then
        echo "==> installing ImageMagick (Debian package imagemagick)"
        apt-get install -y --no-install-recommends imagemagick
    else
        echo "setup-baseline.sh: /usr/bin/convert is missing and apt-get is unavailable;" \
            "install ImageMagick 6 yourself" >&2
        exit 1
    fi
fi

if [[ ! -x "$venv/bin/python" ]]; then
    echo "==> creating $venv"
    python3 -m venv "$venv"
fi
echo "==> installing opencv-python-headless and numpy into $venv"
"$venv/bin/python" -m pip install --quiet "opencv-python-headless>=4.8,<5" "numpy>=1.24"
"$venv/bin/python" -c 'import cv2; print("    OpenCV", cv2.__version__)'
/usr/bin/convert -version | head -n 1 | sed 's/^/    /'
