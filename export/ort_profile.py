"""Where an exported model's time goes in onnxruntime: the front-end/network split of node kernel time.

:func:`profile_onnx` scores windows in a profiled session per batch size; :func:`frontend_node_names` tells the
front-end nodes (audio → normalised log-mel) from the network's (computed from its ``net.*`` weights) in the
model's graph and in onnxruntime's optimised graph; :func:`split_profile` sums the profiler's node kernel times
into the two, and by execution provider (so nodes that fell back to CPU under CUDA show).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def profile_onnx(model: str | Path, windows: np.ndarray, work: Path, *, batches: list[int], threads: int,
                 providers: str | list[str] | None, label: str, warmup_calls: int = 3) -> dict:
    """Front-end share of node kernel time per batch size, from onnxruntime's profiler on the optimised graph.

    Scores every window (after ``warmup_calls`` calls) in calls of each batch size, with profiling files named
    ``profile_<label>_b<batch>`` in ``work``. Returns ``{str(batch): split_profile(...)}`` (µs summed over one pass).
    """
    import onnxruntime as ort

    from acoustics.providers import resolve

    out = {}
    for b in batches:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.enable_profiling, opts.log_severity_level = True, 3
        opts.profile_file_prefix = str(work / f"profile_{label}_b{b}")
        opts.optimized_model_filepath = str(work / f"optimised_{label}_b{b}.onnx")
        session = ort.InferenceSession(str(model), sess_options=opts, providers=resolve(providers))
        chunks = [np.ascontiguousarray(windows[i: i + b]) for i in range(0, len(windows), b)]
        for chunk in chunks[:warmup_calls] + chunks:
            session.run(["probabilities"], {"audio": chunk})
        events = json.loads(Path(session.end_profiling()).read_text())
        names = frontend_node_names(model, opts.optimized_model_filepath)
        out[str(b)] = split_profile(events, *names)
    return out


def _ancestors(graph, tensors: set[str]) -> set[str]:
    """Names of the nodes that produce ``tensors`` or anything they are computed from."""
    producer = {o: n for n in graph.node for o in n.output}
    seen, stack = set(), list(tensors)
    while stack:
        node = producer.get(stack.pop())
        if node is not None and node.name not in seen:
            seen.add(node.name)
            stack.extend(node.input)
    return seen


def network_nodes(graph) -> set[str]:
    """Names of the nodes computed from the network's weights: initializers named ``net.*`` or ``temperature``.

    Works on the exported graph and on its fp16 and QDQ int8 variants (their weights keep the prefix), not on
    onnxruntime's optimised graph (it renames reordered weights); ``ValueError`` when no node reads such a weight.
    """
    inits = {i.name for i in graph.initializer}
    tainted = {i for i in inits if i.startswith("net.") or i == "temperature"}
    names = set()
    for node in graph.node:  # ONNX graphs are topologically sorted
        if any(i in tainted for i in node.input):
            names.add(node.name)
            tainted.update(node.output)
    if not names:
        raise ValueError("no node reads a net.* weight; cannot tell the front-end from the network")
    return names


def frontend_node_names(model: str | Path, optimised: str | Path) -> tuple[set[str], set[str]]:
    """(front-end node names, network node names) in the model's graph and in onnxruntime's optimised graph.

    Front-end: every node of the model's graph not computed from the network's weights (:func:`network_nodes`),
    plus the nodes of the optimised graph that produce, or feed, a tensor the front-end produced in the
    model's graph (fusions keep the names of the tensors they produce). The network: every other node.
    """
    import onnx

    original = onnx.load(str(model)).graph
    network = network_nodes(original)
    frontend = {n.name for n in original.node if n.name not in network}
    tensors = {o for n in original.node if n.name in frontend for o in n.output}
    every = {n.name for n in original.node}
    optimised_graph = onnx.load(str(optimised)).graph
    frontend |= _ancestors(optimised_graph, tensors)
    every |= {n.name for n in optimised_graph.node}
    return frontend, every - frontend


def split_profile(events: list[dict], frontend: set[str], network: set[str]) -> dict:
    """Sum node kernel durations (µs) into front-end, network and other (names in neither graph).

    ``provider_us``: the same kernel time by the execution provider that ran each node (``args.provider`` of the
    profiler's events; ``unknown`` where it is missing).
    """
    sums = {"frontend_us": 0.0, "network_us": 0.0, "other_us": 0.0}
    by_provider: dict[str, float] = {}
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        name = e["name"][: -len("_kernel_time")]
        key = "frontend_us" if name in frontend else "network_us" if name in network else "other_us"
        sums[key] += float(e["dur"])
        provider = (e.get("args") or {}).get("provider") or "unknown"
        by_provider[provider] = by_provider.get(provider, 0.0) + float(e["dur"])
    total = sums["frontend_us"] + sums["network_us"]
    sums["frontend_share"] = sums["frontend_us"] / total if total > 0 else float("nan")
    sums["provider_us"] = by_provider
    return sums
