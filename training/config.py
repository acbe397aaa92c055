"""Training configuration: plain dataclasses loaded from YAML, written back resolved beside each run."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from uwac.acoustics.features import FrontendConfig
from uwac.acoustics.frontend.demon_gram import demon_min_samples
from uwac.acoustics.frontend.lofar_gram import lofar_min_samples
from uwac.acoustics.taxonomy import CLASSES


@dataclass
class ModelConfig:
    """Network family and its sizes.

    ``name``: ``cnn`` (compact CNN; ``size`` small or base picks its widths unless ``channels`` is given)
    or ``transformer`` (AST-style encoder over spectrogram patches: ``patch`` = (mel bands, frames) per
    patch, ``patch_stride`` likewise, ``dim`` / ``depth`` / ``heads`` / ``mlp_ratio`` of the encoder), both over
    the log-mel alone; or ``ear`` (one stem per front-end branch: LOFAR, DEMON, log-mel; ``width`` scales its
    channels). ``physics_weight``: weight of the auxiliary physics heads' loss beside the class loss (0 = none;
    ``acoustics.physics_targets.HEADS``), trained where a render's JSON gives the targets.
    """

    name: str = "cnn"
    size: str = "base"
    channels: list[int] | None = None
    embedding_dim: int | None = None
    dropout: float = 0.2
    patch: list[int] = field(default_factory=lambda: [16, 16])
    patch_stride: list[int] = field(default_factory=lambda: [16, 8])
    dim: int = 96
    depth: int = 4
    heads: int = 4
    mlp_ratio: float = 2.0
    width: float = 1.0
    physics_weight: float = 0.0


@dataclass
class DataConfig:
    """Windowing (seconds) and the recording-level split used when the manifest has none.

    ``exclude_fine_labels``: fine types (manifest ``fine_label``) held out for an open-set check: every
    train or val recording holding one is dropped, test keeps them (``training.data.hold_out_fine``).
    ``window_labels``: how a window of a vessel recording whose contact is not audible in it (the render's strong
    labels; ``acoustics.physics_targets``) trains: ``ignore`` (left out of the class loss and of validation),
    ``ambient``, or ``recording`` (the recording's label whatever is audible, as before issue 9).
    """

    window_seconds: float = 3.0
    hop_seconds: float = 1.0
    split_fractions: list[float] = field(default_factory=lambda: [0.7, 0.15, 0.15])
    split_seed: int = 0
    balanced: bool = True          # draw training windows so each class is seen equally often per epoch
    workers: int = 0               # DataLoader worker processes (0 = in the training process)
    cache_dir: str | None = None   # resampled-span cache; None = $UWAC_CACHE or ~/.cache/uwac/spans
    ambient_bank: list[str] = field(default_factory=list)  # extra manifests whose ambient rows are mixed in
    exclude_fine_labels: list[str] = field(default_factory=list)  # fine types kept out of train and val (open set)
    window_labels: str = "recording"


@dataclass
class AugmentConfig:
    """On-the-fly training augmentation (never applied to validation or test windows).

    ambient_mix_prob / snr_db: mix an ambient window from the bank into a training window at a random
    broadband SNR in dB (signal window power over ambient window power). gain_db: random gain range in dB.
    time_shift: random window starts within a span (else the 1-s grid). speed / speed_prob: resampling
    factor range (Doppler and shaft-rate change). freq_masks × freq_mask_bins, time_masks × time_mask_frames:
    SpecAugment masks on the normalised log-mel (mel bands, frames). short_prob / short_seconds: with this
    probability a window is a piece of itself, its length uniform in short_seconds (s, capped below the window),
    repeated up to the window — exactly how a clip shorter than the window is scored
    (:func:`uwac.acoustics.contract.short_clip_window`), so the model learns to read repeated pieces too.
    """

    enabled: bool = True
    ambient_mix_prob: float = 0.5
    snr_db: list[float] = field(default_factory=lambda: [-5.0, 20.0])
    gain_db: list[float] = field(default_factory=lambda: [-20.0, 20.0])
    time_shift: bool = True
    speed: list[float] = field(default_factory=lambda: [0.98, 1.02])
    speed_prob: float = 0.5
    freq_masks: int = 2
    freq_mask_bins: int = 6
    time_masks: int = 2
    time_mask_frames: int = 10
    short_prob: float = 0.0
    short_seconds: list[float] = field(default_factory=lambda: [4.0, 12.0])


@dataclass
class OptimConfig:
    """AdamW with linear warm-up then cosine decay, stepped per batch."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.05
    label_smoothing: float = 0.05
    early_stopping_patience: int = 0  # stop after this many epochs without a better val macro-F1 (0 = off)
    amp: str = "auto"                 # mixed precision: auto (bf16/fp16 on CUDA, off on CPU), off, bf16, fp16
    grad_clip: float = 5.0            # max gradient norm (0 = off)


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
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    baseline: bool = True  # also fit the scikit-learn baseline on the same splits (training/baseline.py)
    device: str = "auto"   # auto (CUDA when present), cpu, cuda, cuda:N
    init_from: str | None = None  # warm start: a checkpoint (e.g. synthetic-pretrained) whose matching weights load
    tensorboard: bool = True      # write TensorBoard event files under the run's tb/ folder

    def window_samples(self) -> int:
        return int(round(self.data.window_seconds * self.frontend.sample_rate))

    def hop_samples(self) -> int:
        return int(round(self.data.hop_seconds * self.frontend.sample_rate))

    def validate(self) -> TrainConfig:
        """Raise ``ValueError`` naming the setting that cannot work, and why."""
        fe = self.frontend
        if self.window_samples() < fe.n_fft:
            raise ValueError(f"data.window_seconds={self.data.window_seconds} is shorter than one FFT frame ({fe.n_fft} samples)")
        fe.validate()
        if self.model.name == "ear":
            need = min_window_samples(fe)
            if self.window_samples() < need:
                raise ValueError(f"data.window_seconds={self.data.window_seconds} is shorter than one LOFAR/DEMON frame "
                                 f"({need / fe.sample_rate:.2f} s)")
        elif tuple(fe.branches) != ("mel",):
            raise ValueError(f"model.name={self.model.name!r} reads the log-mel alone; set frontend.branches: [mel] or "
                             "use model.name: ear")
        if self.data.window_labels not in ("ignore", "ambient", "recording"):
            raise ValueError(f"data.window_labels={self.data.window_labels!r}; choose ignore, ambient or recording")
        if self.model.name != "ear" and self.hop_samples() % fe.hop_length:
            raise ValueError(f"data.hop_seconds={self.data.hop_seconds} s ({self.hop_samples()} samples) must be a multiple of "
                             f"frontend.hop_length={fe.hop_length} so windows share spectrogram frames")
        if fe.f_max > fe.sample_rate / 2 or fe.fmin >= fe.f_max:
            raise ValueError(f"frontend band {fe.fmin}-{fe.f_max} Hz must lie within 0-{fe.sample_rate / 2} Hz")
        if len(set(self.classes)) != len(self.classes) or len(self.classes) < 2:
            raise ValueError(f"classes must be at least two distinct labels, got {self.classes}")
        if self.model.name not in ("cnn", "transformer", "ear"):
            raise ValueError(f"model.name={self.model.name!r}; this version has: cnn, transformer, ear")
        if self.model.size not in ("small", "base"):
            raise ValueError(f"model.size={self.model.size!r}; choose small or base")
        if self.optim.amp not in ("auto", "off", "bf16", "fp16"):
            raise ValueError(f"optim.amp={self.optim.amp!r}; choose auto, off, bf16 or fp16")
        held = self.data.exclude_fine_labels
        if not isinstance(held, list) or not all(isinstance(f, str) and f.strip() for f in held) or len(set(held)) != len(held):
            raise ValueError(f"data.exclude_fine_labels must be a list of distinct fine-type names, got {held!r}")
        aug = self.augment
        for name in ("snr_db", "gain_db", "speed"):
            lo_hi = getattr(aug, name)
            if len(lo_hi) != 2 or lo_hi[0] > lo_hi[1]:
                raise ValueError(f"augment.{name} must be [low, high] with low <= high, got {lo_hi}")
        if aug.speed[0] <= 0.5 or aug.speed[1] >= 2.0:
            raise ValueError(f"augment.speed {aug.speed} is outside (0.5, 2); it is a resampling factor near 1")
        return self


def min_window_samples(fe: FrontendConfig) -> int:
    """Fewest samples every enabled branch of ``fe`` needs for one frame."""
    need = [fe.n_fft]
    if "lofar" in fe.branches:
        need.append(lofar_min_samples(fe))
    if "demon" in fe.branches:
        need.append(demon_min_samples(fe))
    return max(need)


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
    if cls is FrontendConfig:
        try:
            return FrontendConfig.from_dict(data)
        except TypeError as exc:
            raise ValueError(f"{where or 'config'}: {exc}") from None
    for key, value in data.items():
        hint = hints[key]
        kwargs[key] = _build(hint, value, f"{where}.{key}".lstrip(".")) if dataclasses.is_dataclass(hint) else value
    return cls(**kwargs)


def config_from_dict(data: dict) -> TrainConfig:
    """A validated config from a (YAML-loaded) dict; missing settings take their defaults."""
    return _build(TrainConfig, data or {}, "").validate()


def _merge(base: dict, over: dict) -> dict:
    """``over`` laid on ``base``: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _read_recipe(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    """A YAML recipe with its ``extends:`` chain resolved (the base file is named relative to this one)."""
    if not path.is_file():
        raise FileNotFoundError(f"config {path} not found; the shipped configs are in training/configs/")
    if path.resolve() in seen:
        raise ValueError(f"{path}: extends itself through {' -> '.join(p.name for p in seen)}")
    with path.open() as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a recipe is a YAML mapping of settings")
    base = data.pop("extends", None)
    if base is None:
        return data
    return _merge(_read_recipe(path.parent / str(base), (*seen, path.resolve())), data)


def apply_overrides(data: dict, overrides: list[str] | None) -> dict:
    """``["data.window_seconds=9", "optim.epochs=4"]`` laid on a recipe's mapping; values parse as YAML."""
    for item in overrides or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set {item!r}: expected KEY=VALUE, e.g. data.window_seconds=9")
        node = data
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"--set {item!r}: {part} is not a section")
        node[leaf] = yaml.safe_load(value)
    return data


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Load a YAML training config; ``extends: base.yaml`` inherits another recipe (this file states only what
    differs), ``overrides`` (``section.key=value``, as ``uwac train --set``) come last; missing settings take the
    dataclass defaults."""
    path = Path(path)
    data = apply_overrides(_read_recipe(path), overrides)
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
