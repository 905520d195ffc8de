"""Offload placement policies: where weights, KV cache and activations live.

Importing this package registers ``flexgen`` in the ``offload`` family (after
"FlexGen: High-Throughput Generative Inference of Large Language Models with a
Single GPU").
"""
from .flexgen import DEVICES, TENSORS, FlexGen

__all__ = ["FlexGen", "TENSORS", "DEVICES"]
