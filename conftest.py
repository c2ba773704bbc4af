"""Collection for the whole repository: doctests of optional-backend modules need the backend.

``--doctest-modules`` imports every module under ``derive/``; the JAX and PyTorch conv ops
import their backend at module level (they are only loaded by modules exported for that
backend), so they are left out of collection where the backend is not installed. They
hold no doctests; the backend tests skip with a reason instead.
"""

from __future__ import annotations

import importlib.util

collect_ignore = [
    f"derive/export/convops_{name}.py"
    for name in ("jax", "torch")
    if importlib.util.find_spec(name) is None
]
