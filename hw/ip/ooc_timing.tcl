# spikeforge RTL core: out-of-context synthesis, placement and routing for its post-route
# resources and Fmax on one part (default the PYNQ-Z2's xc7z020clg400-1).
#
#   vivado -mode batch -nojournal -nolog -source ooc_timing.tcl
#
# `spikeforge ip NETDIR --core rtl --out IP_REPO --timing-script` writes this script into
# IP_REPO/timing beside timing_params.tcl (part, target clock, the network, its build id,
# the plan, the core's file lists). Non-project flow: read the sources, synth_design
# -mode out_of_context (no I/O buffers: the core as a block design would hold it),
# opt/place/phys_opt/route, then report. The memory files are copied into work/, the
# directory Vivado runs in, where the RTL's $readmemh("./sNN_*.hex") finds them.
#
# Writes, beside this script: utilization.rpt, timing_summary.rpt, and vivado_timing.json
# (LUT, FF, BRAM36, DSP as report_utilization counts them, WNS at the target period and
# Fmax = 1000 / (period - WNS) MHz), which `spikeforge report NETDIR --vivado-timing FILE`
# reads back and checks against the network.

set here [file dirname [file normalize [info script]]]
source [file join $here timing_params.tcl]
set hdl [file normalize [file join $here $SF_HDL_DIR]]
set work [file join $here work]
file mkdir $work
foreach name $SF_MEM_FILES {
    file copy -force [file join $hdl $name] $work
}
cd $work

set xdc [file join $work ooc.xdc]
set out [open $xdc w]
puts $out "create_clock -period $SF_CLOCK_NS -name ap_clk \[get_ports ap_clk\]"
close $out

foreach name $SF_HDL_FILES {
    read_verilog -sv [file join $hdl $name]
}
read_xdc -mode out_of_context $xdc
synth_design -top $SF_TOP -part $SF_PART -mode out_of_context
opt_design
place_design
phys_opt_design
route_design

report_utilization -file [file join $here utilization.rpt]
report_timing_summary -file [file join $here timing_summary.rpt]

# the first count of a report_utilization row ("| Slice LUTs | 1234 | ...")
proc used {report row} {
    set pattern [format {^\|\s*%s\*?\s*\|\s*([0-9.]+)\s*\|} $row]
    if {![regexp -line -- $pattern $report -> count]} {
        puts "ERROR: ooc_timing.tcl: report_utilization has no '$row' row"
        exit 1
    }
    return $count
}

set util [report_utilization -return_string]
set lut [used $util {(?:Slice|CLB) LUTs}]
set ff [used $util {(?:Slice|CLB) Registers}]
set bram [used $util {Block RAM Tile}]
set dsp [used $util {DSPs}]
set path [get_timing_paths -delay_type max -max_paths 1 -nworst 1]
if {$path eq ""} {
    puts "ERROR: ooc_timing.tcl: no timed path on ap_clk"
    exit 1
}
set wns [get_property SLACK $path]
set fmax [expr {1000.0 / ($SF_CLOCK_NS - $wns)}]

proc json_string {text} {
    return "\"[string map {\\ \\\\ \" \\\"} $text]\""
}

set result [file join $here $SF_RESULT]
set out [open $result w]
puts $out "\{"
puts $out "  \"kind\": \"spikeforge vivado timing\","
puts $out "  \"version\": 1,"
puts $out "  \"network\": [json_string $SF_NETWORK],"
puts $out "  \"build_id\": [json_string $SF_BUILD_ID],"
puts $out "  \"plan\": [json_string $SF_PLAN],"
puts $out "  \"part\": [json_string $SF_PART],"
puts $out "  \"vivado\": [json_string [version -short]],"
puts $out "  \"clock_period_ns\": [format %.4f $SF_CLOCK_NS],"
puts $out "  \"wns_ns\": [format %.4f $wns],"
puts $out "  \"fmax_mhz\": [format %.3f $fmax],"
puts $out "  \"lut\": $lut,"
puts $out "  \"ff\": $ff,"
puts $out "  \"bram36\": $bram,"
puts $out "  \"dsp\": $dsp"
puts $out "\}"
close $out
puts "post-route on $SF_PART: LUT $lut, FF $ff, BRAM36 $bram, DSP $dsp,\
    WNS $wns ns at $SF_CLOCK_NS ns: Fmax [format %.1f $fmax] MHz"
puts "result: $result (spikeforge report NETDIR --vivado-timing $result)"
