"""`spikeforge ip`: the RTL core as a Vivado IP repository and its out-of-context timing
script, both Tcl run under tclsh with Vivado's commands recorded (tests/vivado_recorder.py),
`spikeforge report --vivado-timing` reading the timing script's result back, and the
command's refusals. Whether Vivado accepts every property needs Vivado (docs/vivado-ip.md).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from netgen import random_images, random_network
from spikeforge import contract
from spikeforge.cli import main as spikeforge
from spikeforge.driver import hwinfo
from spikeforge.netfile import build_id, save_network
from spikeforge.rtl.generate import rtl_dir, rtl_sources
from spikeforge.rtl.stages import build_stages
from spikeforge.vivado.timing import read_timing
from vivado_recorder import Recording, needs_tclsh, record_tcl

SEED = 0  # 4 neuron layers, 2 max-pool gates, uint8 pixels
IP_RECORDED = ["create_project", "add_files", "set_property", "update_compile_order",
               "close_project"]
IP_STUBS = r"""
proc get_files {paths} { return $paths }
proc current_fileset {} { return sources_1 }
proc get_property {name object} { return $object }
proc ipx_result {name args} {
    switch -- $name {
        ipx::current_core { return core }
        ipx::get_bus_interfaces {
            if {[lindex $args 0] eq "-of_objects"} { return {inferred_axi inferred_clk} }
            return bif:[lindex $args 0]
        }
        ipx::get_memory_maps { return inferred_map }
        ipx::add_bus_interface { return bif:[lindex $args 0] }
        ipx::add_port_map { return port:[lindex $args 1]:[lindex $args 0] }
        ipx::add_bus_parameter { return param:[lindex $args 1]:[lindex $args 0] }
        ipx::add_memory_map { return map:[lindex $args 0] }
        ipx::add_address_block { return block:[lindex $args 0] }
        ipx::add_register { return reg:[lindex $args 0] }
        ipx::get_registers { return reg:[lindex $args 0] }
        ipx::add_field { return field:[lindex $args 1]:[lindex $args 0] }
        ipx::get_file_groups { return fg:[lindex $args 0] }
        ipx::get_files {
            if {[lindex $args 0] in $::env(MISSING)} { return "" }
            return [lindex $args 0]
        }
        default { return "" }
    }
}
"""


def write_net(tmp_path: Path, seed: int = SEED) -> tuple[Path, object]:
    net = random_network(seed)
    save_network(net, tmp_path / f"net{seed}" / "snn")
    return tmp_path / f"net{seed}", net


def fake_export(directory: Path) -> None:
    """The component.xml of a Vitis HLS export (Vivado-less stand-in: the VLNV fields)."""
    directory.mkdir(parents=True)
    vendor, library, name, version = hwinfo.CORE_VLNV.split(":")
    (directory / "component.xml").write_text(
        f"<v>{vendor}</v><l>{library}</l><n>{name}</n><r>{version}</r>")


@pytest.fixture
def rtl_repo(tmp_path):
    """`spikeforge ip NET --core rtl --timing-script` of the test network."""
    net_dir, net = write_net(tmp_path)
    repo = tmp_path / "ip"
    assert spikeforge(["ip", str(net_dir), "--out", str(repo), "--timing-script",
                       "--timing-clock-mhz", "80", "--quiet"]) == 0
    return repo, net, net_dir


def package(repo: Path, tmp_path: Path, missing: str = "") -> Recording:
    return record_tcl(repo / "package_ip.tcl", IP_RECORDED, IP_STUBS, tmp_path,
                      env={"MISSING": missing})


def property_of(recording: Recording, name: str, target: str) -> str:
    values = [w[1] for w in recording.named("set_property") if w[0] == name and w[2] == target]
    assert len(values) == 1, (name, target, values)
    return values[0]


def sf_core_ports() -> set[str]:
    text = (rtl_dir() / "sf_core.sv").read_text()
    header = text[text.index("module sf_core"):].split("\n);", 1)[0]
    return set(re.findall(r"^\s*(?:input|output)\b.*?(\w+),?$", header, re.M))


def readmem_suffixes() -> set[str]:
    """The memory-file suffixes sf_stage passes its modules (``{STEM, "_w.hex"}``)."""
    text = (rtl_dir() / "sf_stage.sv").read_text()
    return set(re.findall(r'\{STEM, "(_\w+\.hex)"\}', text))


@needs_tclsh
def test_packaging_tcl_declares_the_contract(rtl_repo, tmp_path):
    repo, net, _ = rtl_repo
    recording = package(repo, tmp_path)
    assert recording.returncode == 0, recording.stderr + recording.stdout
    root = repo / "snn_top"
    calls = recording.texts
    assert f"create_project -force spikeforge_ip_package {repo}/.package_project -part " \
           f"{hwinfo.BOARDS['pynq-z2'].part}" in calls

    # file sets: every source, the generated package, every memory file the RTL reads
    [hdl], [mem] = recording.named("add_files")[0][1:], recording.named("add_files")[1][1:]
    hdl, mem = hdl.split(), mem.split()
    assert hdl == [str(root / "hdl" / "sf_params.sv")] + [
        str(root / "hdl" / s.name) for s in rtl_sources()]
    assert property_of(recording, "file_type", " ".join(hdl)) == "SystemVerilog"
    assert property_of(recording, "file_type", " ".join(mem)) == "Memory Initialization Files"
    on_disk = sorted(str(p) for p in (root / "hdl").glob("*.hex"))
    assert sorted(mem) == on_disk
    names = {Path(m).name for m in mem}
    suffixes = readmem_suffixes()
    assert "_w.hex" in suffixes and len(suffixes) >= 9
    for index, stage in enumerate(build_stages(net)):
        # the flatten table only for a dense stage, the gate's only for a gated one
        wanted = suffixes - ({"_flat.hex"} if not stage.dense else set())
        wanted -= {"_gr.hex", "_gc.hex"} if not stage.gates else set()
        assert {f"s{index:02d}{suffix}" for suffix in wanted} <= names
    assert property_of(recording, "top", "sources_1") == "sf_core"
    for group in ("xilinx_anylanguagesynthesis", "xilinx_anylanguagebehavioralsimulation"):
        checked = {w[0] for w in recording.named("ipx::get_files") if w[2] == f"fg:{group}"}
        assert checked == {str(Path(p).relative_to(root)) for p in hdl + mem}

    # identity: the contract's VLNV, so the overlay and the driver find the core
    package_call = recording.named("ipx::package_project")[0]
    assert package_call[:2] == ("-root_dir", str(root))
    vlnv = ":".join(property_of(recording, p, "core")
                    for p in ("vendor", "library", "name", "version"))
    assert vlnv == hwinfo.CORE_VLNV
    assert "zynq" in property_of(recording, "supported_families", "core").split()
    assert f"{build_id(net):#010x}" in property_of(recording, "description", "core")

    # interfaces: whatever was inferred goes, the contract's are declared
    assert recording.named("ipx::remove_bus_interface") == [
        ("inferred_axi", "core"), ("inferred_clk", "core")]
    settings = recording.named("set_property")
    buses = {}
    for name, _core in recording.named("ipx::add_bus_interface"):
        bif = f"bif:{name}"
        ports = {target.split(":")[-1]: value for prop, value, target in settings
                 if prop == "physical_name" and target.startswith(f"port:{bif}:")}
        params = {target.split(":")[-1]: value for prop, value, target in settings
                  if prop == "value" and target.startswith(f"param:{bif}:")}
        buses[name] = (property_of(recording, "interface_mode", bif),
                       property_of(recording, "bus_type_vlnv", bif),
                       property_of(recording, "abstraction_type_vlnv", bif), ports, params)
    assert set(buses) == {"in_r", "out_r", "s_axi_control", "ap_clk", "ap_rst_n", "interrupt"}
    axis = ["TDATA", "TVALID", "TREADY", "TKEEP", "TSTRB", "TLAST"]
    for name, mode in (("in_r", "slave"), ("out_r", "master")):
        assert buses[name][:3] == (mode, "xilinx.com:interface:axis:1.0",
                                   "xilinx.com:interface:axis_rtl:1.0")
        assert buses[name][3] == {s: f"{name}_{s}" for s in axis}
    mode, bus, _, ports, params = buses["s_axi_control"]
    assert (mode, bus, params) == ("slave", "xilinx.com:interface:aximm:1.0",
                                   {"PROTOCOL": "AXI4LITE"})
    assert ports["AWADDR"] == "s_axi_control_AWADDR" and len(ports) == 17
    assert buses["ap_clk"][4] == {"ASSOCIATED_BUSIF": "in_r:out_r:s_axi_control",
                                  "ASSOCIATED_RESET": "ap_rst_n"}
    assert buses["ap_rst_n"][:2] == ("slave", "xilinx.com:signal:reset:1.0")
    assert buses["ap_rst_n"][4] == {"POLARITY": "ACTIVE_LOW"}
    assert buses["interrupt"][:2] == ("master", "xilinx.com:signal:interrupt:1.0")
    assert buses["interrupt"][4] == {"SENSITIVITY": "LEVEL_HIGH"}
    mapped = [p for bus in buses.values() for p in bus[3].values()]
    assert len(mapped) == len(set(mapped))
    assert set(mapped) == sf_core_ports()  # every port of the core, nothing else

    # s_axi_control: the contract's register map
    assert recording.named("ipx::add_memory_map") == [("s_axi_control", "core")]
    assert property_of(recording, "slave_memory_map_ref", "bif:s_axi_control") == "s_axi_control"
    assert recording.named("ipx::add_address_block") == [("Reg", "map:s_axi_control")]
    assert property_of(recording, "range", "block:Reg") == str(
        hwinfo.core_addr_range(len(net.neuron_layers)))
    registers = contract.register_map(net)
    assert [w[0] for w in recording.named("ipx::add_register")] == [r.name for r in registers]
    for reg in registers:
        assert int(property_of(recording, "address_offset", f"reg:{reg.name}"), 16) == reg.offset
        assert property_of(recording, "access", f"reg:{reg.name}") == (
            "read-write" if reg.access == "rw" else "read-only")
    fields = {(w[1], w[0]) for w in recording.named("ipx::add_field")}
    assert fields == {(f"reg:{b.register}", b.name) for b in contract.BITS}
    assert property_of(recording, "bit_offset", "field:reg:STATUS:BAD_TIMESTEPS") == "2"

    assert recording.named("ipx::save_core") == [("core",)]
    assert not (repo / ".package_project").exists()


@needs_tclsh
def test_a_file_missing_from_a_file_group_stops_the_packaging(rtl_repo, tmp_path):
    repo, _, _ = rtl_repo
    recording = package(repo, tmp_path, missing="hdl/s02_w.hex")
    assert recording.returncode == 1
    assert "hdl/s02_w.hex is not in the xilinx_anylanguagesynthesis file group" in (
        recording.stdout)
    assert recording.named("ipx::save_core") == []


TIMING_RECORDED = ["read_verilog", "read_xdc", "synth_design", "opt_design", "place_design",
                   "phys_opt_design", "route_design", "report_timing_summary"]
# report_utilization's table as Vivado prints it for a 7-series part (the numbers are the
# test's own, not a measurement)
UTILIZATION = """\
1. Slice Logic
--------------

+-------------------------+-------+-------+------------+-----------+-------+
|        Site Type        |  Used | Fixed | Prohibited | Available | Util% |
+-------------------------+-------+-------+------------+-----------+-------+
| Slice LUTs              | 12345 |     0 |          0 |     53200 | 23.20 |
|   LUT as Logic          | 11000 |     0 |          0 |     53200 | 20.68 |
| Slice Registers         |  6789 |     0 |          0 |    106400 |  6.38 |
+-------------------------+-------+-------+------------+-----------+-------+

2. Memory
---------
| Block RAM Tile    | 20.5 |     0 |          0 |       140 | 14.64 |
|   RAMB36/FIFO*    |   18 |     0 |          0 |       140 | 12.86 |

3. DSP
------
| DSPs           |   42 |     0 |          0 |       220 | 19.09 |
|   DSP48E1 only |   42 |       |            |           |       |
"""
TIMING_STUBS = r"""
proc report_utilization {args} {
    record [list report_utilization {*}$args]
    if {[lindex $args 0] eq "-return_string"} { return $::env(UTILIZATION) }
}
proc get_timing_paths {args} { record [list get_timing_paths {*}$args]; return path0 }
proc get_property {name object} { return $::env(WNS) }
proc version {args} { return 2025.1 }
"""


@needs_tclsh
def test_timing_script_runs_out_of_context_and_report_reads_its_result(rtl_repo, tmp_path,
                                                                      capsys):
    repo, net, net_dir = rtl_repo
    timing = repo / "timing"
    recording = record_tcl(timing / "ooc_timing.tcl", TIMING_RECORDED, TIMING_STUBS, tmp_path,
                           env={"UTILIZATION": UTILIZATION, "WNS": "-2.5"})
    assert recording.returncode == 0, recording.stderr + recording.stdout
    hdl = (repo / "snn_top" / "hdl").resolve()
    assert recording.named("read_verilog") == [("-sv", str(hdl / "sf_params.sv"))] + [
        ("-sv", str(hdl / s.name)) for s in rtl_sources()]
    work = timing / "work"
    xdc = str(work.resolve() / "ooc.xdc")
    assert recording.named("read_xdc") == [("-mode", "out_of_context", xdc)]
    assert "create_clock -period 12.5000 -name ap_clk [get_ports ap_clk]" in (
        work / "ooc.xdc").read_text()
    order = [c.name for c in recording.calls]
    steps = ["read_xdc", "synth_design", "opt_design", "place_design", "phys_opt_design",
             "route_design", "report_utilization"]
    assert [order.index(s) for s in steps] == sorted(order.index(s) for s in steps)
    assert recording.named("synth_design") == [
        ("-top", "sf_core", "-part", "xc7z020clg400-1", "-mode", "out_of_context")]
    assert ("-file", str(timing.resolve() / "utilization.rpt")) in recording.named(
        "report_utilization")
    assert recording.named("report_timing_summary") == [
        ("-file", str(timing.resolve() / "timing_summary.rpt"))]
    # the RTL's $readmemh("./sNN_*.hex") finds every memory file in the run directory
    assert sorted(p.name for p in work.glob("*.hex")) == sorted(
        p.name for p in (repo / "snn_top" / "hdl").glob("*.hex"))

    result = read_timing(timing / "vivado_timing.json", net)
    assert (result.lut, result.ff, result.bram36, result.dsp) == (12345, 6789, 20.5, 42)
    assert result.clock_period_ns == 12.5 and result.wns_ns == -2.5
    assert result.fmax_mhz == pytest.approx(1000 / 15.0, abs=1e-3)
    assert result.part == "xc7z020clg400-1" and result.vivado == "2025.1"
    assert "--synapse-lanes 256" in result.plan

    images = random_images(SEED, net, 3)
    np.savez(tmp_path / "data.npz", x_train=images, x_test=images)
    capsys.readouterr()
    assert spikeforge(["report", str(net_dir), "--dataset", str(tmp_path / "data.npz"),
                       "--images", "3", "--vivado-timing", str(timing / "vivado_timing.json"),
                       "--quiet"]) == 0
    out = capsys.readouterr().out
    assert ("RTL core: Vivado 2025.1 post-route, out of context on xc7z020clg400-1 "
            in out)
    assert "LUT 12345 (23.2%), FF 6789 (6.4%), BRAM36 20.5 (14.6%), DSP 42 (19.1%)" in out
    assert "WNS -2.500 ns at 12.5 ns: Fmax 66.7 MHz" in out


def test_report_refuses_a_timing_file_of_another_network_or_a_malformed_one(tmp_path, capsys):
    net_dir, net = write_net(tmp_path)
    other = random_network(5)
    good = {"kind": "spikeforge vivado timing", "version": 1, "network": other.name,
            "build_id": f"{build_id(other):#010x}", "plan": "p", "part": "xc7z020clg400-1",
            "vivado": "2025.1", "clock_period_ns": 10.0, "wns_ns": 0.5, "fmax_mhz": 105.3,
            "lut": 1, "ff": 2, "bram36": 0.5, "dsp": 0}
    cases = [
        (good, rf"measured for network '{other.name}' \(build id {build_id(other):#010x}\), "
               rf"not '{net.name}' \({build_id(net):#010x}\)"),
        ({**good, "build_id": f"{build_id(net):#010x}", "lut": "many"},
         "missing or malformed lut"),
        ({"kind": "something else"}, "is not a vivado_timing.json of ooc_timing.tcl"),
    ]
    for data, message in cases:
        path = tmp_path / "timing.json"
        path.write_text(json.dumps(data))
        assert spikeforge(["report", str(net_dir), "--dataset", "unused.npz",
                           "--vivado-timing", str(path), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert re.search(message, err), err
        assert "--timing-script" in err


def test_ip_refuses_a_foreign_directory_the_network_and_a_missing_out(tmp_path, capsys):
    net_dir, _ = write_net(tmp_path)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert spikeforge(["ip", str(net_dir), "--out", str(foreign)]) == 2
    assert "was not written by spikeforge" in capsys.readouterr().err
    assert (foreign / "notes.txt").read_text() == "keep me"
    assert spikeforge(["ip", str(net_dir), "--out", str(net_dir)]) == 2
    assert "holds the input" in capsys.readouterr().err
    # the HLS export's own directory (make overlay CORE=hls reads it as it is)
    export = tmp_path / "hls" / "ip"
    fake_export(export / "snn_top")
    assert spikeforge(["ip", str(net_dir), "--core", "hls", "--hls-dir", str(export.parent),
                       "--out", str(export)]) == 2
    assert "was not written by spikeforge" in capsys.readouterr().err
    assert (export / "snn_top" / "component.xml").is_file()
    with pytest.raises(SystemExit) as stop:
        spikeforge(["ip", str(net_dir)])
    assert stop.value.code == 2
    assert "--out" in capsys.readouterr().err
    # its own earlier output is replaced
    repo = tmp_path / "ip"
    for _ in range(2):
        assert spikeforge(["ip", str(net_dir), "--out", str(repo), "--quiet"]) == 0
    assert (repo / "package_ip.tcl").is_file()


def test_ip_hls_needs_the_vitis_export_of_this_network(tmp_path, capsys):
    net_dir, net = write_net(tmp_path)
    hls_dir = tmp_path / "hls"
    hls_dir.mkdir()
    out = tmp_path / "ip-hls"
    assert spikeforge(["ip", str(net_dir), "--core", "hls", "--hls-dir", str(hls_dir),
                       "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{hls_dir}/ip holds no Vitis HLS export of {hwinfo.CORE_VLNV}" in err
    assert f"spikeforge hls NETDIR --vitis --out {hls_dir}" in err

    export = hls_dir / "ip" / "snn_top"
    fake_export(export)
    (hls_dir / "manifest.json").write_text(json.dumps({"build_id": "0x00000001"}))
    assert spikeforge(["ip", str(net_dir), "--core", "hls", "--hls-dir", str(hls_dir),
                       "--out", str(out)]) == 2
    assert "built from another network (build id 0x00000001" in capsys.readouterr().err

    (hls_dir / "manifest.json").write_text(json.dumps({"build_id": f"{build_id(net):#010x}"}))
    assert spikeforge(["ip", str(net_dir), "--core", "hls", "--hls-dir", str(hls_dir),
                       "--out", str(out), "--timing-script"]) == 2
    assert "--timing-script times the RTL core" in capsys.readouterr().err
    assert spikeforge(["ip", str(net_dir), "--core", "hls", "--hls-dir", str(hls_dir),
                       "--out", str(out)]) == 0
    assert (out / "snn_top" / "component.xml").read_text() == (
        export / "component.xml").read_text()
    assert "make overlay CORE=hls" in capsys.readouterr().out


@pytest.mark.rtl
def test_the_ip_file_set_alone_is_a_lint_clean_core(rtl_repo):
    """The repository's HDL, in the packaged order and nothing from hw/rtl, elaborates."""
    from spikeforge.rtl.runner import verilator_bin

    repo, _, _ = rtl_repo
    files = json.loads((repo / "manifest.json").read_text())["hdl"]
    root = repo / "snn_top"
    done = subprocess.run(
        [str(verilator_bin() / "verilator"), "--lint-only", "-Wall", "--top-module", "sf_core",
         *files], cwd=root, capture_output=True, text=True, check=False,
        env={**os.environ, "PATH": f"{verilator_bin()}{os.pathsep}{os.environ['PATH']}"},
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_ip_holds_the_configuration_sim_verifies(tmp_path):
    """Package and memory files byte for byte those `spikeforge sim` builds for the plan."""
    from spikeforge.rtl.generate import generate
    from spikeforge.rtl.plan import PlanLimits, default_plan
    from spikeforge.rtl.stages import build_stages

    net_dir, net = write_net(tmp_path)
    repo = tmp_path / "ip"
    assert spikeforge(["ip", str(net_dir), "--out", str(repo), "--synapse-lanes", "8",
                       "--fire-lanes", "4", "--no-double-buffer", "--quiet"]) == 0
    limits = PlanLimits(synapse_lanes=8, fire_lanes=4, double_buffer=False)
    build = generate(net, tmp_path / "rtl", default_plan(build_stages(net), limits))
    hdl = repo / "snn_top" / "hdl"
    generated = [*sorted(p.name for p in build.directory.glob("*.hex")), "sf_params.sv"]
    assert [*sorted(p.name for p in hdl.glob("*.hex")), "sf_params.sv"] == generated
    for name in generated:
        assert (hdl / name).read_bytes() == (build.directory / name).read_bytes(), name
    for source in rtl_sources():
        assert (hdl / source.name).read_bytes() == source.read_bytes()
    manifest = json.loads((repo / "manifest.json").read_text())
    assert manifest["stages"] == [
        {k: v for k, v in stage.items() if k in ("name", "banks", "tile", "double_buffer",
                                                 "link_depth")}
        for stage in build.manifest["stages"]]
