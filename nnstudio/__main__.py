"""``python -m nnstudio`` behaves like the ``nnstudio`` command."""

import sys

from nnstudio.cli import main

if __name__ == "__main__":
    sys.exit(main())
