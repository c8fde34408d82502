"""Precision and recall of signature extraction on the labelled set.

    .venv/bin/python bench/signatures.py [-v]

Runs `extract_signature` over every case in `tests/capture/data/signatures/*.txt` (format in
the README there) and prints, per field and overall, what was extracted, what was expected,
how much of it was right, precision (right / extracted) and recall (right / expected). Phones
and links count per value, the other fields per case. `-v` lists the cases that differ from
their labels. No database is needed.
"""

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from salesdesk.capture.message import Address
from salesdesk.capture.signatures import Signature, extract_signature

DATA_DIR = Path(__file__).resolve().parents[1] / "tests" / "capture" / "data" / "signatures"
SINGLE_FIELDS = ("mobile", "title", "website", "linkedin", "twitter")
LIST_FIELDS = ("phones", "links")
FIELDS = ("phones", *SINGLE_FIELDS, "links")


@dataclass(frozen=True)
class Case:
    name: str
    sender: Address
    country: str | None
    expected: dict  # field → str, or list[str] for LIST_FIELDS
    text: str

    def extract(self) -> Signature:
        return extract_signature(self.text, sender=self.sender, country_hint=self.country)


def load_cases(data_dir: Path = DATA_DIR) -> list[Case]:
    cases = []
    for path in sorted(data_dir.glob("*.txt")):
        chunks = path.read_text(encoding="utf-8").split("\n=== ")
        chunks[0] = chunks[0].removeprefix("=== ")
        cases.extend(_parse_case(chunk, path.name) for chunk in chunks if chunk.strip())
    names = [case.name for case in cases]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise ValueError(f"duplicate case names: {sorted(duplicates)}")
    return cases


def _parse_case(chunk: str, file_name: str) -> Case:
    head, separator, text = chunk.partition("\n---\n")
    name, *header_lines = head.split("\n")
    if not separator:
        raise ValueError(f"{file_name}: case {name!r} has no '---' line")
    header = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        header[key.strip()] = value.strip()
    missing = {"sender", "country", *FIELDS} - header.keys()
    if missing:
        raise ValueError(f"{file_name}: case {name!r} lacks {sorted(missing)}")
    sender_name, _, email = header["sender"].rpartition("<")
    expected = {key: header[key] for key in SINGLE_FIELDS}
    expected.update({key: header[key].split() for key in LIST_FIELDS})
    return Case(
        name=name.strip(),
        sender=Address(email=email.rstrip(">").strip().lower(), name=sender_name.strip()),
        country=header["country"] or None,
        expected=expected,
        text=text.rstrip("\n") + "\n",
    )


def mismatches(case: Case, signature: Signature) -> list[str]:
    """How the extraction differs from the labels, one line per field; empty when it agrees."""
    return [
        f"{key}: got {getattr(signature, key)!r}, expected {case.expected[key]!r}"
        for key in FIELDS
        if getattr(signature, key) != case.expected[key]
    ]


def _values(value) -> list[str]:
    return list(value) if isinstance(value, list) else [value] if value else []


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="list the failing cases")
    options = parser.parse_args()

    cases = load_cases()
    counts = {key: [0, 0, 0] for key in FIELDS}  # extracted, expected, right
    failures = []
    for case in cases:
        signature = case.extract()
        for key in FIELDS:
            got, expected = _values(getattr(signature, key)), _values(case.expected[key])
            counts[key][0] += len(got)
            counts[key][1] += len(expected)
            counts[key][2] += sum(1 for value in got if value in expected)
        if problems := mismatches(case, signature):
            failures.append((case.name, problems))

    print(f"{len(cases)} labelled signatures, {len(cases) - len(failures)} extracted exactly\n")
    header = ("field", "extracted", "expected", "right", "precision", "recall")
    print("{:<10} {:>9} {:>9} {:>6} {:>9} {:>7}".format(*header))
    total = [0, 0, 0]
    for key in FIELDS:
        print(_row(key, *counts[key]))
        total = [a + b for a, b in zip(total, counts[key], strict=True)]
    print(_row("overall", *total))
    if options.verbose and failures:
        print("\nCases that differ from their labels:")
        for name, problems in failures:
            print(f"  {name}")
            for problem in problems:
                print(f"    {problem}")
    return 0


def _row(label: str, extracted: int, expected: int, right: int) -> str:
    precision = f"{right / extracted:.3f}" if extracted else "-"
    recall = f"{right / expected:.3f}" if expected else "-"
    return f"{label:<10} {extracted:>9} {expected:>9} {right:>6} {precision:>9} {recall:>7}"


if __name__ == "__main__":
    sys.exit(main())
