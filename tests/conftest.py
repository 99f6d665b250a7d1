"""Every test plans for the reference cloud unless it says otherwise, so that
results do not depend on the machine running the suite (cores, GPUs)."""

from __future__ import annotations

import os

from tests.goldens import CLUSTER

os.environ["MKC_CLUSTER"] = str(CLUSTER)
