"""Every test plans for the reference cloud unless it says otherwise, so that
results do not depend on the machine running the suite (cores, GPUs)."""

from __future__ import annotations

import os

from tests.goldens import CLIP_CHECKPOINT, CLUSTER

os.environ["MKC_CLUSTER"] = str(CLUSTER)
# Weights a user supplies make more implementations eligible (Implementation.needs_env).
# The suite plans as the reference scenarios assume: with CLIP weights (the path is
# never opened at compile time) and without an openai-whisper checkpoint.
os.environ["MKC_CLIP_CHECKPOINT"] = CLIP_CHECKPOINT
os.environ.pop("MKC_WHISPER_CHECKPOINT", None)
