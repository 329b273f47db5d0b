"""hw/overlay/build_overlay.tcl under tclsh with Vivado's commands recorded, not run.

This checks the script's own logic (it parses, reads the generated params, builds the
block design for each PS type with the driver's VLNV, DMA configuration and addresses,
and collects the .bit and .hwh); whether Vivado accepts every property needs Vivado.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from spikeforge.driver import hwinfo, overlay_params

TCLSH = shutil.which("tclsh")
SCRIPT = Path(__file__).resolve().parents[1] / "hw" / "overlay" / "build_overlay.tcl"

RECORDER = r"""
set ::calls {}
foreach cmd {create_project set_property update_ip_catalog create_bd_design
             apply_bd_automation connect_bd_intf_net connect_bd_net assign_bd_address
             validate_bd_design save_bd_design add_files launch_runs wait_on_run open_run
             report_utilization report_timing_summary} {
    proc $cmd {args} [format {lappend ::calls [list %s {*}$args]} $cmd]
}
proc get_ipdefs {args} {
    if {[lindex $args 0] eq "-all"} { return [list [lindex $args 1]] }
    regexp {NAME == (\S+)} [lindex $args end] -> name
    return [list xilinx.com:ip:$name:1.0 xilinx.com:ip:$name:2.1]
}
proc create_bd_cell {args} { lappend ::calls [list create_bd_cell {*}$args]; lindex $args end }
foreach cmd {get_bd_cells get_bd_pins get_bd_intf_pins get_bd_addr_spaces get_files get_runs} {
    proc $cmd {path} { return $path }
}
proc current_project {} { return project }
proc current_fileset {} { return sources_1 }
proc get_bd_addr_segs {args} { return {ps/Data/SEG_snn_core_Reg ps/Data/SEG_axi_dma_Reg} }
proc make_wrapper {args} { return spikeforge_wrapper.v }
proc get_property {name object} {
    if {$name eq "PROGRESS"} { return "100%" }
    return $::env(RUN_DIR)
}
set argv [list $::env(PARAMS)]
source $::env(SCRIPT)
foreach call $::calls { puts $call }
"""


def _run(tmp_path: Path, board: str) -> tuple[list[str], Path]:
    repo = tmp_path / "ip"
    repo.mkdir()
    vendor, library, name, version = hwinfo.CORE_VLNV.split(":")
    (repo / "component.xml").write_text(
        f"<v>{vendor}</v><l>{library}</l><n>{name}</n><r>{version}</r>")
    out = tmp_path / "overlay"
    overlay_params.main(["--board", board, "--ip-repo", str(repo), "--out-dir", str(out),
                         "--jobs", "2"])
    run_dir = tmp_path / "impl_1"
    run_dir.mkdir()
    (run_dir / "spikeforge_wrapper.bit").write_bytes(b"bit")
    handoff = out / "vivado" / "spikeforge_overlay.gen" / "sources_1" / "bd" / "spikeforge"
    (handoff / "hw_handoff").mkdir(parents=True)
    (handoff / "hw_handoff" / "spikeforge.hwh").write_text("hwh")
    recorder = tmp_path / "recorder.tcl"
    recorder.write_text(RECORDER)
    env = {"PARAMS": str(out / "params.tcl"), "SCRIPT": str(SCRIPT), "RUN_DIR": str(run_dir),
           "PATH": "/usr/bin:/bin"}
    done = subprocess.run([TCLSH, str(recorder)], env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout.splitlines(), out


@pytest.mark.skipif(TCLSH is None, reason="tclsh is not installed (apt-get install tcl)")
def test_pynq_z2_block_design(tmp_path):
    calls, out = _run(tmp_path, "pynq-z2")
    board = hwinfo.BOARDS["pynq-z2"]
    assert f"create_project -force spikeforge_overlay {out}/vivado -part {board.part}" in calls
    assert f"set_property board_part {board.board_part} project" in calls
    assert "create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7:2.1 ps" in calls
    assert f"create_bd_cell -type ip -vlnv {hwinfo.CORE_VLNV} {hwinfo.CORE_INSTANCE}" in calls
    assert f"create_bd_cell -type ip -vlnv {hwinfo.DMA_VLNV} {hwinfo.DMA_INSTANCE}" in calls
    dma_config = next(c for c in calls if c.startswith("set_property -dict {CONFIG.c_include_sg"))
    for key, value in hwinfo.DMA_PARAMETERS.items():
        assert f"CONFIG.{key} {value}" in dma_config
    assert "connect_bd_intf_net axi_dma/M_AXIS_MM2S snn_core/in_r" in calls
    assert "connect_bd_intf_net snn_core/out_r axi_dma/S_AXIS_S2MM" in calls
    assert "connect_bd_intf_net mem_smartconnect/M00_AXI ps/S_AXI_HP0" in calls
    assert "connect_bd_net ps/FCLK_CLK0 snn_core/ap_clk" in calls
    assert "connect_bd_net rst_ps/peripheral_aresetn snn_core/ap_rst_n" in calls
    assert "set_property offset 0x43C00000 ps/Data/SEG_snn_core_Reg" in calls
    assert "set_property offset 0x40400000 ps/Data/SEG_axi_dma_Reg" in calls
    assert "launch_runs impl_1 -to_step write_bitstream -jobs 2" in calls
    assert (out / "spikeforge.bit").read_bytes() == b"bit"
    assert (out / "spikeforge.hwh").read_text() == "hwh"


@pytest.mark.skipif(TCLSH is None, reason="tclsh is not installed (apt-get install tcl)")
def test_zynq_ultrascale_block_design(tmp_path):
    calls, _ = _run(tmp_path, "zcu104")
    assert "create_bd_cell -type ip -vlnv xilinx.com:ip:zynq_ultra_ps_e:2.1 ps" in calls
    assert "connect_bd_intf_net ps/M_AXI_HPM0_FPD ctrl_interconnect/S00_AXI" in calls
    assert "connect_bd_intf_net mem_smartconnect/M00_AXI ps/S_AXI_HP0_FPD" in calls
    assert "connect_bd_net ps/pl_clk0 ps/maxihpm0_fpd_aclk" in calls
    assert "set_property offset 0xA0000000 ps/Data/SEG_snn_core_Reg" in calls
