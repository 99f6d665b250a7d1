# Language-model executors. Models are those of the reference profiles plus the
# local CPU models and a hosted GPT-4o-class model. `cores` are the threads of a
# local model on the CPU (llama.cpp); served and hosted models ignore it.

capability answer(question: text, context: list<any>) -> text {
    "Answer a question from context such as frames, transcripts and documents."
    kind llm
    on cpu, gpu
    knob model in {"gemma-3-27b", "llava-onevision-7b", "nvlm-d-72b", "gpt-4o", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"} = "gemma-3-27b"
    knob tp in {1, 2, 4, 8} = 4
    knob cores in {1, 2, 4, 8} = 2
    knob gpu in {"a100", "h100"} = "a100"
    knob max_tokens: number = 1024
}

capability generate(prompt: text) -> text {
    "Generate text that follows an instruction."
    kind llm
    on cpu, gpu
    knob model in {"gemma-3-27b", "phi-4", "llama-3.1-70b", "deepseek-r1-distill-qwen-32b", "gpt-4o", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"} = "gemma-3-27b"
    knob tp in {1, 2, 4, 8} = 4
    knob cores in {1, 2, 4, 8} = 2
    knob gpu in {"a100", "h100"} = "a100"
    knob max_tokens: number = 1024
}

capability chat(history: list<text>, message: text) -> text {
    "Reply to a message in a conversation, given the turns so far."
    kind llm
    on cpu, gpu
    knob model in {"gemma-3-27b", "phi-4", "llama-3.1-70b", "gpt-4o", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"} = "gemma-3-27b"
    knob tp in {1, 2, 4, 8} = 4
    knob cores in {1, 2, 4, 8} = 2
    knob gpu in {"a100", "h100"} = "a100"
    knob max_tokens: number = 1024
}

capability solve(problem: text) -> text {
    "Solve a math or reasoning problem step by step and state the final answer."
    kind llm
    on cpu, gpu
    knob model in {"gemma-3-27b", "phi-4", "llama-3.1-70b", "deepseek-r1-distill-qwen-32b", "gpt-4o", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"} = "gemma-3-27b"
    knob tp in {1, 2, 4, 8} = 4
    knob cores in {1, 2, 4, 8} = 2
    knob gpu in {"a100", "h100"} = "a100"
}

capability critique(question: text, answer: text) -> text {
    "Point out mistakes and gaps in an answer to a question."
    kind llm
    on cpu, gpu
    knob model in {"gemma-3-27b", "phi-4", "llama-3.1-70b", "deepseek-r1-distill-qwen-32b", "gpt-4o", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"} = "gemma-3-27b"
    knob tp in {1, 2, 4, 8} = 4
    knob cores in {1, 2, 4, 8} = 2
    knob gpu in {"a100", "h100"} = "a100"
}

capability revise(question: text, answer: text, critique: text) -> text {
    "Rewrite an answer so that it addresses a critique."
    kind llm
    on cpu, gpu
    knob model in {"gemma-3-27b", "phi-4", "llama-3.1-70b", "deepseek-r1-distill-qwen-32b", "gpt-4o", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"} = "gemma-3-27b"
    knob tp in {1, 2, 4, 8} = 4
    knob cores in {1, 2, 4, 8} = 2
    knob gpu in {"a100", "h100"} = "a100"
}

capability summarize(content: list<any>) -> text {
    "Summarize content such as a transcript or documents."
    kind llm
    on cpu, gpu
    knob model in {"gemma-3-27b", "phi-4", "llama-3.1-70b", "gpt-4o", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"} = "gemma-3-27b"
    knob tp in {1, 2, 4, 8} = 4
    knob cores in {1, 2, 4, 8} = 2
    knob gpu in {"a100", "h100"} = "a100"
}

capability compare(question: text, items: list<any>) -> text {
    "Compare several items, such as two answers or two solutions, and say how they differ."
    kind llm
    on cpu, gpu
    knob model in {"gemma-3-27b", "phi-4", "llama-3.1-70b", "deepseek-r1-distill-qwen-32b", "gpt-4o", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"} = "gemma-3-27b"
    knob tp in {1, 2, 4, 8} = 4
    knob cores in {1, 2, 4, 8} = 2
    knob gpu in {"a100", "h100"} = "a100"
}
