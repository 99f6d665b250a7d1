# mkc: profiles import --check {file}
# A profile file with bad entries: each problem is reported at its key.
[[model]]
model = "phi-4"
device = "h100"
tp = 1
saturation_tps = 900.0
source = "measured with mkc profile"
points = [
    { load_tps = 900.0, tpot_s = 0.06, ttft_s = 1.0 },
    { load_tps = 70.0, tpot_s = 0.013, ttft_s = 0.2 },
]

[[workflow]]
workflow = "video_qa"
config = { frames = 5, model = "gemma-3-27b", stt = true }
quality = 64.7
source = "measured on Video-MME"

[[tool]]
executor = "video.scene_detect"
impl = "opencv.hist"
device = "cpu"
unit = "minutes"
seconds_per_unit = 0.1
fixed_s = 0.05
cores = 1
source = "measured"
