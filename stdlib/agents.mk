# Multi-agent compositions as single executors: the optimizer picks their knobs.

capability debate(problem: text) -> code {
    "Solve a programming problem by debate: coders propose, testers run tests, a ranker picks the best."
    kind composition
    on gpu, cpu
    knob debaters in {2, 4} = 2
    knob rounds in {2, 4} = 2
    knob model in {"deepseek-r1-distill-qwen-32b", "gemma-3-27b", "phi-4", "nvlm-d-72b"} = "gemma-3-27b"
    knob tp in {1, 2, 4, 8} = 4
    knob gpu in {"a100", "h100"} = "a100"
}

capability self_reflect(question: text) -> text {
    "Answer a question, then critique and revise the answer for a number of rounds."
    kind composition
    on gpu, cpu
    knob rounds in {1, 2, 3} = 2
    knob model in {"gemma-3-27b", "phi-4", "llama-3.1-70b", "deepseek-r1-distill-qwen-32b"} = "gemma-3-27b"
    knob tp in {1, 2, 4, 8} = 4
    knob gpu in {"a100", "h100"} = "a100"
}
