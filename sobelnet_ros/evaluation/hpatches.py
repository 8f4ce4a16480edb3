"""``python -m sobelnet_ros.evaluation.hpatches``: the protocol's runnable module.

Takes the options of ``sobelnet eval`` (``--help`` lists them), e.g.
``python -m sobelnet_ros.evaluation.hpatches --dataset hpatches-sequences-release``.
"""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
