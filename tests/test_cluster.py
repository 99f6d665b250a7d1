"""Hardware catalogue, discovery of this machine, cluster specs and `mkc cluster show`."""

from __future__ import annotations

import dataclasses
import json
import sys
import types
from pathlib import Path

import pytest

from murakkab import hardware
from murakkab.cluster import (
    Cluster,
    Node,
    cluster_or_this_machine,
    load_cluster,
    locate_keys,
    parse_cluster,
    path_text,
    span_of,
)
from murakkab.diagnostics import DiagnosticError
from murakkab.hardware import DEVICE_KINDS, device_kind, discover_this_machine, find_kind
from murakkab.source import SourceFile
from tests.goldens import ROOT, run_mkc

CLUSTERS = ROOT / "examples" / "clusters"

# ---- the catalogue ---------------------------------------------------------------------


def test_catalogue_is_sane() -> None:
    assert set(DEVICE_KINDS) == {"cpu-core", "a100-80gb", "h100-80gb"}
    for name, kind in DEVICE_KINDS.items():
        assert kind.name == name
        assert kind.kind in ("cpu", "gpu")
        assert (kind.gpu_type is None) == (kind.kind == "cpu")
        assert 0 < kind.idle_watts < kind.busy_watts
        assert kind.price_per_hour > 0 and kind.memory_gb > 0
        assert len(kind.provenance) > 40


def test_gpu_numbers_follow_the_reference_sweep() -> None:
    a100, h100 = DEVICE_KINDS["a100-80gb"], DEVICE_KINDS["h100-80gb"]
    assert (a100.price_per_hour, a100.busy_watts) == (1.80, 800.0)
    assert (h100.price_per_hour, h100.busy_watts) == (6.35, 930.0)
    assert a100.memory_gb == h100.memory_gb == 80.0
    assert "murakkab-paper-data.md" in a100.provenance and "VM share" in h100.provenance


@pytest.mark.parametrize(
    ("alias", "name"),
    [("a100", "a100-80gb"), ("A100-80GB", "a100-80gb"), ("h100", "h100-80gb")]
    + [("cpu", "cpu-core"), ("cpu-core", "cpu-core")],
)
def test_device_kind_accepts_names_and_aliases(alias: str, name: str) -> None:
    found = device_kind(alias)
    assert found is not None and found.name == name


@pytest.mark.parametrize("unknown", ["v100", "", "gpu", "a100-40gb"])
def test_device_kind_returns_none_for_unknown_names(unknown: str) -> None:
    assert device_kind(unknown) is None


def test_find_kind_refuses_an_ambiguous_gpu_type() -> None:
    a100_40gb = dataclasses.replace(DEVICE_KINDS["a100-80gb"], name="a100-40gb", memory_gb=40)
    kinds = {**DEVICE_KINDS, "a100-40gb": a100_40gb}
    assert find_kind("a100", kinds) is None
    assert find_kind("a100-40gb", kinds) is a100_40gb


# ---- discovering this machine ----------------------------------------------------------


def _fake_nvml(gpus: list[tuple[str | bytes, int, int | None]], fail_init: bool = False) -> object:
    """A stand-in for `pynvml`: (name, memory bytes, power limit mW or None) per GPU."""
    module = types.ModuleType("pynvml")
    calls: list[str] = []

    def init() -> None:
        calls.append("init")
        if fail_init:
            raise RuntimeError("NVML Shared Library Not Found")

    def limit(index: int) -> int:
        milliwatts = gpus[index][2]
        if milliwatts is None:
            raise RuntimeError("Not Supported")
        return milliwatts

    module.nvmlInit = init  # type: ignore[attr-defined]
    module.nvmlShutdown = lambda: calls.append("shutdown")  # type: ignore[attr-defined]
    module.nvmlDeviceGetCount = lambda: len(gpus)  # type: ignore[attr-defined]
    module.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    module.nvmlDeviceGetName = lambda i: gpus[i][0]  # type: ignore[attr-defined]
    module.nvmlDeviceGetMemoryInfo = lambda i: types.SimpleNamespace(total=gpus[i][1])  # type: ignore[attr-defined]
    module.nvmlDeviceGetPowerManagementLimit = limit  # type: ignore[attr-defined]
    module.calls = calls  # type: ignore[attr-defined]
    return module


def test_discovery_without_nvml_finds_cores_memory_and_no_gpus(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` raises ImportError
    cluster = discover_this_machine()
    assert cluster.name == "this-machine" and len(cluster.nodes) == 1
    node = cluster.nodes[0]
    assert node.cpu_cores >= 1 and node.gpus == ()
    assert node.memory_gb > 0
    assert cluster.kinds == DEVICE_KINDS


def test_discovery_survives_a_failing_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_nvml([("NVIDIA A100-SXM4-80GB", 80 * 2**30, 400_000)], fail_init=True)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    assert hardware.discover_gpus() == []
    assert discover_this_machine().gpu_count() == 0


def test_discovery_survives_nvml_failing_midway(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _fake_nvml([("NVIDIA H100 80GB HBM3", 80 * 2**30, 700_000)])
    fake.nvmlDeviceGetCount = lambda: 2  # type: ignore[attr-defined]  # the second one is gone
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    assert hardware.discover_gpus() == []
    assert fake.calls == ["init", "shutdown"]  # type: ignore[attr-defined]


def test_discovery_maps_nvml_gpus_to_catalogue_kinds(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus: list[tuple[str | bytes, int, int | None]] = [
        ("NVIDIA A100-SXM4-80GB", 81920 * 2**20, 400_000),
        (b"NVIDIA A100-SXM4-80GB", 81920 * 2**20, 400_000),  # older releases: bytes
        ("NVIDIA H100 80GB HBM3", 81559 * 2**20, 700_000),
        ("NVIDIA H200", 143771 * 2**20, None),
    ]
    fake = _fake_nvml(gpus)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    cluster = discover_this_machine()
    assert cluster.nodes[0].gpus == (("a100-80gb", 2), ("h100-80gb", 1), ("nvidia-h200", 1))
    assert cluster.gpu_count("a100") == 2 and cluster.gpu_count() == 4
    h200 = cluster.kind("h200")
    assert h200 is not None and h200.kind == "gpu" and h200.memory_gb == 140.4
    assert h200.price_per_hour == 0.0 and "NVML" in h200.provenance
    assert fake.calls == ["init", "shutdown"]  # type: ignore[attr-defined]


def test_unknown_gpu_kind_takes_power_from_the_board_limit() -> None:
    kind = hardware.kind_of_gpu(hardware.DiscoveredGpu("NVIDIA L4", 22.5, 72.0))
    assert (kind.name, kind.gpu_type, kind.busy_watts, kind.memory_gb) == (
        "nvidia-l4",
        "l4",
        72.0,
        22.5,
    )
    assert 0 < kind.idle_watts < kind.busy_watts


def test_memory_reads_meminfo_and_falls_back(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       24684084 kB\nMemFree: 1 kB\n", encoding="ascii")
    assert hardware.memory_gb(meminfo) == 23.5
    assert hardware.memory_gb(tmp_path / "missing") >= 0.0


def test_no_cluster_means_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.delenv("MKC_CLUSTER")
    assert cluster_or_this_machine(None).name == "this-machine"


def test_mkc_cluster_names_the_default_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MKC_CLUSTER", str(CLUSTERS / "this_machine.toml"))
    assert cluster_or_this_machine(None).nodes[0].name == "localhost"
    cloud = str(CLUSTERS / "cloud_a100_h100.toml")
    assert cluster_or_this_machine(cloud).name == "cloud-a100-h100"  # --cluster wins


# ---- loading specs ---------------------------------------------------------------------


def test_this_machine_example_loads() -> None:
    cluster = load_cluster(CLUSTERS / "this_machine.toml")
    assert cluster.nodes == (Node("localhost", 2, 23.5, ()),)
    assert cluster.kinds == DEVICE_KINDS


def test_cloud_example_matches_the_reference_shape() -> None:
    cluster = load_cluster(CLUSTERS / "cloud_a100_h100.toml")
    assert cluster.name == "cloud-a100-h100"
    assert [n.name for n in cluster.nodes] == ["a100-vm-0", "a100-vm-1", "h100-vm-0", "h100-vm-1"]
    assert cluster.gpu_count("a100") == 16 and cluster.gpu_count("h100-80gb") == 16
    assert cluster.total_cores == 4 * 96
    a100, h100 = cluster.kind("a100"), cluster.kind("h100")
    assert a100 is not None and (a100.price_per_hour, a100.busy_watts) == (1.80, 800.0)
    assert h100 is not None and (h100.price_per_hour, h100.busy_watts) == (6.35, 930.0)
    assert "cloud_a100_h100.toml" in a100.provenance  # an override says where it was set


def _load(text: str) -> Cluster:
    return parse_cluster(SourceFile.of("spec.toml", text))


def test_overrides_and_new_kinds_merge_with_the_catalogue() -> None:
    cluster = _load(
        '[kinds.a100-80gb]\nprice_per_hour = 3.40\n\n[kinds.l4-24gb]\nkind = "gpu"\n'
        "price_per_hour = 0.8\nidle_watts = 16\nbusy_watts = 72\nmemory_gb = 24\n"
        'provenance = "list price"\n\n[[nodes]]\nname = "n"\ncpu_cores = 8\nmemory_gb = 32\n'
        "[nodes.gpus]\nl4 = 2\na100 = 0\n"
    )
    assert cluster.nodes[0].gpus == (("l4-24gb", 2),)
    assert cluster.kinds["a100-80gb"].price_per_hour == 3.40
    assert cluster.kinds["a100-80gb"].idle_watts == DEVICE_KINDS["a100-80gb"].idle_watts
    l4 = cluster.kinds["l4-24gb"]
    assert (l4.gpu_type, l4.busy_watts, l4.provenance) == ("l4", 72.0, "list price")
    assert cluster.name == "cluster"  # no name: the file's stem (here a string source)


NODE = '[[nodes]]\nname = "a"\ncpu_cores = 1\nmemory_gb = 1\n'  # lines 1-4
CASES = [
    # (code, spec text, line, column, words in the message)
    ("MK0601", '[[nodes]]\nname = "a"\ncpu_cores = \n', 3, 13, "TOML syntax error: invalid"),
    ("MK0601", '[[nodes]]\nname = "a', 2, 10, "unterminated string"),
    ("MK0602", NODE + "colour = 1\n", 5, 1, "unknown key nodes[0].colour"),
    ("MK0602", 'nmae = "x"\n' + NODE, 1, 1, "unknown key nmae"),
    ("MK0603", NODE.replace("cpu_cores = 1", "cpu_cores = 1.5"), 3, 1, "nodes[0].cpu_cores"),
    ("MK0603", NODE.replace("cpu_cores = 1", "cpu_cores = true"), 3, 1, "not a boolean"),
    ("MK0603", "nodes = 3\n", 1, 1, "nodes: must be an array"),
    ("MK0604", '[[nodes]]\nname = "a"\nmemory_gb = 1\n', 1, 3, "nodes[0]: missing key cpu_cores"),
    ("MK0604", 'name = "empty"\n', 1, 1, "at least one [[nodes]]"),
    ("MK0604", "[kinds.a100]\nprice_per_hour = 1\n" + NODE, 1, 2, "new device kind 'a100'"),
    ("MK0605", NODE + "count = 0\n", 5, 1, "nodes[0].count: must be at least 1"),
    ("MK0605", NODE.replace("memory_gb = 1", "memory_gb = -4"), 4, 1, "above 0"),
    ("MK0605", NODE.replace("memory_gb = 1", "memory_gb = nan"), 4, 1, "finite"),
    ("MK0605", "[kinds.cpu-core]\nbusy_watts = 1\n" + NODE, 2, 1, "below idle"),
    ("MK0605", NODE.replace('"a"', '"a b"'), 2, 1, "not a node name"),
    ("MK0605", '[kinds.x]\nkind = "tpu"\n' + NODE, 2, 1, 'kind must be "cpu" or "gpu"'),
    ("MK0606", NODE + "gpus = { h100 = 1, v100 = 2 }\n", 5, 20, "nodes[0].gpus.v100"),
    ("MK0606", NODE + "gpus = { cpu = 2 }\n", 5, 10, "not a GPU kind"),
    ("MK0607", NODE + "\n" + NODE, 7, 1, "nodes[1].name: duplicate node name 'a'"),
    ("MK0607", NODE + "gpus = { a100 = 1, a100-80gb = 1 }\n", 5, 20, "named twice"),
    ("MK0608", "[kinds.h100-80gb]\nmemory_gb = 94\n" + NODE, 2, 1, "is fixed"),
    ("MK0608", '[kinds.cpu-core]\nkind = "gpu"\n' + NODE, 2, 1, "is fixed"),
]


@pytest.mark.parametrize(("code", "text", "line", "column", "words"), CASES)
def test_errors_are_located(code: str, text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(DiagnosticError) as caught:
        _load(text)
    first = caught.value.diagnostics[0]
    assert (first.code, first.span.line, first.span.column) == (code, line, column), first
    assert words in first.message
    assert "spec.toml" in caught.value.sources  # the CLI can show the line


def test_every_cluster_code_has_a_unit_case() -> None:
    assert {case[0] for case in CASES} == {f"MK060{i}" for i in range(1, 9)}


def test_all_errors_are_reported_at_once() -> None:
    text = NODE.replace("= 1", "= -1", 1).replace("= 1", '= "lots"') + "speed = 1\n"
    with pytest.raises(DiagnosticError) as caught:
        _load(text)
    assert [d.code for d in caught.value.diagnostics] == ["MK0605", "MK0603", "MK0602"]


# ---- the locator -----------------------------------------------------------------------

LOCATOR_TEXT = """name = "x"  # a comment with = in it
notes = '''
[[nodes]]
fake = 1
'''
[kinds."a100-80gb"]
price_per_hour = 2
[[nodes]]
name = "a"
[nodes.gpus]
a100 = 1
[[ nodes ]]
gpus = { h100 = 2, "l4" = 3 }
"""


def test_locator_finds_tables_keys_and_inline_keys() -> None:
    spans = locate_keys(SourceFile.of("f", LOCATOR_TEXT))
    where = {path: (span.line, span.column) for path, span in spans.items()}
    assert where[("name",)] == (1, 1)
    assert where[("kinds", "a100-80gb", "price_per_hour")] == (7, 1)
    assert where[("nodes", 0)] == (8, 3)
    assert where[("nodes", 0, "gpus", "a100")] == (11, 1)
    assert where[("nodes", 1)] == (12, 4)
    assert where[("nodes", 1, "gpus", "h100")] == (13, 10)
    assert where[("nodes", 1, "gpus", "l4")] == (13, 20)
    assert ("fake",) not in where and ("nodes", 0, "fake") not in where  # inside a string


def test_span_of_falls_back_to_the_enclosing_table_then_the_file() -> None:
    spans = locate_keys(SourceFile.of("f", LOCATOR_TEXT))
    assert span_of(spans, ("nodes", 1, "cpu_cores"), "f").line == 12
    assert (span_of(spans, ("missing",), "f").line, span_of(spans, (), "f").column) == (1, 1)


def test_path_text() -> None:
    assert path_text(("nodes", 1, "gpus", "a100")) == "nodes[1].gpus.a100"
    assert path_text(("kinds", "a b")) == 'kinds."a b"'
    assert path_text(()) == "(top level)"


# ---- mkc cluster show ------------------------------------------------------------------


def test_show_prints_tables_with_provenance() -> None:
    status, out, err = run_mkc(["cluster", "show", "examples/clusters/cloud_a100_h100.toml"])
    assert status == 0, err
    assert "a100-vm-1     96  1900 GiB  8 x a100-80gb" in out
    assert "total        384  7600 GiB  32 GPU(s)" in out
    assert "h100-80gb    gpu    6.35     185     930  80 GiB" in out
    assert "provenance" in out and "Barroso" in out


def test_show_json_round_trips_the_cluster() -> None:
    status, out, err = run_mkc(["cluster", "show", "examples/clusters/this_machine.toml", "--json"])
    assert status == 0, err
    data = json.loads(out)
    assert data["name"] == "this-machine"
    assert data["nodes"] == [{"name": "localhost", "cpu_cores": 2, "memory_gb": 23.5, "gpus": {}}]
    assert data["kinds"]["a100-80gb"]["price_per_hour"] == 1.8
    assert list(data["kinds"]) == sorted(data["kinds"])


def test_show_without_a_file_discovers_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    status, out, err = run_mkc(["cluster", "show", "--json"], pin_cluster=False)
    assert status == 0, err
    assert json.loads(out)["source"].startswith("discovered on this machine")


def test_show_renders_a_bad_spec_with_its_line(tmp_path: Path) -> None:
    spec = tmp_path / "bad.toml"
    spec.write_text('[[nodes]]\nname = "a"\ncpu_cores = 1\nmemory_gb = 1\ngpus = { v100 = 1 }\n')
    status, out, err = run_mkc(["cluster", "show", str(spec)])
    assert (status, out) == (1, "")
    assert "bad.toml:5:10: error[MK0606]" in err
    assert " 5 | gpus = { v100 = 1 }" in err and "^^^^" in err


def test_show_reports_a_missing_file_and_a_bare_cluster_command() -> None:
    status, _, err = run_mkc(["cluster", "show", "no/such.toml"])
    assert status == 1 and "error[MK0001]: no such file: no/such.toml" in err
    status, _, err = run_mkc(["cluster"])
    assert status == 2 and "show" in err
