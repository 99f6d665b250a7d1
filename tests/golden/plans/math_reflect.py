"""Plan of workflow math_reflect, emitted by `mkc compile --emit plan --backend python`.

Answer a math question, reflecting on and revising the answer.

Source:     examples/math_reflect.mk
Pipeline:   default
SLO:        latency < 30s, quality >= 0.755
Objective:  minimize energy
Cluster:    cloud-a100-h100
Placement:  optimal for energy (by greedy, gap 0.0%)
Predicted:  cost 0.06433 usd, energy 9468 J, latency 30 s

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


def draft(run: PlanRun, problem: Any, *, label: str = "") -> Any:
    """llm.solve via vllm: step draft.

    Runs on gpu:h100x1 (1 GPU), GPUs [0] of node h100-vm-0.
    Planned start 0 s; predicted latency 6.23 s.
    """
    return run.invoke('draft', (problem,), label)


def answer(run: PlanRun, r: dict[str, Any], *, label: str = "") -> Any:
    """flow.repeat answer: 3 rounds of its body, each given the last round's yield.

    Predicted latency 23.8 s.
    """
    initial = r['draft']
    return run.repeat(3, answer_body, r, 'answer.current', initial, label)


def answer_body(run: PlanRun, r: dict[str, Any], *, label: str = "") -> Any:
    """One round of the body of answer."""
    flow = run.dataflow(label)
    r['answer.critique'] = flow.op(answer_critique, r['question'], r['answer.current'])
    r['answer.revised'] = flow.op(answer_revised, r['question'], r['answer.current'], r['answer.critique'])
    return flow.finish(r['answer.revised'])


def answer_critique(run: PlanRun, question: Any, answer: Any, *, label: str = "") -> Any:
    """llm.critique via vllm: step answer.critique.

    Runs on gpu:h100x2 (2 GPUs), GPUs [1, 2] of node h100-vm-0.
    Planned start 6.23 s; predicted latency 3.96 s.
    """
    return run.invoke('answer.critique', (question, answer), label)


def answer_revised(run: PlanRun, question: Any, answer: Any, critique: Any, *, label: str = "") -> Any:
    """llm.revise via vllm: step answer.revised.

    Runs on gpu:h100x2 (2 GPUs), GPUs [1, 2] of node h100-vm-0.
    Planned start 18.1 s; predicted latency 3.96 s.
    """
    return run.invoke('answer.revised', (question, answer, critique), label)


# ---- the workflow ---------------------------------------------------------------------


def workflow(run: PlanRun, r: dict[str, Any]) -> Any:
    """Workflow math_reflect: each op starts once its inputs are ready."""
    flow = run.dataflow()
    r['draft'] = flow.op(draft, r['question'])
    r['answer'] = flow.op(answer, {'draft': r['draft'], 'question': r['question']})
    return flow.finish(r['answer'])


def execute(inputs: dict[str, Any], options: RunOptions) -> RunResult:
    """Run the workflow on `inputs`; the job's run request gives the defaults."""
    return PlanRun(PLAN, options).execute(workflow, inputs)


def main(argv: list[str] | None = None) -> int:
    args = plan_arguments(argv, PLAN, description='Run workflow math_reflect (a murakkab plan).')
    return report(execute(args.inputs, args.options), args.as_json)


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
