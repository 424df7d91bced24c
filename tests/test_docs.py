"""The repository stands on its own: it cites nothing outside itself, and every "ref. N" in the
code names a rule that docs/gcp-load-balancing-rules.md states."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import REPO

RULES_DOC = REPO / "docs" / "gcp-load-balancing-rules.md"


def tracked_text_files() -> dict[str, str]:
    names = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, check=True, capture_output=True, text=True,
    ).stdout.split("\0")  # fmt: skip
    texts = {}
    for name in filter(None, names):
        path = REPO / name
        if path.is_file() and not path.is_symlink() and path.suffix in {".py", ".md", ".yaml", ".yml", ".toml", ".sh", ""}:
            try:
                texts[name] = path.read_text()
            except UnicodeDecodeError:
                continue
    return texts


def documented_rules() -> set[int]:
    return {int(number) for number in re.findall(r"^(\d+)\. \*\*", RULES_DOC.read_text(), re.MULTILINE)}


def test_nothing_cites_a_document_outside_the_repository() -> None:
    outside = re.compile(r"\.\./shared|shared/(?:reference)|(?<!docs/)gcp-load-balancing\.md|§|DESIGN\.md")
    offenders = {
        f"{name}:{number}": line.strip()
        for name, text in tracked_text_files().items()
        if name != "tests/test_docs.py"
        for number, line in enumerate(text.splitlines(), 1)
        if outside.search(line)
    }
    assert offenders == {}


def test_the_rules_are_numbered_one_to_n() -> None:
    numbers = documented_rules()
    assert numbers == set(range(1, len(numbers) + 1)) and len(numbers) >= 29


def test_every_ref_in_the_code_names_a_documented_rule() -> None:
    numbers = documented_rules()
    cited: dict[str, set[int]] = {}
    for name, text in tracked_text_files().items():
        if name.startswith(("constructs_lib/", "stacks/", "tools/")):
            for group in re.findall(r"ref\. (\d+(?:, \d+)*)", text):
                cited.setdefault(name, set()).update(int(n) for n in group.split(", "))
    assert cited, "no rule is cited: the pattern is out of date"
    assert {name: refs - numbers for name, refs in cited.items() if refs - numbers} == {}


def test_the_rules_cite_their_sources() -> None:
    sections = re.split(r"^\d+\. \*\*", RULES_DOC.read_text(), flags=re.MULTILINE)[1:]
    unsourced = [section.split("**")[0] for section in sections if "](https://" not in section]
    assert unsourced == []
