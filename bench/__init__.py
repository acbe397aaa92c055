"""Every benchmark in one place: ``uwac bench synth|train|infer|stream`` and the measurements behind the recipe.

- ``synth_speed``: render speed, × real time per core, against bare coloured noise (``uwac bench synth``);
- ``train_speed``: training windows/s, compute-only against fed by the data loader (``uwac bench train``);
- ``infer_speed`` with ``infer_child`` (one measuring process per row), ``infer_summary`` (rates, ratios, goals)
  and ``infer_report`` (markdown, plot): the exported model in onnxruntime against PyTorch eager and librosa +
  torch (``uwac bench infer``);
- ``stream_capacity``: channels one core scores in real time through the daemon's scorer, detection latency,
  install size and cold start (``uwac bench stream``);
- ``source_shift``, ``window_sweep``, ``short_clips``: scripts that render, train and score to measure one choice
  of the recipe (``python bench/<name>.py``); ``gpu_*_check.sh``: the checks run on a lent GPU machine.

The top layer: it may import the node package, training and export; none of them imports it (tests/test_layers.py).
"""
