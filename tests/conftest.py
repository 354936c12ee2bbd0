"""Suite-wide settings: deterministic hypothesis runs, one intra-op thread per test process,
and one reference cache on disk that the test processes share (never the user's own)."""

import os
import tempfile
from pathlib import Path

import torch
from hypothesis import HealthCheck, settings

settings.register_profile(
    "optim-grader",
    derandomize=True,
    deadline=None,
    max_examples=40,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("optim-grader")
torch.set_num_threads(1)
os.environ.setdefault(
    "OPTIM_GRADER_CACHE", str(Path(tempfile.gettempdir()) / "optim-grader-test-cache")
)
