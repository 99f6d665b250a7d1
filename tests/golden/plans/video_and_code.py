"""Plan of workflow video_and_code, emitted by `mkc compile --emit plan --backend python`.

Answer a question about a lecture series and write the code it asks for, side by side.

Source:     examples/video_and_code.mk
Pipeline:   default
SLO:        latency < 30s
Objective:  none
Cluster:    cloud-a100-h100
Placement:  optimal for gpus (by greedy, gap 0.0%)
Predicted:  cost 0.009713 usd, energy 7094 J, latency 28.91 s

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


def scenes(run: PlanRun, videos: Any, *, label: str = "") -> Any:
    """video.scene_detect via opencv.hist: step scenes.

    Runs on cpu, 4 cores, node a100-vm-0.
    Planned start 0 s; predicted latency 1.73 s.
    """
    return run.invoke('scenes', (videos,), label)


def frames(run: PlanRun, scenes: Any, *, label: str = "") -> Any:
    """video.frame_extract via opencv.seek: step frames.

    Runs on cpu, 4 cores, node a100-vm-0.
    Planned start 1.73 s; predicted latency 0.639 s.
    """
    return run.invoke('frames', (scenes,), label)


def transcript(run: PlanRun, scenes: Any, *, label: str = "") -> Any:
    """speech.transcribe via faster-whisper: step transcript.

    Runs on cpu, 32 cores, node a100-vm-0.
    Planned start 1.73 s; predicted latency 2.03 s.
    """
    return run.invoke('transcript', (scenes,), label)


def objects(run: PlanRun, frames: Any, query: Any, *, label: str = "") -> Any:
    """vision.detect_objects via open-clip (fallbacks: haar-ocr): step objects.

    Runs on cpu, 4 cores, node a100-vm-0.
    Planned start 2.36 s; predicted latency 6.03 s.
    """
    return run.invoke('objects', (frames, query), label)


def answer(run: PlanRun, question: Any, context: Any, *, label: str = "") -> Any:
    """llm.answer via vllm: step answer.

    Runs on gpu:a100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node a100-vm-0.
    Planned start 8.39 s; predicted latency 16.1 s.
    """
    return run.invoke('answer', (question, context), label)


def solution(run: PlanRun, problem: Any, *, label: str = "") -> Any:
    """code.generate via vllm: step solution.

    Runs on gpu:a100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node a100-vm-0.
    Planned start 0 s; predicted latency 21.8 s.
    """
    return run.invoke('solution', (problem,), label)


def op_report(run: PlanRun, content: Any, *, label: str = "") -> Any:
    """llm.summarize via vllm: step report.

    Runs on gpu:a100x4 (4 GPUs), GPUs [0, 1, 2, 3] of node a100-vm-0.
    Planned start 24.5 s; predicted latency 4.42 s.
    """
    return run.invoke('report', (content,), label)


# ---- the workflow ---------------------------------------------------------------------


def workflow(run: PlanRun, r: dict[str, Any]) -> Any:
    """Workflow video_and_code: each op starts once its inputs are ready."""
    flow = run.dataflow()
    r['scenes'] = flow.op(scenes, r['videos'])
    r['frames'] = flow.op(frames, r['scenes'])
    r['transcript'] = flow.op(transcript, r['scenes'])
    r['objects'] = flow.op(objects, r['frames'], r['query'])
    r['answer'] = flow.op(answer, r['query'], [r['objects'], r['transcript']])
    r['solution'] = flow.op(solution, r['problem'])
    r['report'] = flow.op(op_report, [r['answer'], r['solution']])
    return flow.finish(r['report'])


def execute(inputs: dict[str, Any], options: RunOptions) -> RunResult:
    """Run the workflow on `inputs`; the job's run request gives the defaults."""
    return PlanRun(PLAN, options).execute(workflow, inputs)


def main(argv: list[str] | None = None) -> int:
    args = plan_arguments(argv, PLAN, description='Run workflow video_and_code (a murakkab plan).')
    return report(execute(args.inputs, args.options), args.as_json)


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
