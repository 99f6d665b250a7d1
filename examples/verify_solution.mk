# Verify a student's solution shown in a video: read the code from the video
# (video Q/A) while a reference solution is written (code debate), in parallel,
# then compare the two. One end-to-end SLO covers both branches.
import "video_qa.mk"
import "code_gen_debate.mk"

workflow verify_solution(lecture: video, problem: text) -> text {
    "Check whether the code a student shows in a video solves a programming problem."
    task student = video_qa("What Python code is written on the screen? Reproduce it exactly.", [lecture])
    task reference = code_gen_debate(problem)
    task verdict: text = "Compare the student's code with the reference solution and say whether the student is right, and why."(problem, [student, reference])
    return verdict
}

run verify_solution("media/lecture.mp4", "Write a function fib(n) that returns the n-th Fibonacci number.")
    slo latency < 30 s, quality >= fair
    minimize cost
