"""Augmentation does what it says: exact SNR, true Doppler shift, reproducible windows, bounded SpecAugment masks."""

import numpy as np
import pytest
import torch

from uwac.training.augment import (
    apply_gain,
    augment_window,
    input_length,
    mix_at_snr,
    short_piece,
    spec_augment,
    speed_perturb,
)
from uwac.training.config import AugmentConfig

SR = 16000


def _snr_db(signal, mixed):
    noise = mixed.astype(np.float64) - signal.astype(np.float64)
    return 10 * np.log10(np.mean(signal.astype(np.float64) ** 2) / np.mean(noise**2))


@pytest.mark.parametrize("snr", [-5.0, 0.0, 7.3, 20.0])
def test_mix_hits_the_snr(snr):
    rng = np.random.default_rng(0)
    signal = (0.3 * np.sin(2 * np.pi * 440 * np.arange(SR) / SR)).astype(np.float32)
    noise = (0.01 * rng.standard_normal(SR)).astype(np.float32)
    mixed = mix_at_snr(signal, noise, snr)
    assert mixed.dtype == np.float32 and mixed.shape == signal.shape
    assert abs(_snr_db(signal, mixed) - snr) < 0.01


def test_mix_with_silence_returns_the_signal():
    signal = np.linspace(-0.5, 0.5, 100, dtype=np.float32)
    assert np.array_equal(mix_at_snr(signal, np.zeros(100, np.float32), 0.0), signal)
    assert np.array_equal(mix_at_snr(np.zeros(100, np.float32), signal, 0.0), np.zeros(100, np.float32))


def test_gain():
    x = np.full(10, 0.1, np.float32)
    assert np.allclose(apply_gain(x, 20.0), 1.0) and np.allclose(apply_gain(x, -20.0), 0.01)
    assert apply_gain(x, 3.0).dtype == np.float32


@pytest.mark.parametrize("factor", [0.98, 1.02])
def test_speed_moves_a_tone(factor):
    n_out = SR  # 1 s: FFT bins of 1 Hz
    need = input_length(n_out, factor)
    assert need >= int(np.ceil(n_out * factor))
    tone = np.sin(2 * np.pi * 1000 * np.arange(need) / SR).astype(np.float32)
    y = speed_perturb(tone, factor, n_out)
    assert y.shape == (n_out,) and y.dtype == np.float32 and np.all(np.isfinite(y))
    spec = np.abs(np.fft.rfft(y * np.hanning(n_out)))
    peak_hz = np.argmax(spec) * SR / n_out
    assert abs(peak_hz - 1000 * factor) <= SR / n_out
    with pytest.raises(ValueError, match="at least"):
        speed_perturb(tone[: need - 1], factor, n_out)


class _Watched:
    """A 1-D array that records every slice taken from it, to prove reads stay inside."""

    def __init__(self, data):
        self.data = data
        self.reads = []

    def __len__(self):
        return len(self.data)

    def __getitem__(self, item):
        assert isinstance(item, slice) and item.step is None
        assert 0 <= item.start <= item.stop <= len(self.data), item
        self.reads.append((item.start, item.stop))
        return self.data[item]


def _ambient(rng, n):
    return (0.05 * rng.standard_normal(n)).astype(np.float32)


def _span(seconds=4.0):
    return (0.2 * np.random.default_rng(5).standard_normal(int(seconds * SR))).astype(np.float32)


def test_window_is_reproducible_and_varies_by_seed():
    span = _span()
    cfg = AugmentConfig(speed_prob=1.0, ambient_mix_prob=1.0)
    a = augment_window(span, 8000, 3 * SR, np.random.default_rng(1), cfg, ambient=_ambient)
    b = augment_window(span, 8000, 3 * SR, np.random.default_rng(1), cfg, ambient=_ambient)
    c = augment_window(span, 8000, 3 * SR, np.random.default_rng(2), cfg, ambient=_ambient)
    assert a.shape == (3 * SR,) and a.dtype == np.float32 and np.all(np.isfinite(a))
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_disabled_returns_the_plain_slice():
    span = _span()
    out = augment_window(span, 1234, 3 * SR, np.random.default_rng(0), AugmentConfig(enabled=False), ambient=_ambient)
    assert out.dtype == np.float32 and np.array_equal(out, span[1234:1234 + 3 * SR])


def test_each_step_alone():
    span = _span()
    n = 2 * SR
    plain = span[100:100 + n]
    gain_only = AugmentConfig(speed_prob=0.0, ambient_mix_prob=0.0, gain_db=[6.0, 6.0])
    assert np.allclose(augment_window(span, 100, n, np.random.default_rng(0), gain_only), plain * 10 ** 0.3, atol=1e-6)
    mix_only = AugmentConfig(speed_prob=0.0, ambient_mix_prob=1.0, gain_db=[0.0, 0.0], snr_db=[5.0, 5.0])
    mixed = augment_window(span, 100, n, np.random.default_rng(0), mix_only, ambient=_ambient)
    assert abs(_snr_db(plain, mixed) - 5.0) < 0.01
    assert np.array_equal(augment_window(span, 100, n, np.random.default_rng(0), mix_only), plain)  # no bank


def test_short_piece_is_a_clip_scored_as_the_model_scores_it():
    # a window made of a piece repeated: the same samples a short clip of that length gets from short_clip_window
    span = _span()
    n = 3 * SR
    cfg = AugmentConfig(speed_prob=0.0, ambient_mix_prob=0.0, gain_db=[0.0, 0.0], short_prob=1.0,
                        short_seconds=[1.0, 2.0])
    out = augment_window(span, 100, n, np.random.default_rng(3), cfg, sample_rate=SR)
    plain = span[100:100 + n]
    period = next(p for p in range(SR, 2 * SR + 1) if np.array_equal(out[p:], out[:n - p]))
    first = int(np.flatnonzero(plain == out[0])[0])
    assert np.array_equal(out[:period], plain[first:first + period])
    assert np.array_equal(out, augment_window(span, 100, n, np.random.default_rng(3), cfg, sample_rate=SR))
    # lengths spread over the range; never the whole window; off by default
    periods = {len(np.unique(augment_window(span, 100, n, np.random.default_rng(s), cfg, sample_rate=SR)))
               for s in range(8)}
    assert len(periods) > 4 and max(periods) <= 2 * SR
    assert np.array_equal(augment_window(span, 100, n, np.random.default_rng(3), AugmentConfig(
        speed_prob=0.0, ambient_mix_prob=0.0, gain_db=[0.0, 0.0]), sample_rate=SR), plain)
    assert np.array_equal(short_piece(plain, n, 0.7), plain)
    with pytest.raises(ValueError, match="does not fit"):
        short_piece(plain, n + 1, 0.0)
    with pytest.raises(ValueError, match="sample_rate"):
        augment_window(span, 100, n, np.random.default_rng(3), cfg)


# starts: the first, the middle, the last (the speed step must move it back); a span only one window long
@pytest.mark.parametrize("start,seconds", [(0, 4.0), (SR // 2, 4.0), (SR, 4.0), (0, 3.0)])
def test_never_reads_outside_the_span(start, seconds):
    n = 3 * SR
    cfg = AugmentConfig(speed_prob=1.0, speed=[1.02, 1.02], ambient_mix_prob=0.0)
    span = _Watched(_span(seconds))
    out = augment_window(span, start, n, np.random.default_rng(0), cfg)
    assert out.shape == (n,) and np.all(np.isfinite(out))
    assert span.reads  # and every read was checked inside the span by _Watched
    if seconds == 4.0:  # long enough: the speed step ran and read more than the window
        assert span.reads[-1][1] - span.reads[-1][0] == input_length(n, 1.02)
    with pytest.raises(ValueError, match="outside the span"):
        augment_window(span, len(span) - n + 1, n, np.random.default_rng(0), cfg)


def _masked_rows_cols(orig, out):
    zero = (out == 0) & (orig != 0)
    rows = zero.all(dim=-1)  # [batch, mels]
    cols = zero.all(dim=-2)  # [batch, frames]
    return zero, rows, cols


def test_spec_augment_masks_within_limits():
    feats = torch.randn(8, 64, 120, generator=torch.Generator().manual_seed(0))
    kw = dict(freq_masks=2, freq_mask_bins=6, time_masks=2, time_mask_frames=10)
    out = spec_augment(feats, torch.Generator().manual_seed(3), **kw)
    again = spec_augment(feats, torch.Generator().manual_seed(3), **kw)
    other = spec_augment(feats, torch.Generator().manual_seed(4), **kw)
    assert out.shape == feats.shape and out is not feats and out.dtype == feats.dtype
    assert torch.equal(out, again) and not torch.equal(out, other)
    assert not torch.equal(feats, out) and torch.count_nonzero(feats == 0) == 0  # input untouched
    zero, rows, cols = _masked_rows_cols(feats, out)
    assert (rows.sum(dim=1) <= 2 * 6).all() and (cols.sum(dim=1) <= 2 * 10).all()
    # every zeroed value lies in a masked mel band or a masked frame span
    assert torch.equal(zero, rows.unsqueeze(-1) | cols.unsqueeze(-2))
    assert len({tuple(r.nonzero().flatten().tolist()) for r in rows}) > 1  # masks differ across the batch
    kept = ~zero
    assert torch.equal(out[kept], feats[kept])


def test_spec_augment_zero_widths_and_wide_masks():
    feats = torch.randn(2, 8, 5)
    same = spec_augment(feats, torch.Generator().manual_seed(0), freq_masks=0, freq_mask_bins=6,
                        time_masks=3, time_mask_frames=0)
    assert torch.equal(same, feats)
    wide = spec_augment(feats, torch.Generator().manual_seed(0), freq_masks=1, freq_mask_bins=100,
                        time_masks=1, time_mask_frames=100)
    assert wide.shape == feats.shape
    with pytest.raises(ValueError, match="batch, mels, frames"):
        spec_augment(feats[0], torch.Generator(), freq_masks=1, freq_mask_bins=2, time_masks=1, time_mask_frames=2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_spec_augment_on_cuda_matches_cpu():
    feats = torch.randn(4, 32, 50)
    kw = dict(freq_masks=2, freq_mask_bins=6, time_masks=2, time_mask_frames=10)
    cpu = spec_augment(feats, torch.Generator().manual_seed(7), **kw)
    gpu = spec_augment(feats.cuda(), torch.Generator().manual_seed(7), **kw)
    assert gpu.device.type == "cuda" and torch.equal(gpu.cpu(), cpu)
