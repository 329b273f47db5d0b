"""The SystemVerilog core is lint clean under ``verilator --lint-only -Wall`` for the
MNIST network and random networks (analog/Poisson input, gates, several groups/tiles,
8- and 16-bit signed and unsigned inputs), with its assertions (SF_ASSERTIONS defined, as
the simulation builds compile it) and without (as synthesis and the IP read it)."""

from __future__ import annotations

import os
import subprocess

import pytest

from netgen import random_network
from rtl_helpers import find_network
from rtlmodel import random_plan
from spikeforge.rtl.generate import TOP, generate
from spikeforge.rtl.runner import ASSERTION_FLAGS, verilator_bin

pytestmark = pytest.mark.rtl


def lint_once(build, flags: tuple[str, ...]) -> subprocess.CompletedProcess:
    cmd = [str(verilator_bin() / "verilator"), "--lint-only", "-Wall", "--top-module", TOP]
    env = dict(os.environ, PATH=f"{verilator_bin()}{os.pathsep}{os.environ['PATH']}")
    sources = [str(p) for p in build.sources]
    return subprocess.run(
        cmd + list(flags) + sources, cwd=build.directory, env=env, capture_output=True,
        text=True,
    )


def lint(build) -> subprocess.CompletedProcess:
    """Lint without the assertions, then (if clean) with them; the failing run's output
    says which."""
    for flags in ((), ASSERTION_FLAGS):
        done = lint_once(build, flags)
        if done.returncode != 0:
            done.stdout = f"verilator {' '.join(flags) or '(no assertions)'}:\n{done.stdout}"
            return done
    return done


def test_mnist_configuration_is_lint_clean(mnist_net, tmp_path):
    done = lint(generate(mnist_net, tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("seed", range(8))
def test_random_configurations_are_lint_clean(seed, tmp_path):
    net = random_network(seed)
    for plan in (None, random_plan(net, seed)):
        done = lint(generate(net, tmp_path, plan))
        assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("bits", "signed"), [(8, True), (16, False), (16, True)], ids=["int8", "uint16", "int16"]
)
def test_input_formats_are_lint_clean(bits, signed, tmp_path):
    """A first conv on elements of each format (the analog multipliers' widths)."""

    def wanted(seed, net):
        fmt = net.input_format
        return (fmt.bits, fmt.signed) == (bits, signed) and net.layers[0].kind == "conv"

    seed, net = find_network(wanted)
    for plan in (None, random_plan(net, seed)):
        done = lint(generate(net, tmp_path, plan))
        assert done.returncode == 0, done.stdout + done.stderr
