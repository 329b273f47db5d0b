# Vitis HLS flow of a generated spikeforge project: C simulation, synthesis,
# C/RTL co-simulation and IP export. The project's values (top, part, clock, files, the
# testbench's arguments, the IP's VLNV) come from project.tcl, written by
# `spikeforge hls`. Run it from the project directory:
#
#   vitis_hls -f build_prj.tcl                       # every step
#   vitis_hls -f build_prj.tcl -tclargs csim=0 cosim=0   # skip steps (csim csynth cosim export)
#
# csynth writes <project>/solution1/syn/report/csynth.xml, which `spikeforge report`
# reads; export writes the IP catalog zip and unpacks it into ip/ for the overlay.

set here [file dirname [file normalize [info script]]]
cd $here
source [file join $here project.tcl]

array set step {csim 1 csynth 1 cosim 1 export 1}
foreach arg $argv {
    if {[regexp {^(csim|csynth|cosim|export)=([01])$} $arg -> name value]} {
        set step($name) $value
    } else {
        puts "build_prj.tcl: unknown argument '$arg' (use csim=0|1 csynth=0|1 cosim=0|1 export=0|1)"
        exit 2
    }
}

open_project -reset $project_name
set_top $top
foreach source $sources {
    add_files $source -cflags $cflags
}
foreach source $tb_sources {
    add_files -tb $source -cflags $cflags
}
add_files -tb $tb_data
open_solution -reset solution1 -flow_target vivado
set_part $part
create_clock -period $clock_ns -name default

if {$step(csim)} {
    csim_design -argv $tb_argv
}
if {$step(csynth) || $step(cosim) || $step(export)} {
    csynth_design
}
if {$step(cosim)} {
    cosim_design -argv $tb_argv -trace_level none
}
if {$step(export)} {
    config_export -format ip_catalog -rtl verilog -vendor $ip_vendor -library $ip_library \
        -ipname $ip_name -version $ip_version -output [file join $here ip $ip_name.zip]
    export_design
    set zip [file join $here ip $ip_name.zip]
    if {[file exists $zip]} {
        file mkdir [file join $here ip $ip_name]
        exec unzip -o -q $zip -d [file join $here ip $ip_name]
    }
}
exit
