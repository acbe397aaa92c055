"""Execution providers: asked-for accelerators are used when onnxruntime offers them, else CPU with a log line."""

import logging

import pytest

from uwac.acoustics import providers
from uwac.acoustics.contract import load_session


def test_default_is_cpu_only():
    assert providers.resolve(None) == ["CPUExecutionProvider"]
    assert providers.resolve("cpu") == ["CPUExecutionProvider"]


def test_missing_accelerator_falls_back_to_cpu_with_a_log_line(monkeypatch, caplog):
    monkeypatch.setattr(providers, "available", lambda: ["CPUExecutionProvider"])
    with caplog.at_level(logging.WARNING, logger="uwac.acoustics.providers"):
        assert providers.resolve("cuda") == ["CPUExecutionProvider"]
    assert "CUDAExecutionProvider" in caplog.text and "running on CPUExecutionProvider" in caplog.text


def test_offered_accelerators_come_first_in_the_asked_order(monkeypatch):
    monkeypatch.setattr(providers, "available",
                        lambda: ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"])
    assert providers.resolve(["cuda", "tensorrt"]) == ["CUDAExecutionProvider", "TensorrtExecutionProvider",
                                                       "CPUExecutionProvider"]
    assert providers.resolve("auto") == ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    assert providers.resolve("cuda,cpu") == ["CUDAExecutionProvider", "CPUExecutionProvider"]


def test_auto_without_accelerators_is_quiet_cpu(monkeypatch, caplog):
    monkeypatch.setattr(providers, "available", lambda: ["CPUExecutionProvider"])
    with caplog.at_level(logging.WARNING, logger="uwac.acoustics.providers"):
        assert providers.resolve("auto") == ["CPUExecutionProvider"]
    assert not caplog.records


def test_unknown_provider_name_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown execution provider 'gpu'.*cuda"):
        providers.resolve("gpu")


def test_session_asked_for_cuda_runs_on_cpu_here(exported_model):
    session, info = load_session(exported_model, providers="cuda", threads=1)
    if "CUDAExecutionProvider" not in providers.available():
        assert session.get_providers() == ["CPUExecutionProvider"]
    assert info.window_samples > 0
