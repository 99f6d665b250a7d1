"""Natural-language jobs: from a description and SLOs to an editable `.mk` file (`mkc plan`).

- clauses.py: the description's task clauses (sub-tasks);
- library.py: typed signatures of the stdlib's executors and the library's workflows;
- search.py: the default planner, a type-directed search ranked by MiniLM similarity;
- llm.py: the LLM planner (an OpenAI-compatible endpoint or a local GGUF model) with
  bounded retries and the default planner as its fallback; reply.py: its reply's
  constrained JSON form, the prompt, and the checker;
- emit.py: the plan as a formatted `.mk` file; planning.py: the two planners' shared
  steps (scoring, writing, type-checking); explain.py: `mkc plan --explain`.

docs/planner.md describes the design and its limits.
"""
