# Web tools.

capability fetch(url: text) -> text {
    "Fetch a web page over HTTP and return its text."
    kind tool
    on cpu
    knob timeout_s in {1, 5, 10, 30} = 10
    knob max_bytes: number = 2000000
}
