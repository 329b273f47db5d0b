"""C simulation of a generated project with g++ against hls4ml's ap_types headers.

One compiled testbench serves every run of a configuration: it takes the vectors file,
T and the image count at run time. Builds are cached in ``workdir`` under a hash of
every source they are compiled from.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..contract import unpack_outputs
from ..errors import UserError
from ..ir import Network
from ..progress import progress_bar
from ..simulator import check_images
from ..verify import BackendResult, concatenate
from .options import HlsOptions
from .plan import plan_network
from .plan_types import NetworkPlan
from .project import TB_DIR, generate_project, library_dir, render_sources
from .vectors import Beats, image_beats, read_output, read_trace, write_input

CXX = "g++"
# HLS pragmas and loop labels mean nothing to g++
WARNINGS = ["-Wall", "-Wno-unknown-pragmas", "-Wno-unused-label"]
CXXFLAGS = ["-std=c++14", "-O2", *WARNINGS, "-DSPIKEFORGE_GXX_CSIM"]
LOAD_WEIGHTS = "-DSPIKEFORGE_LOAD_WEIGHTS"  # weights from files: g++ is slow on big initializers


class CsimError(UserError, RuntimeError):
    """C simulation could not be built or run."""


def ap_types_dir() -> Path:
    """hls4ml's copy of the ap_types headers (ap_int.h, ap_fixed.h, hls_stream.h)."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise CsimError(
            "C simulation needs the ap_types headers shipped with hls4ml; install it with "
            "pip install 'hls4ml==1.3.0' (part of spikeforge's [ml] extra)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "templates/vivado/ap_types"
    if not (path / "ap_int.h").is_file():
        raise CsimError(f"hls4ml is installed but {path}/ap_int.h is missing; reinstall hls4ml")
    return path


def compiler() -> str:
    path = shutil.which(CXX)
    if path is None:
        raise CsimError(f"C simulation needs {CXX} on PATH (apt-get install g++)")
    return path


@dataclass(frozen=True)
class CsimBuild:
    """A generated project with its compiled testbench."""

    plan: NetworkPlan
    project: Path
    load_weights: bool = True

    @property
    def binary(self) -> Path:
        return self.project / "csim"

    @property
    def weights_dir(self) -> Path:
        return self.project / "firmware" / "weights"


REG_BUILD_ID, REG_CYCLES, REG_STATUS, REG_MAX_TIMESTEPS, REG_SAT = 0, 1, 2, 3, 4


@dataclass
class CsimRun:
    """What the testbench saw: out_r of all calls, the registers after each call."""

    beats: Beats  # out_r
    registers: np.ndarray  # (calls, registers): BUILD_ID, CYCLES, STATUS, MAX_TIMESTEPS, SAT_0 ..
    trace: dict[tuple[int, int], int]  # loop iterations per (stage, loop kind)
    stdout: str

    @property
    def status(self) -> int:
        """STATUS after the last call."""
        return int(self.registers[-1, REG_STATUS])

    @property
    def saturation(self) -> np.ndarray:
        """SAT_i after the last call."""
        return self.registers[-1, REG_SAT:]


def _flags(load_weights: bool) -> list[str]:
    return [*CXXFLAGS, LOAD_WEIGHTS] if load_weights else list(CXXFLAGS)


def _source_key(plan: NetworkPlan, load_weights: bool) -> str:
    digest = hashlib.sha256(" ".join([CXX, *_flags(load_weights)]).encode())
    for rel, text in sorted(render_sources(plan).items()):
        digest.update(rel.encode() + b"\0" + text.encode())
    for header in sorted((library_dir() / "include" / "spikeforge").glob("*.h")):
        digest.update(header.name.encode() + b"\0" + header.read_bytes())
    return digest.hexdigest()[:16]


def compile_project(project: Path, load_weights: bool = True) -> None:
    """Compile ``project``'s testbench into ``project/csim``; without ``load_weights`` the
    weight initializers are compiled in (as in synthesis: slow for large layers)."""
    with tempfile.TemporaryDirectory(dir=project) as tmp:
        binary = Path(tmp) / "csim"
        cmd = [
            compiler(),
            *_flags(load_weights),
            "-isystem",
            str(ap_types_dir()),
            "-I",
            str(project / "firmware"),
            str(project / "firmware" / "top.cpp"),
            str(project / TB_DIR / "tb.cpp"),
            "-o",
            str(binary),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise CsimError(
                f"g++ failed to compile {project} (exit {done.returncode}):\n{done.stderr[-4000:]}"
            )
        binary.rename(project / "csim")


def build_csim(plan: NetworkPlan, workdir: Path, load_weights: bool = True) -> CsimBuild:
    """The compiled testbench of ``plan``, from the cache in ``workdir`` when present."""
    project = Path(workdir) / f"{plan.net.name}-{_source_key(plan, load_weights)}"
    build = CsimBuild(plan, project, load_weights)
    if not build.binary.is_file():
        generate_project(plan, project)
        compile_project(project, load_weights)
    return build


def run_beats(
    build: CsimBuild, beats: Beats, timesteps: int | list[int], n_images: int | list[int]
) -> CsimRun:
    """Stream ``beats`` into the core with the given TIMESTEPS and N_IMAGES registers; with
    lists, one call (one ap_start) per entry, in order, on the same in_r."""
    steps = [timesteps] if isinstance(timesteps, int) else list(timesteps)
    counts = [n_images] if isinstance(n_images, int) else list(n_images)
    if len(steps) != len(counts):
        raise ValueError(f"{len(steps)} TIMESTEPS values but {len(counts)} N_IMAGES values")
    with tempfile.TemporaryDirectory(dir=build.project) as tmp:
        tmpdir = Path(tmp)
        write_input(tmpdir / "input.bin", beats)
        cmd = [
            str(build.binary),
            str(tmpdir / "input.bin"),
            ",".join(map(str, steps)),
            ",".join(map(str, counts)),
            str(tmpdir / "output.bin"),
            "--trace",
            str(tmpdir / "trace.txt"),
        ]
        if build.load_weights:
            cmd += ["--weights", str(build.weights_dir)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise CsimError(
                f"the C testbench failed (exit {done.returncode}):\n"
                f"{(done.stdout + done.stderr)[-4000:]}"
            )
        out, regs = read_output(tmpdir / "output.bin")
        return CsimRun(out, regs, read_trace(tmpdir / "trace.txt"), done.stdout)


def result_of(run: CsimRun, plan: NetworkPlan, timesteps: int, n_images: int) -> BackendResult:
    """The BackendResult of a run of well-formed images; raises on a malformed out_r."""
    k = plan.num_classes
    expected = n_images * (k + 1)
    if run.beats.data.size != expected:
        raise CsimError(f"out_r carried {run.beats.data.size} beats, expected {expected}")
    lasts = np.zeros(expected, dtype=bool)
    lasts[k :: k + 1] = True
    if not np.array_equal(run.beats.last, lasts):
        raise CsimError("out_r has TLAST on beats other than each image's class beat")
    counts, classes = unpack_outputs(run.beats.data, k)
    return BackendResult(
        backend="hls-csim",
        timesteps=timesteps,
        counts=counts,
        classes=classes,
        saturation=run.saturation.copy(),
        cycles=None,
        status=run.status,
    )


def csim_images(
    build: CsimBuild, images: np.ndarray, timesteps: int, quiet: bool = True, chunk: int = 500
) -> BackendResult:
    """Run well-formed ``images`` through a compiled testbench, ``chunk`` images per call."""
    images = check_images(images, build.plan.net)
    parts: list[BackendResult] = []
    with progress_bar(len(images), f"csim T={timesteps}", quiet, unit="img") as bar:
        for start in range(0, len(images), chunk):
            batch = images[start : start + chunk]
            beats = image_beats(batch, build.plan.input.element_bits)
            run = run_beats(build, beats, timesteps, len(batch))
            parts.append(result_of(run, build.plan, timesteps, len(batch)))
            bar.update(len(batch))
    return concatenate(parts)


def run_csim(
    net: Network,
    images: np.ndarray,
    timesteps: int,
    workdir: Path,
    options: HlsOptions | None = None,
) -> BackendResult:
    """C-simulate the HLS core on ``images`` (N, *input_shape) of the network's input
    integers (``net.input_format.dtype``) for ``timesteps`` steps.

    The project is generated and compiled once per configuration under ``workdir``.
    """
    images = check_images(images, net)
    build = build_csim(plan_network(net, options), Path(workdir))
    return csim_images(build, images, timesteps)
