"""TensorBoard logging for a run (scalars per step and epoch, the validation confusion matrix as an image).

Writes under ``<run>/tb``; view with ``tensorboard --logdir <run>/tb``. Only rank 0 logs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from uwac.acoustics.analysis.plots import confusion_png


class TensorBoardLog:
    """A thin wrapper over ``torch.utils.tensorboard.SummaryWriter``; ``enabled=False`` makes every call a no-op."""

    def __init__(self, run: str | Path, *, enabled: bool, purge_step: int | None = None):
        self.writer = None
        if enabled:
            from torch.utils.tensorboard import SummaryWriter

            # purge_step drops events a killed run wrote after its last checkpoint, so a resumed run's curves are clean
            self.writer = SummaryWriter(log_dir=str(Path(run) / "tb"), purge_step=purge_step)

    def scalars(self, step: int, **values: float) -> None:
        """One point per named curve (``train/loss``-style names) at ``step``."""
        if self.writer:
            for name, value in values.items():
                self.writer.add_scalar(name, value, step)

    def confusion(self, step: int, confusion: list[list[int]], classes: list[str], *, title: str) -> None:
        """The confusion matrix drawn as in the reports, logged as image ``val/confusion``."""
        if not self.writer:
            return
        import matplotlib.image

        with tempfile.TemporaryDirectory() as tmp:
            png = confusion_png(confusion, classes, Path(tmp) / "confusion.png", title=title)
            image = matplotlib.image.imread(str(png))
        image = (np.clip(image[..., :3], 0, 1) * 255).astype(np.uint8)
        self.writer.add_image("val/confusion", image, step, dataformats="HWC")

    def close(self) -> None:
        """Flush and close the event file."""
        if self.writer:
            self.writer.flush()
            self.writer.close()
