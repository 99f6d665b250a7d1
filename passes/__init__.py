"""Optimisation passes, one per file; `REGISTRY` is the explicit, ordered, lazy list.

Each entry maps the pass name (kebab-case, also its golden test's name) to
`module:Class`; the module is imported only when the pass is used.
"""

from __future__ import annotations

REGISTRY: dict[str, str] = {
    "bind-executors": "murakkab.passes.bind_executors:BindExecutorsPass",
    "model-substitution": "murakkab.passes.model_substitution:ModelSubstitutionPass",
    "dead-task-elimination": "murakkab.passes.dead_task_elimination:DeadTaskEliminationPass",
    "common-subexpression-elimination": "murakkab.passes.common_subexpression_elimination:CommonSubexpressionEliminationPass",  # noqa: E501
    "parallelism": "murakkab.passes.parallelism:ParallelismPass",
    "operator-fusion": "murakkab.passes.operator_fusion:OperatorFusionPass",
    "batching": "murakkab.passes.batching:BatchingPass",
    "frame-sampling": "murakkab.passes.frame_sampling:FrameSamplingPass",
    "placement": "murakkab.passes.placement:PlacementPass",
}

# Named pipelines for `-p NAME`. The default runs everything registered, in
# this order: bind tasks, clean up, choose jointly, then the physical passes,
# then placement onto the cluster.
PIPELINES: dict[str, str] = {
    "none": "",
    "default": ",".join(
        name
        for name in (
            "bind-executors",
            "common-subexpression-elimination",
            "dead-task-elimination",
            "model-substitution",
            "frame-sampling",
            "operator-fusion",
            "batching",
            "parallelism",
            "placement",
        )
        if name in REGISTRY
    ),
}
