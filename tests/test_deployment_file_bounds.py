"""Hostile or odd deployment files: one printable line each, found before any expensive work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from constructs_lib.config import MAX_FILE_BYTES, ConfigError, load_config
from tests.conftest import DEFAULT_CONFIG

DEFAULT_TEXT = DEFAULT_CONFIG.read_text()


def refusal(path: Path | str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    line = str(caught.value)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line, line
    assert line.isprintable(), line
    assert len(line) < 800, len(line)
    return line


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    return path


def test_merge_keys_share_settings_between_regions(tmp_path: Path) -> None:
    text = """
project_id: acme-llm-prod
name: llm
domains: [llm.example.com]
state: {backend: local}
regions:
  - &defaults
    region: us-central1
    machine_type: g2-standard-8
    min_replicas: 1
    max_replicas: 4
    capacity_scaler: 1.0
  - <<: *defaults
    region: europe-west4
    max_replicas: 8
"""
    config = load_config(write(tmp_path, text))
    assert [region.region for region in config.regions] == ["us-central1", "europe-west4"]
    assert config.regions[1].machine_type == "g2-standard-8"
    assert config.regions[1].max_replicas == 8  # a key written in the mapping overrides the merged one
    assert config.regions[0].max_replicas == 4


def test_duplicate_keys_are_still_refused_next_to_a_merge(tmp_path: Path) -> None:
    text = "a: &a {x: 1}\nb:\n  <<: *a\n  y: 1\n  y: 2\n"
    assert "duplicate key 'y'" in refusal(write(tmp_path, text))


def test_alias_bomb_is_refused_before_it_is_built(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 10):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 9)}]")
    line = refusal(write(tmp_path, "\n".join(lines) + "\n"))
    assert "aliases and merge keys expand to more than" in line


def test_merge_key_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["k0: &k0 {v: 1}"]
    for level in range(1, 40):
        lines.append(f"k{level}: &k{level} {{<<: [*k{level - 1}, *k{level - 1}]}}")
    assert "expand to more than" in refusal(write(tmp_path, "\n".join(lines) + "\n"))


def test_a_file_with_every_region_stays_well_within_the_bounds(tmp_path: Path) -> None:
    from constructs_lib import gcp_regions
    from constructs_lib.config import _check_shape

    region = "  - {region: %s, machine_type: g2-standard-8, min_replicas: 1, max_replicas: 4, capacity_scaler: 1.0}\n"
    _check_shape(DEFAULT_TEXT.split("regions:")[0] + "regions:\n" + "".join(region % r for r in gcp_regions.ZONES))


def test_deep_nesting_is_one_line(tmp_path: Path) -> None:
    line = refusal(write(tmp_path, "a: " + "[" * 5000 + "]" * 5000 + "\n"))
    assert "too deep: nested more than" in line


def test_huge_integer_is_one_line(tmp_path: Path) -> None:
    text = DEFAULT_TEXT.replace("max_replicas: 4", "max_replicas: " + "9" * 5000, 1)
    assert "max_replicas: 4" in DEFAULT_TEXT
    line = refusal(write(tmp_path, text))
    assert "too long" in line or "cannot be read" in line or "less than or equal" in line


def test_large_integer_within_parse_limits_is_reported_short(tmp_path: Path) -> None:
    text = DEFAULT_TEXT.replace("max_replicas: 4", "max_replicas: " + "9" * 4000, 1)
    line = refusal(write(tmp_path, text))
    assert line.endswith("regions[0].max_replicas: must be less than or equal to 1000"), line


def test_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    path = write(tmp_path, "# padding\n" * (MAX_FILE_BYTES // 10 + 10))
    line = refusal(path)
    assert f"at most {MAX_FILE_BYTES}" in line


def test_long_list_is_refused_with_a_short_line(tmp_path: Path) -> None:
    path = write(tmp_path, DEFAULT_TEXT + "\nextra: [" + ", ".join(["1"] * 200_000) + "]\n")
    assert "more than 1000 entries" in refusal(path)
    just_over = write(tmp_path, DEFAULT_TEXT + "\nextra: [" + ", ".join(["1"] * 1001) + "]\n")
    assert "more than 1000 entries" in refusal(just_over)
    mapping = write(tmp_path, DEFAULT_TEXT + "\nextra: {" + ", ".join(f"k{i}: 1" for i in range(1001)) + "}\n")
    assert "more than 1000 entries" in refusal(mapping)


@pytest.mark.parametrize(
    "key",
    ['"max_replicas\\nerror: forged line"', '"max\\x1b[31mreplicas"', '"max\\rreplicas"'],
    ids=["newline", "terminal-escape", "carriage-return"],
)
def test_control_characters_in_keys_stay_escaped_on_one_line(tmp_path: Path, key: str) -> None:
    text = DEFAULT_TEXT.replace("max_replicas: 4", f"{key}: 4\n    max_replicas: 4", 1)
    line = refusal(write(tmp_path, text))
    assert "unknown key" in line
    assert "\\n" in line or "\\x1b" in line or "\\r" in line


def test_misspelt_required_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    text = DEFAULT_TEXT.replace("max_replicas: 4", "max_replica: 4", 1)
    line = refusal(write(tmp_path, text))
    assert "regions[0].max_replica: unknown key (did you mean 'max_replicas'?" in line


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_not_a_number_is_named_as_such(tmp_path: Path, value: str) -> None:
    text = DEFAULT_TEXT.replace("capacity_scaler: 1.0", f"capacity_scaler: {value}", 1)
    assert "capacity_scaler: 1.0" in DEFAULT_TEXT
    line = refusal(write(tmp_path, text))
    assert "regions[0].capacity_scaler: is not a number (NaN or infinity)" in line


def test_zero_regions_says_so(tmp_path: Path) -> None:
    document = yaml.safe_load(DEFAULT_TEXT)
    document["regions"] = []
    line = refusal(write(tmp_path, yaml.safe_dump(document)))
    assert "regions: has 0 items; list at least 1" in line


def test_pattern_errors_describe_the_form_not_the_regex(tmp_path: Path) -> None:
    line = refusal(write(tmp_path, DEFAULT_TEXT.replace("name: llm", "name: LLM", 1)))
    assert "name: 'LLM' is not allowed (expected 1-16 lowercase letters" in line
    assert "^" not in line and "[" not in line


def test_directory_fifo_and_device_are_not_called_missing(tmp_path: Path) -> None:
    assert "is a directory" in refusal(tmp_path)
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    assert "is not a regular file" in refusal(fifo)
    assert "is not a regular file" in refusal("/dev/null")
