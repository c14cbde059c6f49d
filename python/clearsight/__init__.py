"""ClearSight in Python: multimodal-model interpretability (hooks, MINER) and imitation learning.

The C++ core is the extension ``clearsight._clearsight``; tensors cross the boundary as
``torch.Tensor`` without copies (Debian's python3-torch is the LibTorch the library links).

    import clearsight as cs
    model = cs.load_model("cs-tiny-vl")
    logits, cache = model.run_with_cache("What is 2 + 3?", names=lambda n: "hook_post" in n)
"""

import torch  # noqa: F401  (LibTorch and torch's Python bindings load before the extension)

from ._clearsight import (  # noqa: F401
    ConfigError,
    Error,
    FormatError,
    IoError,
    Model,
    NumericError,
    RuntimeError,
    ShapeError,
    UnknownNameError,
    __version__,
    load_model,
    explain,
    miner,
    sae,
    task_names,
    task_sample,
)
from . import demos, envs, train  # noqa: F401,E402
from .train import imitate, load_policy, train_bc, train_rl  # noqa: F401,E402

for _name in ("ConfigError", "Error", "FormatError", "IoError", "Model", "NumericError",
              "RuntimeError", "ShapeError", "UnknownNameError"):
    globals()[_name].__module__ = "clearsight"  # tracebacks say clearsight.ShapeError
del _name

envs.register_gymnasium()

__all__ = [
    "ConfigError", "Error", "FormatError", "IoError", "Model", "NumericError",
    "ShapeError", "UnknownNameError", "demos", "envs", "explain", "imitate", "load_model", "load_policy",
    "miner", "task_names", "task_sample", "train", "train_bc", "train_rl",
]
