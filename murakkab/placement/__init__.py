"""Placement: ops onto the cores and GPUs of a cluster, with a start time each.

The problem is multi-mode resource-constrained scheduling (problem.py): every
non-flow op is a *job* with alternative *modes* (CPU cores, or GPUs of one
type, each with its duration, energy and cost from the cost model), jobs wait
for the jobs whose results they read, and jobs that overlap in time share a
node's cores and GPUs. LLM ops served on GPUs call a *served instance* (one
vLLM deployment per model and device) that holds its GPUs for the whole plan.

- build.py, served.py: a physical workflow -> a problem (modes from the cost model);
- schedule.py: a solution, its metrics, its check, its GPU ids;
- sgs.py, greedy.py: list scheduling and local search, the incumbent (milliseconds);
- bound.py: the lower bound a gap is measured against, and time windows;
- encode.py, decode.py: the pure Z3 encoding and its decoding;
- solve.py: greedy, then Z3 (or cpsat.py, OR-Tools CP-SAT) within a budget;
- alternatives.py: the plans with fewer and more GPUs that `mkc explain` shows;
- conflict.py: MK0507 from an unsat core;
- guards.py: MK0508 (a logical module), MK0509 (`--dump-smt` cannot be written),
  the atomic write of the dump;
- synthetic.py: seeded random problems, used only by bench/placement.py and the tests.
"""
