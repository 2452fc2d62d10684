"""``python -m fedvideo.bench <name> ...``, the same as ``fedvideo bench <name>``."""

import sys

from fedvideo.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
