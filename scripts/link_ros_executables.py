"""Make `ros2 run sobelnet_ros detector` work in a pip-installed prefix.

pip puts console scripts in ``<prefix>/bin``; ``ros2 run`` and ``ros2
launch`` look in ``<prefix>/lib/sobelnet_ros``. This links the package's
executables there (colcon's install already puts them there, via setup.cfg).

Usage: python scripts/link_ros_executables.py PREFIX
"""

from __future__ import annotations

import sys
from pathlib import Path

EXECUTABLES = ("detector",)


def main(prefix: str) -> int:
    bin_dir = Path(prefix).resolve() / "bin"
    lib_dir = Path(prefix).resolve() / "lib" / "sobelnet_ros"
    lib_dir.mkdir(parents=True, exist_ok=True)
    for name in EXECUTABLES:
        source = bin_dir / name
        if not source.exists():
            print(f"{source} missing; is sobelnet_ros installed in {prefix}?", file=sys.stderr)
            return 1
        target = lib_dir / name
        if target.is_symlink() or target.exists():
            target.unlink()
        target.symlink_to(source)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else sys.prefix))
