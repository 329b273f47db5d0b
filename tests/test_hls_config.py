"""The HLS library's config rules (hls/include/spikeforge/layer_config.h), with g++: the
default configs obey them, the generated configs too, and a generated config that breaks a
rule does not compile, with that rule's static_assert message."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from spikeforge.hls import generate_project, plan_network
from spikeforge.hls.csim import CXXFLAGS, LOAD_WEIGHTS, ap_types_dir, compiler
from test_hls_plan import small_net

pytestmark = pytest.mark.csim

DEFAULTS = """
#include "spikeforge/layer_config.h"

int main() {
    spikeforge::check_input_config<spikeforge::input_config>();
    spikeforge::check_neuron_config<spikeforge::conv_config>();
    spikeforge::check_neuron_config<spikeforge::dense_config>();
    spikeforge::check_neuron_config<spikeforge::avg_pool_config>();
    spikeforge::check_pool_gate_config<spikeforge::pool_gate_config>();
    return 0;
}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """small_net's project: input, conv (6 lanes), gate 2x2, dense output (10 lanes)."""
    return generate_project(plan_network(small_net()), tmp_path_factory.mktemp("cfg") / "prj")


def syntax_check(project, source) -> subprocess.CompletedProcess:
    includes = ["-isystem", str(ap_types_dir()), "-I", str(project / "firmware")]
    cmd = [compiler(), *CXXFLAGS, LOAD_WEIGHTS, "-fsyntax-only", *includes, str(source)]
    return subprocess.run(cmd, capture_output=True, text=True)


def test_default_and_generated_configs_obey_the_rules(project):
    defaults = project / "defaults.cpp"
    defaults.write_text(DEFAULTS)
    for source in (defaults, project / "firmware" / "top.cpp"):
        done = syntax_check(project, source)
        assert done.returncode == 0, done.stderr[-3000:]


BROKEN = [  # (config, field, broken field, the message of the rule it breaks)
    ("layer1_config", "lanes = 6,", "lanes = 4,",
     "neuron layer: lanes (the unroll factor) must divide out_c"),
    ("layer1_config", "acc_addr_bits = 6;", "acc_addr_bits = 5;",
     "neuron layer: acc_depth = out_h * out_w * groups_out, and acc_addr_bits must address it"),
    ("layer3_config", "stride_h = 1,", "stride_h = 2,",
     "dense layer: the kernel is the whole input"),
    ("layer3_config", "ap_int<26> sum_t;", "ap_int<25> sum_t;",
     "neuron layer: sum_t must be an ap_int 2 bits wider than membrane_t, acc_t and bias_t"),
    ("gate2_config", "pad_top = 0,", "pad_top = 2,", "max-pool: padding must be 0 .. pool - 1"),
    ("gate2_config", "aux_bits = 2;", "aux_bits = 1;", "max-pool: aux_bits must hold a step"),
    ("input_config", "beats = 16,", "beats = 15,", "input: beats must hold the whole input"),
]  # fmt: skip


@pytest.mark.parametrize("struct, field, broken, message", BROKEN)
def test_a_config_that_breaks_a_rule_does_not_compile(
    project, tmp_path, struct, field, broken, message
):
    copy = tmp_path / "prj"
    shutil.copytree(project, copy)
    params = copy / "firmware" / "parameters.h"
    head, sep, body = params.read_text().partition(f"struct {struct} ")
    config, end, rest = body.partition("};")
    assert sep and end and field in config
    params.write_text(head + sep + config.replace(field, broken, 1) + end + rest)
    done = syntax_check(copy, copy / "firmware" / "top.cpp")
    assert done.returncode != 0
    assert f"static assertion failed: {message}" in done.stderr, done.stderr[-3000:]
