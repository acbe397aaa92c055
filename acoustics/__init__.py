"""uwac core: everything a sonar node needs, without torch.

Audio I/O, the class taxonomy, numpy reference features, the scenario generator, manifests,
the ONNX model contract, evaluation and the ``uwac`` command line.
"""

__version__ = "0.1.0"
