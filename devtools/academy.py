"""``./academy``: boot headless bpy, register this checkout, run the extension's command line."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devtools import boot  # noqa: E402


def main() -> int:
    module = boot.boot()
    return module.cli.main(sys.argv[1:], prog="academy")


if __name__ == "__main__":
    sys.stdout.flush()
    raise SystemExit(main())
