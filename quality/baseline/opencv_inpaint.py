"""Classical scratch and dust removal with OpenCV, for Rekindle's quality benchmark.

Detects thin bright and dark defects with morphological top-hat and black-hat filters on
the grey image, thresholds them, grows the mask a little and fills it with cv2.inpaint.

    python opencv_inpaint.py [--kernel 7] [--threshold 30] [--grow 1] [--radius 3]
                             [--method telea|ns] IN OUT [IN OUT ...]

Pairs of input and output files are processed in one run so that Python's start-up is paid
once. OpenCV is kept to one thread so the benchmark can report speed per core.
"""

import argparse
import sys

import cv2
import numpy as np


def defect_mask(bgr, kernel, threshold, grow):
    """Pixels that are much brighter or darker than a morphological opening/closing."""
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    shape = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))
    bright = cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, shape)
    dark = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, shape)
    mask = ((bright > threshold) | (dark > threshold)).astype(np.uint8) * 255
    if grow > 0:
        square = np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)
        mask = cv2.dilate(mask, square)
    return mask


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", type=int, default=7, help="structuring element size")
    parser.add_argument("--threshold", type=int, default=30, help="top/black-hat level")
    parser.add_argument("--grow", type=int, default=1, help="mask dilation radius")
    parser.add_argument("--radius", type=float, default=3.0, help="inpainting radius")
    parser.add_argument("--method", choices=["telea", "ns"], default="telea")
    parser.add_argument("files", nargs="+", help="IN OUT pairs")
    args = parser.parse_args()
    if len(args.files) % 2:
        parser.error("files must come in IN OUT pairs")

    cv2.setNumThreads(1)
    flag = cv2.INPAINT_TELEA if args.method == "telea" else cv2.INPAINT_NS
    for source, target in zip(args.files[0::2], args.files[1::2]):
        image = cv2.imread(source, cv2.IMREAD_COLOR)
        if image is None:
            sys.exit(f"opencv_inpaint.py: cannot read {source}")
        mask = defect_mask(image, args.kernel, args.threshold, args.grow)
        result = cv2.inpaint(image, mask, args.radius, flag)
        if not cv2.imwrite(target, result):
            sys.exit(f"opencv_inpaint.py: cannot write {target}")


if __name__ == "__main__":
    main()
