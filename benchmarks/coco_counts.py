"""Compare the COCO single-category selection with the JECL paper's counts (annotations only, no images).

Usage: python benchmarks/coco_counts.py [--raw DIR] [--splits train2014,val2014] [--min-images 100]
       [--max-per-category 0]
Downloads annotations_trainval2014.zip (241 MB) into DIR when the JSON files are not there.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from mvbench.data.sources import DataPaths
from mvbench.datasets.coco import CROSS_CATEGORIES, CocoParams, _split_list, ensure_annotations, select

PAPER = {"coco_cross": (7429, 10, 23.2, 1.6), "coco_all": (23189, 43, 7.4, 0.4)}


def summary(labels: list[str]) -> tuple[int, int, float, float]:
    counts = Counter(labels)
    n = len(labels)
    return n, len(counts), 100 * max(counts.values()) / n, 100 * min(counts.values()) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", type=Path, default=DataPaths.resolve().raw_folder("coco"))
    ap.add_argument("--splits", default="train2014,val2014")
    ap.add_argument("--min-images", type=int, default=100)
    ap.add_argument("--max-per-category", type=int, default=0)
    args = ap.parse_args()
    ensure_annotations(args.raw, _split_list(args.splits), CocoParams.annotations_url)
    settings = {"coco_cross": dict(categories=CROSS_CATEGORIES), "coco_all": dict(min_images=args.min_images)}
    for name, extra in settings.items():
        p = CocoParams(splits=args.splits, max_per_category=args.max_per_category, **extra)
        records, candidates = select(args.raw, p)
        n, k, big, small = summary([r.label for r in records])
        pn, pk, pbig, psmall = PAPER[name]
        print(
            f"{name}: n {n} (paper {pn}), K {k} ({pk}), largest {big:.1f} % ({pbig}), smallest {small:.1f} % ({psmall})"
        )
        print("  per category:", dict(Counter(r.label for r in records).most_common()))
    print("single-category candidates per category:", candidates)


if __name__ == "__main__":
    main()
