"""Raw PCM decoding: exact scaling per format, no byte lost at any read boundary, bad floats counted."""

import numpy as np
import pytest

from uwac.acoustics.stream.pcm import FORMATS, decode, encode, frame_bytes, parse_format


def test_known_integer_values_decode_to_full_scale():
    s16 = np.array([0, 1, -1, 32767, -32768, 16384], dtype="<i2").tobytes()
    x, rest = decode(s16, fmt="s16le", channels=1)
    assert rest == b"" and x.dtype == np.float32 and x.shape == (6, 1)
    np.testing.assert_array_equal(x[:, 0], [0, 1 / 32768, -1 / 32768, 32767 / 32768, -1.0, 0.5])

    vals = [0, 1, -1, 2 ** 23 - 1, -2 ** 23, -2 ** 22, 0x123456, -0x123456]
    s24 = b"".join(int(v).to_bytes(3, "little", signed=True) for v in vals)
    x, rest = decode(s24, fmt="s24le", channels=2)
    assert rest == b"" and x.shape == (4, 2)
    np.testing.assert_array_equal(x.reshape(-1), np.array(vals, dtype=np.float64) / 2 ** 23)

    s32 = np.array([0, -2 ** 31, 2 ** 30, -2 ** 30], dtype="<i4").tobytes()
    x, _ = decode(s32, fmt="s32le", channels=1)
    np.testing.assert_array_equal(x[:, 0], [0, -1.0, 0.5, -0.5])

    f32 = np.array([0.25, -1.5, 3.0], dtype="<f4").tobytes()
    x, _ = decode(f32, fmt="f32le", channels=3)
    np.testing.assert_array_equal(x, [[0.25, -1.5, 3.0]])  # beyond full scale: left as is


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_encode_decode_round_trip(fmt):
    rng = np.random.default_rng(1)
    x = np.clip(rng.uniform(-1, 1, (500, 3)), -1, 1 - 2 ** -15).astype(np.float32)
    x[0] = [-1.0, 0.0, 1 - 2 ** -15]
    y, rest = decode(encode(x, fmt=fmt), fmt=fmt, channels=3)
    assert rest == b"" and y.shape == x.shape
    np.testing.assert_allclose(y, x, atol=2 ** -15)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_any_split_of_the_bytes_decodes_the_same(fmt):
    rng = np.random.default_rng(2)
    channels = 3
    data = rng.bytes(frame_bytes(fmt, channels) * 400 + 5)  # random bytes: also never a crash
    whole, tail = decode(data, fmt=fmt, channels=channels)
    assert np.all(np.isfinite(whole)) and len(tail) == 5
    cuts = np.sort(rng.choice(np.arange(1, len(data)), size=60, replace=False))
    parts, rest = [], b""
    for chunk in np.split(np.frombuffer(data, dtype=np.uint8), cuts):
        x, rest = decode(rest + chunk.tobytes(), fmt=fmt, channels=channels)
        assert x.shape[1] == channels
        parts.append(x)
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert rest == tail


def test_nonfinite_floats_become_zero_and_are_counted():
    x = np.array([[0.5, np.nan], [np.inf, -np.inf], [-0.5, 1e30]], dtype="<f4")
    counters = {}
    y, _ = decode(x.tobytes(), fmt="f32le", channels=2, counters=counters)
    np.testing.assert_array_equal(y, [[0.5, 0], [0, 0], [-0.5, np.float32(1e30)]])
    assert counters["nonfinite_samples"] == 3
    decode(x.tobytes(), fmt="f32le", channels=2, counters=counters)
    assert counters["nonfinite_samples"] == 6


def test_random_float_bytes_give_finite_samples_or_counted_replacements():
    raw = np.random.default_rng(3).bytes(4 * 20000)
    counters = {}
    y, _ = decode(raw, fmt="f32le", channels=1, counters=counters)
    assert np.all(np.isfinite(y))
    assert counters["nonfinite_samples"] == int(np.count_nonzero(~np.isfinite(np.frombuffer(raw, "<f4"))))


def test_partial_frame_is_leftover_not_lost():
    data = encode(np.array([[0.5, -0.5]]), fmt="s24le")
    x, rest = decode(data[:4], fmt="s24le", channels=2)
    assert x.shape == (0, 2) and rest == data[:4]
    x, rest = decode(rest + data[4:], fmt="s24le", channels=2)
    np.testing.assert_array_equal(x, [[0.5, -0.5]])


def test_bad_format_or_channels_is_a_clear_error():
    with pytest.raises(ValueError, match="s16le, s24le, s32le, f32le"):
        parse_format("s16be")
    assert parse_format(" S24LE ") == "s24le"
    with pytest.raises(ValueError, match="channels"):
        decode(b"\0\0", fmt="s16le", channels=0)
