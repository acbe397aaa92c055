"""Model size and cost: parameter counts and multiply-accumulates (MACs) per analysis window.

MACs are measured, not estimated: one batch-1 window runs under ``torch.utils.flop_counter.FlopCounterMode``
and MACs = FLOPs / 2. Only matmul-like ops (conv, linear, matmul, attention products) are counted;
elementwise work (BatchNorm, activations, softmax, log, normalisation) is left out, as is usual.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not) in ``model``; buffers are not counted."""
    return sum(p.numel() for p in model.parameters())


def _macs(fn, *args) -> int:
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn(*args)
    return int(counter.get_total_flops()) // 2


def count_macs(classifier: nn.Module, window_samples: int) -> dict[str, int]:
    """MACs for one window of ``window_samples`` samples at batch 1.

    Returns ``frontend_macs`` (audio → log-mel, ``classifier.frontend``), ``network_macs``
    (``classifier.net`` on that log-mel) and ``total_macs`` (their sum). The model is run in eval mode
    and its training mode is restored afterwards.
    """
    was_training = classifier.training
    classifier.eval()
    try:
        param = next(classifier.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        audio = torch.zeros(1, int(window_samples), device=device)
        audio[0, ::97] = 0.1  # not silence, so no op sees an all-zero input
        with torch.no_grad():
            features = classifier.frontend(audio)
        frontend_macs = _macs(classifier.frontend, audio)
        network_macs = _macs(classifier.net, features)
    finally:
        classifier.train(was_training)
    return {"frontend_macs": frontend_macs, "network_macs": network_macs,
            "total_macs": frontend_macs + network_macs}


def describe(classifier: nn.Module, window_samples: int, macs: dict | None = None) -> str:
    """One line: family, parameters, and MACs (millions) per window, split into front-end and network.

    ``macs``: a :func:`count_macs` result already measured for this model and window (else measured here).
    """
    macs = macs or count_macs(classifier, window_samples)
    family = getattr(classifier.net, "family", type(classifier.net).__name__)
    seconds = window_samples / classifier.frontend.cfg.sample_rate
    return (f"{family}: {count_parameters(classifier):,} parameters; {macs['total_macs'] / 1e6:.1f} M MACs per "
            f"{seconds:.1f} s window (front-end {macs['frontend_macs'] / 1e6:.1f} M, "
            f"network {macs['network_macs'] / 1e6:.1f} M)")
