"""Front-end + network as one module: audio in, (logits, probabilities, embedding) out.

This is the module that is trained and exported; its outputs are the model contract's outputs. The physics
ear also carries auxiliary heads on its embedding (:class:`PhysicsHeads`): trained beside the class, and
exported as the optional ``physics`` output when asked.
"""

from __future__ import annotations

import torch
from torch import nn

from uwac.acoustics.features import FrontendConfig
from uwac.acoustics.frontend.bins import demon_freqs, lofar_freqs
from uwac.acoustics.physics_targets import BLADE_COUNTS, HEADS, shaft_bin_centres_hz
from uwac.training.config import ModelConfig
from uwac.training.frontend import build_frontend
from uwac.training.models.cnn import CompactCNN, cnn_widths
from uwac.training.models.ear import PhysicsEar
from uwac.training.models.transformer import PatchTransformer

FAMILIES = ("cnn", "transformer", "ear")


def build_net(cfg: ModelConfig, *, n_classes: int, frontend: FrontendConfig) -> nn.Module:
    """The network named by ``cfg.name`` over the front-end's output; ``ValueError`` if unknown.

    The returned module carries ``family``, a short label such as ``cnn/base`` for logs and summaries.
    """
    n_mels = frontend.n_mels
    if cfg.name == "cnn":
        channels, embedding_dim = cnn_widths(cfg.size, cfg.channels, cfg.embedding_dim)
        net = CompactCNN(n_classes=n_classes, channels=channels, embedding_dim=embedding_dim, dropout=cfg.dropout)
        custom = cfg.channels or cfg.embedding_dim
        net.family = f"cnn/{cfg.size}" if not custom else f"cnn/{'-'.join(map(str, channels))}/{embedding_dim}"
        return net
    if cfg.name == "transformer":
        net = PatchTransformer(n_classes=n_classes, n_mels=n_mels, patch=tuple(cfg.patch),
                               patch_stride=tuple(cfg.patch_stride), dim=cfg.dim, depth=cfg.depth,
                               heads=cfg.heads, mlp_ratio=cfg.mlp_ratio, dropout=cfg.dropout)
        net.family = f"transformer/d{cfg.dim}x{cfg.depth}"
        return net
    if cfg.name == "ear":
        branches = frontend.branches
        net = PhysicsEar(n_classes=n_classes, lofar_freqs=lofar_freqs(frontend) if "lofar" in branches else None,
                         demon_freqs=demon_freqs(frontend) if "demon" in branches else None,
                         bands=len(frontend.demon.bands_hz), mels=n_mels if "mel" in branches else None,
                         embedding_dim=cfg.embedding_dim or 128, dropout=cfg.dropout, width=cfg.width)
        net.family = f"ear/{'+'.join(branches)}" + (f"/x{cfg.width:g}" if cfg.width != 1.0 else "")
        return net
    raise ValueError(f"unknown model family {cfg.name!r} (model.name); this version has: {', '.join(FAMILIES)}")


class PhysicsHeads(nn.Module):
    """One linear head per :data:`acoustics.physics_targets.HEADS` entry on the embedding: ``{name: logits}``."""

    def __init__(self, embedding_dim: int):
        super().__init__()
        self.heads = nn.ModuleDict({name: nn.Linear(embedding_dim, size) for name, (_, size) in HEADS.items()})

    def forward(self, embedding: torch.Tensor) -> dict[str, torch.Tensor]:
        return {name: head(embedding) for name, head in self.heads.items()}


PHYSICS_FIELDS = ("audible", "shaft_hz", "shaft_confidence", "blades", "blades_confidence", "two_shafts", "firing",
                  "cavitating", "pwm")
PHYSICS_DOC = {  # written into ``uwac.physics`` beside the field names
    "audible": "probability that a contact is audible in the window",
    "shaft_hz": "first shaft's rate [Hz]: geometric mean of the shaft-rate bins weighted by their probabilities",
    "shaft_confidence": "probability of the most likely shaft-rate bin",
    "blades": "expected blade count (3–7)", "blades_confidence": "probability of the most likely blade count",
    "two_shafts": "probability of two shafts (warships always have two)",
    "firing": "probability that engine firing-rate lines are present",
    "cavitating": "probability that the propeller cavitates (DEMON lines)",
    "pwm": "probability of BLDC PWM tonal groups (UUVs)",
    "note": "estimates of the physics heads, meaningful where the contact is audible; trained on renders only",
}


class PhysicsReadout(nn.Module):
    """The physics heads' logits as the numbers an analyst reads, ``[batch, len(PHYSICS_FIELDS)]`` (exported)."""

    def __init__(self, heads: PhysicsHeads):
        super().__init__()
        self.heads = heads
        self.register_buffer("log_shaft_hz", torch.log(torch.as_tensor(shaft_bin_centres_hz(), dtype=torch.float32)),
                             persistent=False)
        self.register_buffer("blade_counts", torch.as_tensor(BLADE_COUNTS, dtype=torch.float32), persistent=False)

    def forward(self, embedding: torch.Tensor) -> torch.Tensor:
        out = self.heads(embedding)
        shaft = torch.softmax(out["shaft_rate"], dim=-1)
        blades = torch.softmax(out["blades"], dim=-1)
        shafts = torch.softmax(out["shafts"], dim=-1)
        # every column kept 2-D ([batch, 1]) and cut with ranges, so the graph holds Slice, never Gather
        cols = [torch.sigmoid(out["audible"]), torch.exp(shaft @ self.log_shaft_hz[:, None]),
                shaft.amax(dim=-1, keepdim=True), blades @ self.blade_counts[:, None],
                blades.amax(dim=-1, keepdim=True), shafts[:, 1:2], torch.sigmoid(out["firing"]),
                torch.sigmoid(out["cavitating"]), torch.sigmoid(out["pwm"])]
        return torch.cat(cols, dim=-1)


class WithPhysics(nn.Module):
    """``forward(audio) -> (logits, probabilities, embedding, physics)``: a :class:`Classifier` with its physics
    readout as a fourth output, as exported when the model has physics heads."""

    def __init__(self, model: Classifier):
        super().__init__()
        self.model = model
        self.readout = PhysicsReadout(model.physics)

    def forward(self, audio: torch.Tensor):
        logits, probs, embedding = self.model(audio)
        return logits, probs, embedding, self.readout(embedding)


class Classifier(nn.Module):
    """``forward(audio [batch, samples]) -> (logits, probabilities, embedding)``.

    ``probabilities = softmax(logits / temperature)``: the temperature (1 until calibrated) is fitted on the
    validation split after training (``training/calibration.py``) and travels inside the exported graph, so
    every consumer of the file gets calibrated probabilities. ``logits`` stay raw. ``physics``: the auxiliary
    heads (None for a model trained without them).
    """

    def __init__(self, frontend: nn.Module, net: nn.Module, physics: PhysicsHeads | None = None):
        super().__init__()
        self.frontend = frontend
        self.net = net
        self.physics = physics
        self.register_buffer("temperature", torch.ones(()))

    def classify_features(self, features) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        logits, embedding = self.net(features)
        return logits, torch.softmax(logits / self.temperature, dim=-1), embedding

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.classify_features(self.frontend(audio))

    def features_fast(self, audio: torch.Tensor):
        """The front-end's output through its FFT paths (training and validation on CPU)."""
        return self.frontend.fast(audio)


def build_classifier(frontend_cfg: FrontendConfig, model_cfg: ModelConfig, *, n_classes: int) -> Classifier:
    """Front-end and network for ``n_classes`` outputs, freshly initialised (with physics heads when
    ``model_cfg.physics_weight`` > 0)."""
    net = build_net(model_cfg, n_classes=n_classes, frontend=frontend_cfg)
    frontend = build_frontend(frontend_cfg, multi_branch=model_cfg.name == "ear")
    physics = None
    if model_cfg.physics_weight > 0:
        dim = net.head.in_features
        physics = PhysicsHeads(dim)
    return Classifier(frontend, net, physics)
