# mkc: fleet plan {file} --scale 0.01
# Fleet mode plans reference workflows only: this one ranks documents.
import stdlib.text

workflow search(query: text, docs: list<text>) -> list<text> {
    task ranked = text.rank(query, docs)
    return ranked
}
