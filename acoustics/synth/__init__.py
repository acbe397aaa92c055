"""Physics-based scenario generator: what a hydrophone records from ambient, merchant, warship and drone
sources (DESIGN.md, "Synthetic scenarios"; figures from physics.md). numpy, scipy optional (a node renders without it: numerics.py), never torch."""

from uwac.acoustics.synth.dataset import render_dataset
from uwac.acoustics.synth.scene import render_recording, render_scene

__all__ = ["render_dataset", "render_recording", "render_scene"]
