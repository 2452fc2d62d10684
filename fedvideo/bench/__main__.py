"""Command-line entry point: ``python -m fedvideo.bench <benchmark> ...``."""

from __future__ import annotations

import argparse
import json
import sys

from fedvideo.bench import models, multigrid, ssl_step, vsr_step

BENCHMARKS = {
    "vsr-step": vsr_step,
    "ssl-step": ssl_step,
    "multigrid": multigrid,
    "models": models,
}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run one benchmark and print its JSON line(s)."""
    parser = argparse.ArgumentParser(prog="python -m fedvideo.bench")
    sub = parser.add_subparsers(dest="name", required=True)
    for name, module in BENCHMARKS.items():
        module.add_arguments(sub.add_parser(name, help=module.__doc__.splitlines()[0]))
    args = parser.parse_args(argv)
    for line in BENCHMARKS[args.name].run(args):
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
