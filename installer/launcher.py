"""Entry script of the frozen build (installer/enrollreview.spec): the `enrollreview` console script's
main(), plus the multiprocessing hook a frozen program needs.

Large files are parsed in worker processes started with the 'spawn' method; in a frozen build each
worker is this same executable started again, and `multiprocessing.freeze_support()` is what turns
it into a worker instead of a second copy of the app. `enrollreview --self-check` proves it works.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from enrollreview.__main__ import main

    sys.exit(main())
