"""Plan of workflow main, emitted by `mkc compile --emit plan --backend python`.

Docstring \"\"\" ''' \\ \x0a \x0d \x00 \u2028 \x85 \u202e {{ x }} {% if %} # \"); import os; os.system(\"touch PWNED\") #

Source:     tests/golden/plans/hostile.mk
Pipeline:   default
SLO:        latency < 60s
Objective:  none
Cluster:    cloud-a100-h100
Placement:  optimal for gpus (by greedy, gap 0.0%)
Predicted:  cost 0.003605 usd, energy 5768 J, latency 59.03 s

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


def op_import(run: PlanRun, problem: Any, *, label: str = "") -> Any:
    """code.write_tests via vllm: step import.

    Runs on gpu:a100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node a100-vm-1.
    Planned start 0 s; predicted latency 21.8 s.
    """
    return run.invoke('import', (problem,), label)


def op_r(run: PlanRun, r: dict[str, Any], *, label: str = "") -> list[Any]:
    """flow.parallel r: 2 copies of its body at once; the list of their yields.

    Predicted latency 21.8 s.
    """
    return run.parallel(2, r_body, r, label)


def r_body(run: PlanRun, r: dict[str, Any], *, label: str = "") -> Any:
    """One copy of the body of r."""
    flow = run.dataflow(label)
    r['r.label'] = flow.op(r_label, r['problem'])
    return flow.finish(r['r.label'])


def r_label(run: PlanRun, problem: Any, *, label: str = "") -> Any:
    """code.generate via vllm: step r.label.

    Runs on gpu:a100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node a100-vm-1.
    Planned start 0 s; predicted latency 21.8 s.
    """
    return run.invoke('r.label', (problem,), label)


def op_PLAN(run: PlanRun, question: Any, context: Any, *, label: str = "") -> Any:
    """llm.answer via vllm: step PLAN.

    Runs on gpu:a100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node a100-vm-1.
    Planned start 21.8 s; predicted latency 21.8 s.
    """
    return run.invoke('PLAN', (question, context), label)


def op_json(run: PlanRun, question: Any, items: Any, *, label: str = "") -> Any:
    """llm.compare via vllm: step json.

    Runs on gpu:a100x8 (8 GPUs), GPUs [0, 1, 2, 3, 4, 5, 6, 7] of node a100-vm-0.
    Planned start 43.6 s; predicted latency 15.4 s.
    """
    return run.invoke('json', (question, items), label)


# ---- the workflow ---------------------------------------------------------------------


def workflow(run: PlanRun, r: dict[str, Any]) -> Any:
    """Workflow main: each op starts once its inputs are ready."""
    flow = run.dataflow()
    r['import'] = flow.op(op_import, r['problem'])
    r['r'] = flow.op(op_r, {'problem': r['problem']})
    r['PLAN'] = flow.op(op_PLAN, r['sys'], [r['import'], r['r']])
    r['json'] = flow.op(op_json, r['problem'], [r['PLAN'], r['sys']])
    return flow.finish(r['json'])


def execute(inputs: dict[str, Any], options: RunOptions) -> RunResult:
    """Run the workflow on `inputs`; the job's run request gives the defaults."""
    return PlanRun(PLAN, options).execute(workflow, inputs)


def main(argv: list[str] | None = None) -> int:
    args = plan_arguments(argv, PLAN, description='Run workflow main (a murakkab plan).')
    return report(execute(args.inputs, args.options), args.as_json)


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
