"""Model families. ``build_model`` turns a ``ModelConfig`` into a network over the front-end's output."""

from uwac.training.models.classifier import Classifier, build_classifier, build_net

__all__ = ["Classifier", "build_classifier", "build_net"]
