# Code-generation executors: LLM coders and testers, and the Python interpreter tool.

capability generate(problem: text) -> code {
    "Write a Python solution to a programming problem."
    kind llm
    on cpu, gpu
    knob model in {"deepseek-r1-distill-qwen-32b", "gemma-3-27b", "phi-4", "nvlm-d-72b", "gpt-4o", "qwen2.5-coder-0.5b-instruct"} = "gemma-3-27b"
    knob tp in {1, 2, 4, 8} = 4
    knob cores in {1, 2, 4, 8} = 2
    knob gpu in {"a100", "h100"} = "a100"
}

capability write_tests(problem: text) -> code {
    "Write Python unit tests that check solutions to a programming problem."
    kind llm
    on cpu, gpu
    knob model in {"deepseek-r1-distill-qwen-32b", "gemma-3-27b", "phi-4", "nvlm-d-72b", "gpt-4o", "qwen2.5-coder-0.5b-instruct"} = "gemma-3-27b"
    knob tp in {1, 2, 4, 8} = 4
    knob cores in {1, 2, 4, 8} = 2
    knob gpu in {"a100", "h100"} = "a100"
}

capability run_tests(solutions: list<code>, tests: code) -> text {
    "Run unit tests against candidate solutions in a sandboxed Python interpreter and report the results."
    kind tool
    on cpu
    knob timeout_s in {1, 5, 10, 30} = 10
    knob memory_mb in {128, 256, 512, 1024} = 512
}

capability revise(problem: text, solutions: list<code>, report: text) -> code {
    "Improve a solution after reading the other agents' solutions and the test report."
    kind llm
    on cpu, gpu
    knob model in {"deepseek-r1-distill-qwen-32b", "gemma-3-27b", "phi-4", "nvlm-d-72b", "gpt-4o", "qwen2.5-coder-0.5b-instruct"} = "gemma-3-27b"
    knob tp in {1, 2, 4, 8} = 4
    knob cores in {1, 2, 4, 8} = 2
    knob gpu in {"a100", "h100"} = "a100"
}

capability rank(problem: text, candidates: list<code>, tests: code) -> code {
    "Pick the best of several candidate solutions by votes and test results."
    kind llm
    on cpu, gpu
    knob model in {"deepseek-r1-distill-qwen-32b", "gemma-3-27b", "phi-4", "nvlm-d-72b", "gpt-4o", "qwen2.5-coder-0.5b-instruct"} = "gemma-3-27b"
    knob tp in {1, 2, 4, 8} = 4
    knob cores in {1, 2, 4, 8} = 2
    knob gpu in {"a100", "h100"} = "a100"
}

capability execute(program: code) -> text {
    "Run a Python program in a sandboxed interpreter and return what it prints."
    kind tool
    on cpu
    knob timeout_s in {1, 5, 10, 30} = 10
    knob memory_mb in {128, 256, 512, 1024} = 512
}
