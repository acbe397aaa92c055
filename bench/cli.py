"""``uwac bench synth|train|infer|stream``: one sub-command per benchmark, each with its own flags.

Thin: parses, checks what the benchmark needs, calls its module's function and prints its markdown. Every
benchmark prints ratios against a reference measured in the same run and writes ``bench_<what>.{md,json,png}``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from uwac.acoustics.command_checks import CommandError, needs_torch

CONFIGS = Path(__file__).resolve().parents[1] / "training" / "configs"


def add_bench_parser(sub) -> None:
    """Add ``bench`` and its four sub-commands to the ``uwac`` sub-parsers ``sub``."""
    b = sub.add_parser("bench", help="benchmarks with ratios against a reference measured in the same run")
    what = b.add_subparsers(dest="what", required=True, metavar="{synth,train,infer,stream}")

    s = what.add_parser("synth", help="render speed, × real time per core, against bare coloured noise")
    s.add_argument("--seconds", type=float, default=30.0, help="clip length, s")
    s.add_argument("--repeats", type=int, default=3, help="renders per class")
    _out(s, bench_synth)

    t = what.add_parser("train", help="training windows/s, compute-only against fed by the data loader")
    t.add_argument("--config", type=Path, default=CONFIGS / "demo.yaml", help="training recipe (YAML)")
    t.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one setting of the recipe (repeatable), as `uwac train --set`")
    t.add_argument("--manifest", type=Path, default=None, help="manifest (default: render 4 minutes of scenes)")
    t.add_argument("--device", default=None, help="auto, cpu, cuda")
    t.add_argument("--workers", type=int, default=None, help="DataLoader workers")
    t.add_argument("--amp", default=None, choices=["auto", "off", "bf16", "fp16"], help="mixed precision")
    t.add_argument("--batch-size", type=int, default=None, help="windows per step")
    t.add_argument("--steps", type=int, default=20, help="timed steps per measurement")
    _out(t, bench_train)

    i = what.add_parser("infer", help="the exported model in onnxruntime (fp32, fp16, int8, streaming pair) "
                                      "against PyTorch eager and librosa + torch: latency, × real time per core, "
                                      "cold start, RSS, where the time goes, the goals")
    i.add_argument("--run", type=Path, default=None,
                   help="training run folder: its checkpoint gives the PyTorch rows (and --model when not given)")
    i.add_argument("--model", type=Path, default=None, help="fp32 ONNX file (default: export --run into --out)")
    i.add_argument("--fp16", type=Path, default=None,
                   help="fp16 variant, for GPU providers (default: MODEL's <stem>.fp16.onnx when present)")
    i.add_argument("--int8", type=Path, default=None, help="int8 variant (default: MODEL's <stem>.int8.onnx when present)")
    i.add_argument("--seconds", type=float, default=60.0, help="test audio length, s")
    i.add_argument("--repeats", type=int, default=3, help="timed passes over the audio")
    i.add_argument("--batch", type=int, default=16, help="windows per call of the batched rows")
    i.add_argument("--threads", type=int, default=1, help="intra-op threads of every runtime (goals: 1)")
    i.add_argument("--providers", default=None,
                   help="onnxruntime execution providers, e.g. cpu, cuda, auto (default cpu); the report names the "
                        "one each row ran on")
    _out(i, bench_infer)

    st = what.add_parser("stream", help="16 kHz channels one core scores in real time through the daemon's scorer, "
                                        "detection latency, install size and cold start")
    st.add_argument("--model", type=Path, default=None, help="model file (default: the shipped model)")
    st.add_argument("--seconds", type=float, default=20.0, help="rendered sea per channel, s")
    _out(st, bench_stream)


def _out(parser: argparse.ArgumentParser, func) -> None:
    parser.add_argument("--out", type=Path, default=Path("runs/bench"), help="folder for bench_<what>.md/.json/.png")
    parser.set_defaults(func=func)


def bench_synth(args) -> None:
    """``uwac bench synth``: render speed per class against coloured noise."""
    from uwac.bench.synth_speed import bench_synth as measure
    from uwac.bench.synth_speed import render_markdown

    print(render_markdown(measure(duration_s=args.seconds, repeats=args.repeats, out=args.out)))


def bench_train(args) -> None:
    """``uwac bench train``: windows/s of the recipe, compute-only and fed by the loader."""
    needs_torch("bench train")
    from uwac.bench.train_speed import bench_train as measure
    from uwac.bench.train_speed import render_markdown
    from uwac.training.config import load_config

    cfg = load_config(args.config, args.set)
    for value, section, name in ((args.device, cfg, "device"), (args.workers, cfg.data, "workers"),
                                 (args.amp, cfg.optim, "amp"), (args.batch_size, cfg.optim, "batch_size")):
        if value is not None:
            setattr(section, name, value)
    print(render_markdown(measure(cfg=cfg.validate(), manifest=args.manifest, steps=args.steps, out=args.out)))


def bench_infer(args) -> None:
    """``uwac bench infer``: each pipeline in a fresh process on the same audio."""
    needs_torch("bench infer")
    if args.run is None and args.model is None:
        raise CommandError("`uwac bench infer` needs --run RUN (the training run folder; its torch checkpoint gives the "
                           "PyTorch rows) or --model M.onnx (onnxruntime rows only), or both")
    from uwac.bench.infer_report import render_markdown
    from uwac.bench.infer_speed import bench_infer as measure

    result = measure(run=args.run, fp32=args.model, fp16=args.fp16, int8=args.int8, out=args.out,
                     seconds=args.seconds, batch=args.batch, threads=args.threads, repeats=args.repeats,
                     providers=args.providers)
    print(render_markdown(result))
    print(f"wrote {args.out / 'bench_infer.md'}, bench_infer.json and bench_infer.png")


def bench_stream(args) -> None:
    """``uwac bench stream``: capacity, detection latency, install size and cold start of the daemon."""
    from uwac.acoustics.stream.daemon import DEFAULT_MODEL
    from uwac.bench.stream_capacity import bench_stream as measure
    from uwac.bench.stream_capacity import render_markdown

    print(render_markdown(measure(model=args.model or DEFAULT_MODEL, out=args.out, seconds=args.seconds)))
    drawn = ", bench_stream.png" if (args.out / "bench_stream.png").is_file() else " (no matplotlib: no plot)"
    print(f"wrote {args.out / 'bench_stream.md'}, bench_stream.json{drawn}")
