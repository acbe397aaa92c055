"""Small AST-style transformer over spectrogram patches of a normalised log-mel ``[batch, n_mels, n_frames]``.

A strided Conv2d cuts the log-mel into (mel bands × frames) patches and projects each to ``dim``. Every
patch gets a learned embedding for its frequency row plus a sinusoidal embedding of its time index,
computed in ``forward`` from however many time patches there are, so the exported graph takes any
length ≥ one patch. A CLS token joins them; pre-norm encoder blocks follow; the head reads the
embedding described in :class:`PatchTransformer`. About 0.33 M parameters at dim 96, depth 4, 4 heads.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class _Attention(nn.Module):
    """Multi-head self-attention written as matmul + softmax.

    Written out rather than ``F.scaled_dot_product_attention``: it exports to plain MatMul/Softmax that
    every runtime and NPU toolchain takes, runs deterministically on CPU, and ``FlopCounterMode`` counts
    it like any matmul. With ~60 tokens per window a fused kernel would save nothing worth having.
    """

    def __init__(self, dim: int, heads: int, dropout: float):
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)                                   # each [b, heads, n, head_dim]
        weights = torch.softmax(torch.matmul(q * self.scale, k.transpose(-2, -1)), dim=-1)
        out = torch.matmul(weights, v).transpose(1, 2).reshape(b, n, d)
        return self.dropout(self.proj(out))


class _Block(nn.Module):
    """Pre-norm encoder block: x + attention(LN(x)), then x + MLP(LN(x)) with GELU."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float):
        super().__init__()
        hidden = int(round(dim * mlp_ratio))
        self.norm1 = nn.LayerNorm(dim)
        self.attn = _Attention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchTransformer(nn.Module):
    """``forward(features [batch, n_mels, n_frames]) -> (logits [batch, n_classes], embedding [batch, dim])``.

    The embedding is the mean of the CLS token and the mean of the patch tokens, after the final
    LayerNorm. The CLS token alone is a learned attention pooling, but on windows longer than those
    seen in training it summarises more tokens than it learned to; the mean over patch tokens is a plain
    average over time whose meaning does not change with length. Averaging the two keeps the learned
    pooling, anchors it to the time average the contract's any-length input needs, and keeps the
    embedding at ``dim`` (no concatenation).
    """

    def __init__(self, *, n_classes: int, n_mels: int, patch: tuple[int, int] = (16, 16),
                 patch_stride: tuple[int, int] = (16, 8), dim: int = 96, depth: int = 4, heads: int = 4,
                 mlp_ratio: float = 2.0, dropout: float = 0.1):
        super().__init__()
        patch_f, patch_t = (int(p) for p in patch)
        stride_f, stride_t = (int(s) for s in patch_stride)
        if not 0 < patch_f <= n_mels:
            raise ValueError(f"model.patch mel bands {patch_f} must lie in 1..n_mels ({n_mels})")
        if min(patch_t, stride_f, stride_t) < 1:
            raise ValueError(f"model.patch {patch} and patch_stride {patch_stride} must be positive")
        if dim % heads or dim % 2:
            raise ValueError(f"model.dim={dim} must be even and divisible by model.heads={heads}")
        self.n_freq_patches = (n_mels - patch_f) // stride_f + 1
        self.min_frames = patch_t
        self.patch_embed = nn.Conv2d(1, dim, kernel_size=(patch_f, patch_t), stride=(stride_f, stride_t))
        self.freq_embed = nn.Parameter(torch.zeros(self.n_freq_patches, dim))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        # 1 / 10000^(2i/dim) for the sinusoidal time embedding; not saved in checkpoints (it is a formula).
        inv_freq = torch.exp(-math.log(10000.0) * torch.arange(0, dim, 2, dtype=torch.float32) / dim)
        self.register_buffer("inv_freq", inv_freq, persistent=False)
        self.embed_dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(_Block(dim, heads, mlp_ratio, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(dim)
        self.head_dropout = nn.Dropout(dropout)
        self.head = nn.Linear(dim, n_classes)
        self._init_weights()

    def _init_weights(self) -> None:
        nn.init.trunc_normal_(self.freq_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def time_embedding(self, n_time: int, dtype: torch.dtype) -> torch.Tensor:
        """Sinusoidal embedding ``[n_time, dim]`` of time-patch indices 0..n_time-1 (computed in float32)."""
        pos = torch.arange(n_time, device=self.inv_freq.device, dtype=torch.float32)
        angles = pos[:, None] * self.inv_freq[None, :]
        return torch.cat([angles.sin(), angles.cos()], dim=-1).to(dtype)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.patch_embed(features.unsqueeze(1))               # [b, dim, n_freq_patches, n_time]
        h = h.permute(0, 2, 3, 1)                                 # [b, n_freq_patches, n_time, dim]
        h = h + self.freq_embed[:, None, :].to(h.dtype) + self.time_embedding(h.shape[2], h.dtype)[None, :, :]
        tokens = h.flatten(1, 2)                                  # [b, n_freq_patches * n_time, dim]
        cls = self.cls_token.to(tokens.dtype).expand(tokens.shape[0], -1, -1)
        x = self.embed_dropout(torch.cat([cls, tokens], dim=1))
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        embedding = 0.5 * (x[:, 0] + x[:, 1:].mean(dim=1))
        return self.head(self.head_dropout(embedding)), embedding
