"""Bad audio gets a clear error naming the file and the problem."""

import numpy as np
import pytest
import soundfile as sf

from uwac.acoustics.audio_io import AudioError, read_span, resample


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "ok.wav"
    sf.write(path, (0.1 * np.sin(np.arange(16000 * 2) * 0.1)).astype(np.float32), 16000, subtype="PCM_16")
    return path


def test_reads_span(wav):
    x, sr = read_span(wav, start_s=0.5, end_s=1.5, sample_rate=16000)
    assert sr == 16000 and x.shape == (16000,) and x.dtype == np.float32


def test_wrong_rate_refused(wav):
    with pytest.raises(AudioError, match="sample rate 16000 Hz, expected 32000"):
        read_span(wav, sample_rate=32000)


def test_missing_corrupt_truncated_nan(tmp_path, wav):
    with pytest.raises(AudioError, match="not found"):
        read_span(tmp_path / "missing.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF" + np.random.default_rng(0).bytes(500))
    with pytest.raises(AudioError, match="junk.wav"):
        read_span(junk)
    with pytest.raises(AudioError, match="past the end"):
        read_span(wav, start_s=1.0, end_s=3.0)
    nan = tmp_path / "nan.wav"
    data = np.zeros(16000, dtype=np.float32)
    data[100] = np.nan
    sf.write(nan, data, 16000, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN/Inf"):
        read_span(nan)


def test_resample_keeps_a_tone():
    t = np.arange(48000) / 48000
    y = resample(np.sin(2 * np.pi * 1000 * t), 48000, 16000)
    spec = np.abs(np.fft.rfft(y[1000:-1000]))
    freqs = np.fft.rfftfreq(y[1000:-1000].size, 1 / 16000)
    assert abs(freqs[spec.argmax()] - 1000) < 2
