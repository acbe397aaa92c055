"""Writing an exported ONNX program: its metadata replaced by the contract's, checked, saved."""

from __future__ import annotations

from pathlib import Path

import onnx


def save_with_metadata(program, path: str | Path, props: dict[str, str]) -> Path:
    """Write ``program`` (a ``torch.onnx.export`` result) to ``path`` with ``props`` as its only metadata, after
    ONNX's checker; returns the path."""
    proto = program.model_proto
    del proto.metadata_props[:]
    for key, value in props.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(proto)
    onnx.save_model(proto, str(path))
    return Path(path)
