"""Reading mbox files: the mapped reader against the line-by-line rules it implements."""

import importlib.util
import pathlib
import re

import pytest

from salesdesk.capture.files import read_mbox

BENCH = pathlib.Path(__file__).parents[2] / "bench" / "capture.py"


def reference(path: pathlib.Path) -> list[tuple[int, bytes]]:
    """The rules, one line at a time: a message starts at a "From " line at the start of the
    file or after a blank line; the blank line before it is the mbox's; one ">" comes off
    quoted "From " lines (mboxrd)."""
    found, lines, start, offset, previous_blank = [], [], 0, 0, True
    with open(path, "rb") as stream:
        for line in stream:
            if line.startswith(b"From ") and previous_blank:
                if lines:
                    found.append((start, lines))
                lines, start = [], offset
            else:
                lines.append(re.sub(rb"^>(>*From )", rb"\1", line))
            previous_blank = line in (b"\n", b"\r\n")
            offset += len(line)
    if lines:
        found.append((start, lines))
    return [
        (start, b"".join(lines[:-1] if lines[-1] in (b"\n", b"\r\n") else lines))
        for start, lines in found
    ]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"From a\n",
        b"From a\nSubject: one\n\nbody\n",
        b"From a\nSubject: one\n\nbody\n\nFrom b\nSubject: two\n\nbody two\n",
        b"From a\r\nSubject: one\r\n\r\nbody\r\n\r\nFrom b\r\nSubject: two\r\n\r\nx\r\n",
        b"From a\nSubject: one\n\nFrom the start of a line but no blank before\nFrom b\n",
        b"From a\n\n>From quoted\n>>From twice\n> From not\n\nFrom b\nx",
        b"no From line at the start\n\nFrom a\nx\n",
        b"\nFrom a\nx\n",
        b"\r\nFrom a\nx\n",
        b"From a\n\n\nFrom b\n\n\n\n",
        b"From a\nno newline at the end",
        b"From a\nx\n\nFrom b",
        b"From a\nx\n\nFrom b\n",
        b"From a\nline\r\n\r\nFrom b\nline\n\r\nFrom c\ny\n",
    ],
)
def test_the_mapped_reader_follows_the_mbox_rules(tmp_path, content):
    path = tmp_path / "box.mbox"
    path.write_bytes(content)

    assert list(read_mbox(path)) == reference(path)


def test_the_mapped_reader_reads_a_realistic_mailbox_like_the_rules(tmp_path):
    spec = importlib.util.spec_from_file_location("capture_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    path = tmp_path / "bench.mbox"
    bench.write_mbox(path, messages=800, seed=3, companies=30, people=200)

    messages = list(read_mbox(path))

    assert len(messages) == 800
    assert messages == reference(path)
    assert b"\n>From " in path.read_bytes()  # the generator quotes "From " lines: undone
    assert any(b"\nFrom " in raw for _offset, raw in messages)
