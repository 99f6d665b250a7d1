"""Plan of workflow code_gen_debate on Ray, emitted by `mkc compile --emit plan --backend ray`.

Write a Python solution to a programming problem by debate between coding agents.

Source:     examples/code_gen_debate.mk
Pipeline:   default
SLO:        latency < 60s, quality >= 0.892
Objective:  minimize cost
Cluster:    cloud-a100-h100
Placement:  optimal for cost (by greedy, gap 0.0%)
Predicted:  cost 0.01306 usd, energy 1.658e+04 J, latency 58.87 s

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
ACTORS = {
    'gemma-3-27b@gpu:h100x4': {
        'num_cpus': 0,
        'num_gpus': 4,
        'max_concurrency': 82,
        'steps': ['tests', 'proposals.draft', 'best'],
        'bundle': 0,
    },
    'gemma-3-27b@gpu:a100x8': {
        'num_cpus': 0,
        'num_gpus': 8,
        'max_concurrency': 73,
        'steps': ['debated.revisions.revision'],
        'bundle': 1,
    },
}
# The placement group: one bundle per cluster node the plan uses (empty: not placed).
BUNDLES = [
    {'node': 'h100-vm-0', 'resources': {'CPU': 1, 'node:h100-vm-0': 0.001, 'GPU': 4}},
    {'node': 'a100-vm-0', 'resources': {'CPU': 1, 'node:a100-vm-0': 0.001, 'GPU': 8}},
]
# What `ray.init` declares when this plan starts its own local Ray.
LOCAL_RAY = {'num_cpus': 2, 'num_gpus': 12, 'resources': {'node:h100-vm-0': 1.0, 'node:a100-vm-0': 1.0}}

# ---- ops ------------------------------------------------------------------------------


def tests(run: RayRun, problem: Any, *, label: str = "") -> Any:
    """code.write_tests via vllm: step tests.

    Runs on gpu:h100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node h100-vm-0.
    Planned start 0 s; predicted latency 7.7 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:h100x4.
    """
    return run.actor_call('tests', 'gemma-3-27b@gpu:h100x4', (problem,), label)


def proposals(run: RayRun, r: dict[str, Any], *, label: str = "") -> list[Any]:
    """flow.parallel proposals: 4 copies of its body, submitted at once.

    Predicted latency 7.7 s.
    """
    return run.parallel(4, proposals_body, r, label)


def proposals_body(run: RayRun, r: dict[str, Any], *, label: str = "") -> Any:
    """One copy of the body of proposals."""
    r['proposals.draft'] = proposals_draft(run, r['problem'], label=label)
    return r['proposals.draft']


def proposals_draft(run: RayRun, problem: Any, *, label: str = "") -> Any:
    """code.generate via vllm: step proposals.draft.

    Runs on gpu:h100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node h100-vm-0.
    Planned start 0 s; predicted latency 7.7 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:h100x4.
    """
    return run.actor_call('proposals.draft', 'gemma-3-27b@gpu:h100x4', (problem,), label)


def debated(run: RayRun, r: dict[str, Any], *, label: str = "") -> Any:
    """flow.repeat debated: 4 rounds of its body, chained through their yields.

    Predicted latency 43.5 s.
    """
    initial = r['proposals']
    return run.repeat(4, debated_body, r, 'debated.previous', initial, label)


def debated_body(run: RayRun, r: dict[str, Any], *, label: str = "") -> Any:
    """One round of the body of debated."""
    r['debated.report'] = debated_report(run, r['debated.previous'], r['tests'], label=label)
    r['debated.revisions'] = debated_revisions(run, {'debated.previous': r['debated.previous'], 'debated.report': r['debated.report'], 'problem': r['problem']}, label=label)
    return r['debated.revisions']


def debated_report(run: RayRun, solutions: Any, tests: Any, *, label: str = "") -> Any:
    """code.run_tests via subprocess-sandbox: step debated.report.

    Runs on cpu, 1 core, node a100-vm-0.
    Planned start 7.7 s; predicted latency 0.55 s.
    Ray: a task in bundle 1 (node a100-vm-0).
    """
    return run.task(
        'debated.report',
        (solutions, tests),
        label,
        num_cpus=1,
        num_gpus=0,
        bundle=1,
    )


def debated_revisions(run: RayRun, r: dict[str, Any], *, label: str = "") -> list[Any]:
    """flow.parallel debated.revisions: 4 copies of its body, submitted at once.

    Predicted latency 10.3 s.
    """
    return run.parallel(4, debated_revisions_body, r, label)


def debated_revisions_body(run: RayRun, r: dict[str, Any], *, label: str = "") -> Any:
    """One copy of the body of debated.revisions."""
    r['debated.revisions.revision'] = debated_revisions_revision(run, r['problem'], r['debated.previous'], r['debated.report'], label=label)
    return r['debated.revisions.revision']


def debated_revisions_revision(run: RayRun, problem: Any, solutions: Any, report: Any, *, label: str = "") -> Any:
    """code.revise via vllm: step debated.revisions.revision.

    Runs on gpu:a100x8 (8 GPUs), GPUs [0, 1, 2, 3, 4, 5, 6, 7] of node a100-vm-0.
    Planned start 9.9 s; predicted latency 10.3 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:a100x8.
    """
    return run.actor_call('debated.revisions.revision', 'gemma-3-27b@gpu:a100x8', (problem, solutions, report), label)


def best(run: RayRun, problem: Any, candidates: Any, tests: Any, *, label: str = "") -> Any:
    """code.rank via vllm: step best.

    Runs on gpu:h100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node h100-vm-0.
    Planned start 51.2 s; predicted latency 7.7 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:h100x4.
    """
    return run.actor_call('best', 'gemma-3-27b@gpu:h100x4', (problem, candidates, tests), label)


# ---- the workflow ---------------------------------------------------------------------


def workflow(run: RayRun, r: dict[str, Any]) -> Any:
    """Workflow code_gen_debate: every op submitted, none waited for."""
    r['tests'] = tests(run, r['problem'])
    r['proposals'] = proposals(run, {'problem': r['problem']})
    r['debated'] = debated(run, {'problem': r['problem'], 'proposals': r['proposals'], 'tests': r['tests']})
    r['best'] = best(run, r['problem'], r['debated'], r['tests'])
    return r['best']


def execute(inputs: dict[str, Any], options: RunOptions, address: str | None = None) -> RunResult:
    """Run the workflow on Ray: the one this process is connected to, else the cluster
    at `address`, else a local Ray started for the run."""
    ray_run = RayRun(PLAN, options, actors=ACTORS, bundles=BUNDLES, local=LOCAL_RAY, address=address)
    return ray_run.execute(workflow, inputs)


def main(argv: list[str] | None = None) -> int:
    args = plan_arguments(argv, PLAN, description='Run workflow code_gen_debate on Ray (a murakkab plan).', ray=True)
    return report(execute(args.inputs, args.options, args.ray_address), args.as_json)


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
