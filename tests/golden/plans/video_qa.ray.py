"""Plan of workflow video_qa on Ray, emitted by `mkc compile --emit plan --backend ray`.

Answer a question about one or more videos.

Source:     examples/video_qa.mk
Pipeline:   default
SLO:        cost < 2usd, latency < 30s, quality >= 0.647
Objective:  minimize energy
Cluster:    cloud-a100-h100
Placement:  optimal for energy (by greedy, gap 0.0%)
Predicted:  cost 0.002319 usd, energy 1215 J, latency 25.16 s

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
        'steps': ['transcript'],
        'bundle': 0,
    },
    'gemma-3-27b@gpu:h100x4': {
        'num_cpus': 0,
        'num_gpus': 4,
        'max_concurrency': 75,
        'steps': ['answer'],
        'bundle': 1,
    },
}
# The placement group: one bundle per cluster node the plan uses (empty: not placed).
BUNDLES = [
    {'node': 'a100-vm-0', 'resources': {'CPU': 36, 'node:a100-vm-0': 0.001}},
    {'node': 'h100-vm-0', 'resources': {'CPU': 1, 'node:h100-vm-0': 0.001, 'GPU': 4}},
]
# What `ray.init` declares when this plan starts its own local Ray.
LOCAL_RAY = {'num_cpus': 37, 'num_gpus': 4, 'resources': {'node:a100-vm-0': 1.0, 'node:h100-vm-0': 1.0}}

# ---- ops ------------------------------------------------------------------------------


def scenes(run: RayRun, videos: Any, *, label: str = "") -> Any:
    """video.scene_detect via opencv.hist: step scenes.

    Runs on cpu, 1 core, node a100-vm-0.
    Planned start 0 s; predicted latency 0.698 s.
    Ray: a task in bundle 0 (node a100-vm-0).
    """
    return run.task(
        'scenes',
        (videos,),
        label,
        num_cpus=1,
        num_gpus=0,
        bundle=0,
    )


def frames(run: RayRun, scenes: Any, *, label: str = "") -> Any:
    """video.frame_extract via opencv.seek: step frames.

    Runs on cpu, 4 cores, node a100-vm-0.
    Planned start 0.698 s; predicted latency 0.0834 s.
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
    Planned start 0.698 s; predicted latency 0.104 s.
    Ray: a call on the actor of model instance faster-whisper/whisper-tiny.en@cpu.
    """
    return run.actor_call('transcript', 'faster-whisper/whisper-tiny.en@cpu', (scenes,), label)


def objects(run: RayRun, frames: Any, query: Any, *, label: str = "") -> Any:
    """vision.detect_objects via open-clip (fallbacks: haar-ocr): step objects.

    Runs on cpu, 4 cores, node a100-vm-0.
    Planned start 0.781 s; predicted latency 0.625 s.
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

    Runs on gpu:h100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node h100-vm-0.
    Planned start 1.41 s; predicted latency 23.8 s.
    Ray: a call on the actor of model instance gemma-3-27b@gpu:h100x4.
    """
    return run.actor_call('answer', 'gemma-3-27b@gpu:h100x4', (question, context), label)


# ---- the workflow ---------------------------------------------------------------------


def workflow(run: RayRun, r: dict[str, Any]) -> Any:
    """Workflow video_qa: every op submitted, none waited for."""
    r['scenes'] = scenes(run, r['videos'])
    r['frames'] = frames(run, r['scenes'])
    r['transcript'] = transcript(run, r['scenes'])
    r['objects'] = objects(run, r['frames'], r['query'])
    r['answer'] = answer(run, r['query'], [r['objects'], r['transcript']])
    return r['answer']


def execute(inputs: dict[str, Any], options: RunOptions, address: str | None = None) -> RunResult:
    """Run the workflow on Ray: the one this process is connected to, else the cluster
    at `address`, else a local Ray started for the run."""
    ray_run = RayRun(PLAN, options, actors=ACTORS, bundles=BUNDLES, local=LOCAL_RAY, address=address)
    return ray_run.execute(workflow, inputs)


def main(argv: list[str] | None = None) -> int:
    args = plan_arguments(argv, PLAN, description='Run workflow video_qa on Ray (a murakkab plan).', ray=True)
    return report(execute(args.inputs, args.options, args.ray_address), args.as_json)


# ---- the plan as data: what `invoke_step` runs for each op ------------------------------
PLAN_DATA = {
    'cluster': 'cloud-a100-h100',
    'defaults': {
        'query': 'How many engines does the rocket have?',
        'videos': ['media/lecture.mp4'],
    },
    'doc': 'Answer a question about one or more videos.',
    'format': 1,
    'objective': 'minimize energy',
    'params': [['query', 'text'], ['videos', 'list<video>']],
    'pipeline': 'default',
    'placement': {
        'bound': 1216.0,
        'cost_usd': 0.002319,
        'energy_j': 1216.0,
        'gap': 0.0,
        'gpus': 4,
        'greedy': 1216.0,
        'latency_s': 25.16,
        'objective': 'energy',
        'proof': 'bound',
        'slo': 'latency < 30s',
        'solver': 'greedy',
        'status': 'optimal',
        'value': 1216.0,
        'workflow': 'video_qa',
    },
    'predicted': {'cost_usd': 0.002319409, 'energy_j': 1215.136},
    'result': {'ref': 'answer'},
    'slo': 'cost < 2usd, latency < 30s, quality >= 0.647',
    'source': 'examples/video_qa.mk',
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
            'knobs': {'cores': 1, 'threshold': 27.0},
            'name': 'scenes',
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
                'start': 0.6975,
            },
            'predicted': {
                'cost_usd': 4.448e-06,
                'energy_j': 2.001,
                'latency_s': 0.08339,
            },
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
            'instance': 'faster-whisper/whisper-tiny.en@cpu',
            'knobs': {'cores': 8, 'fanout': 4, 'model': 'whisper-tiny.en'},
            'name': 'transcript',
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
                'start': 0.7809,
            },
            'predicted': {'cost_usd': 3.333e-05, 'energy_j': 15.0, 'latency_s': 0.625},
            'yields': None,
        },
        {
            'args': [
                {'ref': 'query'},
                {'list': [{'ref': 'objects'}, {'ref': 'transcript'}]},
            ],
            'batch': 75,
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
            'instance': 'gemma-3-27b@gpu:h100x4',
            'knobs': {
                'batch': 75,
                'gpu': 'h100',
                'load': 2024.0,
                'max_tokens': 64,
                'model': 'gemma-3-27b',
                'tp': 4,
            },
            'name': 'answer',
            'op': 'llm.answer',
            'placement': {
                'cores': 1,
                'device': 'gpu:h100x4',
                'gpu_ids': [0, 1, 2, 3],
                'node': 'h100-vm-0',
                'start': 1.406,
            },
            'predicted': {'cost_usd': 0.002228, 'energy_j': 1174.0, 'latency_s': 23.76},
            'yields': None,
        },
    ],
    'workflow': 'video_qa',
}
PLAN = Plan.from_json(json.dumps(PLAN_DATA))

if __name__ == "__main__":
    sys.exit(main())
