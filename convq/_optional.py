"""Optional dependencies: imported where they are the right tool, with a clear message
when they are missing (NumPy is convq's only required dependency)."""
from __future__ import annotations

import importlib

_EXTRAS = {"scipy": "scipy", "sklearn": "sklearn", "matplotlib": "plot", "mpi4py": "mpi", "torch": "torch",
           "arviz": "arviz", "tqdm": "progress"}


def import_optional(name: str, feature: str):
    """Import module `name` (e.g. "scipy.optimize") or raise ImportError saying which
    convq feature needs which package and how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        extra = _EXTRAS.get(top, top)
        pkg = {"sklearn": "scikit-learn"}.get(top, top)
        raise ImportError(f"{feature} needs {pkg}, an optional dependency of convq: "
                          f"pip install 'convq[{extra}]' (or pip install {pkg})") from exc
