"""Where an exported model's time goes in onnxruntime: node kernel time per front-end branch and the network.

:func:`profile_onnx` scores windows in a profiled session per batch size. :func:`node_parts` names the part of
the model each node belongs to, in the model's graph and in onnxruntime's optimised graph: ``network`` (computed
from the network's weights), a front-end branch (``mel``, ``lofar``, ``demon``: the branch whose
``frontend.<branch>.*`` tables the node or anything upstream of it reads, or whose nodes alone it feeds) or
``shared`` (front-end nodes several branches use, e.g. the input's normalisation). A log-mel model has the one
branch ``mel``. :func:`split_profile` sums the profiler's node kernel times by part, and by execution provider
(so nodes that fell back to CPU under CUDA show).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FRONTEND_MODULE = "frontend"
NETWORK_MODULES = ("net", "temperature", "readout", "physics")  # torch modules whose weights are the network's
SHARED, NETWORK = "shared", "network"


def profile_onnx(model: str | Path, windows: np.ndarray, work: Path, *, batches: list[int], threads: int,
                 providers: str | list[str] | None, label: str, warmup_calls: int = 3) -> dict:
    """Node kernel time per part (branch, shared front-end, network) per batch size, from onnxruntime's profiler.

    Scores every window (after ``warmup_calls`` calls) in calls of each batch size, with profiling files named
    ``profile_<label>_b<batch>`` in ``work``. Returns ``{str(batch): split_profile(...)}`` (µs summed over one pass).
    """
    import onnxruntime as ort

    from uwac.acoustics.providers import resolve

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
        parts = node_parts(model, opts.optimized_model_filepath)
        out[str(b)] = split_profile(events, parts, branches=model_branches(model))
    return out


def module_path(name: str) -> str | None:
    """An initializer's torch module path from its first top-level module on (``frontend.lofar.dft.stage1`` from
    ``model.frontend.lofar.dft.stage1`` of a wrapped model); None for the exporter's constants (``val_12``)."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part in (FRONTEND_MODULE, *NETWORK_MODULES):
            return ".".join(parts[i:])
    return None


def model_branches(model: str | Path) -> tuple[str, ...]:
    """The front-end branches a model file names in ``uwac.frontend`` (``("mel",)`` for a log-mel model)."""
    import onnx

    props = {p.key: p.value for p in onnx.load(str(model), load_external_data=False).metadata_props}
    try:
        return tuple(json.loads(props.get("uwac.frontend") or "{}").get("branches") or ("mel",))
    except ValueError:
        return ("mel",)


def initializer_part(name: str, branches: tuple[str, ...]) -> str | None:
    """``network``, a branch, ``shared`` (a front-end table outside any branch of a multi-branch front-end) or None.

    A log-mel front-end's tables (``frontend.stage1``) are its one branch's.
    """
    path = module_path(name)
    if path is None:
        return None
    top, _, rest = path.partition(".")
    if top != FRONTEND_MODULE:
        return NETWORK
    sub = rest.split(".", 1)[0]
    if sub in branches:
        return sub
    return branches[0] if len(branches) == 1 else SHARED


def _consumers(graph) -> dict[str, list]:
    """Tensor name → the nodes that read it."""
    out: dict[str, list] = {}
    for node in graph.node:
        for i in node.input:
            out.setdefault(i, []).append(node)
    return out


def _topological(graph) -> list:
    """The graph's nodes, producers before consumers (onnxruntime's saved graphs need not be sorted)."""
    producer = {o: n.name for n in graph.node for o in n.output}
    pending = {n.name: {producer[i] for i in n.input if i in producer} for n in graph.node}
    by_name = {n.name: n for n in graph.node}
    order, ready = [], [n.name for n in graph.node if not pending[n.name]]
    readers: dict[str, list[str]] = {}
    for name, needs in pending.items():
        for need in needs:
            readers.setdefault(need, []).append(name)
    while ready:
        name = ready.pop()
        order.append(by_name[name])
        for reader in readers.get(name, []):
            pending[reader].discard(name)
            if not pending[reader]:
                ready.append(reader)
    return order + [n for n in graph.node if n.name not in {m.name for m in order}]  # cycles: never in ONNX


def network_nodes(graph) -> set[str]:
    """Names of the nodes computed from the network's weights (``net.*``, ``temperature``, the physics readout),
    also under a wrapper's prefix (``model.net.*``).

    Works on the exported graph and on its fp16 and QDQ int8 variants (their weights keep the prefix), not on
    onnxruntime's optimised graph (it renames reordered weights); ``ValueError`` when no node reads such a weight.
    """
    tainted = {i.name for i in graph.initializer if initializer_part(i.name, ("mel",)) == NETWORK}
    names = set()
    for node in graph.node:  # ONNX graphs are topologically sorted
        if any(i in tainted for i in node.input):
            names.add(node.name)
            tainted.update(node.output)
    if not names:
        raise ValueError("no node reads a net.* weight; cannot tell the front-end from the network")
    return names


def _resolve(labels: set[str], default: str) -> str:
    """One part from the labels a node collected: its branch, ``shared`` for several, else network or ``default``."""
    front = labels - {NETWORK}
    if len(front) == 1:
        return next(iter(front))
    if front:
        return SHARED
    return NETWORK if NETWORK in labels else default


def _fill(graph, known: dict[str, set[str]], default: str) -> dict[str, str]:
    """Part of every node: its own labels (``known``), else the front-end parts of its readers (the branch it alone
    feeds; ``shared`` for several), else ``default``."""
    readers = _consumers(graph)
    labels: dict[str, set[str]] = {}
    for node in reversed(_topological(graph)):
        fed = {p for o in node.output for r in readers.get(o, []) for p in labels.get(r.name, ())} - {NETWORK}
        labels[node.name] = known.get(node.name) or fed
    return {name: _resolve(found, default) for name, found in labels.items()}


def _graph_parts(graph, branches: tuple[str, ...]) -> dict[str, str]:
    """Parts of the model's own graph: network nodes by their weights; front-end nodes by the branch tables they or
    their ancestors read, else by the parts they feed; ``shared`` when several branches, or none, claim a node."""
    network = network_nodes(graph)
    table = {i.name: initializer_part(i.name, branches) for i in graph.initializer}
    producer = {o: n.name for n in graph.node for o in n.output}
    forward: dict[str, set[str]] = {}
    for node in graph.node:  # topologically sorted
        if node.name in network:
            forward[node.name] = {NETWORK}
            continue
        forward[node.name] = {table.get(i) for i in node.input if table.get(i) in branches}
        forward[node.name] |= {p for i in node.input if i in producer for p in forward[producer[i]] if p != NETWORK}
    return _fill(graph, forward, SHARED)


def node_parts(model: str | Path, optimised: str | Path) -> dict[str, str]:
    """Node name → part (a branch, ``shared`` or ``network``) in the model's graph and onnxruntime's optimised one.

    The model's graph: :func:`_graph_parts`. The optimised graph: a node keeps the part of the model's node of its
    name, else of the model's node that produced one of its outputs (fusions keep the names of the tensors they
    produce), else it takes the front-end part it alone feeds; anything left is network.
    """
    import onnx

    original = onnx.load(str(model)).graph
    parts = _graph_parts(original, model_branches(model))
    tensor_part = {o: parts[n.name] for n in original.node for o in n.output}
    optimised_graph = onnx.load(str(optimised)).graph
    known = {n.name: ({parts[n.name]} if n.name in parts else {tensor_part[o] for o in n.output if o in tensor_part})
             for n in optimised_graph.node}
    return {**_fill(optimised_graph, known, NETWORK), **parts}


def frontend_node_names(model: str | Path, optimised: str | Path) -> tuple[set[str], set[str]]:
    """(front-end node names, network node names) in the model's graph and in onnxruntime's optimised graph."""
    parts = node_parts(model, optimised)
    network = {name for name, part in parts.items() if part == NETWORK}
    return set(parts) - network, network


def split_profile(events: list[dict], parts: dict[str, str], branches: tuple[str, ...] = ("mel",)) -> dict:
    """Sum node kernel durations (µs) by part: ``branch_us`` (each front-end branch, and ``shared`` when any node is),
    ``frontend_us`` (their sum), ``network_us``, and ``other_us`` (names in neither graph).

    ``frontend_share`` and ``branch_share``: of front-end + network time. ``provider_us``: the same kernel time by
    the execution provider that ran each node (``args.provider`` of the profiler's events; ``unknown`` where it
    is missing).
    """
    order = [*branches, *sorted(set(parts.values()) - {*branches, SHARED, NETWORK}), SHARED]
    branch_us = {b: 0.0 for b in order if b != SHARED or SHARED in parts.values()}
    network_us = other_us = 0.0
    by_provider: dict[str, float] = {}
    for e in events:
        if e.get("cat") != "Node" or not e.get("name", "").endswith("_kernel_time"):
            continue
        part, dur = parts.get(e["name"][: -len("_kernel_time")]), float(e["dur"])
        if part == NETWORK:
            network_us += dur
        elif part is None:
            other_us += dur
        else:
            branch_us[part] = branch_us.get(part, 0.0) + dur
        provider = (e.get("args") or {}).get("provider") or "unknown"
        by_provider[provider] = by_provider.get(provider, 0.0) + dur
    frontend_us = sum(branch_us.values())
    total = frontend_us + network_us
    share = (lambda us: us / total) if total > 0 else (lambda us: float("nan"))
    return {"frontend_us": frontend_us, "network_us": network_us, "other_us": other_us,
            "frontend_share": share(frontend_us), "branch_us": branch_us,
            "branch_share": {b: share(us) for b, us in branch_us.items()}, "provider_us": by_provider}
