"""The local runtime: runs an executable plan (murakkab/plan.py) in this process.

| module | concept |
|---|---|
| `engine.py` | `run_plan`: the dataflow scheduler, flow ops, failure and Ctrl-C |
| `invoke.py` | `invoke_step`: one step (cache, resources, retries, fallbacks, energy) |
| `options.py` | `RunOptions` |
| `args.py` | `resolve_args`: argument trees to values; what a step waits for |
| `resolve.py` | implementation → callable (overrides, entries); missing-package messages |
| `resources.py` | core budgets per node, GPU locks |
| `instances.py` | the process's model-instance cache (`open_instance`) |
| `batching.py` | concurrent calls to one instance served by one `run_batch` |
| `cache.py` | the content-addressed result cache (resume after a failure) |
| `energy.py` | energy per op (NVML, RAPL, else modelled) and cost |
| `trace.py` | `OpTrace`, `RunResult` |

docs/runtime.md describes it for users. Importing this package imports nothing
else; import the modules you need.
"""
