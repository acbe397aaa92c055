"""The physics ear cut at the frame boundary, for streaming: a frames half and a head half.

Every LOFAR, DEMON and log-mel frame depends only on its own stretch of audio, so two windows one step apart
(a whole number of every branch's frame hop) share all but the newest frames. :class:`FrameFeatures` computes
a branch's frames from any span of audio; :class:`WindowHead` turns one window's frames into the contract's
outputs (the window-wide operations: the log-mel's normalisation, statistics over frames, the network, the
physics readout). ``WindowHead(FrameFeatures(window))`` is the whole model, to the bit; a node that keeps the
previous window's frames computes only the new ones (``acoustics/split_model.py``).
"""

from __future__ import annotations

import torch
from torch import nn

from uwac.training.frontend.physics import PhysicsFrontend
from uwac.training.models.classifier import Classifier, PhysicsReadout

# Axis of the frames in each branch's per-frame output (batch first): mel power [b, mels, frames], LOFAR
# [b, frames, bins], DEMON [b, bands, frames, bins].
FRAME_AXIS = {"mel": 2, "lofar": 1, "demon": 2}


def frame_input(branch: str) -> str:
    """Name of the frames graph's audio input for ``branch``: each branch reads its own span."""
    return f"audio_{branch}"


def frame_output(branch: str) -> str:
    """Name of ``branch``'s frames (an output of the frames graph, an input of the head graph)."""
    return f"{branch}_frames"


def split_branches(model: Classifier) -> tuple[str, ...]:
    """The branches of a model that can be split; ``ValueError`` for a model without the physics front-end."""
    if not isinstance(model.frontend, PhysicsFrontend):
        raise ValueError("only the physics ear (model.name: ear) splits into frames and head; this model reads a "
                         "single log-mel and is scored whole")
    return tuple(model.frontend.branches)


class FrameFeatures(nn.Module):
    """One audio span per branch ``[batch, samples]`` → that branch's frames: mel power (before the window's
    normalisation), LOFAR and DEMON grams (dB over background / 10), in ``split_branches`` order."""

    def __init__(self, model: Classifier):
        super().__init__()
        self.branches = split_branches(model)
        self.frontend = model.frontend

    def forward(self, *audio: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = []
        for branch, x in zip(self.branches, audio, strict=True):
            module = getattr(self.frontend, branch)
            out.append(module.mel_power(x) if branch == "mel" else module(x))
        return tuple(out)


class WindowHead(nn.Module):
    """One window's frames per branch → ``(logits, probabilities, embedding[, physics])``, as the whole model."""

    def __init__(self, model: Classifier, *, physics: bool):
        super().__init__()
        self.branches = split_branches(model)
        self.model = model
        self.readout = PhysicsReadout(model.physics) if physics else None

    def forward(self, *frames: torch.Tensor):
        features = dict(zip(self.branches, frames, strict=True))
        if "mel" in features:
            features["mel"] = self.model.frontend.mel.log_normalise(features["mel"])
        logits, probs, embedding = self.model.classify_features(features)
        if self.readout is None:
            return logits, probs, embedding
        return logits, probs, embedding, self.readout(embedding)
