"""The physics ear cut for streaming: a signal stage, a frames stage and a head.

Every LOFAR, DEMON and log-mel frame depends only on its own stretch of audio, so two windows one step apart
(a whole number of every branch's frame hop) share all but the newest frames. LOFAR and DEMON frames are cut
from a slower signal (the decimated audio, the carrier bands' envelopes) whose samples are shared too, so a
stream filters only its new audio: :class:`SignalFeatures` computes those signals from any span of audio,
:class:`FrameFeatures` a branch's frames from its signal (the log-mel's from audio), and :class:`WindowHead`
turns one window's frames into the contract's outputs (the window-wide operations: the log-mel's normalisation,
statistics over frames, the network, the physics readout). ``WindowHead(FrameFeatures(SignalFeatures(window)))``
is the whole model, to the bit; a node that keeps the previous window's signals and frames computes only the
new ones (``acoustics/split_model.py``).
"""

from __future__ import annotations

import torch
from torch import nn

from uwac.training.frontend.physics import PhysicsFrontend
from uwac.training.models.classifier import Classifier, PhysicsReadout

# Axis of the frames in each branch's per-frame output (batch first): mel power [b, mels, frames], LOFAR
# [b, frames, bins], DEMON [b, bands, frames, bins].
FRAME_AXIS = {"mel": 2, "lofar": 1, "demon": 2}
# Branches whose frames are cut from a signal slower than the audio (its samples along the last axis): LOFAR's
# decimated audio [b, n], DEMON's envelopes [b, bands, n].
SIGNAL_BRANCHES = ("lofar", "demon")


def frame_input(branch: str) -> str:
    """Name of the audio input for ``branch`` (of the signal graph, or of the frames graph for the log-mel):
    each branch reads its own span."""
    return f"audio_{branch}"


def signal_output(branch: str) -> str:
    """Name of ``branch``'s signal (an output of the signal graph, an input of the frames graph)."""
    return f"{branch}_signal"


def frame_output(branch: str) -> str:
    """Name of ``branch``'s frames (an output of the frames graph, an input of the head graph)."""
    return f"{branch}_frames"


def split_branches(model: Classifier) -> tuple[str, ...]:
    """The branches of a model that can be split; ``ValueError`` for a model without the physics front-end."""
    if not isinstance(model.frontend, PhysicsFrontend):
        raise ValueError("only the physics ear (model.name: ear) splits into frames and head; this model reads a "
                         "single log-mel and is scored whole")
    return tuple(model.frontend.branches)


def signal_branches(model: Classifier) -> tuple[str, ...]:
    """The model's branches whose frames come from a signal stage (:data:`SIGNAL_BRANCHES`), in model order."""
    return tuple(b for b in split_branches(model) if b in SIGNAL_BRANCHES)


class SignalFeatures(nn.Module):
    """One audio span per signal branch ``[batch, samples]`` → that branch's signal (LOFAR: decimated audio
    ``[batch, n]``; DEMON: envelopes ``[batch, bands, n]``), in ``signal_branches`` order."""

    def __init__(self, model: Classifier):
        super().__init__()
        self.branches = signal_branches(model)
        self.frontend = model.frontend

    def forward(self, *audio: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(getattr(self.frontend, b).signal(x) for b, x in zip(self.branches, audio, strict=True))


class FrameFeatures(nn.Module):
    """Per branch, in ``split_branches`` order, its input → its frames: the log-mel from an audio span (mel power,
    before the window's normalisation), LOFAR and DEMON from a span of their signal (:class:`SignalFeatures`;
    grams in dB over background / 10)."""

    def __init__(self, model: Classifier):
        super().__init__()
        self.branches = split_branches(model)
        self.frontend = model.frontend

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = []
        for branch, x in zip(self.branches, inputs, strict=True):
            module = getattr(self.frontend, branch)
            out.append(module.mel_power(x) if branch == "mel" else module.from_signal(x))
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
