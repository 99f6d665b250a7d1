#!/usr/bin/env python3
"""Make the test media: `python scripts/make_media.py [OUT_DIR]` (see murakkab/testmedia.py)."""

import sys

from murakkab.testmedia import main

if __name__ == "__main__":
    sys.exit(main(sys.argv))
