"""``uwac`` command line: a thin layer over each command's core function.

Commands that need torch (train, export, demo) import it only when run, so a sonar node without
torch still has ``uwac synth`` and ``uwac evaluate``. Expected failures (bad input, missing files)
end with one clear line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from uwac.acoustics import __version__
from uwac.acoustics.command_checks import CommandError, needs_analysis, needs_torch
from uwac.bench.cli import add_bench_parser


def _name_values(items: list[str] | None, flag: str) -> dict[str, float]:
    """``["dolphin=0", "explosion=1"]`` → ``{"dolphin": 0.0, "explosion": 1.0}``; a clear error otherwise."""
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ValueError(f"{flag} {item!r}: expected NAME=PROBABILITY, e.g. dolphin=0")
    return out


def cmd_synth(args) -> None:
    """Render scenarios into ``--out``."""
    from uwac.acoustics.synth import render_dataset

    manifest = render_dataset(out_dir=args.out, minutes=args.minutes, seed=args.seed, sample_rate=args.sample_rate,
                              clip_seconds=args.clip_seconds, workers=args.workers, scenes=args.scenes,
                              snr_threshold_db=args.snr_threshold_db,
                              confuser_occurrence=_name_values(args.confusers, "--confusers"),
                              merchant_models=args.merchant_models)
    print(f"wrote {manifest} and {manifest.parent / 'events.csv'} (strong labels)")
    if args.preview:
        from uwac.acoustics.manifest import read_manifest
        from uwac.acoustics.synth.preview import preview_file

        folder = Path(args.out) / "previews"
        folder.mkdir(parents=True, exist_ok=True)
        for row in read_manifest(manifest)[: args.preview]:
            print(f"preview {preview_file(row.path, folder / (Path(row.path).stem + '.png'))}")


def cmd_preview(args) -> None:
    """LOFAR/DEMON pictures of audio files (renders get their shaft and blade rates marked)."""
    from uwac.acoustics.synth.preview import preview_file

    args.out.mkdir(parents=True, exist_ok=True)
    for wav in args.audio:
        print(f"preview {preview_file(wav, args.out / (wav.stem + '.png'))}")


def cmd_train(args) -> None:
    """Train on a manifest into a run folder."""
    needs_torch("train")
    from uwac.training.config import load_config
    from uwac.training.train import train

    cfg = load_config(args.config, args.set)
    if args.epochs is not None:
        cfg.optim.epochs = args.epochs
    if args.init_from is not None:
        cfg.init_from = str(args.init_from)
    if args.device is not None:
        cfg.device = args.device
    if args.workers is not None:
        cfg.data.workers = args.workers
    if args.no_baseline:
        cfg.baseline = False
    if args.ambient_bank:
        cfg.data.ambient_bank = [*cfg.data.ambient_bank, *map(str, args.ambient_bank)]
    if args.exclude_fine:
        cfg.data.exclude_fine_labels = list(dict.fromkeys([*cfg.data.exclude_fine_labels, *args.exclude_fine]))
    metrics = train(cfg=cfg, manifest=args.manifest, out=args.out, allow_leaky=args.allow_leaky_splits,
                    resume=args.resume)
    if not metrics:  # a DDP rank other than 0: rank 0 reports
        return
    test = metrics["test"]["window"]["macro_f1"] if metrics["test"] else float("nan")
    print(f"best epoch {metrics['best_epoch']}: val macro-F1 {metrics['val']['window']['macro_f1']:.3f}, "
          f"test macro-F1 {test:.3f}; run in {args.out}")
    base = (metrics.get("baseline") or {}).get("test")
    if base:
        print(f"scikit-learn baseline on the same split: test macro-F1 {base['window']['macro_f1']:.3f}")


def cmd_export(args) -> None:
    """Export a run to ONNX and print the export report."""
    needs_torch("export")
    from uwac.export.onnx_export import export_run

    if args.variants and args.calibration_windows < 1:
        raise CommandError(f"--calibration-windows must be ≥ 1, got {args.calibration_windows}")
    if args.split_only:
        from uwac.export.stream_split import export_split_of_run

        print(json.dumps(export_split_of_run(args.run, args.out), indent=2))
        return
    report = export_run(args.run, args.out, unknown_threshold=args.unknown_threshold, split=not args.no_split)
    print(json.dumps(report, indent=2))
    if args.variants:
        from uwac.export.variants import export_variants, render_report

        variants = export_variants(args.run, args.out, variants=args.variants,
                                   calibration_windows=args.calibration_windows)
        print(render_report(variants))
        stem = args.out.with_suffix("")
        print(f"wrote {stem}.variants.md and {stem}.variants.json")


def cmd_evaluate(args) -> None:
    """Score an ONNX model on a manifest split."""
    needs_analysis("evaluate")
    from uwac.acoustics.evaluation.evaluate import evaluate
    from uwac.acoustics.evaluation.report_html import headline_warning

    result = evaluate(model=args.model, manifest=args.manifest, out=args.out, split=args.split, threads=args.threads,
                      baseline=args.baseline, allow_rejected=args.allow_rejected, providers=args.providers,
                      events=args.events, onset_tol_s=args.onset_tolerance, offset_tol_s=args.offset_tolerance,
                      offset_tol_frac=args.offset_fraction)
    m, protocol = result["all"], result["protocol"]
    print(f"{protocol['title']}: split {result['split']}, {result['recordings']} recordings: window macro-F1 "
          f"{m['window']['macro_f1']:.3f}, recording macro-F1 {m['recording']['macro_f1']:.3f}"
          f"{headline_warning(protocol)}; report in {args.out / 'report.html'}")
    ev = result.get("events")
    if ev:
        f1 = ev["micro"]["f1"]
        cf1 = ev["contacts"]["micro"]["f1"]
        print(f"event-level detection: {ev['true_events']} true, {ev['predicted_events']} window segments, F1 "
              f"{'n/a' if f1 is None else f'{f1:.3f}'}; {ev['contacts']['predicted_events']} daemon contacts, F1 "
              f"{'n/a' if cf1 is None else f'{cf1:.3f}'}{headline_warning(protocol)}")
    rw = result.get("real_world")
    if rw:
        nv, mer = rw["non_vessel"], rw["merchant"]

        def pct(share):
            return "n/a" if share is None else f"{100 * share:.1f} %"

        print(f"real-world check: non-vessel clips called a vessel {nv['called_vessel']}/{nv['clips']} "
              f"({pct(nv['share_called_vessel'])}, goal <= {100 * nv['goal_max']:.0f} %); merchant clips called "
              f"merchant {mer['predicted'].get('merchant', 0)}/{mer['clips']} ({pct(mer['share_called_merchant'])}, "
              f"goal >= {100 * mer['goal_min']:.0f} %); {len(rw['too_short'])} clip(s) shorter than a window, scored "
              "as one window of the clip repeated")


def cmd_card(args) -> None:
    """Write a markdown model card from a model's metadata, its evaluations and (``--run``) its training run."""
    needs_analysis("card")
    from uwac.acoustics.evaluation.model_card import write_card

    print(f"wrote {write_card(model=args.model, evaluations=args.eval or [], out=args.out, run=args.run)}")


def _write_adapted(rows: list, skipped: list[str], out: Path, nothing: str) -> Path:
    """Write an adapter's ``skipped.txt`` beside ``out``, then its manifest, or refuse (``nothing``: why) when no
    row is usable; returns the skipped report's path."""
    from uwac.acoustics.manifest import ManifestError, write_manifest

    report = out.parent / "skipped.txt"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("".join(f"{line}\n" for line in skipped))
    if not rows:
        raise ManifestError(f"{nothing}; see {report}")
    write_manifest(rows, out)
    return report


def cmd_adapt(args) -> None:
    """Turn a public dataset's tree into a manifest, with a ``skipped.txt`` report beside it."""
    from uwac.acoustics.datasets import ADAPTERS

    kwargs = {"label_map": args.label_map}
    if args.dataset == "shipsear":
        kwargs["class_table"] = args.class_table
    if args.dataset == "vtuad":
        kwargs["scenario"] = args.scenario
    rows, skipped = ADAPTERS[args.dataset](args.root, **kwargs)
    report = _write_adapted(rows, skipped, args.out, f"no usable audio under {args.root} for {args.dataset}")
    if args.dataset == "realclips":
        from uwac.acoustics.datasets.realclips import role_report

        print(role_report(rows))
    print(f"wrote {args.out} ({len(rows)} rows, {len({r.recording_id for r in rows})} recordings); "
          f"{len(skipped)} skipped, listed in {report}")


def cmd_labels_import(args) -> None:
    """An analyst's Raven selection table over its audio → a manifest (``source=analyst``) and ``skipped.txt``."""
    from uwac.acoustics.audio_io import audio_info
    from uwac.acoustics.datasets.raven import manifest_from_raven

    rows, skipped = manifest_from_raven(args.table, audio=args.audio, label_map=args.label_map,
                                        label_column=args.label_column)
    report = _write_adapted(rows, skipped, args.out, f"no usable selection in {args.table} over {args.audio}")
    multi = sorted({r.path for r in rows if audio_info(r.path)[1] > 1})
    if multi:
        print(f"note: {len(multi)} file(s) hold several channels; the manifest keeps each selection's channel, "
              "and training reads the mean of the channels")
    print(f"wrote {args.out} ({len(rows)} rows from {len({r.extra['selection'] for r in rows})} selections, "
          f"{len({r.recording_id for r in rows})} recordings); {len(skipped)} skipped, listed in {report}")


def cmd_labels_export(args) -> None:
    """The analysts' verdicts in a daemon's ``--out`` → clips, manifest, Raven table (``uwac labels export``)."""
    from uwac.acoustics.labels.export import export_labels

    r = export_labels(args.store, args.out)
    print(f"{r['verdicts']} contact(s) judged: {r['confirmed']} confirmed, {r['relabelled']} relabelled, "
          f"{r['rejected']} rejected (trained as ambient); {r['rows']} manifest row(s)"
          + (f" in {r['manifest']}" if r["manifest"] else "") + f"; {r['skipped']} skipped (skipped.txt); "
          f"Raven table {r['raven']}")


def cmd_split(args) -> None:
    """Assign train/val/test by recording (REC) or by vessel (VES) and print per-split counts per class."""
    from uwac.acoustics.manifest import assign_splits, group_of, read_manifest, write_manifest

    rows = read_manifest(args.manifest)
    key = "vessel_id" if args.protocol == "ves" else "recording_id"
    rows = assign_splits(rows, fractions=tuple(args.fractions), seed=args.seed, group_key=key)
    write_manifest(rows, args.out)
    labels = sorted({r.label for r in rows})
    print(f"wrote {args.out} (protocol {args.protocol.upper()}, groups by {key})")
    print("split  " + "  ".join(f"{lab:>16}" for lab in labels))
    for split in ("train", "val", "test"):
        cells = []
        for lab in labels:
            sel = [r for r in rows if r.split == split and r.label == lab]
            cells.append(f"{len(sel):>6} ({len({group_of(r, key) for r in sel}):>3} grp)")
        print(f"{split:<5}  " + "  ".join(f"{c:>16}" for c in cells))


def cmd_stream(args) -> int:
    """Run the streaming daemon until the source ends or SIGTERM."""
    from uwac.acoustics.stream.daemon import DEFAULT_MODEL, StreamConfig, run_stream
    from uwac.acoustics.stream.service import DEFAULT_PORT

    http = None
    if not args.no_http:
        host, _, port = (args.http or f"127.0.0.1:{DEFAULT_PORT}").rpartition(":")
        if not host or not port.isdigit():
            raise CommandError(f"--http wants HOST:PORT (e.g. 127.0.0.1:{DEFAULT_PORT}), got {args.http!r}")
        http = (host.strip("[]"), int(port))
    channels = None
    if args.channels not in (None, "all"):
        try:
            channels = tuple(int(c) for c in args.channels.split(","))
        except ValueError:
            raise CommandError(f"--channels wants 0-based numbers like 0,2 or 'all', got {args.channels!r}") from None
    cfg = StreamConfig(model=args.model or DEFAULT_MODEL, source=args.source, out=args.out, fmt=args.format,
                       in_channels=args.in_channels, in_rate=args.rate, channels=channels, hop_s=args.hop,
                       split=not args.whole, http=http, threads=args.threads, providers=args.providers,
                       allow_rejected=args.allow_rejected, raven=not args.no_raven, follow=not args.no_follow,
                       tcp_takeover=args.tcp_takeover, allow_from=tuple(args.allow_from) if args.allow_from else None,
                       settle_s=args.settle, console=args.console, console_token=args.console_token,
                       console_keep_s=args.console_keep)
    return run_stream(cfg)


def cmd_demo(args) -> None:
    """Render, train, export and evaluate end to end."""
    needs_torch("demo")
    from uwac.acoustics.demo import run_demo

    run_demo(out=args.out, minutes=args.minutes, seed=args.seed, epochs=args.epochs, workers=args.workers)


def build_parser() -> argparse.ArgumentParser:
    """The ``uwac`` argument parser, one sub-command per job."""
    p = argparse.ArgumentParser(prog="uwac", description="Underwater acoustic vessel classifier")
    p.add_argument("--version", action="version", version=f"uwac {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)
    _add_synth(sub)
    _add_preview(sub)
    add_bench_parser(sub)
    _add_train(sub)
    _add_export(sub)
    _add_evaluate(sub)
    _add_stream(sub)
    _add_card(sub)
    _add_adapt(sub)
    _add_split(sub)
    _add_labels(sub)
    _add_demo(sub)
    return p


def _add_synth(sub) -> None:
    """``uwac synth``: render physics-based scenario recordings."""
    s = sub.add_parser("synth", help="render physics-based scenario recordings and a manifest")
    s.add_argument("--out", required=True, type=Path, help="output folder")
    s.add_argument("--minutes", type=float, default=10.0, help="total audio to render, minutes")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--sample-rate", type=int, default=16000, help="Hz")
    s.add_argument("--clip-seconds", type=float, default=30.0, help="length of each recording, s")
    s.add_argument("--workers", type=int, default=2, help="parallel render processes")
    s.add_argument("--scenes", action="store_true",
                   help="scenes with 0, 1 or 2 contacts on CPA passes, one manifest row per labelled span "
                        "(default: single-contact clips, classes round-robin)")
    s.add_argument("--snr-threshold-db", type=float, default=0.0,
                   help="a contact is labelled present where its per-second SNR is at least this, dB")
    s.add_argument("--confusers", nargs="+", metavar="NAME=P", default=None,
                   help="per-render probability of named confusers and cetaceans (CONFUSER_NAMES and "
                        "CETACEAN_NAMES of acoustics/synth/events/composition.py): 0 holds a type out of training "
                        "data, 1 puts it in every render of an open-set check set")
    s.add_argument("--merchant-models", nargs="+", choices=["je", "wh", "randi"], default=None, metavar="MODEL",
                   help="merchant broadband source models to draw from (je, wh, randi; default all three), e.g. "
                        "'je wh' to train on two and render the third for a source-model shift test")
    s.add_argument("--preview", type=int, default=0, metavar="N",
                   help="also draw LOFAR/DEMON previews of the first N recordings into OUT/previews")
    s.set_defaults(func=cmd_synth)


def _add_preview(sub) -> None:
    """``uwac preview``: spectrogram, LOFAR and DEMON pictures."""
    pv = sub.add_parser("preview", help="draw spectrogram, LOFAR and DEMON of audio files")
    pv.add_argument("audio", type=Path, nargs="+", help="WAV/FLAC files (a render's params JSON is read if beside it)")
    pv.add_argument("--out", type=Path, default=Path("runs/previews"))
    pv.set_defaults(func=cmd_preview)


def _add_train(sub) -> None:
    """``uwac train``: training on a manifest."""
    t = sub.add_parser("train", help="train a classifier on a manifest (split by recording)")
    t.add_argument("--config", required=True, type=Path, help="YAML config, e.g. training/configs/demo.yaml")
    t.add_argument("--manifest", required=True, type=Path)
    t.add_argument("--out", required=True, type=Path, help="run folder")
    t.add_argument("--epochs", type=int, default=None, help="override optim.epochs")
    t.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override any recipe setting (repeatable; values parse as YAML), e.g. "
                        "--set data.window_seconds=9 --set data.window_labels=ambient; the run's config.yaml "
                        "records the result")
    t.add_argument("--allow-leaky-splits", action="store_true",
                   help="train even if splits share a recording_id (the result is marked leaky)")
    t.add_argument("--resume", action="store_true",
                   help="continue an interrupted run in --out from its checkpoint_last.pt (same config and manifest)")
    t.add_argument("--init-from", type=Path, default=None,
                   help="warm start: a run folder or checkpoint whose matching weights are loaded (e.g. synthetic-pretrained)")
    t.add_argument("--device", default=None, help="override device: auto, cpu, cuda, cuda:N")
    t.add_argument("--workers", type=int, default=None, help="override data.workers (DataLoader processes)")
    t.add_argument("--no-baseline", action="store_true", help="skip the scikit-learn baseline")
    t.add_argument("--ambient-bank", type=Path, nargs="+", default=None, metavar="MANIFEST",
                   help="add manifests whose ambient train rows are mixed into training windows (data.ambient_bank)")
    t.add_argument("--exclude-fine", nargs="+", default=None, metavar="FINE",
                   help="open-set check: keep these fine types (e.g. uuv) out of train and val; test keeps them "
                        "(data.exclude_fine_labels)")
    t.set_defaults(func=cmd_train)


def _add_export(sub) -> None:
    """``uwac export``: ONNX export."""
    e = sub.add_parser("export", help="export a run to ONNX under the model contract")
    e.add_argument("run", type=Path, help="run folder (or checkpoint .pt)")
    e.add_argument("--out", required=True, type=Path, help="model.onnx")
    e.add_argument("--unknown-threshold", type=float, default=None,
                   help="top probability below which the label is unknown (default: chosen on validation at training)")
    e.add_argument("--variants", nargs="*", choices=("fp16", "int8", "fixed"), default=[],
                   help="also write <stem>.fp16/.int8/.fixed.onnx next to --out, each gated against fp32 on the run's "
                        "validation split (report in <stem>.variants.md)")
    e.add_argument("--no-split", action="store_true",
                   help="physics ear: do not write the streaming pair (<stem>.frames.onnx, <stem>.head.onnx) that "
                        "lets `uwac stream` compute only each hop's new frames")
    e.add_argument("--split-only", action="store_true",
                   help="write only the streaming pair beside an existing --out file exported from RUN")
    e.add_argument("--calibration-windows", type=int, default=256, metavar="N",  # export.variants' default
                   help="int8: train-split windows used to calibrate activation ranges")
    e.set_defaults(func=cmd_export)


def _add_evaluate(sub) -> None:
    """``uwac evaluate``: scoring a model on a manifest."""
    v = sub.add_parser("evaluate", help="score an ONNX model on a manifest split; report.html, metrics.json, plots")
    v.add_argument("model", type=Path)
    v.add_argument("--manifest", required=True, type=Path,
                   help="manifest CSV, or a folder holding manifest.csv (and events.csv), e.g. from `uwac synth --out`")
    v.add_argument("--out", required=True, type=Path)
    v.add_argument("--split", default=None,
                   help="train, val, test or all (default: test when the manifest has splits, else all)")
    v.add_argument("--events", type=Path, default=None,
                   help="strong labels for event-level scores (default: events.csv beside the manifest, when there)")
    v.add_argument("--onset-tolerance", type=float, default=5.0, metavar="S",
                   help="event matching: largest onset difference, seconds (default 5)")
    v.add_argument("--offset-tolerance", type=float, default=5.0, metavar="S",
                   help="event matching: offset difference allowed, seconds, or --offset-fraction of the true "
                        "duration when larger (default 5)")
    v.add_argument("--offset-fraction", type=float, default=0.2, metavar="F",
                   help="event matching: offset tolerance as a fraction of the true duration (default 0.2)")
    v.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads")
    v.add_argument("--baseline", type=Path, default=None,
                   help="also score a run's baseline.skops on the same rows and report it beside the model")
    v.add_argument("--allow-rejected", action="store_true",
                   help="score a variant even though its quality gate against fp32 rejected it")
    v.add_argument("--providers", default=None,
                   help="onnxruntime execution providers: cpu (default), cuda, tensorrt, openvino, auto, or a comma list; "
                        "ones this onnxruntime lacks fall back to CPU with a log line")
    v.set_defaults(func=cmd_evaluate)


def _add_stream(sub) -> None:
    """``uwac stream``: the streaming daemon."""
    st = sub.add_parser("stream", help="streaming daemon: score a live source or recorder files, write contact events")
    st.add_argument("model", type=Path, nargs="?", default=None,
                    help="exported ONNX model (default: the shipped data/models/uwac-default.onnx)")
    st.add_argument("--source", required=True,
                    help="FILE, DIR (recorder folder: backlog, then new files; journal in --out), stdin, "
                         "tcp:HOST:PORT (connect), tcp-listen:HOST:PORT, udp:HOST:PORT (4-byte big-endian "
                         "sequence number + PCM per datagram)")
    st.add_argument("--out", type=Path, default=Path("runs/stream"),
                    help="events-*.jsonl, contacts.selections.txt (Raven) and the directory journal")
    st.add_argument("--format", default="s16le", help="raw PCM (stdin/TCP/UDP): s16le, s24le, s32le or f32le")
    st.add_argument("--rate", type=int, default=16000, help="raw PCM sample rate, Hz (resampled to the model's)")
    st.add_argument("--in-channels", type=int, default=1, help="raw PCM interleaved channels")
    st.add_argument("--channels", default=None, help="channels to score, 0-based (e.g. 0,2), or all (default)")
    st.add_argument("--hop", type=float, default=None,
                    help="seconds between windows (default: the step of the model's streaming pair when one is "
                         "beside it, else the model's hop)")
    st.add_argument("--whole", action="store_true",
                    help="score every window whole, even when the model's streaming pair (M.frames.onnx, "
                         "M.head.onnx) is beside it")
    st.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads (1 on a node)")
    st.add_argument("--providers", default=None, help="execution providers: cpu (default), cuda, tensorrt, "
                                                       "openvino, auto")
    st.add_argument("--http", default=None, metavar="HOST:PORT",
                    help="address of /healthz, /metrics and /contacts (default 127.0.0.1:9750; another host only "
                         "when given here)")
    st.add_argument("--no-http", action="store_true", help="no HTTP service")
    st.add_argument("--no-raven", action="store_true", help="no Raven selection table")
    st.add_argument("--no-follow", action="store_true", help="DIR: score the files there and stop")
    st.add_argument("--settle", type=float, default=2.0, metavar="SECONDS",
                    help="DIR: a recording counts as closed once unchanged this long (longer than the recorder's "
                         "longest pause between writes; a file that grows later is still read)")
    st.add_argument("--allow-rejected", action="store_true", help="run a variant its quality gate rejected")
    st.add_argument("--allow-from", nargs="+", default=None, metavar="ADDRESS[/PREFIX]",
                    help="tcp-listen/udp: the digitizer addresses or networks accepted (required unless bound to "
                         "loopback); every other peer is refused and counted")
    st.add_argument("--tcp-takeover", action="store_true",
                    help="tcp-listen: a new connection replaces the open one at once (default: refused while the "
                         "open one sends audio; taken over after 2 s of silence)")
    st.add_argument("--console", action="store_true",
                    help="serve the operator console at http://HOST:PORT/console (live LOFARgram, DEMON, contacts "
                         "with their physics; confirm, reject or relabel; loopback unless --http says otherwise)")
    st.add_argument("--console-token", default=None, metavar="TOKEN",
                    help="the console's access token (default: UWAC_CONSOLE_TOKEN, or a new one written to "
                         "OUT/console.token); every verdict needs it, and a non-loopback console needs it given")
    st.add_argument("--console-keep", type=float, default=600.0, metavar="SECONDS",
                    help="audio kept per channel on disk for playing and clipping contacts (default 600)")
    st.set_defaults(func=cmd_stream)


def _add_card(sub) -> None:
    """``uwac card``: the model card."""
    c = sub.add_parser("card", help="markdown model card from a model's metadata and its `uwac evaluate` outputs")
    c.add_argument("model", type=Path)
    c.add_argument("--eval", type=Path, nargs="*", action="extend", default=None,
                   help="evaluation folders (synthetic and/or real clips); --eval A B and --eval A --eval B both keep all")
    c.add_argument("--out", required=True, type=Path, help="card .md")
    c.add_argument("--run", type=Path, default=None,
                   help="the training run folder the model was exported from: the physics heads' test accuracy from "
                        "its metrics.json, when the model's metadata lacks it")
    c.set_defaults(func=cmd_card)


def _add_adapt(sub) -> None:
    """``uwac adapt``: manifests from public datasets."""
    a = sub.add_parser("adapt", help="manifest from DeepShip, ShipsEar, VTUAD, a folder-per-class tree, a CSV "
                                     "or real clips listed in a manifest.csv (realclips)")
    a.add_argument("dataset", choices=["deepship", "shipsear", "vtuad", "folder", "csv", "realclips"])
    a.add_argument("root", type=Path, help="the dataset's folder (csv: the CSV file; realclips: the folder "
                                           "holding manifest.csv)")
    a.add_argument("--out", required=True, type=Path, help="manifest CSV; skipped.txt is written beside it")
    a.add_argument("--label-map", type=Path, default=None, help="YAML label map (default: data/label_maps/DATASET.yaml)")
    a.add_argument("--class-table", type=Path, default=None, help="shipsear: CSV of file number -> vessel type")
    a.add_argument("--scenario", default=None, help="vtuad: e.g. inclusion_2000_exclusion_4000")
    a.set_defaults(func=cmd_adapt)


def _add_split(sub) -> None:
    """``uwac split``: train/val/test assignment."""
    sp = sub.add_parser("split", help="assign train/val/test by recording (rec) or vessel (ves), stratified by label")
    sp.add_argument("manifest", type=Path)
    sp.add_argument("--out", required=True, type=Path, help="manifest CSV to write")
    sp.add_argument("--protocol", choices=["rec", "ves"], default="rec",
                    help="rec: by recording_id; ves: by the vessel_id column (recording_id where empty)")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--fractions", type=float, nargs=3, default=(0.7, 0.15, 0.15), metavar=("TRAIN", "VAL", "TEST"))
    sp.set_defaults(func=cmd_split)


def _add_labels(sub) -> None:
    """``uwac labels``: analysts' labels in and out."""
    lb = sub.add_parser("labels", help="analysts' labels: Raven selection tables in, verdicts out")
    what = lb.add_subparsers(dest="what", required=True, metavar="{import,export}")
    im = what.add_parser("import", help="a Raven selection table over its audio → a manifest (source=analyst)")
    im.add_argument("table", type=Path, help="Raven selection table (.txt, tab-separated)")
    im.add_argument("--audio", required=True, type=Path,
                    help="the audio the table was drawn on: a folder (its files in name order are the sequence the "
                         "times count through, unless the table has Begin File + File Offset (s)) or one file")
    im.add_argument("--out", required=True, type=Path, help="manifest CSV; skipped.txt is written beside it")
    im.add_argument("--label-map", type=Path, default=None,
                    help="YAML label map of the table's labels (default: uwac's class names as they are)")
    im.add_argument("--label-column", default=None,
                    help="the column holding the label (default: the first of Class, Label, Annotation, Species, Type)")
    im.set_defaults(func=cmd_labels_import)
    ex = what.add_parser("export", help="analysts' verdicts from a daemon's --out → clips, manifest (source=analyst), "
                                        "Raven table, for `uwac train --init-from`")
    ex.add_argument("--store", type=Path, default=Path("runs/stream"),
                    help="the --out folder of `uwac stream --console` (holds labels.sqlite)")
    ex.add_argument("--out", required=True, type=Path, help="folder for clips/, manifest.csv, labels.selections.txt")
    ex.set_defaults(func=cmd_labels_export)


def _add_demo(sub) -> None:
    """``uwac demo``: the end-to-end demo."""
    d = sub.add_parser("demo", help="render, train, export and evaluate end to end on built-in defaults")
    d.add_argument("--out", type=Path, default=Path("runs/demo"))
    d.add_argument("--minutes", type=float, default=None, help="audio to render (default: the demo's own)")
    d.add_argument("--epochs", type=int, default=None, help="override the demo config's epochs")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--workers", type=int, default=2)
    d.set_defaults(func=cmd_demo)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``uwac`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    # Third-party libraries (the ONNX exporter above all) log chatty INFO lines; uwac's own modules speak at INFO.
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("uwac").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    from uwac.acoustics.audio_io import AudioError
    from uwac.acoustics.contract import ModelError
    from uwac.acoustics.manifest import ManifestError

    try:
        status = args.func(args)
    except (CommandError, AudioError, ModelError, ManifestError, FileNotFoundError, ValueError) as exc:
        print(f"uwac {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
