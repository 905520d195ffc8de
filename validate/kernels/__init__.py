"""Real kernels the validator times: one kernel per module, each with a Python twin.

Every ``<name>.py`` holds a NumPy/Python reference ``<name>_ref`` and the compiled
Numba version built from the same body where possible.  Only these modules (and
``policies/fast``) import numba; importing this package does not compile anything.
"""
__all__ = ["stream", "stream_dot", "pointer_chase", "matmul_tiled", "attention_naive", "attention_tiled",
           "decode_attention", "paged_decode", "lru_replay", "cuda_attention"]
