"""Completeness of the executor library: every capability can be bound, priced
and emitted. A new capability or implementation without its other half fails here."""

from __future__ import annotations

import importlib.util

import pytest

from murakkab.catalogue import Capability, stdlib_catalogue
from murakkab.executors import (
    COST_MODELS,
    Call,
    Implementation,
    cuda_environment,
    implementations,
    implementations_of,
)
from murakkab.profiles.priors import shipped_priors
from murakkab.profiles.schema import ModelProfile, ToolProfile

# Entries whose module the real-executors issue (#6) writes. Kept explicit so
# that the list can only shrink: a new dangling entry fails the test below.
PENDING_ISSUE_6: set[str] = set()
GPU_TYPES = ("a100", "h100")

CAPABILITIES = stdlib_catalogue().all()
IMPLEMENTATIONS = [impl for impls in implementations().values() for impl in impls]


def _id(item: Capability | Implementation) -> str:
    return item.name if isinstance(item, Capability) else f"{item.capability}/{item.name}"


@pytest.mark.parametrize("capability", CAPABILITIES, ids=_id)
def test_every_capability_has_an_implementation_on_each_of_its_devices(
    capability: Capability,
) -> None:
    impls = implementations_of(capability.name)
    assert impls, f"{capability.name} has no implementation: add one in stdlib/*.py"
    covered = {device for impl in impls for device in impl.devices}
    assert set(capability.hardware) <= covered, (
        f"no implementation runs on {set(capability.hardware) - covered}"
    )


@pytest.mark.parametrize("impl", IMPLEMENTATIONS, ids=_id)
def test_every_implementation_declares_a_known_capability_and_cost_model(
    impl: Implementation,
) -> None:
    capability = stdlib_catalogue().lookup(impl.capability)
    assert capability is not None, f"{impl.capability} is not declared in stdlib/*.mk"
    assert impl.cost_model in COST_MODELS and impl.cost_model == capability.kind
    assert set(impl.devices) <= set(capability.hardware)


@pytest.mark.parametrize("impl", IMPLEMENTATIONS, ids=_id)
def test_every_implementation_has_a_backend_lowering(impl: Implementation) -> None:
    module, _, function = impl.entry.partition(":")
    assert module.startswith("murakkab.stdlib.") and function.isidentifier()
    if module in PENDING_ISSUE_6:
        assert importlib.util.find_spec(module) is None, f"{module} exists: drop it from PENDING"
        return
    assert callable(impl.load()), f"{impl.entry} is not callable"


@pytest.mark.parametrize("impl", [i for i in IMPLEMENTATIONS if i.cost_model == "tool"], ids=_id)
def test_every_tool_implementation_has_a_profile_per_device(impl: Implementation) -> None:
    capability = stdlib_catalogue().lookup(impl.capability)
    assert capability is not None
    model_knob = capability.knob("model")
    variants = [f"{impl.name}:{m}" for m in model_knob.values or ()] if model_knob else [impl.name]
    tools = {p.key for p in shipped_priors() if isinstance(p, ToolProfile)}
    for variant in variants:
        if "cpu" in impl.devices:
            assert f"tool/{impl.capability}/{variant}/cpu" in tools
        if "gpu" in impl.devices:
            assert any(f"tool/{impl.capability}/{variant}/{gpu}" in tools for gpu in GPU_TYPES)


@pytest.mark.parametrize(
    "capability", [c for c in CAPABILITIES if c.kind in ("llm", "composition")], ids=_id
)
def test_every_model_an_llm_capability_offers_has_a_model_profile(capability: Capability) -> None:
    knob = capability.knob("model")
    assert knob is not None and knob.values, f"{capability.name} offers no models"
    profiled = {p.model for p in shipped_priors() if isinstance(p, ModelProfile)}
    assert set(knob.values) <= profiled, f"no model profile for {set(knob.values) - profiled}"


def test_a_gpu_call_sees_only_its_gpus_and_a_cpu_call_none() -> None:
    on_gpus = Call("llm.answer", (), {}, device="gpu:a100x2", gpu_ids=(2, 3))
    assert cuda_environment(on_gpus) == {"CUDA_VISIBLE_DEVICES": "2,3"}
    assert cuda_environment(Call("code.execute", (), {})) == {"CUDA_VISIBLE_DEVICES": ""}
