"""Plan of workflow math_reflect on Ray, emitted by `mkc compile --emit plan --backend ray`.

Answer a math question, reflecting on and revising the answer.

Source:     examples/math_reflect.mk
Pipeline:   default
SLO:        latency < 30s, quality >= 0.755
Objective:  minimize energy
Cluster:    cloud-a100-h100
Placement:  optimal for energy (by greedy, gap 0.0%)
Predicted:  cost 0.06433 usd, energy 9468 J, latency 30 s

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
    'phi-4@gpu:h100x1': {
        'num_cpus': 0,
        'num_gpus': 1,
        'max_concurrency': 1,
        'steps': ['draft'],
        'bundle': 0,
    },
    'phi-4@gpu:h100x2': {
        'num_cpus': 0,
        'num_gpus': 2,
        'max_concurrency': 1,
        'steps': ['answer.critique', 'answer.revised'],
        'bundle': 0,
    },
}
# The placement group: one bundle per cluster node the plan uses (empty: not placed).
BUNDLES = [{'node': 'h100-vm-0', 'resources': {'CPU': 1, 'node:h100-vm-0': 0.001, 'GPU': 3}}]
# What `ray.init` declares when this plan starts its own local Ray.
LOCAL_RAY = {'num_cpus': 2, 'num_gpus': 3, 'resources': {'node:h100-vm-0': 1.0}}

# ---- ops ------------------------------------------------------------------------------


def draft(run: RayRun, problem: Any, *, label: str = "") -> Any:
    """llm.solve via vllm: step draft.

    Runs on gpu:h100x1 (1 GPU), GPUs [0] of node h100-vm-0.
    Planned start 0 s; predicted latency 6.23 s.
    Ray: a call on the actor of model instance phi-4@gpu:h100x1.
    """
    return run.actor_call('draft', 'phi-4@gpu:h100x1', (problem,), label)


def answer(run: RayRun, r: dict[str, Any], *, label: str = "") -> Any:
    """flow.repeat answer: 3 rounds of its body, chained through their yields.

    Predicted latency 23.8 s.
    """
    initial = r['draft']
    return run.repeat(3, answer_body, r, 'answer.current', initial, label)


def answer_body(run: RayRun, r: dict[str, Any], *, label: str = "") -> Any:
    """One round of the body of answer."""
    r['answer.critique'] = answer_critique(run, r['question'], r['answer.current'], label=label)
    r['answer.revised'] = answer_revised(run, r['question'], r['answer.current'], r['answer.critique'], label=label)
    return r['answer.revised']


def answer_critique(run: RayRun, question: Any, answer: Any, *, label: str = "") -> Any:
    """llm.critique via vllm: step answer.critique.

    Runs on gpu:h100x2 (2 GPUs), GPUs [1, 2] of node h100-vm-0.
    Planned start 6.23 s; predicted latency 3.96 s.
    Ray: a call on the actor of model instance phi-4@gpu:h100x2.
    """
    return run.actor_call('answer.critique', 'phi-4@gpu:h100x2', (question, answer), label)


def answer_revised(run: RayRun, question: Any, answer: Any, critique: Any, *, label: str = "") -> Any:
    """llm.revise via vllm: step answer.revised.

    Runs on gpu:h100x2 (2 GPUs), GPUs [1, 2] of node h100-vm-0.
    Planned start 18.1 s; predicted latency 3.96 s.
    Ray: a call on the actor of model instance phi-4@gpu:h100x2.
    """
    return run.actor_call('answer.revised', 'phi-4@gpu:h100x2', (question, answer, critique), label)


# ---- the workflow ---------------------------------------------------------------------


def workflow(run: RayRun, r: dict[str, Any]) -> Any:
    """Workflow math_reflect: every op submitted, none waited for."""
    r['draft'] = draft(run, r['question'])
    r['answer'] = answer(run, {'draft': r['draft'], 'question': r['question']})
    return r['answer']


def execute(inputs: dict[str, Any], options: RunOptions, address: str | None = None) -> RunResult:
    """Run the workflow on Ray: the one this process is connected to, else the cluster
    at `address`, else a local Ray started for the run."""
    ray_run = RayRun(PLAN, options, actors=ACTORS, bundles=BUNDLES, local=LOCAL_RAY, address=address)
    return ray_run.execute(workflow, inputs)


def main(argv: list[str] | None = None) -> int:
    args = plan_arguments(argv, PLAN, description='Run workflow math_reflect on Ray (a murakkab plan).', ray=True)
    return report(execute(args.inputs, args.options, args.ray_address), args.as_json)


# ---- the plan as data: what `invoke_step` runs for each op ------------------------------
PLAN_DATA = {
    'cluster': 'cloud-a100-h100',
    'defaults': {
        'question': 'A train leaves at 3 pm at 60 km/h; a second leaves the same station at 4 pm at 90 km/h. When does the second catch up?',
    },
    'doc': 'Answer a math question, reflecting on and revising the answer.',
    'format': 1,
    'objective': 'minimize energy',
    'params': [['question', 'text']],
    'pipeline': 'default',
    'placement': {
        'bound': 9468.0,
        'cost_usd': 0.06433,
        'energy_j': 9468.0,
        'gap': 0.0,
        'gpus': 3,
        'greedy': 9468.0,
        'latency_s': 30.0,
        'objective': 'energy',
        'proof': 'bound',
        'slo': 'latency < 30s',
        'solver': 'greedy',
        'status': 'optimal',
        'value': 9468.0,
        'workflow': 'math_reflect',
    },
    'predicted': {'cost_usd': 0.064331, 'energy_j': 9468.0},
    'result': {'ref': 'answer'},
    'slo': 'latency < 30s, quality >= 0.755',
    'source': 'examples/math_reflect.mk',
    'steps': [
        {
            'args': [{'ref': 'question'}],
            'batch': 1,
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
            'instance': 'phi-4@gpu:h100x1',
            'knobs': {
                'batch': 1,
                'gpu': 'h100',
                'load': 90.1,
                'model': 'phi-4',
                'tp': 1,
            },
            'name': 'draft',
            'op': 'llm.solve',
            'placement': {
                'cores': 1,
                'device': 'gpu:h100x1',
                'gpu_ids': [0],
                'node': 'h100-vm-0',
                'start': 0.0,
            },
            'predicted': {'cost_usd': 0.007551, 'energy_j': 1125.0, 'latency_s': 6.233},
            'yields': None,
        },
        {
            'args': [{'ref': 'draft'}],
            'batch': 1,
            'body': [
                {
                    'args': [{'ref': 'question'}, {'ref': 'answer.current'}],
                    'batch': 1,
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
                    'instance': 'phi-4@gpu:h100x2',
                    'knobs': {
                        'batch': 1,
                        'gpu': 'h100',
                        'load': 143.8,
                        'model': 'phi-4',
                        'tp': 2,
                    },
                    'name': 'answer.critique',
                    'op': 'llm.critique',
                    'placement': {
                        'cores': 1,
                        'device': 'gpu:h100x2',
                        'gpu_ids': [1, 2],
                        'node': 'h100-vm-0',
                        'start': 6.233,
                    },
                    'predicted': {
                        'cost_usd': 0.009463,
                        'energy_j': 1390.0,
                        'latency_s': 3.961,
                    },
                    'yields': None,
                },
                {
                    'args': [
                        {'ref': 'question'},
                        {'ref': 'answer.current'},
                        {'ref': 'answer.critique'},
                    ],
                    'batch': 1,
                    'body': [],
                    'body_args': [],
                    'count': 0,
                    'deps': ['answer.critique'],
                    'fallbacks': [],
                    'impl': {
                        'entry': 'murakkab.stdlib.llm_vllm:run',
                        'extra': 'vllm',
                        'name': 'vllm',
                        'requires': ['vllm'],
                    },
                    'instance': 'phi-4@gpu:h100x2',
                    'knobs': {
                        'batch': 1,
                        'gpu': 'h100',
                        'load': 143.8,
                        'model': 'phi-4',
                        'tp': 2,
                    },
                    'name': 'answer.revised',
                    'op': 'llm.revise',
                    'placement': {
                        'cores': 1,
                        'device': 'gpu:h100x2',
                        'gpu_ids': [1, 2],
                        'node': 'h100-vm-0',
                        'start': 18.11,
                    },
                    'predicted': {
                        'cost_usd': 0.009463,
                        'energy_j': 1390.0,
                        'latency_s': 3.961,
                    },
                    'yields': None,
                },
            ],
            'body_args': ['answer.current'],
            'count': 3,
            'deps': ['draft'],
            'fallbacks': [],
            'impl': None,
            'instance': '',
            'knobs': {'rounds': 3},
            'name': 'answer',
            'op': 'flow.repeat',
            'placement': None,
            'predicted': {'cost_usd': 0.05678, 'energy_j': 8343.0, 'latency_s': 23.76},
            'yields': {'ref': 'answer.revised'},
        },
    ],
    'workflow': 'math_reflect',
}
PLAN = Plan.from_json(json.dumps(PLAN_DATA))

if __name__ == "__main__":
    sys.exit(main())
