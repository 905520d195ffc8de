"""Shared fixtures: where the shared traces are, and small scenario builders."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MOONCAKE = SHARED / "traces" / "mooncake_conversation" / "conversation_trace.jsonl"
AZURE = SHARED / "traces" / "azure_llm_2023_conv" / "AzureLLMInferenceTrace_conv.csv"


@pytest.fixture
def mooncake_trace() -> Path:
    if not MOONCAKE.is_file():
        pytest.skip(f"shared Mooncake trace not found at {MOONCAKE} (../shared is absent)")
    return MOONCAKE


@pytest.fixture
def azure_trace() -> Path:
    if not AZURE.is_file():
        pytest.skip(f"shared Azure trace not found at {AZURE} (../shared is absent)")
    return AZURE
