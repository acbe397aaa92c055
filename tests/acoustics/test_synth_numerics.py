"""The renderer's scipy-free numerics against scipy (the reference): fast FFT lengths, the one-pole recursion,
the bracketed root finder."""

import numpy as np
import pytest
import scipy.fft
import scipy.optimize
import scipy.signal

from uwac.acoustics.synth import numerics


@pytest.mark.parametrize("n", [1, 2, 7, 97, 1000, 1023, 16001, 123457, 999983, 2**20 + 1])
def test_next_fast_len_matches_scipy(n):
    assert numerics.next_fast_len(n) == scipy.fft.next_fast_len(n, real=True)


@pytest.mark.parametrize("phi", [0.0, 0.3, 0.99, 0.999999])
def test_ar1_matches_lfilter(phi):
    x = np.random.default_rng(1).standard_normal(50_000)
    ref = scipy.signal.lfilter([1.0], [1.0, -phi], x)
    np.testing.assert_allclose(numerics.ar1(x, phi), ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())


def test_find_root_matches_brentq_and_refuses_no_bracket():
    for f, lo, hi in ((lambda v: v**3 - 2 * v - 5, 2.0, 3.0), (np.tanh, -1.0, 5.0), (lambda v: np.exp(v) - 10, 0, 9)):
        assert numerics.find_root(f, lo, hi, xtol=1e-9) == pytest.approx(scipy.optimize.brentq(f, lo, hi), abs=1e-8)
    with pytest.raises(ValueError, match="bracket"):
        numerics.find_root(lambda v: v * v + 1, -1.0, 1.0)


def test_fft_keeps_float32():
    x = np.random.default_rng(2).standard_normal(4096).astype(np.float32)
    spec = numerics.rfft(x)
    assert spec.dtype == np.complex64
    np.testing.assert_allclose(spec, scipy.fft.rfft(x), rtol=1e-4, atol=1e-3)
