"""onnxruntime execution providers: what the user asks for, what this onnxruntime build offers, and the fallback.

Short names (``cpu``, ``cuda``, ``tensorrt``, ``openvino``, ``auto``) map to onnxruntime's provider names. A
provider that this build lacks is dropped with one log line saying so and what runs instead; the CPU provider
is always last, so a session never fails for want of an accelerator. Sonar nodes default to ``cpu`` with
one thread (``DEFAULT_THREADS``).
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

PROVIDERS = {  # short name → onnxruntime provider name
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "openvino": "OpenVINOExecutionProvider",
}
AUTO_ORDER = ("tensorrt", "cuda", "openvino", "cpu")  # ``auto``: the fastest this build offers first
DEFAULT_THREADS = 1  # intra-op threads on a node: one core per model, the rest for the recorder and the daemon


def available() -> list[str]:
    """Provider names this onnxruntime build offers (onnxruntime's own spelling)."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def resolve(requested: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """onnxruntime provider list for ``requested`` short or full names (``None`` or ``cpu``: CPU only).

    ``auto`` takes every accelerator the build offers, best first. Unknown names raise ``ValueError`` listing
    the known ones; known but unavailable ones are dropped with a warning naming what runs instead.
    """
    if requested is None:
        return [PROVIDERS["cpu"]]
    names = [requested] if isinstance(requested, str) else list(requested)
    names = [n.strip() for item in names for n in str(item).split(",") if n.strip()]
    full_names = set(PROVIDERS.values())
    wanted: list[str] = []
    for name in names:
        key = name.lower()
        if key == "auto":
            wanted += [PROVIDERS[k] for k in AUTO_ORDER]
        elif key in PROVIDERS:
            wanted.append(PROVIDERS[key])
        elif name in full_names:
            wanted.append(name)
        else:
            raise ValueError(f"unknown execution provider {name!r}; use one of {', '.join(PROVIDERS)} or auto")
    have = set(available())
    chosen = [p for p in dict.fromkeys(wanted) if p in have and p != PROVIDERS["cpu"]]
    missing = [p for p in dict.fromkeys(wanted) if p not in have]
    if missing and not (len(names) == 1 and names[0].lower() == "auto"):
        log.warning("execution provider(s) %s not offered by this onnxruntime build (it has %s); running on %s",
                    ", ".join(missing), ", ".join(sorted(have)), ", ".join(chosen + ["CPUExecutionProvider"]))
    elif names and names[0].lower() == "auto":
        log.info("execution providers: %s", ", ".join(chosen + ["CPUExecutionProvider"]))
    return chosen + [PROVIDERS["cpu"]]
