"""The held-out protocol of an evaluation: is the split vessel- or recording-disjoint, independent, or leaky?

Every headline figure carries it (``report.md``, ``report.html``, the model card), so a figure measured on the
model's own training recordings cannot be quoted as if it were held out.
"""

from __future__ import annotations

from uwac.acoustics.contract import ModelInfo
from uwac.acoustics.manifest import PROTOCOL_TITLES, Row, manifest_fingerprint, split_protocol

IND_TITLE = "an independent set (no split assignments; not checked against the training data)"
TRAINED_ON_TITLE = "LEAKY: the model's own training recordings are included; figures are not comparable"


def evaluation_protocol(rows: list[Row], split: str, info: ModelInfo) -> dict:
    """The held-out protocol of an evaluation: ``code`` (``VES``, ``REC``, ``LEAKY`` or ``IND``), ``title``, ``reason``,
    ``leaky`` and ``training_manifest`` (whether ``rows`` are the model's own training manifest).

    ``rows`` are the whole manifest's (every split). ``LEAKY`` when a recording is in two splits, or when the
    manifest is the model's own training manifest (same fingerprint as ``uwac.training``) and the evaluated
    rows include its train split (``split`` ``train`` or ``all``). ``IND`` when the manifest has no split
    assignments at all (a fresh render, real clips): held out only if made apart from the training data.
    Otherwise :func:`acoustics.manifest.split_protocol` of the rows (``VES`` vessel-, ``REC`` recording-disjoint).
    """
    sha = info.training.get("manifest_sha256")
    own = bool(sha) and sha == manifest_fingerprint(rows)
    if not any(r.split for r in rows):
        return {"code": "IND", "title": IND_TITLE, "leaky": False, "training_manifest": own,
                "reason": "the manifest has no split assignments"}
    code = split_protocol(rows)
    title = PROTOCOL_TITLES[code]
    if code == "LEAKY":
        reason = "a recording_id appears in more than one split"
    elif own and split in ("train", "all"):
        code, title = "LEAKY", TRAINED_ON_TITLE
        reason = f"split {split!r} of the model's own training manifest includes the recordings it trained on"
    elif own:
        reason = (f"split {split!r} of the model's own training manifest, held out by {code}"
                  + (" (validation: used for model selection and calibration, so optimistic)" if split == "val" else ""))
    else:
        why = "the fingerprint differs" if sha else "the model records no training-manifest fingerprint"
        reason = (f"split {split!r} of a manifest not known to be the model's training manifest ({why}): its splits "
                  f"are {code}, but whether the model trained on these recordings is not checked")
    return {"code": code, "title": title, "leaky": code == "LEAKY", "training_manifest": own, "reason": reason}
