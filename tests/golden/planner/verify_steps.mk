# Planned by `mkc plan` from the workflow's description; edit it freely.
# Planner: default planner: type-directed search, minilm similarity.
import stdlib.code
import stdlib.llm
import "examples/video_qa.mk"

workflow read_code_student(lecture: video, problem: text) -> text {
    "Read the code the student shows in the video, write a reference solution to the problem in parallel, and compare the two."
    # video_qa (from examples/video_qa.mk) does "Read the code the student shows in the video" (0.42 similar)
    task answer = video_qa("Read the code the student shows in the video", [lecture])
    # code.generate does "write a reference solution to the problem..." (0.39 similar)
    task solution = code.generate(problem)
        with model in {"deepseek-r1-distill-qwen-32b", "gemma-3-27b", "phi-4", "nvlm-d-72b", "gpt-4o", "qwen2.5-coder-0.5b-instruct"}
    # llm.compare does "compare the two" (0.37 similar)
    task comparison = llm.compare("compare the two", [answer, solution])
        with model in {"gemma-3-27b", "phi-4", "llama-3.1-70b", "deepseek-r1-distill-qwen-32b", "gpt-4o", "smollm2-135m-instruct", "qwen2.5-coder-0.5b-instruct"}
    return comparison
}

run read_code_student("media/lecture.mp4", "Write fib(n).")
