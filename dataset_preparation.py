"""Prepare datasets and client partitions for fedvideo experiments.

The Flower baseline convention's entry point; the same as ``fedvideo prepare``::

    python dataset_preparation.py synthetic-vsr --out data/synthetic-reds
    python dataset_preparation.py vsr --data-root data/synthetic-reds \\
        --num-clients 4 --scheme iid --out partitions.json
    python dataset_preparation.py synthetic-ssl --out data/synthetic-action
    python dataset_preparation.py ssl --dataset ucf101 --raw-root data/raw/ucf101 \\
        --out data/ucf101 --num-clients 5 --scheme iid-shuffled
    python dataset_preparation.py synthetic-pose --out data/synthetic-pose
    python dataset_preparation.py pose --mpii data/mpii --samples-per-client 4000 \\
        --out conf/pose/mpii-raf3.json

The subcommands live in the task packages (``fedvideo/tasks/<task>/prepare.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from fedvideo.cli import main as fedvideo_main


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``fedvideo prepare`` with ``argv`` (default: the command line)."""
    return fedvideo_main(["prepare", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
