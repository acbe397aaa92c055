"""The stream scorer: windows at the model's hop whatever the block sizes, the same scores as a batch call,
channels chosen, resampling, gaps flush, bad blocks refused without state change, no arrays per hop."""

import tracemalloc

import numpy as np
import pytest

from uwac.acoustics.contract import load_session, run_batch
from uwac.acoustics.stream.blocks import Block
from uwac.acoustics.stream.scorer import Scorer, StreamFormatError


def blocks_of(audio, sizes, rate, start=0):
    """Cut ``audio [n, ch]`` into consecutive blocks of the given sizes (cycled)."""
    out, i, k = [], 0, 0
    while i < len(audio):
        n = sizes[k % len(sizes)]
        out.append(Block(samples=audio[i:i + n], sample_rate=rate, position=start + i))
        i, k = i + n, k + 1
    return out


def collect(scorer, blocks):
    hops = []
    for b in blocks:
        scorer.push(b, lambda h: hops.append((h.start_s, h.end_s, h.channels, h.probabilities.copy())))
    return hops


@pytest.fixture(scope="module")
def model(exported_model):
    return load_session(exported_model)


def signal(n, channels, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    x = 0.05 * rng.standard_normal((n, channels)) + 0.1 * np.sin(2 * np.pi * np.outer(t, 60 + 400 * np.arange(channels)))
    return x.astype(np.float32)


@pytest.mark.parametrize("sizes", [[16000], [777, 5000, 123], [48000 * 2]])
def test_windows_follow_the_hop_and_match_a_batch_call(model, sizes):
    session, info = model
    w, hop = info.window_samples, info.hop_samples
    audio = signal(w + 4 * hop + 555, 1)
    hops = collect(Scorer(session, info), blocks_of(audio, sizes, info.sample_rate))
    assert len(hops) == 1 + (len(audio) - w) // hop
    starts = [round(h[0] * info.sample_rate) for h in hops]
    assert starts == [k * hop for k in range(len(hops))]
    assert all(abs(h[1] - h[0] - info.window_seconds) < 1e-9 for h in hops)
    want = run_batch(session, np.stack([audio[s:s + w, 0] for s in starts]))["probabilities"]
    np.testing.assert_allclose(np.concatenate([h[3] for h in hops]), want, atol=1e-6)


def test_chosen_channels_are_batched_into_one_call(model):
    session, info = model
    w = info.window_samples
    audio = signal(w + info.hop_samples, 3, seed=1)
    hops = collect(Scorer(session, info, channels=[2, 0]), blocks_of(audio, [4000], info.sample_rate))
    assert [h[2] for h in hops] == [(2, 0)] * 2
    want = run_batch(session, np.stack([audio[:w, 2], audio[:w, 0]]))["probabilities"]
    np.testing.assert_allclose(hops[0][3], want, atol=1e-6)


def test_other_rates_are_resampled_to_the_model_rate(model):
    session, info = model
    from uwac.acoustics.audio_io import resample

    audio32 = signal(2 * (info.window_samples + 2 * info.hop_samples), 1, seed=2)
    audio32 = resample(audio32[:, 0], 16000, 32000)[:, None].astype(np.float32)  # a 32 kHz band-limited signal
    hops = collect(Scorer(session, info), blocks_of(audio32, [3001], 32000))
    assert len(hops) >= 3 and abs(hops[1][0] - info.hop_seconds) < 1e-9
    ref = resample(audio32[:, 0], 32000, 16000).astype(np.float32)
    want = run_batch(session, ref[None, info.hop_samples:info.hop_samples + info.window_samples])["probabilities"]
    np.testing.assert_allclose(hops[1][3][0], want[0], atol=2e-3)


def test_a_gap_flushes_the_ring_and_moves_stream_time(model):
    session, info = model
    w, hop, rate = info.window_samples, info.hop_samples, info.sample_rate
    scorer = Scorer(session, info)
    audio = signal(w, 1)
    first = collect(scorer, [Block(samples=audio, sample_rate=rate, position=0)])
    gap = Block(samples=audio[: w - 1], sample_rate=rate, position=w + 5 * rate, gap_samples=5 * rate)
    assert collect(scorer, [gap]) == []  # no window spans the hole, and w - 1 samples are not a window yet
    after = collect(scorer, [Block(samples=audio[:1], sample_rate=rate, position=2 * w + 5 * rate)])
    assert len(first) == len(after) == 1
    assert after[0][0] == pytest.approx((w + 5 * rate) / rate)
    assert hop > 0


def test_a_block_with_too_few_channels_is_refused_without_state_change(model):
    session, info = model
    rate = info.sample_rate
    scorer = Scorer(session, info, channels=[1])
    with pytest.raises(StreamFormatError, match="channel 1"):
        scorer.push(Block(samples=signal(1000, 1), sample_rate=rate, position=0, origin="x.wav"), lambda h: None)
    assert scorer.position == 0 and scorer.filled == 0
    auto = Scorer(session, info)
    auto.push(Block(samples=signal(1000, 2), sample_rate=rate, position=0), lambda h: None)
    with pytest.raises(StreamFormatError, match="3 channel"):
        auto.push(Block(samples=signal(1000, 3), sample_rate=rate, position=1000), lambda h: None)
    assert auto.position == 1000


def test_steady_state_hops_allocate_no_arrays(model):
    session, info = model
    hop, rate = info.hop_samples, info.sample_rate
    scorer = Scorer(session, info)
    audio = signal(info.window_samples + 40 * hop, 1)
    blocks = blocks_of(audio, [hop], rate)
    ids = set()
    for b in blocks[:10]:
        scorer.push(b, lambda h: ids.add(id(h.probabilities)))
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for b in blocks[10:]:
        scorer.push(b, lambda h: ids.add(id(h.probabilities)))
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename") if s.size_diff > 0)
    assert len(ids) == 1  # the same output buffer every hop
    assert grown < 4 * hop  # far less than one window of float32 audio (4·window bytes) over 30 hops
