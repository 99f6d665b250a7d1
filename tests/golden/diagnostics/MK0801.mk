# mkc: estimate examples/video_qa.mk --assume video_s=90 --assume video_minutes=3
