"""hw/overlay/build_overlay.tcl under tclsh with Vivado's commands recorded, not run.

This checks the script's own logic (it parses, reads the generated params, builds the
block design for each PS type and either core with the driver's VLNV, DMA configuration
and addresses, refuses a bitstream that misses timing, and collects the .bit and .hwh);
whether Vivado accepts every property needs Vivado.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from netgen import random_network
from spikeforge.cli import main as spikeforge
from spikeforge.driver import hwinfo, overlay_params
from spikeforge.netfile import save_network
from vivado_recorder import Recording, needs_tclsh, record_tcl

SCRIPT = Path(__file__).resolve().parents[1] / "hw" / "overlay" / "build_overlay.tcl"
RECORDED = [
    "create_project", "set_property", "update_ip_catalog", "create_bd_design",
    "apply_bd_automation", "connect_bd_intf_net", "connect_bd_net", "assign_bd_address",
    "validate_bd_design", "save_bd_design", "add_files", "launch_runs", "wait_on_run",
    "open_run", "report_utilization", "report_timing_summary",
]
STUBS = r"""
proc get_ipdefs {args} {
    if {[lindex $args 0] eq "-all"} { return [list [lindex $args 1]] }
    regexp {NAME == (\S+)} [lindex $args end] -> name
    return [list xilinx.com:ip:$name:1.0 xilinx.com:ip:$name:2.1]
}
proc create_bd_cell {args} { record [list create_bd_cell {*}$args]; lindex $args end }
foreach cmd {get_bd_cells get_bd_pins get_bd_intf_pins get_bd_addr_spaces get_files get_runs} {
    proc $cmd {path} { return $path }
}
proc current_project {} { return project }
proc current_fileset {} { return sources_1 }
proc get_bd_addr_segs {args} { return {ps/Data/SEG_snn_core_Reg ps/Data/SEG_axi_dma_Reg} }
proc make_wrapper {args} { return spikeforge_wrapper.v }
proc get_property {name object} {
    switch -- $name {
        PROGRESS { return "100%" }
        STATS.WNS { return $::env(WNS) }
        default { return $::env(RUN_DIR) }
    }
}
"""


def fake_component(repo: Path) -> None:
    """The component.xml Vivado's packaging (or the HLS export) leaves in ``repo``."""
    repo.mkdir(parents=True, exist_ok=True)
    vendor, library, name, version = hwinfo.CORE_VLNV.split(":")
    (repo / "component.xml").write_text(
        f"<v>{vendor}</v><l>{library}</l><n>{name}</n><r>{version}</r>")


def _run(tmp_path: Path, board: str, repo: Path | None = None, options: tuple[str, ...] = (),
         wns: str = "0.250") -> tuple[Recording, Path]:
    if repo is None:
        repo = tmp_path / "ip"
        fake_component(repo)
    out = tmp_path / "overlay"
    overlay_params.main(["--board", board, "--ip-repo", str(repo), "--out-dir", str(out),
                         "--jobs", "2", *options])
    run_dir = tmp_path / "impl_1"
    run_dir.mkdir()
    (run_dir / "spikeforge_wrapper.bit").write_bytes(b"bit")
    handoff = out / "vivado" / "spikeforge_overlay.gen" / "sources_1" / "bd" / "spikeforge"
    (handoff / "hw_handoff").mkdir(parents=True)
    (handoff / "hw_handoff" / "spikeforge.hwh").write_text("hwh")
    recording = record_tcl(SCRIPT, RECORDED, STUBS, tmp_path, [str(out / "params.tcl")],
                           {"RUN_DIR": str(run_dir), "WNS": wns})
    return recording, out


@needs_tclsh
def test_pynq_z2_block_design(tmp_path):
    recording, out = _run(tmp_path, "pynq-z2")
    assert recording.returncode == 0, recording.stderr + recording.stdout
    calls = recording.texts
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


@needs_tclsh
def test_zynq_ultrascale_block_design(tmp_path):
    recording, _ = _run(tmp_path, "zcu104")
    assert recording.returncode == 0, recording.stderr + recording.stdout
    calls = recording.texts
    assert "create_bd_cell -type ip -vlnv xilinx.com:ip:zynq_ultra_ps_e:2.1 ps" in calls
    assert "connect_bd_intf_net ps/M_AXI_HPM0_FPD ctrl_interconnect/S00_AXI" in calls
    assert "connect_bd_intf_net mem_smartconnect/M00_AXI ps/S_AXI_HP0_FPD" in calls
    assert "connect_bd_net ps/pl_clk0 ps/maxihpm0_fpd_aclk" in calls
    assert "set_property offset 0xA0000000 ps/Data/SEG_snn_core_Reg" in calls


def rtl_ip_repo(tmp_path: Path) -> Path:
    """`spikeforge ip --core rtl` of a small network: the repository `make ip` packages."""
    save_network(random_network(3), tmp_path / "net" / "snn")
    repo = tmp_path / "rtl-ip"
    assert spikeforge(["ip", str(tmp_path / "net"), "--out", str(repo), "--quiet"]) == 0
    return repo


@needs_tclsh
def test_rtl_core_block_design(tmp_path):
    """CORE=rtl: the same block design around the RTL core's IP, at the clock asked for."""
    repo = rtl_ip_repo(tmp_path)
    fake_component(repo / "snn_top")
    recording, out = _run(tmp_path, "pynq-z2", repo, ("--core", "rtl", "--clock-mhz", "50"))
    assert recording.returncode == 0, recording.stderr + recording.stdout
    calls = recording.texts
    assert "set SF_CORE rtl" in (out / "params.tcl").read_text()
    assert f"set_property ip_repo_paths {repo.resolve()} project" in calls
    assert f"create_bd_cell -type ip -vlnv {hwinfo.CORE_VLNV} {hwinfo.CORE_INSTANCE}" in calls
    ps = next(c for c in calls if "CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ" in c)
    assert ps.endswith("CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ 50} ps")
    for path in ("in_r", "out_r", "s_axi_control"):
        assert any(c.startswith("connect_bd_intf_net") and c.count(f"snn_core/{path}")
                   for c in calls), path
    assert (out / "spikeforge.bit").read_bytes() == b"bit"


def test_an_unpackaged_rtl_repository_is_refused_with_the_packaging_command(tmp_path):
    repo = rtl_ip_repo(tmp_path)
    with pytest.raises(SystemExit, match=r"not yet packaged: run `vivado -mode batch .*"
                       r"package_ip\.tcl`.*make ip CORE=rtl"):
        overlay_params.main(["--core", "rtl", "--ip-repo", str(repo), "--out-dir",
                             str(tmp_path / "o")])


@needs_tclsh
def test_a_bitstream_that_misses_timing_is_refused(tmp_path):
    recording, out = _run(tmp_path, "pynq-z2", wns="-0.412")
    assert recording.returncode == 1
    assert "misses timing at 100 MHz (WNS -0.412 ns" in recording.stdout
    assert "CLOCK_MHZ" in recording.stdout
    assert not (out / "spikeforge.bit").exists()
