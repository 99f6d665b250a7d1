"""Plan of workflow code_gen_debate, emitted by `mkc compile --emit plan --backend python`.

Write a Python solution to a programming problem by debate between coding agents.

Source:     examples/code_gen_debate.mk
Pipeline:   default
SLO:        latency < 60s, quality >= 0.892
Objective:  minimize cost
Cluster:    cloud-a100-h100
Placement:  optimal for cost (by greedy, gap 0.0%)
Predicted:  cost 0.01306 usd, energy 1.658e+04 J, latency 58.87 s

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


def tests(run: PlanRun, problem: Any, *, label: str = "") -> Any:
    """code.write_tests via vllm: step tests.

    Runs on gpu:h100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node h100-vm-0.
    Planned start 0 s; predicted latency 7.7 s.
    """
    return run.invoke('tests', (problem,), label)


def proposals(run: PlanRun, r: dict[str, Any], *, label: str = "") -> list[Any]:
    """flow.parallel proposals: 4 copies of its body at once; the list of their yields.

    Predicted latency 7.7 s.
    """
    return run.parallel(4, proposals_body, r, label)


def proposals_body(run: PlanRun, r: dict[str, Any], *, label: str = "") -> Any:
    """One copy of the body of proposals."""
    flow = run.dataflow(label)
    r['proposals.draft'] = flow.op(proposals_draft, r['problem'])
    return flow.finish(r['proposals.draft'])


def proposals_draft(run: PlanRun, problem: Any, *, label: str = "") -> Any:
    """code.generate via vllm: step proposals.draft.

    Runs on gpu:h100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node h100-vm-0.
    Planned start 0 s; predicted latency 7.7 s.
    """
    return run.invoke('proposals.draft', (problem,), label)


def debated(run: PlanRun, r: dict[str, Any], *, label: str = "") -> Any:
    """flow.repeat debated: 4 rounds of its body, each given the last round's yield.

    Predicted latency 43.5 s.
    """
    initial = r['proposals']
    return run.repeat(4, debated_body, r, 'debated.previous', initial, label)


def debated_body(run: PlanRun, r: dict[str, Any], *, label: str = "") -> Any:
    """One round of the body of debated."""
    flow = run.dataflow(label)
    r['debated.report'] = flow.op(debated_report, r['debated.previous'], r['tests'])
    r['debated.revisions'] = flow.op(debated_revisions, {'debated.previous': r['debated.previous'], 'debated.report': r['debated.report'], 'problem': r['problem']})
    return flow.finish(r['debated.revisions'])


def debated_report(run: PlanRun, solutions: Any, tests: Any, *, label: str = "") -> Any:
    """code.run_tests via subprocess-sandbox: step debated.report.

    Runs on cpu, 1 core, node a100-vm-0.
    Planned start 7.7 s; predicted latency 0.55 s.
    """
    return run.invoke('debated.report', (solutions, tests), label)


def debated_revisions(run: PlanRun, r: dict[str, Any], *, label: str = "") -> list[Any]:
    """flow.parallel debated.revisions: 4 copies of its body at once; the list of their yields.

    Predicted latency 10.3 s.
    """
    return run.parallel(4, debated_revisions_body, r, label)


def debated_revisions_body(run: PlanRun, r: dict[str, Any], *, label: str = "") -> Any:
    """One copy of the body of debated.revisions."""
    flow = run.dataflow(label)
    r['debated.revisions.revision'] = flow.op(debated_revisions_revision, r['problem'], r['debated.previous'], r['debated.report'])
    return flow.finish(r['debated.revisions.revision'])


def debated_revisions_revision(run: PlanRun, problem: Any, solutions: Any, report: Any, *, label: str = "") -> Any:
    """code.revise via vllm: step debated.revisions.revision.

    Runs on gpu:a100x8 (8 GPUs), GPUs [0, 1, 2, 3, 4, 5, 6, 7] of node a100-vm-0.
    Planned start 9.9 s; predicted latency 10.3 s.
    """
    return run.invoke('debated.revisions.revision', (problem, solutions, report), label)


def best(run: PlanRun, problem: Any, candidates: Any, tests: Any, *, label: str = "") -> Any:
    """code.rank via vllm: step best.

    Runs on gpu:h100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node h100-vm-0.
    Planned start 51.2 s; predicted latency 7.7 s.
    """
    return run.invoke('best', (problem, candidates, tests), label)


# ---- the workflow ---------------------------------------------------------------------


def workflow(run: PlanRun, r: dict[str, Any]) -> Any:
    """Workflow code_gen_debate: each op starts once its inputs are ready."""
    flow = run.dataflow()
    r['tests'] = flow.op(tests, r['problem'])
    r['proposals'] = flow.op(proposals, {'problem': r['problem']})
    r['debated'] = flow.op(debated, {'problem': r['problem'], 'proposals': r['proposals'], 'tests': r['tests']})
    r['best'] = flow.op(best, r['problem'], r['debated'], r['tests'])
    return flow.finish(r['best'])


def execute(inputs: dict[str, Any], options: RunOptions) -> RunResult:
    """Run the workflow on `inputs`; the job's run request gives the defaults."""
    return PlanRun(PLAN, options).execute(workflow, inputs)


def main(argv: list[str] | None = None) -> int:
    args = plan_arguments(argv, PLAN, description='Run workflow code_gen_debate (a murakkab plan).')
    return report(execute(args.inputs, args.options), args.as_json)


# ---- the plan as data: what `invoke_step` runs for each op ------------------------------
PLAN_DATA = {
    'cluster': 'cloud-a100-h100',
    'defaults': {'problem': 'Write a function fib(n) that returns the n-th Fibonacci number.'},
    'doc': 'Write a Python solution to a programming problem by debate between coding agents.',
    'format': 1,
    'objective': 'minimize cost',
    'params': [['problem', 'text']],
    'pipeline': 'default',
    'placement': {
        'bound': 0.01306,
        'cost_usd': 0.01306,
        'energy_j': 16580.0,
        'gap': 0.0,
        'gpus': 12,
        'greedy': 0.01306,
        'latency_s': 58.87,
        'objective': 'cost',
        'proof': 'bound',
        'slo': 'latency < 60s',
        'solver': 'greedy',
        'status': 'optimal',
        'value': 0.01306,
        'workflow': 'code_gen_debate',
    },
    'predicted': {'cost_usd': 0.013055800000000001, 'energy_j': 16580.0},
    'result': {'ref': 'best'},
    'slo': 'latency < 60s, quality >= 0.892',
    'source': 'examples/code_gen_debate.mk',
    'steps': [
        {
            'args': [{'ref': 'problem'}],
            'batch': 82,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': [],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.llm_vllm:run',
                'extra': 'vllm',
                'name': 'vllm',
                'requires': ['vllm'],
            },
            'instance': 'gemma-3-27b@gpu:h100x4',
            'knobs': {
                'batch': 82,
                'gpu': 'h100',
                'load': 2024.0,
                'model': 'gemma-3-27b',
                'tp': 4,
            },
            'name': 'tests',
            'op': 'code.write_tests',
            'placement': {
                'cores': 1,
                'device': 'gpu:h100x4',
                'gpu_ids': [0, 1, 2, 3],
                'node': 'h100-vm-0',
                'start': 0.0,
            },
            'predicted': {'cost_usd': 0.0006639, 'energy_j': 350.0, 'latency_s': 7.702},
            'yields': None,
        },
        {
            'args': [],
            'batch': 1,
            'body': [
                {
                    'args': [{'ref': 'problem'}],
                    'batch': 82,
                    'body': [],
                    'body_args': [],
                    'count': 0,
                    'deps': [],
                    'fallbacks': [],
                    'impl': {
                        'entry': 'murakkab.stdlib.llm_vllm:run',
                        'extra': 'vllm',
                        'name': 'vllm',
                        'requires': ['vllm'],
                    },
                    'instance': 'gemma-3-27b@gpu:h100x4',
                    'knobs': {
                        'batch': 82,
                        'gpu': 'h100',
                        'load': 2024.0,
                        'model': 'gemma-3-27b',
                        'tp': 4,
                    },
                    'name': 'proposals.draft',
                    'op': 'code.generate',
                    'placement': {
                        'cores': 1,
                        'device': 'gpu:h100x4',
                        'gpu_ids': [0, 1, 2, 3],
                        'node': 'h100-vm-0',
                        'start': 0.0,
                    },
                    'predicted': {
                        'cost_usd': 0.0006639,
                        'energy_j': 350.0,
                        'latency_s': 7.702,
                    },
                    'yields': None,
                },
            ],
            'body_args': [],
            'count': 4,
            'deps': [],
            'fallbacks': [],
            'impl': None,
            'instance': '',
            'knobs': {'agents': 4},
            'name': 'proposals',
            'op': 'flow.parallel',
            'placement': None,
            'predicted': {'cost_usd': 0.002656, 'energy_j': 1400.0, 'latency_s': 7.702},
            'yields': {'ref': 'proposals.draft'},
        },
        {
            'args': [{'ref': 'proposals'}],
            'batch': 1,
            'body': [
                {
                    'args': [{'ref': 'debated.previous'}, {'ref': 'tests'}],
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
                    'name': 'debated.report',
                    'op': 'code.run_tests',
                    'placement': {
                        'cores': 1,
                        'device': 'cpu',
                        'gpu_ids': [],
                        'node': 'a100-vm-0',
                        'start': 7.702,
                    },
                    'predicted': {
                        'cost_usd': 7.333e-06,
                        'energy_j': 3.3,
                        'latency_s': 0.55,
                    },
                    'yields': None,
                },
                {
                    'args': [],
                    'batch': 1,
                    'body': [
                        {
                            'args': [
                                {'ref': 'problem'},
                                {'ref': 'debated.previous'},
                                {'ref': 'debated.report'},
                            ],
                            'batch': 73,
                            'body': [],
                            'body_args': [],
                            'count': 0,
                            'deps': [],
                            'fallbacks': [],
                            'impl': {
                                'entry': 'murakkab.stdlib.llm_vllm:run',
                                'extra': 'vllm',
                                'name': 'vllm',
                                'requires': ['vllm'],
                            },
                            'instance': 'gemma-3-27b@gpu:a100x8',
                            'knobs': {
                                'batch': 73,
                                'gpu': 'a100',
                                'load': 1348.0,
                                'model': 'gemma-3-27b',
                                'tp': 8,
                            },
                            'name': 'debated.revisions.revision',
                            'op': 'code.revise',
                            'placement': {
                                'cores': 1,
                                'device': 'gpu:a100x8',
                                'gpu_ids': [
                                    0,
                                    1,
                                    2,
                                    3,
                                    4,
                                    5,
                                    6,
                                    7,
                                ],
                                'node': 'a100-vm-0',
                                'start': 9.902,
                            },
                            'predicted': {
                                'cost_usd': 0.0005651,
                                'energy_j': 904.2,
                                'latency_s': 10.32,
                            },
                            'yields': None,
                        },
                    ],
                    'body_args': [],
                    'count': 4,
                    'deps': [],
                    'fallbacks': [],
                    'impl': None,
                    'instance': '',
                    'knobs': {'agents': 4},
                    'name': 'debated.revisions',
                    'op': 'flow.parallel',
                    'placement': None,
                    'predicted': {
                        'cost_usd': 0.002261,
                        'energy_j': 3617.0,
                        'latency_s': 10.32,
                    },
                    'yields': {'ref': 'debated.revisions.revision'},
                },
            ],
            'body_args': ['debated.previous'],
            'count': 4,
            'deps': ['proposals'],
            'fallbacks': [],
            'impl': None,
            'instance': '',
            'knobs': {'rounds': 4},
            'name': 'debated',
            'op': 'flow.repeat',
            'placement': None,
            'predicted': {
                'cost_usd': 0.009072,
                'energy_j': 14480.0,
                'latency_s': 43.47,
            },
            'yields': {'ref': 'debated.revisions'},
        },
        {
            'args': [{'ref': 'problem'}, {'ref': 'debated'}, {'ref': 'tests'}],
            'batch': 82,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['debated', 'tests'],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.llm_vllm:run',
                'extra': 'vllm',
                'name': 'vllm',
                'requires': ['vllm'],
            },
            'instance': 'gemma-3-27b@gpu:h100x4',
            'knobs': {
                'batch': 82,
                'gpu': 'h100',
                'load': 2024.0,
                'model': 'gemma-3-27b',
                'tp': 4,
            },
            'name': 'best',
            'op': 'code.rank',
            'placement': {
                'cores': 1,
                'device': 'gpu:h100x4',
                'gpu_ids': [0, 1, 2, 3],
                'node': 'h100-vm-0',
                'start': 51.17,
            },
            'predicted': {'cost_usd': 0.0006639, 'energy_j': 350.0, 'latency_s': 7.702},
            'yields': None,
        },
    ],
    'workflow': 'code_gen_debate',
}
PLAN = Plan.from_json(json.dumps(PLAN_DATA))

if __name__ == "__main__":
    sys.exit(main())
