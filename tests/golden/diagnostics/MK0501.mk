# mkc: opt tests/golden/ir/math_reflect.mkir -p dead-task-elimnation
