"""The fast RTL regression path: the core in a C++ Verilator harness (sim/fast/harness.cpp),
no Python in the clock loop.

The harness drives the same ports with the same stream packing and register protocol as
the cocotb bench (runs of ``per_start`` images per ap_start, TVALID and TREADY always
high), so its :class:`BackendResult` equals the cocotb path's: spike counts, classes,
CYCLES, STATUS and SAT_i. It is compiled once per configuration into
``<configuration>/fast_build`` and reused; the cocotb path (runner.py) stays for traffic
shaping, waves and the protocol and fault benches.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .. import contract
from ..ir import Network
from ..outdir import staged_output
from ..progress import progress_bar
from ..simulator import check_images
from ..verify import BackendResult
from .generate import TOP, RtlBuild, generate
from .plan import StagePlan
from .runner import (
    ASSERTION_FLAGS,
    MAKE_FIXES,
    SMALL_NEURONS,
    RtlRun,
    RtlSimError,
    failure_report,
    fill_cache,
    sim_dir,
    verilator_bin,
)
from .runner import LIB_CACHE as LIB_CACHE_ROOT

HARNESS = "harness.cpp"
PROGRAM = "sf_fast"
KIND = "fast RTL harness"
RUN_SIZE = 50  # images per ap_start unless given: the cocotb path's chunk (runner.py)
TIMEOUT_CYCLES = 200_000  # per result frame: the cocotb bench's 2 ms at its 10 ns clock
VERILATOR_FLAGS = (
    "-O3", "--x-initial", "0", "-Wno-fatal", "--timescale", "1ns/1ps", *ASSERTION_FLAGS
)
# the model's C++ at -O2: -O3 was no faster, and --threads 2 many times slower beside
# another job on 2 cores (docs/rtl.md, "Fast regression path"); small networks at -O0,
# which builds several times faster
OPTIMIZED, UNOPTIMIZED = "OPT_FAST=-O2 OPT_SLOW=-O1", "OPT_FAST=-O0 OPT_SLOW=-O0"
OPT_GLOBAL = "OPT_GLOBAL=-O2"  # Verilator's own library objects, cached across builds
LIB_CACHE = "fast"  # under runner.LIB_CACHE, beside the cocotb builds' caches


def harness_source() -> Path:
    return sim_dir() / "fast" / HARNESS


def _optimized(net: Network) -> bool:
    return sum(layer.neurons for layer in net.neuron_layers) > SMALL_NEURONS


def _key(make_flags: str) -> str:
    """What the compiled harness depends on beyond the configuration's own fingerprint."""
    digest = hashlib.sha256(harness_source().read_bytes())
    digest.update(json.dumps([VERILATOR_FLAGS, make_flags, OPT_GLOBAL]).encode())
    return digest.hexdigest()[:12]


def _make(command: list[str], log: Path, make_flags: str) -> None:
    env = dict(os.environ)
    env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} {MAKE_FIXES} {make_flags}".strip()
    with log.open("a") as out:
        done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    if done.returncode != 0:
        raise RtlSimError(f"building the fast harness failed; {log}:\n{_tail(log)}")


def compile_harness(build: RtlBuild, net: Network) -> Path:
    """The harness executable of ``build``'s configuration, compiled on first use (Verilator's
    library objects come from a cache beside the configurations: they do not depend on
    the design)."""
    target = build.directory / "fast_build"
    make_flags = f"{OPTIMIZED if _optimized(net) else UNOPTIMIZED} {OPT_GLOBAL}"
    key = _key(make_flags)
    program, stamp = target / PROGRAM, target / "key"
    if program.is_file() and stamp.is_file() and stamp.read_text().strip() == key:
        return program
    cache = build.directory.parent / LIB_CACHE_ROOT / LIB_CACHE
    with staged_output(target, KIND, flag="--build-dir") as staging:
        log = staging / "build.log"
        verilate = [str(verilator_bin() / "verilator"), "--cc", "--exe", "--top-module", TOP]
        verilate += ["-Mdir", str(staging), "-o", PROGRAM, *VERILATOR_FLAGS]
        _make([*verilate, str(harness_source()), *map(str, build.sources)], log, make_flags)
        if cache.is_dir():
            for cached in cache.iterdir():  # copies newer than the makefile: make keeps them
                shutil.copy(cached, staging / cached.name)
        jobs = str(min(2, os.cpu_count() or 1))
        _make(["make", "-j", jobs, "-C", str(staging), "-f", f"V{TOP}.mk"], log, make_flags)
        if not (staging / PROGRAM).is_file():
            raise RtlSimError(f"the fast harness build made no {PROGRAM}; {log}")
        cache.parent.mkdir(parents=True, exist_ok=True)
        fill_cache(cache, staging)
        (staging / "key").write_text(key + "\n")
    return program


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _register_arguments() -> str:
    offsets = {r.name: r.offset for r in [*contract.CONTROL_REGISTERS, *contract.CORE_REGISTERS]}
    names = ["CTRL", "TIMESTEPS", "N_IMAGES", "BUILD_ID", "CYCLES", "STATUS", "MAX_TIMESTEPS"]
    values = [offsets[name] for name in names]
    values += [contract.SAT_BASE, contract.REGISTER_STRIDE, contract.AP_START, contract.AP_DONE]
    return ",".join(str(v) for v in values)


def run_harness(
    program: Path,
    build: RtlBuild,
    net: Network,
    images: np.ndarray,
    timesteps: int,
    per_start: int,
    quiet: bool = True,
) -> tuple[BackendResult, dict]:
    """Stream ``images`` through the compiled core; its result and the registers it read
    (``build_id``, ``max_timesteps``, ``runs``: [images, CYCLES, STATUS, SAT_0 ...])."""
    packed = contract.pack_images(images, net.input_format.bits)
    stages = len(net.neuron_layers)
    with tempfile.TemporaryDirectory(dir=build.directory, prefix="fast.") as tmp:
        job = Path(tmp)
        packed.astype("<u4").tofile(job / "images.bin")
        out = job / "results.json"
        command = [
            str(program),
            str(job / "images.bin"),
            str(len(images)),
            str(packed.shape[1]),
            str(net.num_classes),
            str(stages),
            str(timesteps),
            str(per_start),
            str(TIMEOUT_CYCLES),
            str(out),
            _register_arguments(),
        ]
        log = build.directory / "fast.log"
        with (
            log.open("w") as errors,
            progress_bar(len(images), f"rtl fast T={timesteps}", quiet, unit="img") as bar,
        ):
            # $readmemh reads the memory files relative to the configuration directory
            process = subprocess.Popen(
                command, cwd=build.directory, stdout=subprocess.PIPE, stderr=errors, text=True
            )
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith("progress "):
                    bar.update(int(line.split()[1]) - bar.n)
                else:  # the model's own messages (a failed assertion) go to the log
                    errors.write(line)
                    errors.flush()
            code = process.wait()
        if code != 0 or not out.is_file():
            raise RtlSimError(failure_report(f"the fast harness failed (exit {code})", log))
        registers = json.loads(out.read_text())
        words = np.fromfile(out.with_name(out.name + ".words"), dtype="<u4")
    return _backend_result(words, registers, timesteps, net.num_classes), registers


def _backend_result(
    words: np.ndarray, registers: dict, timesteps: int, num_classes: int
) -> BackendResult:
    counts, classes = contract.unpack_outputs(words, num_classes)
    runs = np.array(registers["runs"], dtype=np.int64).reshape(len(registers["runs"]), -1)
    status = int(np.bitwise_or.reduce(runs[:, 2])) if len(runs) else 0
    return BackendResult(
        backend="rtl",
        timesteps=timesteps,
        counts=counts,
        classes=classes,
        saturation=runs[:, 3:].sum(axis=0),
        cycles=int(runs[:, 1].sum()),
        status=status,
    )


def simulate_fast(
    net: Network,
    images: np.ndarray,
    timesteps: int | None = None,
    *,
    root: Path = Path("build/rtl"),
    plan: list[StagePlan] | None = None,
    per_start: int | None = None,
    quiet: bool = True,
) -> RtlRun:
    """Run ``images`` through the RTL core in the fast harness, ``per_start`` images per
    ap_start (default RUN_SIZE, as the cocotb path); the configuration is generated and
    the harness compiled under ``root`` once."""
    images = check_images(images, net)
    steps = timesteps or net.config.timesteps
    build = generate(net, root, plan)
    program = compile_harness(build, net)
    result, registers = run_harness(
        program, build, net, images, steps, per_start or RUN_SIZE, quiet
    )
    if registers["build_id"] != build.build_id:
        raise RtlSimError(
            f"the core in {build.directory} reads BUILD_ID {registers['build_id']:#010x}, "
            f"the network's is {build.build_id:#010x}; remove that directory to rebuild it"
        )
    return RtlRun(result, build.stages, build.directory)
