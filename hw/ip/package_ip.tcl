# spikeforge RTL core -> Vivado IP (component.xml) for IP integrator.
#
#   vivado -mode batch -nojournal -nolog -source package_ip.tcl
#
# `spikeforge ip NETDIR --core rtl --out IP_REPO` copies this script into IP_REPO beside the
# ip_params.tcl it writes (the VLNV of spikeforge.driver.hwinfo, the file lists, the bus
# interfaces with their port maps, the register map of spikeforge.contract), and the core's
# sources, generated sf_params package and $readmemh memory files into IP_REPO/<name>/hdl.
# This script packages them in place: it writes IP_REPO/<name>/component.xml (and xgui/),
# so IP_REPO is then an IP repository for `make overlay CORE=rtl` or any block design.
#
# Memory files: the RTL reads them as $readmemh("./sNN_*.hex"), as Vitis HLS reads its ROM
# .dat files. They are added as "Memory Initialization Files" and so packaged into the
# synthesis and simulation file groups beside the HDL; Vivado's synthesis of the IP finds
# them there by name, and its simulators copy them into the run directory. The script
# checks that every HDL and memory file is in both file groups before it saves the core.
#
# Interfaces are declared, not left to inference: whatever ipx::package_project inferred is
# removed, then in_r / out_r (AXI4-Stream), s_axi_control (AXI4-Lite, with the register
# map), ap_clk, ap_rst_n and interrupt are added with the hardware contract's names.

set here [file dirname [file normalize [info script]]]
source [file join $here ip_params.tcl]
set root [file join $here $SF_IP_DIR]
set proj_dir [file join $here .package_project]

proc fail {message} {
    puts "ERROR: package_ip.tcl: $message"
    exit 1
}

# --- a throw-away project holding the core's files ---------------------------------------

file delete -force $proj_dir
create_project -force spikeforge_ip_package $proj_dir -part $SF_PART
set hdl [lmap f $SF_HDL_FILES {file join $root $f}]
set mem [lmap f $SF_MEM_FILES {file join $root $f}]
add_files -norecurse $hdl
set_property file_type SystemVerilog [get_files $hdl]
add_files -norecurse $mem
set_property file_type {Memory Initialization Files} [get_files $mem]
set_property top $SF_TOP [current_fileset]
update_compile_order -fileset sources_1

# --- the core: identity ------------------------------------------------------------------

ipx::package_project -root_dir $root -vendor $SF_VENDOR -library $SF_LIBRARY \
    -taxonomy /UserIP -force
set core [ipx::current_core]
set_property vendor $SF_VENDOR $core
set_property library $SF_LIBRARY $core
set_property name $SF_NAME $core
set_property version $SF_VERSION $core
set_property display_name $SF_DISPLAY_NAME $core
set_property description $SF_DESCRIPTION $core
set_property vendor_display_name spikeforge $core
set_property supported_families $SF_FAMILIES $core
set_property core_revision 1 $core

# --- interfaces: the contract's, with explicit port maps --------------------------------

foreach bif [ipx::get_bus_interfaces -of_objects $core] {
    ipx::remove_bus_interface [get_property NAME $bif] $core
}
foreach map [ipx::get_memory_maps -of_objects $core] {
    ipx::remove_memory_map [get_property NAME $map] $core
}
foreach spec $SF_INTERFACES {
    lassign $spec name mode bus abstraction ports parameters
    set bif [ipx::add_bus_interface $name $core]
    set_property bus_type_vlnv $bus $bif
    set_property abstraction_type_vlnv $abstraction $bif
    set_property interface_mode $mode $bif
    foreach {logical physical} $ports {
        set_property physical_name $physical [ipx::add_port_map $logical $bif]
    }
    foreach {parameter value} $parameters {
        set_property value $value [ipx::add_bus_parameter $parameter $bif]
    }
}

# --- s_axi_control: memory map, address block, registers --------------------------------

set map [ipx::add_memory_map $SF_MEMORY_MAP $core]
set_property slave_memory_map_ref $SF_MEMORY_MAP \
    [ipx::get_bus_interfaces $SF_MEMORY_MAP -of_objects $core]
set block [ipx::add_address_block $SF_ADDRESS_BLOCK $map]
set_property base_address 0 $block
set_property range $SF_ADDR_RANGE $block
set_property width 32 $block
set_property usage register $block
foreach spec $SF_REGISTERS {
    lassign $spec name offset access description
    set reg [ipx::add_register $name $block]
    set_property address_offset $offset $reg
    set_property size 32 $reg
    set_property description $description $reg
    # informational (the driver takes access rules from spikeforge.contract): a Vivado
    # that names the property differently keeps the register without it
    if {[catch {set_property access $access $reg} problem]} {
        puts "WARNING: package_ip.tcl: register $name without its access type: $problem"
    }
}
foreach spec $SF_FIELDS {
    lassign $spec register name offset description
    set field [ipx::add_field $name [ipx::get_registers $register -of_objects $block]]
    set_property bit_offset $offset $field
    set_property bit_width 1 $field
    set_property description $description $field
}

# --- file groups: every source and memory file for synthesis and simulation -------------

foreach group {xilinx_anylanguagesynthesis xilinx_anylanguagebehavioralsimulation} {
    set fg [ipx::get_file_groups $group -of_objects $core]
    if {$fg eq ""} { fail "the packaged core has no $group file group" }
    foreach file [concat $SF_HDL_FILES $SF_MEM_FILES] {
        if {[ipx::get_files $file -of_objects $fg] eq ""} {
            fail "$file is not in the $group file group"
        }
    }
}

ipx::create_xgui_files $core
ipx::update_checksums $core
ipx::check_integrity $core
ipx::save_core $core
close_project
file delete -force $proj_dir
puts "packaged $SF_VENDOR:$SF_LIBRARY:$SF_NAME:$SF_VERSION: [file join $root component.xml]"
