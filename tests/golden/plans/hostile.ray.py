"""Plan of workflow main on Ray, emitted by `mkc compile --emit plan --backend ray`.

Docstring \"\"\" ''' \\ \x0a \x0d \x00 \u2028 \x85 \u202e {{ x }} {% if %} # \"); import os; os.system(\"touch PWNED\") #

Source:     tests/golden/plans/hostile.mk
Pipeline:   default
SLO:        latency < 60s
Objective:  none
Cluster:    cloud-a100-h100
Placement:  optimal for gpus (by greedy, gap 0.0%)
Predicted:  cost 0.003605 usd, energy 5768 J, latency 59.03 s

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
    'gemma-3-27b@gpu:a100x4': {
        'num_cpus': 0,
        'num_gpus': 4,
        'max_concurrency': 64,
        'steps': ['import', 'r.label', 'PLAN'],
        'bundle': 0,
    },
    'gemma-3-27b@gpu:a100x8': {
        'num_cpus': 0,
        'num_gpus': 8,
        'max_concurrency': 69,
        'steps': ['json'],
        'bundle': 1,
    },
}
# The placement group: one bundle per cluster node the plan uses (empty: not placed).
BUNDLES = [
    {'node': 'a100-vm-1', 'resources': {'CPU': 1, 'node:a100-vm-1': 0.001, 'GPU': 4}},
    {'node': 'a100-vm-0', 'resources': {'CPU': 1, 'node:a100-vm-0': 0.001, 'GPU': 8}},
]
# What `ray.init` declares when this plan starts its own local Ray.
LOCAL_RAY = {'num_cpus': 2, 'num_gpus': 12, 'resources': {'node:a100-vm-1': 1.0, 'node:a100-vm-0': 1.0}}

# ---- ops ------------------------------------------------------------------------------


def op_import(run: RayRun, problem: Any, *, label: str = "") -> Any:
    """code.write_tests via vllm: step import.

    Runs on gpu:a100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node a100-vm-1.
    Planned start 0 s; predicted latency 21.8 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:a100x4.
    """
    return run.actor_call('import', 'gemma-3-27b@gpu:a100x4', (problem,), label)


def op_r(run: RayRun, r: dict[str, Any], *, label: str = "") -> list[Any]:
    """flow.parallel r: 2 copies of its body, submitted at once.

    Predicted latency 21.8 s.
    """
    return run.parallel(2, r_body, r, label)


def r_body(run: RayRun, r: dict[str, Any], *, label: str = "") -> Any:
    """One copy of the body of r."""
    r['r.label'] = r_label(run, r['problem'], label=label)
    return r['r.label']


def r_label(run: RayRun, problem: Any, *, label: str = "") -> Any:
    """code.generate via vllm: step r.label.

    Runs on gpu:a100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node a100-vm-1.
    Planned start 0 s; predicted latency 21.8 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:a100x4.
    """
    return run.actor_call('r.label', 'gemma-3-27b@gpu:a100x4', (problem,), label)


def op_PLAN(run: RayRun, question: Any, context: Any, *, label: str = "") -> Any:
    """llm.answer via vllm: step PLAN.

    Runs on gpu:a100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node a100-vm-1.
    Planned start 21.8 s; predicted latency 21.8 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:a100x4.
    """
    return run.actor_call('PLAN', 'gemma-3-27b@gpu:a100x4', (question, context), label)


def op_json(run: RayRun, question: Any, items: Any, *, label: str = "") -> Any:
    """llm.compare via vllm: step json.

    Runs on gpu:a100x8 (8 GPUs), GPUs [0, 1, 2, 3, 4, 5, 6, 7] of node a100-vm-0.
    Planned start 43.6 s; predicted latency 15.4 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:a100x8.
    """
    return run.actor_call('json', 'gemma-3-27b@gpu:a100x8', (question, items), label)


# ---- the workflow ---------------------------------------------------------------------


def workflow(run: RayRun, r: dict[str, Any]) -> Any:
    """Workflow main: every op submitted, none waited for."""
    r['import'] = op_import(run, r['problem'])
    r['r'] = op_r(run, {'problem': r['problem']})
    r['PLAN'] = op_PLAN(run, r['sys'], [r['import'], r['r']])
    r['json'] = op_json(run, r['problem'], [r['PLAN'], r['sys']])
    return r['json']


def execute(inputs: dict[str, Any], options: RunOptions, address: str | None = None) -> RunResult:
    """Run the workflow on Ray: the one this process is connected to, else the cluster
    at `address`, else a local Ray started for the run."""
    ray_run = RayRun(PLAN, options, actors=ACTORS, bundles=BUNDLES, local=LOCAL_RAY, address=address)
    return ray_run.execute(workflow, inputs)


def main(argv: list[str] | None = None) -> int:
    args = plan_arguments(argv, PLAN, description='Run workflow main on Ray (a murakkab plan).', ray=True)
    return report(execute(args.inputs, args.options, args.ray_address), args.as_json)


# ---- the plan as data: what `invoke_step` runs for each op ------------------------------
PLAN_DATA = {
    'cluster': 'cloud-a100-h100',
    'defaults': {
        'problem': '""" \'\'\' \\ \n \r \x00 \u2028 \x85 \u202e {{ x }} {% if %} # "); import os; os.system("touch PWNED") #',
        'sys': 'x"); __import__(\'os\').system(\'touch PWNED\'); ("',
    },
    'doc': 'Docstring """ \'\'\' \\ \n \r \x00 \u2028 \x85 \u202e {{ x }} {% if %} # "); import os; os.system("touch PWNED") #',
    'format': 1,
    'objective': '',
    'params': [['problem', 'text'], ['sys', 'text']],
    'pipeline': 'default',
    'placement': {
        'bound': 12.0,
        'cost_usd': 0.003605,
        'energy_j': 5768.0,
        'gap': 0.0,
        'gpus': 12,
        'greedy': 12.0,
        'latency_s': 59.03,
        'objective': 'gpus',
        'proof': 'bound',
        'slo': 'latency < 60s',
        'solver': 'greedy',
        'status': 'optimal',
        'value': 12.0,
        'workflow': 'main',
    },
    'predicted': {'cost_usd': 0.0036045999999999995, 'energy_j': 5768.0},
    'result': {'ref': 'json'},
    'slo': 'latency < 60s',
    'source': 'tests/golden/plans/hostile.mk',
    'steps': [
        {
            'args': [{'ref': 'problem'}],
            'batch': 64,
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
            'instance': 'gemma-3-27b@gpu:a100x4',
            'knobs': {
                'batch': 64,
                'gpu': 'a100',
                'load': 884.0,
                'model': 'gemma-3-27b',
                'tp': 4,
            },
            'name': 'import',
            'op': 'code.write_tests',
            'placement': {
                'cores': 1,
                'device': 'gpu:a100x4',
                'gpu_ids': [0, 1, 2, 3],
                'node': 'a100-vm-1',
                'start': 0.0,
            },
            'predicted': {
                'cost_usd': 0.0006787,
                'energy_j': 1086.0,
                'latency_s': 21.79,
            },
            'yields': None,
        },
        {
            'args': [],
            'batch': 1,
            'body': [
                {
                    'args': [{'ref': 'problem'}],
                    'batch': 64,
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
                    'instance': 'gemma-3-27b@gpu:a100x4',
                    'knobs': {
                        'batch': 64,
                        'gpu': 'a100',
                        'load': 884.0,
                        'model': 'gemma-3-27b',
                        'tp': 4,
                    },
                    'name': 'r.label',
                    'op': 'code.generate',
                    'placement': {
                        'cores': 1,
                        'device': 'gpu:a100x4',
                        'gpu_ids': [0, 1, 2, 3],
                        'node': 'a100-vm-1',
                        'start': 0.0,
                    },
                    'predicted': {
                        'cost_usd': 0.0006787,
                        'energy_j': 1086.0,
                        'latency_s': 21.79,
                    },
                    'yields': None,
                },
            ],
            'body_args': [],
            'count': 2,
            'deps': [],
            'fallbacks': [],
            'impl': None,
            'instance': '',
            'knobs': {'agents': 2},
            'name': 'r',
            'op': 'flow.parallel',
            'placement': None,
            'predicted': {'cost_usd': 0.001357, 'energy_j': 2172.0, 'latency_s': 21.79},
            'yields': {'ref': 'r.label'},
        },
        {
            'args': [{'ref': 'sys'}, {'list': [{'ref': 'import'}, {'ref': 'r'}]}],
            'batch': 64,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['import', 'r'],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.llm_vllm:run',
                'extra': 'vllm',
                'name': 'vllm',
                'requires': ['vllm'],
            },
            'instance': 'gemma-3-27b@gpu:a100x4',
            'knobs': {
                'batch': 64,
                'gpu': 'a100',
                'load': 884.0,
                'max_tokens': 1024,
                'model': 'gemma-3-27b',
                'tp': 4,
            },
            'name': 'PLAN',
            'op': 'llm.answer',
            'placement': {
                'cores': 1,
                'device': 'gpu:a100x4',
                'gpu_ids': [0, 1, 2, 3],
                'node': 'a100-vm-1',
                'start': 21.79,
            },
            'predicted': {
                'cost_usd': 0.0006787,
                'energy_j': 1086.0,
                'latency_s': 21.79,
            },
            'yields': None,
        },
        {
            'args': [{'ref': 'problem'}, {'list': [{'ref': 'PLAN'}, {'ref': 'sys'}]}],
            'batch': 69,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['PLAN'],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.llm_vllm:run',
                'extra': 'vllm',
                'name': 'vllm',
                'requires': ['vllm'],
            },
            'instance': 'gemma-3-27b@gpu:a100x8',
            'knobs': {
                'batch': 69,
                'description': 'Compare several items, such as two answers or two solutions, and say how they differ: """ \'\'\' \\ \n \r \x00 \u2028 \x85 \u202e {{ x }} {% if %} # "); import os; os.system("touch PWNED") #',
                'gpu': 'a100',
                'load': 1348.0,
                'model': 'gemma-3-27b',
                'tp': 8,
            },
            'name': 'json',
            'op': 'llm.compare',
            'placement': {
                'cores': 1,
                'device': 'gpu:a100x8',
                'gpu_ids': [0, 1, 2, 3, 4, 5, 6, 7],
                'node': 'a100-vm-0',
                'start': 43.59,
            },
            'predicted': {
                'cost_usd': 0.0008902,
                'energy_j': 1424.0,
                'latency_s': 15.44,
            },
            'yields': None,
        },
    ],
    'workflow': 'main',
}
PLAN = Plan.from_json(json.dumps(PLAN_DATA))

if __name__ == "__main__":
    sys.exit(main())
