"""Plan of workflow verify_solution on Ray, emitted by `mkc compile --emit plan --backend ray`.

Check whether the code a student shows in a video solves a programming problem.

Source:     examples/verify_solution.mk
Pipeline:   default
SLO:        latency < 30s, quality >= fair
Objective:  minimize cost
Cluster:    cloud-a100-h100
Placement:  optimal for cost (by greedy, gap 0.0%)
Predicted:  cost 0.01575 usd, energy 1.169e+04 J, latency 29.98 s

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
    'faster-whisper/whisper-tiny.en@cpu': {
        'num_cpus': 32,
        'num_gpus': 0,
        'max_concurrency': 1,
        'steps': ['student.transcript'],
        'bundle': 0,
    },
    'llava-onevision-7b@gpu:a100x4': {
        'num_cpus': 0,
        'num_gpus': 4,
        'max_concurrency': 54,
        'steps': ['student.answer'],
        'bundle': 1,
    },
    'gemma-3-27b@gpu:a100x8': {
        'num_cpus': 0,
        'num_gpus': 8,
        'max_concurrency': 19,
        'steps': [
            'reference.tests',
            'reference.proposals.draft',
            'reference.debated.revisions.revision',
        ],
        'bundle': 0,
    },
    'gemma-3-27b@gpu:h100x4': {
        'num_cpus': 0,
        'num_gpus': 4,
        'max_concurrency': 12,
        'steps': ['reference.best', 'verdict'],
        'bundle': 2,
    },
}
# The placement group: one bundle per cluster node the plan uses (empty: not placed).
BUNDLES = [
    {'node': 'a100-vm-0', 'resources': {'CPU': 36, 'node:a100-vm-0': 0.001, 'GPU': 8}},
    {'node': 'a100-vm-1', 'resources': {'CPU': 1, 'node:a100-vm-1': 0.001, 'GPU': 4}},
    {'node': 'h100-vm-0', 'resources': {'CPU': 1, 'node:h100-vm-0': 0.001, 'GPU': 4}},
]
# What `ray.init` declares when this plan starts its own local Ray.
LOCAL_RAY = {
    'num_cpus': 38,
    'num_gpus': 16,
    'resources': {'node:a100-vm-0': 1.0, 'node:a100-vm-1': 1.0, 'node:h100-vm-0': 1.0},
}

# ---- ops ------------------------------------------------------------------------------


def student_scenes(run: RayRun, videos: Any, *, label: str = "") -> Any:
    """video.scene_detect via opencv.hist: step student.scenes.

    Runs on cpu, 1 core, node a100-vm-0.
    Planned start 0 s; predicted latency 0.698 s.
    Ray: a task in bundle 0 (node a100-vm-0).
    """
    return run.task(
        'student.scenes',
        (videos,),
        label,
        num_cpus=1,
        num_gpus=0,
        bundle=0,
    )


def student_frames(run: RayRun, scenes: Any, *, label: str = "") -> Any:
    """video.frame_extract via opencv.seek: step student.frames.

    Runs on cpu, 4 cores, node a100-vm-0.
    Planned start 0.698 s; predicted latency 0.034 s.
    Ray: a task in bundle 0 (node a100-vm-0).
    """
    return run.task(
        'student.frames',
        (scenes,),
        label,
        num_cpus=4,
        num_gpus=0,
        bundle=0,
    )


def student_transcript(run: RayRun, scenes: Any, *, label: str = "") -> Any:
    """speech.transcribe via faster-whisper: step student.transcript.

    Runs on cpu, 32 cores, node a100-vm-0.
    Planned start 0.698 s; predicted latency 0.104 s.
    Ray: a call on the actor of model instance faster-whisper/whisper-tiny.en@cpu.
    """
    return run.actor_call('student.transcript', 'faster-whisper/whisper-tiny.en@cpu', (scenes,), label)


def student_objects(run: RayRun, frames: Any, query: Any, *, label: str = "") -> Any:
    """vision.detect_objects via open-clip (fallbacks: haar-ocr): step student.objects.

    Runs on cpu, 4 cores, node a100-vm-0.
    Planned start 0.732 s; predicted latency 0.145 s.
    Ray: a task in bundle 0 (node a100-vm-0).
    """
    return run.task(
        'student.objects',
        (frames, query),
        label,
        num_cpus=4,
        num_gpus=0,
        bundle=0,
    )


def student_answer(run: RayRun, question: Any, context: Any, *, label: str = "") -> Any:
    """llm.answer via vllm: step student.answer.

    Runs on gpu:a100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node a100-vm-1.
    Planned start 0.877 s; predicted latency 5.22 s.
    Ray: a call on the actor of model instance llava-onevision-7b@gpu:a100x4.
    """
    return run.actor_call('student.answer', 'llava-onevision-7b@gpu:a100x4', (question, context), label)


def reference_tests(run: RayRun, problem: Any, *, label: str = "") -> Any:
    """code.write_tests via vllm: step reference.tests.

    Runs on gpu:a100x8 (8 GPUs), GPUs [0, 1, 2, 3, 4, 5, 6, 7] of node a100-vm-0.
    Planned start 0 s; predicted latency 6.56 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:a100x8.
    """
    return run.actor_call('reference.tests', 'gemma-3-27b@gpu:a100x8', (problem,), label)


def reference_proposals(run: RayRun, r: dict[str, Any], *, label: str = "") -> list[Any]:
    """flow.parallel reference.proposals: 2 copies of its body, submitted at once.

    Predicted latency 6.56 s.
    """
    return run.parallel(2, reference_proposals_body, r, label)


def reference_proposals_body(run: RayRun, r: dict[str, Any], *, label: str = "") -> Any:
    """One copy of the body of reference.proposals."""
    r['reference.proposals.draft'] = reference_proposals_draft(run, r['problem'], label=label)
    return r['reference.proposals.draft']


def reference_proposals_draft(run: RayRun, problem: Any, *, label: str = "") -> Any:
    """code.generate via vllm: step reference.proposals.draft.

    Runs on gpu:a100x8 (8 GPUs), GPUs [0, 1, 2, 3, 4, 5, 6, 7] of node a100-vm-0.
    Planned start 0 s; predicted latency 6.56 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:a100x8.
    """
    return run.actor_call('reference.proposals.draft', 'gemma-3-27b@gpu:a100x8', (problem,), label)


def reference_debated(run: RayRun, r: dict[str, Any], *, label: str = "") -> Any:
    """flow.repeat reference.debated: 2 rounds of its body, chained through their yields.

    Predicted latency 14.2 s.
    """
    initial = r['reference.proposals']
    return run.repeat(2, reference_debated_body, r, 'reference.debated.previous', initial, label)


def reference_debated_body(run: RayRun, r: dict[str, Any], *, label: str = "") -> Any:
    """One round of the body of reference.debated."""
    r['reference.debated.report'] = reference_debated_report(run, r['reference.debated.previous'], r['reference.tests'], label=label)
    r['reference.debated.revisions'] = reference_debated_revisions(run, {'problem': r['problem'], 'reference.debated.previous': r['reference.debated.previous'], 'reference.debated.report': r['reference.debated.report']}, label=label)
    return r['reference.debated.revisions']


def reference_debated_report(run: RayRun, solutions: Any, tests: Any, *, label: str = "") -> Any:
    """code.run_tests via subprocess-sandbox: step reference.debated.report.

    Runs on cpu, 1 core, node a100-vm-0.
    Planned start 6.56 s; predicted latency 0.55 s.
    Ray: a task in bundle 0 (node a100-vm-0).
    """
    return run.task(
        'reference.debated.report',
        (solutions, tests),
        label,
        num_cpus=1,
        num_gpus=0,
        bundle=0,
    )


def reference_debated_revisions(run: RayRun, r: dict[str, Any], *, label: str = "") -> list[Any]:
    """flow.parallel reference.debated.revisions: 2 copies of its body, submitted at once.

    Predicted latency 6.56 s.
    """
    return run.parallel(2, reference_debated_revisions_body, r, label)


def reference_debated_revisions_body(run: RayRun, r: dict[str, Any], *, label: str = "") -> Any:
    """One copy of the body of reference.debated.revisions."""
    r['reference.debated.revisions.revision'] = reference_debated_revisions_revision(run, r['problem'], r['reference.debated.previous'], r['reference.debated.report'], label=label)
    return r['reference.debated.revisions.revision']


def reference_debated_revisions_revision(run: RayRun, problem: Any, solutions: Any, report: Any, *, label: str = "") -> Any:
    """code.revise via vllm: step reference.debated.revisions.revision.

    Runs on gpu:a100x8 (8 GPUs), GPUs [0, 1, 2, 3, 4, 5, 6, 7] of node a100-vm-0.
    Planned start 7.66 s; predicted latency 6.56 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:a100x8.
    """
    return run.actor_call('reference.debated.revisions.revision', 'gemma-3-27b@gpu:a100x8', (problem, solutions, report), label)


def reference_best(run: RayRun, problem: Any, candidates: Any, tests: Any, *, label: str = "") -> Any:
    """code.rank via vllm: step reference.best.

    Runs on gpu:h100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node h100-vm-0.
    Planned start 20.8 s; predicted latency 3.95 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:h100x4.
    """
    return run.actor_call('reference.best', 'gemma-3-27b@gpu:h100x4', (problem, candidates, tests), label)


def verdict(run: RayRun, question: Any, items: Any, *, label: str = "") -> Any:
    """llm.compare via vllm: step verdict.

    Runs on gpu:h100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node h100-vm-0.
    Planned start 24.7 s; predicted latency 5.27 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:h100x4.
    """
    return run.actor_call('verdict', 'gemma-3-27b@gpu:h100x4', (question, items), label)


# ---- the workflow ---------------------------------------------------------------------


def workflow(run: RayRun, r: dict[str, Any]) -> Any:
    """Workflow verify_solution: every op submitted, none waited for."""
    r['student.scenes'] = student_scenes(run, [r['lecture']])
    r['student.frames'] = student_frames(run, r['student.scenes'])
    r['student.transcript'] = student_transcript(run, r['student.scenes'])
    r['student.objects'] = student_objects(run, r['student.frames'], 'What Python code is written on the screen? Reproduce it exactly.')
    r['student.answer'] = student_answer(run, 'What Python code is written on the screen? Reproduce it exactly.', [r['student.objects'], r['student.transcript']])
    r['reference.tests'] = reference_tests(run, r['problem'])
    r['reference.proposals'] = reference_proposals(run, {'problem': r['problem']})
    r['reference.debated'] = reference_debated(run, {'problem': r['problem'], 'reference.proposals': r['reference.proposals'], 'reference.tests': r['reference.tests']})
    r['reference.best'] = reference_best(run, r['problem'], r['reference.debated'], r['reference.tests'])
    r['verdict'] = verdict(run, r['problem'], [r['student.answer'], r['reference.best']])
    return r['verdict']


def execute(inputs: dict[str, Any], options: RunOptions, address: str | None = None) -> RunResult:
    """Run the workflow on Ray: the one this process is connected to, else the cluster
    at `address`, else a local Ray started for the run."""
    ray_run = RayRun(PLAN, options, actors=ACTORS, bundles=BUNDLES, local=LOCAL_RAY, address=address)
    return ray_run.execute(workflow, inputs)


def main(argv: list[str] | None = None) -> int:
    args = plan_arguments(argv, PLAN, description='Run workflow verify_solution on Ray (a murakkab plan).', ray=True)
    return report(execute(args.inputs, args.options, args.ray_address), args.as_json)


# ---- the plan as data: what `invoke_step` runs for each op ------------------------------
PLAN_DATA = {
    'cluster': 'cloud-a100-h100',
    'defaults': {
        'lecture': 'media/lecture.mp4',
        'problem': 'Write a function fib(n) that returns the n-th Fibonacci number.',
    },
    'doc': 'Check whether the code a student shows in a video solves a programming problem.',
    'format': 1,
    'objective': 'minimize cost',
    'params': [['lecture', 'video'], ['problem', 'text']],
    'pipeline': 'default',
    'placement': {
        'bound': 0.01575,
        'cost_usd': 0.01575,
        'energy_j': 11690.0,
        'gap': 0.0,
        'gpus': 16,
        'greedy': 0.01575,
        'latency_s': 29.98,
        'objective': 'cost',
        'proof': 'bound',
        'slo': 'latency < 30s',
        'solver': 'greedy',
        'status': 'optimal',
        'value': 0.01575,
        'workflow': 'verify_solution',
    },
    'predicted': {'cost_usd': 0.015751778, 'energy_j': 11687.7312},
    'result': {'ref': 'verdict'},
    'slo': 'latency < 30s, quality >= fair',
    'source': 'examples/verify_solution.mk',
    'steps': [
        {
            'args': [{'list': [{'ref': 'lecture'}]}],
            'batch': 1,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': [],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.video_opencv:scene_detect',
                'extra': 'video',
                'name': 'opencv.hist',
                'requires': ['cv2'],
            },
            'instance': 'opencv.hist@cpu',
            'knobs': {'cores': 1, 'threshold': 27.0},
            'name': 'student.scenes',
            'op': 'video.scene_detect',
            'placement': {
                'cores': 1,
                'device': 'cpu',
                'gpu_ids': [],
                'node': 'a100-vm-0',
                'start': 0.0,
            },
            'predicted': {
                'cost_usd': 9.301e-06,
                'energy_j': 4.185,
                'latency_s': 0.6975,
            },
            'yields': None,
        },
        {
            'args': [{'ref': 'student.scenes'}],
            'batch': 1,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['student.scenes'],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.video_opencv:frame_extract',
                'extra': 'video',
                'name': 'opencv.seek',
                'requires': ['cv2'],
            },
            'instance': 'opencv.seek@cpu',
            'knobs': {'cores': 1, 'fanout': 4, 'frames': 1, 'sample': 'per-scene'},
            'name': 'student.frames',
            'op': 'video.frame_extract',
            'placement': {
                'cores': 1,
                'device': 'cpu',
                'gpu_ids': [],
                'node': 'a100-vm-0',
                'start': 0.6975,
            },
            'predicted': {
                'cost_usd': 1.814e-06,
                'energy_j': 0.8162,
                'latency_s': 0.03401,
            },
            'yields': None,
        },
        {
            'args': [{'ref': 'student.scenes'}],
            'batch': 1,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['student.scenes'],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.speech_whisper:transcribe',
                'extra': 'speech',
                'name': 'faster-whisper',
                'requires': ['faster_whisper'],
            },
            'instance': 'faster-whisper/whisper-tiny.en@cpu',
            'knobs': {'cores': 8, 'fanout': 4, 'model': 'whisper-tiny.en'},
            'name': 'student.transcript',
            'op': 'speech.transcribe',
            'placement': {
                'cores': 8,
                'device': 'cpu',
                'gpu_ids': [],
                'node': 'a100-vm-0',
                'start': 0.6975,
            },
            'predicted': {
                'cost_usd': 4.433e-05,
                'energy_j': 19.95,
                'latency_s': 0.1039,
            },
            'yields': None,
        },
        {
            'args': [
                {'ref': 'student.frames'},
                {
                    'const': 'What Python code is written on the screen? Reproduce it exactly.',
                },
            ],
            'batch': 1,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['student.frames'],
            'fallbacks': [
                {
                    'entry': 'murakkab.stdlib.vision_local:detect_objects',
                    'extra': 'vision',
                    'name': 'haar-ocr',
                    'requires': ['cv2', 'rapidocr_onnxruntime'],
                },
            ],
            'impl': {
                'entry': 'murakkab.stdlib.vision_clip:detect_objects',
                'extra': 'clip',
                'name': 'open-clip',
                'requires': ['open_clip'],
            },
            'instance': 'open-clip@cpu',
            'knobs': {'fanout': 4, 'top_k': 5},
            'name': 'student.objects',
            'op': 'vision.detect_objects',
            'placement': {
                'cores': 1,
                'device': 'cpu',
                'gpu_ids': [],
                'node': 'a100-vm-0',
                'start': 0.7316,
            },
            'predicted': {'cost_usd': 7.733e-06, 'energy_j': 3.48, 'latency_s': 0.145},
            'yields': None,
        },
        {
            'args': [
                {
                    'const': 'What Python code is written on the screen? Reproduce it exactly.',
                },
                {
                    'list': [
                        {'ref': 'student.objects'},
                        {'ref': 'student.transcript'},
                    ],
                },
            ],
            'batch': 54,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['student.objects', 'student.transcript'],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.llm_vllm:run',
                'extra': 'vllm',
                'name': 'vllm',
                'requires': ['vllm'],
            },
            'instance': 'llava-onevision-7b@gpu:a100x4',
            'knobs': {
                'batch': 54,
                'gpu': 'a100',
                'load': 2244.0,
                'max_tokens': 64,
                'model': 'llava-onevision-7b',
                'tp': 4,
            },
            'name': 'student.answer',
            'op': 'llm.answer',
            'placement': {
                'cores': 1,
                'device': 'gpu:a100x4',
                'gpu_ids': [0, 1, 2, 3],
                'node': 'a100-vm-1',
                'start': 0.8766,
            },
            'predicted': {'cost_usd': 0.0001916, 'energy_j': 306.6, 'latency_s': 5.216},
            'yields': None,
        },
        {
            'args': [{'ref': 'problem'}],
            'batch': 19,
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
                'batch': 19,
                'gpu': 'a100',
                'load': 619.5,
                'model': 'gemma-3-27b',
                'tp': 8,
            },
            'name': 'reference.tests',
            'op': 'code.write_tests',
            'placement': {
                'cores': 1,
                'device': 'gpu:a100x8',
                'gpu_ids': [0, 1, 2, 3, 4, 5, 6, 7],
                'node': 'a100-vm-0',
                'start': 0.0,
            },
            'predicted': {'cost_usd': 0.001412, 'energy_j': 1428.0, 'latency_s': 6.557},
            'yields': None,
        },
        {
            'args': [],
            'batch': 1,
            'body': [
                {
                    'args': [{'ref': 'problem'}],
                    'batch': 19,
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
                        'batch': 19,
                        'gpu': 'a100',
                        'load': 619.5,
                        'model': 'gemma-3-27b',
                        'tp': 8,
                    },
                    'name': 'reference.proposals.draft',
                    'op': 'code.generate',
                    'placement': {
                        'cores': 1,
                        'device': 'gpu:a100x8',
                        'gpu_ids': [0, 1, 2, 3, 4, 5, 6, 7],
                        'node': 'a100-vm-0',
                        'start': 0.0,
                    },
                    'predicted': {
                        'cost_usd': 0.001412,
                        'energy_j': 1428.0,
                        'latency_s': 6.557,
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
            'name': 'reference.proposals',
            'op': 'flow.parallel',
            'placement': None,
            'predicted': {'cost_usd': 0.002825, 'energy_j': 2856.0, 'latency_s': 6.557},
            'yields': {'ref': 'reference.proposals.draft'},
        },
        {
            'args': [{'ref': 'reference.proposals'}],
            'batch': 1,
            'body': [
                {
                    'args': [
                        {'ref': 'reference.debated.previous'},
                        {'ref': 'reference.tests'},
                    ],
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
                    'name': 'reference.debated.report',
                    'op': 'code.run_tests',
                    'placement': {
                        'cores': 1,
                        'device': 'cpu',
                        'gpu_ids': [],
                        'node': 'a100-vm-0',
                        'start': 6.557,
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
                                {
                                    'ref': 'reference.debated.previous',
                                },
                                {
                                    'ref': 'reference.debated.report',
                                },
                            ],
                            'batch': 19,
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
                                'batch': 19,
                                'gpu': 'a100',
                                'load': 619.5,
                                'model': 'gemma-3-27b',
                                'tp': 8,
                            },
                            'name': 'reference.debated.revisions.revision',
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
                                'start': 7.657,
                            },
                            'predicted': {
                                'cost_usd': 0.001412,
                                'energy_j': 1428.0,
                                'latency_s': 6.557,
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
                    'name': 'reference.debated.revisions',
                    'op': 'flow.parallel',
                    'placement': None,
                    'predicted': {
                        'cost_usd': 0.002825,
                        'energy_j': 2856.0,
                        'latency_s': 6.557,
                    },
                    'yields': {'ref': 'reference.debated.revisions.revision'},
                },
            ],
            'body_args': ['reference.debated.previous'],
            'count': 2,
            'deps': ['reference.proposals'],
            'fallbacks': [],
            'impl': None,
            'instance': '',
            'knobs': {'rounds': 2},
            'name': 'reference.debated',
            'op': 'flow.repeat',
            'placement': None,
            'predicted': {'cost_usd': 0.005664, 'energy_j': 5718.0, 'latency_s': 14.21},
            'yields': {'ref': 'reference.debated.revisions'},
        },
        {
            'args': [
                {'ref': 'problem'},
                {'ref': 'reference.debated'},
                {'ref': 'reference.tests'},
            ],
            'batch': 12,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['reference.debated', 'reference.tests'],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.llm_vllm:run',
                'extra': 'vllm',
                'name': 'vllm',
                'requires': ['vllm'],
            },
            'instance': 'gemma-3-27b@gpu:h100x4',
            'knobs': {
                'batch': 12,
                'gpu': 'h100',
                'load': 654.1,
                'model': 'gemma-3-27b',
                'tp': 4,
            },
            'name': 'reference.best',
            'op': 'code.rank',
            'placement': {
                'cores': 1,
                'device': 'gpu:h100x4',
                'gpu_ids': [0, 1, 2, 3],
                'node': 'h100-vm-0',
                'start': 20.77,
            },
            'predicted': {'cost_usd': 0.00236, 'energy_j': 569.6, 'latency_s': 3.949},
            'yields': None,
        },
        {
            'args': [
                {'ref': 'problem'},
                {
                    'list': [
                        {'ref': 'student.answer'},
                        {'ref': 'reference.best'},
                    ],
                },
            ],
            'batch': 11,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['reference.best', 'student.answer'],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.llm_vllm:run',
                'extra': 'vllm',
                'name': 'vllm',
                'requires': ['vllm'],
            },
            'instance': 'gemma-3-27b@gpu:h100x4',
            'knobs': {
                'batch': 11,
                'description': "Compare the student's code with the reference solution and say whether the student is right, and why.",
                'gpu': 'h100',
                'load': 654.1,
                'model': 'gemma-3-27b',
                'tp': 4,
            },
            'name': 'verdict',
            'op': 'llm.compare',
            'placement': {
                'cores': 1,
                'device': 'gpu:h100x4',
                'gpu_ids': [0, 1, 2, 3],
                'node': 'h100-vm-0',
                'start': 24.72,
            },
            'predicted': {'cost_usd': 0.003236, 'energy_j': 781.1, 'latency_s': 5.266},
            'yields': None,
        },
    ],
    'workflow': 'verify_solution',
}
PLAN = Plan.from_json(json.dumps(PLAN_DATA))

if __name__ == "__main__":
    sys.exit(main())
