"""Output directories: refused when not spikeforge's, replaced atomically, never lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from spikeforge.outdir import MARKER, STAGING_TAG, OutputError, claim_output, staged_output

FILES = 40  # files per generation in the writer below

# A writer process: stages FILES files holding its generation number, slowly, then swaps.
WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from spikeforge.outdir import staged_output
    target, generation, delay = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    with staged_output(target, "test output") as stage:
        for i in range({files}):
            (stage / f"part{{i}}").write_text(generation)
            time.sleep(delay)
    """
).format(files=FILES)


def write_generation(target: Path, generation: str) -> None:
    with staged_output(target, "test output") as stage:
        for i in range(FILES):
            (stage / f"part{i}").write_text(generation)


def generation_at(target: Path) -> str:
    """The generation a complete output at ``target`` holds; fails on a partial one."""
    assert json.loads((target / MARKER).read_text())["kind"] == "test output"
    parts = {p.name: p.read_text() for p in target.iterdir() if p.name != MARKER}
    assert sorted(parts) == sorted(f"part{i}" for i in range(FILES)), "incomplete output"
    (generation,) = set(parts.values())
    return generation


def staging_left(target: Path) -> list[str]:
    return [p.name for p in target.parent.iterdir() if STAGING_TAG in p.name]


def start_writer(target: Path, generation: str, delay: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, str(target), generation, str(delay)])


def test_absent_and_empty_targets_are_written(tmp_path):
    write_generation(tmp_path / "new" / "out", "1")
    assert generation_at(tmp_path / "new" / "out") == "1"
    (tmp_path / "empty").mkdir()
    write_generation(tmp_path / "empty", "2")
    assert generation_at(tmp_path / "empty") == "2"
    assert staging_left(tmp_path / "empty") == []


def test_an_earlier_output_of_the_same_kind_is_replaced(tmp_path):
    write_generation(tmp_path / "out", "old")
    (tmp_path / "out" / "stray").write_text("left by the old run")
    write_generation(tmp_path / "out", "new")
    assert generation_at(tmp_path / "out") == "new"
    assert staging_left(tmp_path / "out") == []


def test_a_user_directory_is_refused_and_kept(tmp_path):
    user = tmp_path / "thesis"
    user.mkdir()
    (user / "thesis.txt").write_text("four years")
    with pytest.raises(OutputError, match=r"not written by spikeforge.*another --out"):
        write_generation(user, "1")
    assert (user / "thesis.txt").read_text() == "four years"
    assert sorted(p.name for p in user.iterdir()) == ["thesis.txt"]
    assert staging_left(user) == []


def test_a_regular_file_and_a_file_in_the_path_are_refused(tmp_path):
    (tmp_path / "notes").write_text("mine")
    with pytest.raises(OutputError, match="not a directory"):
        claim_output(tmp_path / "notes", "test output")
    with pytest.raises(OutputError, match="is a file, not a directory"):
        claim_output(tmp_path / "notes" / "out", "test output", flag="--build-dir")
    assert (tmp_path / "notes").read_text() == "mine"


def test_another_kind_of_output_is_refused(tmp_path):
    with staged_output(tmp_path / "net", "network") as stage:
        (stage / "snn.json").write_text("{}")
    with pytest.raises(OutputError, match="is a spikeforge network, not a HLS project"):
        claim_output(tmp_path / "net", "HLS project")


def test_a_directory_holding_an_input_is_refused(tmp_path):
    model = tmp_path / "victim" / "model.keras"
    model.parent.mkdir()
    model.write_bytes(b"weights")
    for out in (model.parent, tmp_path):
        with pytest.raises(OutputError, match=r"holds the input .*model\.keras"):
            claim_output(out, "network", inputs=[model])
    write_generation(tmp_path / "net", "1")
    with pytest.raises(OutputError, match="holds the input"):
        claim_output(tmp_path / "net", "test output", flag="--out", inputs=[tmp_path / "net"])
    claim_output(tmp_path / "net", "test output", inputs=[None, tmp_path / "elsewhere"])


def test_a_failed_write_leaves_the_old_output(tmp_path):
    write_generation(tmp_path / "out", "old")
    with pytest.raises(RuntimeError), staged_output(tmp_path / "out", "test output") as stage:
        (stage / "part0").write_text("new")
        raise RuntimeError("the conversion failed")
    assert generation_at(tmp_path / "out") == "old"
    assert staging_left(tmp_path / "out") == []


def test_a_killed_writer_never_leaves_nothing_or_a_mix(tmp_path):
    """SIGKILL at random points of a replacement, repeated: the path always holds one
    complete generation; a later writer removes the dead writers' staging directories."""
    target = tmp_path / "out"
    write_generation(target, "0")
    rng = np.random.default_rng(7)
    delay = 0.002
    held = {"0"}
    for attempt in range(1, 11):
        writer = start_writer(target, str(attempt), delay)
        # up to a little past the writer's whole run (start-up + FILES * delay)
        time.sleep(float(rng.uniform(0.0, 0.35)))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        generation = generation_at(target)
        assert generation in {*held, str(attempt)}
        held.add(generation)
    write_generation(target, "final")
    assert generation_at(target) == "final"
    assert staging_left(target) == []


def test_concurrent_writers_both_finish_and_one_complete_output_remains(tmp_path):
    target = tmp_path / "out"
    for round_ in range(3):
        writers = [start_writer(target, f"{round_}{w}", 0.0005) for w in "ab"]
        assert [w.wait(timeout=60) for w in writers] == [0, 0]
        assert generation_at(target) in {f"{round_}a", f"{round_}b"}
        assert staging_left(target) == []
