"""``uwac bench synth|train|infer|stream``: real sub-commands, each with its own flags."""

import pytest

from uwac.acoustics.cli import build_parser


@pytest.mark.parametrize("argv", [["bench", "synth", "--run", "r"], ["bench", "stream", "--batch", "4"],
                                  ["bench", "infer", "--steps", "3"], ["bench", "train", "--providers", "cpu"]])
def test_a_flag_of_another_benchmark_is_refused(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(argv)
    assert exc.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err


def test_each_benchmark_parses_its_own_flags():
    p = build_parser()
    a = p.parse_args(["bench", "train", "--set", "optim.batch_size=8", "--steps", "2"])
    assert (a.what, a.set, a.steps) == ("train", ["optim.batch_size=8"], 2)
    a = p.parse_args(["bench", "infer", "--model", "m.onnx", "--batch", "4"])
    assert (a.what, str(a.model), a.run, a.batch, a.seconds) == ("infer", "m.onnx", None, 4, 60.0)
    a = p.parse_args(["bench", "synth"])
    assert (a.what, a.seconds, a.repeats) == ("synth", 30.0, 3)
    assert p.parse_args(["bench", "stream"]).seconds == 20.0
