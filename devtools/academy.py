"""``./academy``: boot headless bpy, register this checkout, run the extension's command line."""

import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from devtools import boot  # noqa: E402


def main() -> int:
    # Ctrl-C while bpy boots is held until the boot is done (raised inside Blender's C code it
    # would print a traceback, or be swallowed), then ends the command with one line.
    hits: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: hits.append(signum))
    try:
        module = boot.boot()
    except KeyboardInterrupt:
        hits.append(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, previous)
    if hits:
        print("academy: interrupted while starting", file=sys.stderr)
        return 130
    return module.cli.main(sys.argv[1:], prog="academy")


if __name__ == "__main__":
    sys.stdout.flush()
    boot.exit_process(main())
