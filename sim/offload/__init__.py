"""Weights and KV off the accelerator: flash weight streaming and FlexGen-style offload.

``simulate_flash`` runs a ``flash`` policy (after "LLM in a flash") over a per-token
FFN activation trace; ``sim.offload.flexgen`` prices a placement of weights, KV cache
and activations over GPU/CPU/disk and searches for the best one.
"""
from .activations import load_activations, markov_rates, synthetic_activations
from .flash import FlashRun, simulate_flash

__all__ = ["FlashRun", "simulate_flash", "synthetic_activations", "load_activations",
           "markov_rates"]
