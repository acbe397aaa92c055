"""Training configuration: plain dataclasses loaded from YAML, written back resolved beside each run."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from acoustics.features import FrontendConfig
from acoustics.taxonomy import CLASSES


@dataclass
class ModelConfig:
    """Network family and widths. ``name``: ``cnn``."""

    name: str = "cnn"
    channels: list[int] = field(default_factory=lambda: [16, 32, 64, 128])
    embedding_dim: int = 128
    dropout: float = 0.2


@dataclass
class DataConfig:
    """Windowing (seconds) and the recording-level split used when the manifest has none."""

    window_seconds: float = 3.0
    hop_seconds: float = 1.0
    split_fractions: list[float] = field(default_factory=lambda: [0.7, 0.15, 0.15])
    split_seed: int = 0


@dataclass
class OptimConfig:
    """AdamW with linear warm-up then cosine decay, stepped per batch."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    label_smoothing: float = 0.05


@dataclass
class TrainConfig:
    """Everything a training run depends on; written resolved as ``config.yaml`` beside the run."""

    name: str = "default"
    notes: str = ""
    seed: int = 0
    threads: int = 2
    classes: list[str] = field(default_factory=lambda: list(CLASSES))
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    baseline: bool = True  # also fit the scikit-learn baseline on the same splits (training/baseline.py)

    def window_samples(self) -> int:
        return int(round(self.data.window_seconds * self.frontend.sample_rate))

    def hop_samples(self) -> int:
        return int(round(self.data.hop_seconds * self.frontend.sample_rate))

    def validate(self) -> TrainConfig:
        """Raise ``ValueError`` naming the setting that cannot work, and why."""
        fe = self.frontend
        if self.window_samples() < fe.n_fft:
            raise ValueError(f"data.window_seconds={self.data.window_seconds} is shorter than one FFT frame ({fe.n_fft} samples)")
        if self.hop_samples() % fe.hop_length:
            raise ValueError(f"data.hop_seconds={self.data.hop_seconds} s ({self.hop_samples()} samples) must be a multiple of "
                             f"frontend.hop_length={fe.hop_length} so windows share spectrogram frames")
        if fe.f_max > fe.sample_rate / 2 or fe.fmin >= fe.f_max:
            raise ValueError(f"frontend band {fe.fmin}-{fe.f_max} Hz must lie within 0-{fe.sample_rate / 2} Hz")
        if len(set(self.classes)) != len(self.classes) or len(self.classes) < 2:
            raise ValueError(f"classes must be at least two distinct labels, got {self.classes}")
        return self


def _build(cls, data: dict, where: str):
    """Dataclass ``cls`` from a dict, recursing into nested dataclasses; unknown keys are errors."""
    if not isinstance(data, dict):
        raise ValueError(f"{where or 'config'}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ValueError(f"{where or 'config'}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
    kwargs = {}
    for key, value in data.items():
        hint = hints[key]
        kwargs[key] = _build(hint, value, f"{where}.{key}".lstrip(".")) if dataclasses.is_dataclass(hint) else value
    return cls(**kwargs)


def config_from_dict(data: dict) -> TrainConfig:
    """A validated config from a (YAML-loaded) dict; missing settings take their defaults."""
    return _build(TrainConfig, data or {}, "").validate()


def load_config(path: str | Path) -> TrainConfig:
    """Load a YAML training config; missing settings take the dataclass defaults."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config {path} not found; the shipped configs are in training/configs/")
    with path.open() as fh:
        data = yaml.safe_load(fh)
    try:
        return config_from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


def config_to_dict(cfg: TrainConfig) -> dict:
    """Plain nested dict of every setting (for YAML and checkpoints)."""
    return dataclasses.asdict(cfg)


def save_config(cfg: TrainConfig, path: str | Path) -> Path:
    """Write the resolved config (every setting, defaults included) as YAML."""
    path = Path(path)
    path.write_text(yaml.safe_dump(config_to_dict(cfg), sort_keys=False))
    return path
