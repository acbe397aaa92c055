"""The span cache decodes in blocks, matches a one-shot read and resample, and fails loudly and cleanly."""

import os
import threading
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from uwac.acoustics import audio_io, span_cache
from uwac.acoustics.audio_io import AudioError, read_span, resample
from uwac.acoustics.span_cache import default_cache_dir, resampled_length, span_audio


def _files(folder):
    return sorted(p.name for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.fixture
def small_blocks(monkeypatch):
    """0.37-s blocks, so a few seconds of audio cross several block (and resampler chunk) seams."""
    monkeypatch.setattr(span_cache, "BLOCK_SECONDS", 0.37)


@pytest.mark.parametrize("sr,channels", [(48000, 2), (16000, 1), (44100, 1)])
def test_blocks_match_one_shot(tmp_path, small_blocks, sr, channels):
    rng = np.random.default_rng(sr)
    audio = (0.2 * rng.standard_normal((int(3.3 * sr), channels))).astype(np.float32)
    path = tmp_path / f"rec{sr}.wav"
    sf.write(path, audio, sr, subtype="FLOAT")
    cache = tmp_path / "cache"
    got = span_audio(path, start_s=0.25, end_s=3.1, sample_rate=16000, cache_dir=cache)
    mono, file_sr = read_span(path, start_s=0.25, end_s=3.1)
    want = resample(mono, file_sr, 16000)
    assert isinstance(got, np.memmap) and got.dtype == np.float32 and got.ndim == 1
    assert not got.flags.writeable
    assert got.shape == want.shape == (resampled_length(mono.size, sr, 16000),)
    assert np.max(np.abs(got - want)) < 1e-5
    if sr == 16000:
        assert np.array_equal(got, mono)
    assert len(_files(cache)) == 1


def test_resampled_length_is_soxr_count():
    import soxr

    for n in (1, 2, 3, 7, 100, 48001, 48002, 44100 * 3 + 11):
        for a, b in ((48000, 16000), (44100, 16000), (8000, 16000), (22050, 16000)):
            assert soxr.resample(np.zeros(n, np.float32), a, b, quality="VHQ").size == resampled_length(n, a, b)


def test_second_call_is_a_hit_without_decoding(tmp_path, monkeypatch):
    path = tmp_path / "rec.wav"
    sf.write(path, (0.1 * np.random.default_rng(1).standard_normal(48000)).astype(np.float32), 48000)
    cache = tmp_path / "cache"
    first = span_audio(path, start_s=0.1, end_s=0.9, sample_rate=16000, cache_dir=cache)

    def boom(*args, **kwargs):
        raise AssertionError("decoded on a cache hit")

    for module in (span_cache.sf, audio_io.sf):
        monkeypatch.setattr(module, "SoundFile", boom)
        monkeypatch.setattr(module, "info", boom)
        monkeypatch.setattr(module, "read", boom)
    second = span_audio(path, start_s=0.1, end_s=0.9, sample_rate=16000, cache_dir=cache)
    assert np.array_equal(first, second)


def test_changed_file_is_decoded_again(tmp_path):
    path = tmp_path / "rec.wav"
    sf.write(path, np.full(16000, 0.25, np.float32), 16000, subtype="FLOAT")
    cache = tmp_path / "cache"
    assert np.allclose(span_audio(path, start_s=0, end_s=0.5, sample_rate=16000, cache_dir=cache), 0.25)
    st = path.stat()
    sf.write(path, np.full(16000, -0.5, np.float32), 16000, subtype="FLOAT")  # same size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert path.stat().st_size == st.st_size
    assert np.allclose(span_audio(path, start_s=0, end_s=0.5, sample_rate=16000, cache_dir=cache), -0.5)
    assert len(_files(cache)) == 2


def test_errors_are_clear_and_leave_nothing(tmp_path, small_blocks):
    cache = tmp_path / "cache"
    with pytest.raises(AudioError, match="missing.wav: audio file not found"):
        span_audio(tmp_path / "missing.wav", start_s=0, end_s=1, sample_rate=16000, cache_dir=cache)
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF" + np.random.default_rng(0).bytes(500))
    with pytest.raises(AudioError, match="junk.wav: unreadable audio"):
        span_audio(junk, start_s=0, end_s=0.01, sample_rate=16000, cache_dir=cache)

    ok = tmp_path / "ok.wav"
    sf.write(ok, np.zeros(2 * 48000, np.float32), 48000)
    with pytest.raises(AudioError, match=r"ok.wav: span 1.000-3.000 s runs past the end of the file \(2.000 s\)"):
        span_audio(ok, start_s=1.0, end_s=3.0, sample_rate=16000, cache_dir=cache)

    cut = tmp_path / "cut.wav"  # a file cut short by a failed copy: the header promises more than is there
    sf.write(cut, np.zeros(3 * 16000, np.float32), 16000, subtype="FLOAT")
    cut.write_bytes(cut.read_bytes()[: 44 + 4 * 16000])
    with pytest.raises(AudioError, match="cut.wav: .*truncated"):
        span_audio(cut, start_s=0.0, end_s=2.5, sample_rate=16000, cache_dir=cache)

    flac = tmp_path / "cut.flac"  # FLAC keeps its length in the header: the loss shows when decoding
    sf.write(flac, (0.3 * np.random.default_rng(1).standard_normal(5 * 16000)).astype(np.float32), 16000)
    flac.write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])
    with pytest.raises(AudioError, match=r"cut.flac: .* at [1-9][0-9.]* s .*(truncated|corrupt)"):
        span_audio(flac, start_s=0.0, end_s=4.5, sample_rate=16000, cache_dir=cache)

    nan = tmp_path / "nan.wav"
    data = np.zeros(4 * 48000, np.float32)
    data[int(2.5 * 48000)] = np.nan
    sf.write(nan, data, 48000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"nan.wav: 1 NaN/Inf sample\(s\) from 2.500 s"):
        span_audio(nan, start_s=0.0, end_s=4.0, sample_rate=16000, cache_dir=cache)
    assert _files(cache) == []


def test_resampler_quality(tmp_path):
    sr = 48000
    t = np.arange(2 * sr) / sr
    cache = tmp_path / "cache"
    mid = slice(4000, -4000)  # skip the span's edges, where the tone starts and stops abruptly
    low = tmp_path / "tone1k.wav"
    sf.write(low, (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), sr, subtype="FLOAT")
    y = np.asarray(span_audio(low, start_s=0, end_s=2, sample_rate=16000, cache_dir=cache), np.float64)
    rms = np.sqrt(np.mean(y[mid] ** 2))
    assert abs(20 * np.log10(rms * np.sqrt(2) / 0.5)) < 0.01
    high = tmp_path / "tone9k.wav"  # above the new Nyquist (8 kHz): must not alias to 7 kHz
    sf.write(high, (0.5 * np.sin(2 * np.pi * 9000 * t)).astype(np.float32), sr, subtype="FLOAT")
    y = np.asarray(span_audio(high, start_s=0, end_s=2, sample_rate=16000, cache_dir=cache), np.float64)
    rms = np.sqrt(np.mean(y[mid] ** 2))
    assert 20 * np.log10(rms * np.sqrt(2) / 0.5) < -90


def test_memory_is_bounded_by_the_block(tmp_path, monkeypatch):
    monkeypatch.setattr(span_cache, "BLOCK_SECONDS", 1.0)
    path = tmp_path / "long.wav"
    sr = 48000
    sf.write(path, np.zeros(120 * sr, np.int16), sr, subtype="PCM_16")  # 2 min; 23 MB as float32
    tracemalloc.start()
    try:
        span_audio(path, start_s=0, end_s=120, sample_rate=16000, cache_dir=tmp_path / "cache")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3_000_000, peak


def test_concurrent_writers_share_one_entry(tmp_path):
    path = tmp_path / "rec.wav"
    sf.write(path, (0.1 * np.random.default_rng(2).standard_normal(3 * 44100)).astype(np.float32), 44100)
    cache = tmp_path / "cache"
    results, errors = [], []

    def work():
        try:
            results.append(np.array(span_audio(path, start_s=0.5, end_s=2.5, sample_rate=16000, cache_dir=cache)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert all(np.array_equal(r, results[0]) for r in results)
    assert len(_files(cache)) == 1 and _files(cache)[0].endswith(".npy") and not _files(cache)[0].startswith(".")


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("UWAC_CACHE", str(tmp_path / "u"))
    assert default_cache_dir() == tmp_path / "u"
    monkeypatch.delenv("UWAC_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "x" / "uwac" / "spans"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert default_cache_dir() == tmp_path / "h" / ".cache" / "uwac" / "spans"
