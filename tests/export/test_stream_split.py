"""The physics ear's streaming graphs: signal, frames and head stages are the whole model to the bit, a step lines
up with every branch's frames and signal samples, the exported graphs step a stream (gaps, several channels, odd
blocks) to the whole file's probabilities and frames, a steady hop allocates nothing, graphs that do not belong
to their file are refused, and a pair exported before the signal stage still steps."""

import json
import shutil
import tracemalloc

import numpy as np
import onnx
import pytest
import torch

from uwac.acoustics.contract import ModelError, load_session
from uwac.acoustics.split_model import SPLIT_KEY, FrameCache, load_split, pair_paths
from uwac.acoustics.stream.blocks import Block
from uwac.acoustics.stream.scorer import Scorer
from uwac.export.stream_split import choose_step, frame_hops, split_plan
from uwac.training.checkpoint import load_checkpoint
from uwac.training.models.split import FRAME_AXIS, FrameFeatures, SignalFeatures, WindowHead, split_branches


def frames_of_audio(model, *audio: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Every branch's frames from one audio span per branch (``split_branches`` order): the signal stage, then
    the frames stage; what a window's frames are, the reference a stream's kept frames must equal."""
    branches = split_branches(model)
    spans = dict(zip(branches, audio, strict=True))
    sig = SignalFeatures(model)
    signals = dict(zip(sig.branches, sig(*[spans[b] for b in sig.branches]), strict=True))
    return FrameFeatures(model)(*[signals.get(b, spans[b]) for b in branches])


@pytest.fixture(scope="module")
def ear(ear_run):
    model, cfg, _ = load_checkpoint(ear_run)
    return model, cfg


@pytest.fixture(scope="module")
def pair(tmp_path_factory, ear_run):
    """The ear exported by ``uwac export`` (whole file and its pair); (model path, export report)."""
    from uwac.acoustics.cli import main

    out = tmp_path_factory.mktemp("split") / "ear.onnx"
    assert main(["export", str(ear_run), "--out", str(out)]) == 0
    return out, json.loads(out.with_suffix(".export.json").read_text())


def test_head_over_frames_is_the_whole_model(ear):
    model, cfg = ear
    x = torch.randn(3, cfg.window_samples() + 777) * 0.05
    with torch.no_grad():
        whole = model(x)
        split = WindowHead(model, physics=False)(*frames_of_audio(model, *[x] * len(cfg.frontend.branches)))
    for a, b in zip(whole, split, strict=True):
        assert torch.equal(a, b)


def test_a_step_shares_whole_frames_with_the_window_before(ear):
    model, cfg = ear
    fe, window = cfg.frontend, cfg.window_samples()
    hops = frame_hops(fe)
    assert hops == {"mel": 256, "lofar": 16000, "demon": 16000}  # every frame hop divides the 2-s decision hop
    plan = split_plan(model, fe, window=window, hop=cfg.hop_samples(), reference_sha256="0" * 64)
    assert plan.step == choose_step(hops, cfg.hop_samples()) == cfg.hop_samples() == 32000
    assert all(plan.step % h == 0 for h in hops.values())
    x = torch.randn(1, window + plan.step) * 0.05
    n = len(hops)
    with torch.no_grad():
        first = frames_of_audio(model, *[x[:, :window]] * n)
        second = frames_of_audio(model, *[x[:, plan.step:]] * n)
        signals = dict(zip(SignalFeatures(model).branches, SignalFeatures(model)(*[x[:, plan.step:]] * 2), strict=True))
        fresh = SignalFeatures(model)(*[x[:, plan.step + b.tail_start:] for b in plan.signal_branches])
        tails = [getattr(model.frontend, b.name).from_signal(signals[b.name][..., b.signal_start:]) if b.signal_rate
                 else model.frontend.mel.mel_power(x[:, plan.step + b.tail_start:]) for b in plan.branches]
    for b, new_signal in zip(plan.signal_branches, fresh, strict=True):  # the new audio gives the new signal
        assert new_signal.shape[-1] == plan.signal_new(b) == plan.step // b.signal_rate
        assert torch.allclose(new_signal, signals[b.name][..., -plan.signal_new(b):], atol=1e-6)
    for b, f1, f2, t in zip(plan.branches, first, second, tails, strict=True):
        axis = FRAME_AXIS[b.name]
        assert f2.shape[axis] == b.frames and t.shape[axis] == b.new
        assert torch.allclose(t, f2.narrow(axis, b.frames - b.new, b.new), atol=1e-5)  # the tail gives the new ones
        assert torch.allclose(f1.narrow(axis, b.new, b.frames - b.new),  # the rest are the window before's
                              f2.narrow(axis, 0, b.frames - b.new), atol=1e-5)


def test_pair_is_plain_ops_and_names_its_model(pair):
    path, report = pair
    split = report["split"]
    assert split["max_abs_prob_diff_vs_whole"] <= 1e-4 and split["step_seconds"] == pytest.approx(2.0)
    assert set(pair_paths(path)) == {"signal", "frames", "head"}
    for role, half in pair_paths(path).items():
        proto = onnx.load(str(half))
        ops = {n.op_type for n in proto.graph.node}
        assert not ops & {"STFT", "DFT", "MelWeightMatrix", "Gather"}
        props = {p.key: p.value for p in proto.metadata_props}
        assert props["uwac.split_role"] == role and json.loads(props[SPLIT_KEY])["step_samples"] == 32000
    with pytest.raises(ModelError, match="half of a model's streaming pair"):
        load_session(pair_paths(path)["frames"])


def test_kept_signals_and_frames_equal_each_windows_own(pair):
    """Stepping keeps, per channel, exactly the signals and frames each window computed afresh would have."""
    path, _ = pair
    session, info = load_session(path)
    split = load_split(path, session, info)
    plan, rng = split.plan, np.random.default_rng(3)
    t = np.arange(plan.window + 4 * plan.step) / info.sample_rate
    audio = np.stack([0.02 * rng.standard_normal(t.size) + 0.1 * np.sin(2 * np.pi * f * t) * (1 + 0.5 * np.sin(5 * t))
                      for f in (61.0, 433.0)]).astype(np.float32)
    cache = FrameCache(split, 2)
    for i in range(5):
        window = audio[:, i * plan.step: i * plan.step + plan.window]
        cache.score(window, primed=i > 0)
        fresh = split.window_signals(np.ascontiguousarray(window))
        for b in plan.signal_branches:
            np.testing.assert_allclose(cache.signals[b.input], fresh[b.input][..., b.signal_start:], rtol=0, atol=1e-6)
        for name, frames in split.window_frames(np.ascontiguousarray(window), fresh).items():
            np.testing.assert_allclose(cache.state[name], frames, rtol=0, atol=1e-5)


def stream(session, info, split, audio, block=7000, gap_at=None):
    """Every hop's (start s, probabilities, physics) of a Scorer over ``audio [n, channels]`` at the pair's step."""
    scorer = Scorer(session, info, hop_samples=None if split else 32000, split=split)
    hops = []
    for i in range(0, len(audio), block):
        gap = 5000 if gap_at is not None and i <= gap_at < i + block else 0
        scorer.push(Block(samples=audio[i:i + block], sample_rate=info.sample_rate, position=i, gap_samples=gap),
                    lambda h: hops.append((h.start_s, h.probabilities.copy(), h.physics.copy())))
    return hops


def test_stepping_the_pair_scores_a_stream_as_the_whole_file(pair):
    from uwac.acoustics.synth import render_recording

    path, _ = pair
    session, info = load_session(path)
    split = load_split(path, session, info)
    audio, _ = render_recording(label="warship", seed=5, duration_s=30.0, sample_rate=info.sample_rate)
    audio = np.stack([audio, np.roll(audio, 12345)], axis=1).astype(np.float32)
    whole = stream(session, info, None, audio, gap_at=14 * info.sample_rate)
    stepped = stream(session, info, split, audio, gap_at=14 * info.sample_rate)
    assert [h[0] for h in stepped] == [h[0] for h in whole] and len(whole) >= 5
    assert np.diff([h[0] for h in whole]).min() == pytest.approx(2.0)  # the graphs' step, and a restart after the gap
    for (_, p, q), (_, p2, q2) in zip(whole, stepped, strict=True):
        assert np.abs(p - p2).max() <= 1e-4 and np.abs(q - q2).max() <= 1e-4


def test_steady_state_steps_allocate_no_arrays(pair):
    path, _ = pair
    session, info = load_session(path)
    scorer = Scorer(session, info, split=load_split(path, session, info))
    rng = np.random.default_rng(0)
    step = scorer.hop
    blocks = [Block(samples=(0.05 * rng.standard_normal((step, 1))).astype(np.float32), sample_rate=info.sample_rate,
                    position=i * step) for i in range(30)]
    for b in blocks[:8]:
        scorer.push(b, lambda h: None)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for b in blocks[8:]:
        scorer.push(b, lambda h: None)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename") if s.size_diff > 0)
    assert grown < 4 * step  # far less than one step of float32 audio over 22 steps


def test_a_pair_that_is_not_its_models_is_refused(pair, tmp_path):
    path, _ = pair
    other = tmp_path / "ear.onnx"
    proto = onnx.load(str(path))
    proto.metadata_props.add(key="uwac.note", value="re-exported")  # the same graph, another file
    onnx.save_model(proto, str(other))
    halves = pair_paths(other)
    shutil.copy(pair_paths(path)["frames"], halves["frames"])
    session, info = load_session(other)
    with pytest.raises(ModelError, match="incomplete"):
        load_split(other, session, info)
    shutil.copy(pair_paths(path)["head"], halves["head"])
    with pytest.raises(ModelError, match="incomplete"):  # the plan names a signal stage
        load_split(other, session, info)
    shutil.copy(pair_paths(path)["signal"], halves["signal"])
    with pytest.raises(ModelError, match="SHA-256"):
        load_split(other, session, info)
    with pytest.raises(ValueError, match="does not step the streaming pair"):
        Scorer(*load_session(path), hop_samples=48000, split=load_split(path, *load_session(path)))


def test_daemon_steps_the_shipped_pair_and_scores_whole_when_it_is_broken(tmp_path, caplog):
    """The shipped model streams through its pair (exported before the signal stage: its frames half reads audio
    spans, step 2.304 s); with the head half truncated the daemon says so, scores every window whole at the
    model's hop and ends cleanly."""
    import logging

    import soundfile as sf

    from uwac.acoustics.stream.daemon import DEFAULT_MODEL, StreamConfig, run_stream
    from uwac.acoustics.synth import render_recording

    audio, _ = render_recording(label="merchant", seed=8, duration_s=16.0, sample_rate=16000)
    sf.write(tmp_path / "s.wav", audio, 16000)
    broken = tmp_path / "model" / "uwac-default.onnx"
    broken.parent.mkdir()
    for src, dst in zip([DEFAULT_MODEL, *pair_paths(DEFAULT_MODEL).values()], [broken, *pair_paths(broken).values()],
                        strict=True):
        if src.exists():
            shutil.copy(src, dst)
    head = pair_paths(broken)["head"]
    head.write_bytes(head.read_bytes()[:1000])
    hops = {}
    for name, model in (("shipped", DEFAULT_MODEL), ("broken", broken)):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="uwac.acoustics.stream"):
            cfg = StreamConfig(model=model, source=str(tmp_path / "s.wav"), out=tmp_path / name, http=None)
            assert run_stream(cfg, install_signals=False) == 0
        hops[name] = caplog.text
    assert "streaming pair: new frames only" in hops["shipped"] and "hop 2.30 s" in hops["shipped"]
    assert "streaming pair not used" in hops["broken"] and "onnxruntime cannot load it" in hops["broken"]
    assert "hop 2.00 s" in hops["broken"]
