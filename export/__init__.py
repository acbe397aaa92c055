"""torch → ONNX export under the uwac model contract (needs torch, onnx)."""
