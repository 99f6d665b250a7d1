# Speech executors.

capability transcribe(scenes: list<scene>) -> text {
    "Transcribe the speech in the audio of video scenes to text."
    kind tool
    on cpu, gpu
    knob model in {"whisper-tiny.en", "whisper-base"} = "whisper-base"
    knob cores in {1, 2, 4, 8} = 2
}
