"""The profile store: shipped priors, layering, transactions, bad files and stores, tiers."""

from __future__ import annotations

import dataclasses
import itertools
import json
import sqlite3
from pathlib import Path
from typing import TypeVar

import pytest

from murakkab.catalogue import stdlib_catalogue
from murakkab.diagnostics import DiagnosticBag, DiagnosticError
from murakkab.executors import implementations_of
from murakkab.profiles.codec import from_data, kind_of, to_data
from murakkab.profiles.priors import parse_profile_text, published_tiers, shipped_priors
from murakkab.profiles.schema import ModelProfile, ToolProfile, WorkflowProfile
from murakkab.profiles.store import ProfileStore, default_store_path
from murakkab.profiles.tiers import (
    latency_tiers,
    percentile_higher,
    percentile_lower,
    quality_tiers,
    split_local,
)
from murakkab.source import SourceFile
from tests.goldens import run_mkc

T = TypeVar("T")
GPU_SIDES = {"gpu": ["a100", "h100"]}
REFERENCE_ROWS = {
    ("deepseek-r1-distill-qwen-32b", "a100", 4),
    ("deepseek-r1-distill-qwen-32b", "a100", 8),
    ("deepseek-r1-distill-qwen-32b", "h100", 4),
    ("deepseek-r1-distill-qwen-32b", "h100", 8),
    ("gemma-3-27b", "a100", 4),
    ("gemma-3-27b", "a100", 8),
    ("gemma-3-27b", "h100", 4),
    ("gemma-3-27b", "h100", 8),
    ("llama-3.1-70b", "a100", 8),
    ("llama-3.1-70b", "h100", 8),
    ("nvlm-d-72b", "a100", 4),
    ("nvlm-d-72b", "a100", 8),
    ("nvlm-d-72b", "h100", 4),
    ("nvlm-d-72b", "h100", 8),
    ("phi-4", "a100", 1),
    ("phi-4", "a100", 2),
    ("phi-4", "h100", 1),
    ("phi-4", "h100", 2),
    ("llava-onevision-7b", "a100", 4),
    ("llava-onevision-7b", "h100", 4),
}


def of_type(kind: type[T]) -> list[T]:
    return [p for p in shipped_priors() if isinstance(p, kind)]


def codes(error: pytest.ExceptionInfo[DiagnosticError]) -> list[str]:
    return [d.code for d in error.value.diagnostics]


def measured(workflow: str = "video_qa", frames: int = 1, quality: float = 0.5) -> WorkflowProfile:
    return WorkflowProfile(
        workflow,
        (("frames", frames), ("model", "gemma-3-27b"), ("stt", False)),
        quality,
        None,
        400.0,
        None,
        "measured",
        "a test",
    )


# ---- shipped priors ---------------------------------------------------------------------


def test_priors_load_with_provenance() -> None:
    priors = shipped_priors()
    assert len(of_type(ModelProfile)) == 23
    # video Q/A, code generation, math; then the local CPU video Q/A configurations
    assert len(of_type(WorkflowProfile)) == 18 + 16 + 12 + 30
    assert len(of_type(ToolProfile)) == 24
    assert all(p.origin == "prior" and p.source.strip() for p in priors)
    assert len({p.key for p in priors}) == len(priors)


def test_every_row_of_the_reference_model_table_is_a_curve() -> None:
    rows = {(p.model, p.device, p.tp): p for p in of_type(ModelProfile)}
    assert REFERENCE_ROWS <= set(rows)
    for key in REFERENCE_ROWS:
        profile = rows[key]
        assert len(profile.points) >= 2, key
        assert profile.points[-1].load_tps == profile.saturation_tps
        assert profile.tokens_per_wh is not None
    assert rows[("deepseek-r1-distill-qwen-32b", "a100", 4)].points[-1].tpot_s == 0.099
    assert rows[("gemma-3-27b", "a100", 4)].points[1].load_tps == 556
    hosted = rows[("gpt-4o", "hosted", 0)]
    assert hosted.price_per_million_tokens and hosted.rate_limit_tps


def test_every_stdlib_model_has_a_model_profile() -> None:
    models = {p.model for p in of_type(ModelProfile)}
    for capability in stdlib_catalogue().all():
        knob = capability.knob("model")
        if capability.kind != "tool" and knob is not None and knob.values is not None:
            assert {str(v) for v in knob.values} <= models, capability.name


def test_every_tool_implementation_has_a_profile_per_device_and_model() -> None:
    """Keys as the cost model looks them up: tool/CAPABILITY/IMPL[:MODEL]/DEVICE."""
    keys = {p.key for p in of_type(ToolProfile)}
    units = {(p.executor, p.impl.split(":")[0]): p.unit for p in of_type(ToolProfile)}
    for capability in stdlib_catalogue().all():
        if capability.kind != "tool":
            continue
        knob = capability.knob("model")
        models = [None] if knob is None or knob.values is None else [str(v) for v in knob.values]
        for impl in implementations_of(capability.name):
            assert units.get((capability.name, impl.name)) == impl.unit, impl
            devices = [d for side in impl.devices for d in GPU_SIDES.get(side, [side])]
            for device, model in itertools.product(devices, models):
                variant = impl.name if model is None else f"{impl.name}:{model}"
                assert f"tool/{capability.name}/{variant}/{device}" in keys


def test_profiles_round_trip_through_plain_data() -> None:
    for profile in shipped_priors():
        data = json.loads(json.dumps(to_data(profile)))
        bag = DiagnosticBag()
        assert from_data(kind_of(profile), data, "prior", lambda _: pytest.fail(), bag) == profile
        assert not bag.items


# ---- profile files ----------------------------------------------------------------------


def test_toml_entry_errors_name_line_and_key() -> None:
    text = '[[tool]]\nexecutor = "web.fetch"\nimpl = "urllib"\ndevice = "cpu"\nunit = "page"\n'
    with pytest.raises(DiagnosticError) as error:
        parse_profile_text(SourceFile.of("bad.toml", text), "measured")
    spans = {d.message.split(" ")[0]: d.span for d in error.value.diagnostics}
    assert codes(error).count("MK0702") == 5  # unit, and four missing fields
    assert (spans["unknown"].line, spans["unknown"].column) == (5, 1)
    assert spans["missing"].line == 1  # a missing field is reported at its entry


def test_json_errors_are_located_too() -> None:
    text = '{"tool": [\n  {"executor": "web.fetch", "impl": "httpx", "device": "cpu",\n'
    text += '   "unit": "call", "seconds_per_unit": -1, "fixed_s": 0, "cores": 1,\n'
    text += '   "source": "x"}\n]}\n'
    with pytest.raises(DiagnosticError) as error:
        parse_profile_text(SourceFile.of("bad.json", text), "measured")
    (diagnostic,) = error.value.diagnostics
    assert diagnostic.code == "MK0702" and "seconds_per_unit" in diagnostic.message
    assert (diagnostic.span.line, diagnostic.span.column) == (3, 20)
    with pytest.raises(DiagnosticError) as error:
        parse_profile_text(SourceFile.of("bad.json", '{"tool": [}'), "measured")
    assert codes(error) == ["MK0701"]


# ---- the store --------------------------------------------------------------------------


def test_reading_creates_no_file_and_shows_the_priors(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "cache" / "profiles.sqlite3")
    assert store.all() == list(shipped_priors())
    assert store.stored() == []
    assert not store.path.parent.exists()


def test_measured_profiles_override_priors_with_the_same_key(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.sqlite3")
    prior = next(p for p in of_type(WorkflowProfile) if p.key == measured().key)
    new = measured(frames=7)
    assert store.put([measured(), new]) == 2
    layered = {p.key: p for p in store.all()}
    assert len(layered) == len(shipped_priors()) + 1
    assert layered[prior.key] == measured() and store.get(prior.key) == measured()
    assert store.get(new.key) == new
    assert store.all("tool") == [p for p in shipped_priors() if isinstance(p, ToolProfile)]


def test_import_is_all_or_nothing(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.sqlite3")
    store.put([measured()])
    good = json.loads(ProfileStore(tmp_path / "other.sqlite3").export(include_priors=True))
    good["workflow"][3]["quality"] = 2.0  # one bad entry among many good ones
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(good, indent=1))
    with pytest.raises(DiagnosticError) as error:
        store.import_file(path)
    assert codes(error) == ["MK0702"]
    assert store.stored() == [measured()]


def test_an_exception_inside_a_transaction_keeps_nothing(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.sqlite3")
    store.put([measured()])
    with pytest.raises(RuntimeError), store.transaction() as transaction:
        transaction.put(measured(frames=9))
        raise RuntimeError("interrupted")
    assert store.stored() == [measured()]


def test_export_then_import_round_trips(tmp_path: Path) -> None:
    first = ProfileStore(tmp_path / "a.sqlite3")
    first.put([measured(), measured(frames=3, quality=0.25), *of_type(ToolProfile)[:3]])
    path = tmp_path / "exported.json"
    path.write_text(first.export())
    second = ProfileStore(tmp_path / "b.sqlite3")
    imported = second.import_file(path)
    assert len(imported) == 5
    assert second.export() == first.export()
    assert second.stored() == first.stored()


def test_export_all_includes_the_priors_as_importable_data(tmp_path: Path) -> None:
    path = tmp_path / "all.json"
    path.write_text(ProfileStore(tmp_path / "a.sqlite3").export(include_priors=True))
    store = ProfileStore(tmp_path / "b.sqlite3")
    store.import_file(path)
    as_measured = [dataclasses.replace(p, origin="measured") for p in shipped_priors()]
    assert store.stored() == as_measured


@pytest.mark.parametrize(
    "content", [b"hello, not a database\n", b"SQLite format 3\x00" + b"\xff" * 200]
)
def test_a_corrupt_store_is_reported_and_left_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "profiles.sqlite3"
    path.write_bytes(content)
    store = ProfileStore(path)
    for action in (store.all, lambda: store.put([measured()]), lambda: store.get("x")):
        with pytest.raises(DiagnosticError) as error:
            action()
        assert codes(error) == ["MK0711"]
        assert str(path) in error.value.diagnostics[0].message
    assert path.read_bytes() == content
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profiles.sqlite3"]


def test_another_programs_database_or_a_newer_schema_is_not_a_store(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(DiagnosticError) as error:
        ProfileStore(other).put([measured()])
    assert codes(error) == ["MK0711"]
    newer = ProfileStore(tmp_path / "newer.sqlite3")
    newer.put([measured()])
    with sqlite3.connect(newer.path) as connection:
        connection.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(DiagnosticError) as error:
        newer.all()
    assert codes(error) == ["MK0711"] and "version 99" in error.value.diagnostics[0].message


def test_a_locked_store_is_reported_and_keeps_its_profiles(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.sqlite3", timeout_s=0.1)
    store.put([measured()])
    holder = sqlite3.connect(store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DiagnosticError) as error:
            store.put([measured(frames=3)])
        assert codes(error) == ["MK0712"]
        assert "locked" in error.value.diagnostics[0].message
        assert store.stored() == [measured()]  # readers are not blocked by a writer
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.put([measured(frames=3)])
    assert len(store.stored()) == 2


def test_default_path_follows_env_then_xdg_then_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MKC_PROFILE_DB", str(tmp_path / "x.sqlite3"))
    assert default_store_path() == tmp_path / "x.sqlite3"
    assert ProfileStore().label == "MKC_PROFILE_DB"
    monkeypatch.delenv("MKC_PROFILE_DB")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_store_path() == tmp_path / "murakkab" / "profiles.sqlite3"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_store_path() == tmp_path / "home" / ".cache" / "murakkab" / "profiles.sqlite3"


# ---- tiers ------------------------------------------------------------------------------


def test_percentiles_match_numpy_lower_and_higher() -> None:
    values = [5.0, 1.0, 4.0, 2.0, 3.0]  # numpy.percentile(values, q, method=...)
    assert [percentile_lower(values, q) for q in (0, 24, 25, 50, 95, 100)] == [1, 1, 2, 3, 4, 5]
    assert [percentile_higher(values, q) for q in (0, 1, 25, 50, 95, 100)] == [1, 2, 2, 3, 5, 5]
    with pytest.raises(ValueError):
        percentile_lower([], 50)


@pytest.mark.parametrize("workflow", ["video_qa", "code_gen", "math_qa"])
def test_quality_tiers_reproduce_the_published_table(workflow: str) -> None:
    population = [p for p in of_type(WorkflowProfile) if p.workflow == workflow]
    served, _local = split_local(population, of_type(ModelProfile))
    tiers = quality_tiers(served)
    published = published_tiers()[(workflow, "quality")]
    for name, value in tiers.items():
        assert abs(value - getattr(published, name)) <= 0.005, (workflow, name, value)


def test_tier_values_are_the_ones_documented() -> None:
    computed = {
        w: [
            round(v * 100, 1)
            for _, v in quality_tiers(
                split_local(
                    (p for p in of_type(WorkflowProfile) if p.workflow == w),
                    of_type(ModelProfile),
                )[0]
            ).items()
        ]
        for w in ("video_qa", "code_gen", "math_qa")
    }
    assert computed == {
        "video_qa": [66.5, 64.7, 61.4, 54.8],
        "code_gen": [91.6, 89.2, 87.3, 75.8],
        "math_qa": [78.3, 75.7, 75.5, 70.1],
    }


def test_latency_tiers_are_the_mirror_image() -> None:
    tiers = latency_tiers([float(n) for n in range(1, 21)])
    assert (tiers.best, tiers.good, tiers.fair, tiers.basic) == (1.0, 2.0, 5.0, 11.0)
    assert tiers.get("good") == 2.0 and tiers.get("great") is None and tiers.population == 20
    with pytest.raises(ValueError):
        quality_tiers([measured("video_qa"), measured("code_gen")])


# ---- the command line -------------------------------------------------------------------


def test_cli_list_show_tiers(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "p.sqlite3")]
    status, out, err = run_mkc(["profiles", "list", "--kind", "model", *db])
    assert status == 0, err
    assert "reference 'Model profiles' row Phi-4 / H100 / 1" in out
    assert "23 profiles: 23 priors, 0 measured" in out
    status, out, _ = run_mkc(["profiles", "list", "--json", *db])
    assert len(json.loads(out)) == len(shipped_priors())
    status, out, _ = run_mkc(["profiles", "show", "model/phi-4/h100/tp1", *db])
    assert status == 0 and "LOAD_TPS" in out and "863" in out
    status, out, _ = run_mkc(["profiles", "tiers", "video_qa", *db])
    assert status == 0 and "good   95th        64.7%    64.4%      +0.3" in out
    status, out, _ = run_mkc(["profiles", "tiers", "code_gen", "--json", *db])
    assert json.loads(out)["quality"]["basic"] == pytest.approx(0.758)
    assert not (tmp_path / "p.sqlite3").exists()


def test_cli_import_and_export(tmp_path: Path) -> None:
    db = ["--db", str(tmp_path / "p.sqlite3")]
    source = tmp_path / "in.json"
    ProfileStore(tmp_path / "seed.sqlite3").put([measured()])
    source.write_text(ProfileStore(tmp_path / "seed.sqlite3").export())
    status, out, err = run_mkc(["profiles", "import", str(source), *db])
    assert status == 0, err
    assert "imported 1 workflow" in out and "(1 replace priors)" in out
    exported = tmp_path / "out.json"
    status, _, err = run_mkc(["profiles", "export", "-o", str(exported), *db])
    assert status == 0, err
    assert exported.read_text() == source.read_text()
