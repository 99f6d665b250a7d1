"""Plan of workflow video_and_code on Ray, emitted by `mkc compile --emit plan --backend ray`.

Answer a question about a lecture series and write the code it asks for, side by side.

Source:     examples/video_and_code.mk
Pipeline:   default
SLO:        latency < 30s
Objective:  none
Cluster:    cloud-a100-h100
Placement:  optimal for gpus (by greedy, gap 0.0%)
Predicted:  cost 0.009713 usd, energy 7094 J, latency 28.91 s

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
    'faster-whisper/whisper-base@cpu': {
        'num_cpus': 32,
        'num_gpus': 0,
        'max_concurrency': 1,
        'steps': ['transcript'],
        'bundle': 0,
    },
    'gemma-3-27b@gpu:a100x4': {
        'num_cpus': 0,
        'num_gpus': 4,
        'max_concurrency': 64,
        'steps': ['answer', 'solution', 'report'],
        'bundle': 0,
    },
}
# The placement group: one bundle per cluster node the plan uses (empty: not placed).
BUNDLES = [{'node': 'a100-vm-0', 'resources': {'CPU': 36, 'node:a100-vm-0': 0.001, 'GPU': 4}}]
# What `ray.init` declares when this plan starts its own local Ray.
LOCAL_RAY = {'num_cpus': 36, 'num_gpus': 4, 'resources': {'node:a100-vm-0': 1.0}}

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

    Runs on cpu, 32 cores, node a100-vm-0.
    Planned start 1.73 s; predicted latency 2.03 s.
    Ray: a call on the actor of model instance faster-whisper/whisper-base@cpu.
    """
    return run.actor_call('transcript', 'faster-whisper/whisper-base@cpu', (scenes,), label)


def objects(run: RayRun, frames: Any, query: Any, *, label: str = "") -> Any:
    """vision.detect_objects via open-clip (fallbacks: haar-ocr): step objects.

    Runs on cpu, 4 cores, node a100-vm-0.
    Planned start 2.36 s; predicted latency 6.03 s.
    Ray: a task in bundle 0 (node a100-vm-0).
    """
    return run.task(
        'objects',
        (frames, query),
        label,
        num_cpus=4,
        num_gpus=0,
        bundle=0,
    )


def answer(run: RayRun, question: Any, context: Any, *, label: str = "") -> Any:
    """llm.answer via vllm: step answer.

    Runs on gpu:a100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node a100-vm-0.
    Planned start 8.39 s; predicted latency 16.1 s.
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
    Planned start 24.5 s; predicted latency 4.42 s.
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
        'bound': 4.0,
        'cost_usd': 0.009713,
        'energy_j': 7094.0,
        'gap': 0.0,
        'gpus': 4,
        'greedy': 4.0,
        'latency_s': 28.91,
        'objective': 'gpus',
        'proof': 'bound',
        'slo': 'latency < 30s',
        'solver': 'greedy',
        'status': 'optimal',
        'value': 4.0,
        'workflow': 'video_and_code',
    },
    'predicted': {'cost_usd': 0.009713280000000001, 'energy_j': 7093.639999999999},
    'result': {'ref': 'report'},
    'slo': 'latency < 30s',
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
            'instance': 'faster-whisper/whisper-base@cpu',
            'knobs': {'cores': 8, 'fanout': 4, 'model': 'whisper-base'},
            'name': 'transcript',
            'op': 'speech.transcribe',
            'placement': {
                'cores': 8,
                'device': 'cpu',
                'gpu_ids': [],
                'node': 'a100-vm-0',
                'start': 1.725,
            },
            'predicted': {'cost_usd': 0.0008652, 'energy_j': 389.3, 'latency_s': 2.028},
            'yields': None,
        },
        {
            'args': [{'ref': 'frames'}, {'ref': 'query'}],
            'batch': 1,
            'body': [],
            'body_args': [],
            'count': 0,
            'deps': ['frames'],
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
            'name': 'objects',
            'op': 'vision.detect_objects',
            'placement': {
                'cores': 1,
                'device': 'cpu',
                'gpu_ids': [],
                'node': 'a100-vm-0',
                'start': 2.364,
            },
            'predicted': {'cost_usd': 0.0003213, 'energy_j': 144.6, 'latency_s': 6.025},
            'yields': None,
        },
        {
            'args': [
                {'ref': 'query'},
                {'list': [{'ref': 'objects'}, {'ref': 'transcript'}]},
            ],
            'batch': 32,
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
                'batch': 32,
                'gpu': 'a100',
                'load': 598.5,
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
                'start': 8.389,
            },
            'predicted': {'cost_usd': 0.001003, 'energy_j': 1251.0, 'latency_s': 16.11},
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
                'load': 89.3,
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
                'start': 24.49,
            },
            'predicted': {'cost_usd': 0.006719, 'energy_j': 4166.0, 'latency_s': 4.415},
            'yields': None,
        },
    ],
    'workflow': 'video_and_code',
}
PLAN = Plan.from_json(json.dumps(PLAN_DATA))

if __name__ == "__main__":
    sys.exit(main())
