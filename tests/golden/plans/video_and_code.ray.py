"""Plan of workflow video_and_code on Ray, emitted by `mkc compile --emit plan --backend ray`.

Answer a question about a lecture series and write the code it asks for, side by side.

Source:     examples/video_and_code.mk
Pipeline:   default
SLO:        latency < 28s
Objective:  none
Cluster:    cloud-a100-h100
Placement:  optimal for gpus (by z3, gap 0.0%)
Predicted:  cost 0.01694 usd, energy 1.1e+04 J, latency 27.63 s

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
        'steps': ['answer', 'solution', 'report'],
        'bundle': 0,
    },
}
# The placement group: one bundle per cluster node the plan uses (empty: not placed).
BUNDLES = [
    {'node': 'a100-vm-0', 'resources': {'CPU': 4, 'node:a100-vm-0': 0.001, 'GPU': 4}},
    {'node': 'h100-vm-0', 'resources': {'CPU': 1, 'node:h100-vm-0': 0.001, 'GPU': 1}},
]
# What `ray.init` declares when this plan starts its own local Ray.
LOCAL_RAY = {'num_cpus': 5, 'num_gpus': 5, 'resources': {'node:a100-vm-0': 1.0, 'node:h100-vm-0': 1.0}}

# ---- ops ------------------------------------------------------------------------------


def scenes(run: RayRun, videos: Any, *, label: str = "") -> Any:
    """video.scene_detect via opencv.hist: step scenes.

    Runs on cpu, 4 cores, node a100-vm-0.
    Planned start 0 s; predicted latency 1.73 s.
    Ray: a task in bundle 0 (node a100-vm-0).
    """
    return run.task(
        'scenes',
        (videos,),
        label,
        num_cpus=4,
        num_gpus=0,
        bundle=0,
    )


def frames(run: RayRun, scenes: Any, *, label: str = "") -> Any:
    """video.frame_extract via opencv.seek: step frames.

    Runs on cpu, 4 cores, node a100-vm-0.
    Planned start 1.73 s; predicted latency 0.639 s.
    Ray: a task in bundle 0 (node a100-vm-0).
    """
    return run.task(
        'frames',
        (scenes,),
        label,
        num_cpus=4,
        num_gpus=0,
        bundle=0,
    )


def transcript(run: RayRun, scenes: Any, *, label: str = "") -> Any:
    """speech.transcribe via faster-whisper: step transcript.

    Runs on gpu:h100x1 (1 GPU), GPUs [0] of node h100-vm-0.
    Planned start 1.73 s; predicted latency 4 s.
    Ray: a task in bundle 1 (node h100-vm-0).
    """
    return run.task(
        'transcript',
        (scenes,),
        label,
        num_cpus=0,
        num_gpus=1,
        bundle=1,
    )


def objects(run: RayRun, frames: Any, query: Any, *, label: str = "") -> Any:
    """vision.detect_objects via open-clip: step objects.

    Runs on gpu:h100x1 (1 GPU), GPUs [0] of node h100-vm-0.
    Planned start 5.72 s; predicted latency 0.95 s.
    Ray: a task in bundle 1 (node h100-vm-0).
    """
    return run.task(
        'objects',
        (frames, query),
        label,
        num_cpus=0,
        num_gpus=1,
        bundle=1,
    )


def answer(run: RayRun, question: Any, context: Any, *, label: str = "") -> Any:
    """llm.answer via vllm: step answer.

    Runs on gpu:a100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node a100-vm-0.
    Planned start 6.67 s; predicted latency 16.4 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:a100x4.
    """
    return run.actor_call('answer', 'gemma-3-27b@gpu:a100x4', (question, context), label)


def solution(run: RayRun, problem: Any, *, label: str = "") -> Any:
    """code.generate via vllm: step solution.

    Runs on gpu:a100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node a100-vm-0.
    Planned start 0 s; predicted latency 21.8 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:a100x4.
    """
    return run.actor_call('solution', 'gemma-3-27b@gpu:a100x4', (problem,), label)


def op_report(run: RayRun, content: Any, *, label: str = "") -> Any:
    """llm.summarize via vllm: step report.

    Runs on gpu:a100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node a100-vm-0.
    Planned start 23.1 s; predicted latency 4.51 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:a100x4.
    """
    return run.actor_call('report', 'gemma-3-27b@gpu:a100x4', (content,), label)


# ---- the workflow ---------------------------------------------------------------------


def workflow(run: RayRun, r: dict[str, Any]) -> Any:
    """Workflow video_and_code: every op submitted, none waited for."""
    r['scenes'] = scenes(run, r['videos'])
    r['frames'] = frames(run, r['scenes'])
    r['transcript'] = transcript(run, r['scenes'])
    r['objects'] = objects(run, r['frames'], r['query'])
    r['answer'] = answer(run, r['query'], [r['objects'], r['transcript']])
    r['solution'] = solution(run, r['problem'])
    r['report'] = op_report(run, [r['answer'], r['solution']])
    return r['report']


def execute(inputs: dict[str, Any], options: RunOptions, address: str | None = None) -> RunResult:
    """Run the workflow on Ray: the one this process is connected to, else the cluster
    at `address`, else a local Ray started for the run."""
    ray_run = RayRun(PLAN, options, actors=ACTORS, bundles=BUNDLES, local=LOCAL_RAY, address=address)
    return ray_run.execute(workflow, inputs)


def main(argv: list[str] | None = None) -> int:
    args = plan_arguments(argv, PLAN, description='Run workflow video_and_code on Ray (a murakkab plan).', ray=True)
    return report(execute(args.inputs, args.options, args.ray_address), args.as_json)


# ---- the plan as data: what `invoke_step` runs for each op ------------------------------
PLAN_DATA = {
    'cluster': 'cloud-a100-h100',
    'defaults': {
        'problem': 'Write that sorting algorithm in Python, with a docstring.',
        'query': 'Which sorting algorithm does the lecturer implement on the whiteboard?',
        'videos': [
            'media/lecture_01.mp4',
            'media/lecture_02.mp4',
            'media/lecture_03.mp4',
            'media/lecture_04.mp4',
            'media/lecture_05.mp4',
            'media/lecture_06.mp4',
            'media/lecture_07.mp4',
            'media/lecture_08.mp4',
            'media/lecture_09.mp4',
            'media/lecture_10.mp4',
        ],
    },
    'doc': 'Answer a question about a lecture series and write the code it asks for, side by side.',
    'format': 1,
    'objective': '',
    'params': [['query', 'text'], ['videos', 'list<video>'], ['problem', 'text']],
    'pipeline': 'default',
    'placement': {
        'bound': 5.0,
        'cost_usd': 0.01694,
        'energy_j': 11000.0,
        'gap': 0.0,
        'gpus': 5,
        'greedy': 6.0,
        'latency_s': 27.63,
        'objective': 'gpus',
        'proof': 'z3',
        'slo': 'latency < 28s',
        'solver': 'z3',
        'status': 'optimal',
        'value': 5.0,
        'workflow': 'video_and_code',
    },
    'predicted': {'cost_usd': 0.01694248, 'energy_j': 11003.24},
    'result': {'ref': 'report'},
    'slo': 'latency < 28s',
    'source': 'examples/video_and_code.mk',
    'steps': [
        {
            'args': [{'ref': 'videos'}],
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
            'knobs': {'cores': 4, 'threshold': 27.0},
            'name': 'scenes',
            'op': 'video.scene_detect',
            'placement': {
                'cores': 4,
                'device': 'cpu',
                'gpu_ids': [],
                'node': 'a100-vm-0',
                'start': 0.0,
            },
            'predicted': {'cost_usd': 9.2e-05, 'energy_j': 41.4, 'latency_s': 1.725},
            'yields': None,
        },
        {
            'args': [{'ref': 'scenes'}],
            'batch': 1,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['scenes'],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.video_opencv:frame_extract',
                'extra': 'video',
                'name': 'opencv.seek',
                'requires': ['cv2'],
            },
            'instance': 'opencv.seek@cpu',
            'knobs': {'cores': 1, 'fanout': 4, 'frames': 5, 'sample': 'per-scene'},
            'name': 'frames',
            'op': 'video.frame_extract',
            'placement': {
                'cores': 1,
                'device': 'cpu',
                'gpu_ids': [],
                'node': 'a100-vm-0',
                'start': 1.725,
            },
            'predicted': {'cost_usd': 3.408e-05, 'energy_j': 15.34, 'latency_s': 0.639},
            'yields': None,
        },
        {
            'args': [{'ref': 'scenes'}],
            'batch': 1,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['scenes'],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.speech_whisper:transcribe',
                'extra': 'speech',
                'name': 'faster-whisper',
                'requires': ['faster_whisper'],
            },
            'instance': 'faster-whisper/whisper-base@gpu:h100x1',
            'knobs': {'cores': 1, 'model': 'whisper-base'},
            'name': 'transcript',
            'op': 'speech.transcribe',
            'placement': {
                'cores': 1,
                'device': 'gpu:h100x1',
                'gpu_ids': [0],
                'node': 'h100-vm-0',
                'start': 1.725,
            },
            'predicted': {'cost_usd': 0.007056, 'energy_j': 3720.0, 'latency_s': 4.0},
            'yields': None,
        },
        {
            'args': [{'ref': 'frames'}, {'ref': 'query'}],
            'batch': 1,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['frames'],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.vision_clip:detect_objects',
                'extra': 'clip',
                'name': 'open-clip',
                'requires': ['open_clip'],
            },
            'instance': 'open-clip@gpu:h100x1',
            'knobs': {'top_k': 5},
            'name': 'objects',
            'op': 'vision.detect_objects',
            'placement': {
                'cores': 1,
                'device': 'gpu:h100x1',
                'gpu_ids': [0],
                'node': 'h100-vm-0',
                'start': 5.725,
            },
            'predicted': {'cost_usd': 0.001676, 'energy_j': 883.5, 'latency_s': 0.95},
            'yields': None,
        },
        {
            'args': [
                {'ref': 'query'},
                {'list': [{'ref': 'objects'}, {'ref': 'transcript'}]},
            ],
            'batch': 34,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['objects', 'transcript'],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.llm_vllm:run',
                'extra': 'vllm',
                'name': 'vllm',
                'requires': ['vllm'],
            },
            'instance': 'gemma-3-27b@gpu:a100x4',
            'knobs': {
                'batch': 34,
                'gpu': 'a100',
                'load': 615.6,
                'max_tokens': 1024,
                'model': 'gemma-3-27b',
                'tp': 4,
            },
            'name': 'answer',
            'op': 'llm.answer',
            'placement': {
                'cores': 1,
                'device': 'gpu:a100x4',
                'gpu_ids': [0, 1, 2, 3],
                'node': 'a100-vm-0',
                'start': 6.675,
            },
            'predicted': {
                'cost_usd': 0.0009747,
                'energy_j': 1237.0,
                'latency_s': 16.45,
            },
            'yields': None,
        },
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
            'name': 'solution',
            'op': 'code.generate',
            'placement': {
                'cores': 1,
                'device': 'gpu:a100x4',
                'gpu_ids': [0, 1, 2, 3],
                'node': 'a100-vm-0',
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
            'args': [{'list': [{'ref': 'answer'}, {'ref': 'solution'}]}],
            'batch': 1,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['answer', 'solution'],
            'fallbacks': [],
            'impl': {
                'entry': 'murakkab.stdlib.llm_vllm:run',
                'extra': 'vllm',
                'name': 'vllm',
                'requires': ['vllm'],
            },
            'instance': 'gemma-3-27b@gpu:a100x4',
            'knobs': {
                'batch': 1,
                'gpu': 'a100',
                'load': 93.3,
                'model': 'gemma-3-27b',
                'tp': 4,
            },
            'name': 'report',
            'op': 'llm.summarize',
            'placement': {
                'cores': 1,
                'device': 'gpu:a100x4',
                'gpu_ids': [0, 1, 2, 3],
                'node': 'a100-vm-0',
                'start': 23.12,
            },
            'predicted': {'cost_usd': 0.006431, 'energy_j': 4020.0, 'latency_s': 4.508},
            'yields': None,
        },
    ],
    'workflow': 'video_and_code',
}
PLAN = Plan.from_json(json.dumps(PLAN_DATA))

if __name__ == "__main__":
    sys.exit(main())
