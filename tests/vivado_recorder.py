"""Run a Vivado Tcl script under tclsh with Vivado's commands recorded, not run.

The named commands (and every ``ipx::`` command) append their call to a list instead of
running; ``stubs`` (Tcl) define the few whose return value the script uses. Any other
unknown command is an error, as in Vivado, so a typo in a script fails the test. Each call
comes back as its words (``Call.words``) and as the Tcl list Vivado would have received
(``Call.text``).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

TCLSH = shutil.which("tclsh")
needs_tclsh = pytest.mark.skipif(
    TCLSH is None, reason="tclsh is not installed (apt-get install tcl)"
)

_PRELUDE = r"""
set ::calls {}
# the script's exit ends the recording, not tclsh: the calls so far are still printed
rename exit __exit
proc exit {{code 0}} { return -code error -errorcode [list SCRIPT_EXIT $code] "exit $code" }
proc record {call} { lappend ::calls $call }
foreach cmd $::recorded {
    proc $cmd {args} [format {record [list %s {*}$args]} $cmd]
}
# ipx:: commands: recorded; ipx_result (from the stubs) gives the value a call returns
proc unknown {name args} {
    if {[string match ipx::* $name]} {
        record [list $name {*}$args]
        return [ipx_result $name {*}$args]
    }
    error "invalid command name \"$name\""
}
"""

_EPILOGUE = r"""
set code [catch {source $::script} message options]
foreach call $::calls { puts "[join $call \x1f]\x1e$call" }
if {$code} {
    set reason [dict get $options -errorcode]
    if {[lindex $reason 0] eq "SCRIPT_EXIT"} { __exit [lindex $reason 1] }
    puts stderr $message
    __exit 3
}
"""


@dataclass(frozen=True)
class Call:
    words: tuple[str, ...]
    text: str

    @property
    def name(self) -> str:
        return self.words[0]


@dataclass(frozen=True)
class Recording:
    calls: list[Call]
    returncode: int  # the script's own exit status (3: a Tcl error, in stderr)
    stdout: str
    stderr: str

    @property
    def texts(self) -> list[str]:
        return [c.text for c in self.calls]

    def named(self, name: str) -> list[tuple[str, ...]]:
        return [c.words[1:] for c in self.calls if c.name == name]


def record_tcl(
    script: Path, recorded: list[str], stubs: str, tmp_path: Path, argv: list[str] = (),
    env: dict[str, str] | None = None,
) -> Recording:
    """Source ``script`` in tclsh with ``recorded`` commands recorded and ``stubs`` defined."""
    assert TCLSH is not None
    words = " ".join("{" + w + "}" for w in recorded)
    runner = tmp_path / "recorder.tcl"
    runner.write_text(
        f"set ::recorded [list {words}]\n" + _PRELUDE + stubs
        + f"\nset argv [list {' '.join('{' + a + '}' for a in argv)}]\n"
        + f"set ::script {{{script}}}\n" + _EPILOGUE
    )
    done = subprocess.run(
        [TCLSH, str(runner)], env={"PATH": "/usr/bin:/bin", **(env or {})}, capture_output=True,
        text=True, timeout=60, check=False, cwd=tmp_path,
    )
    calls, out = [], []
    for line in done.stdout.split("\n"):
        if "\x1e" in line:
            flat, text = line.split("\x1e", 1)
            calls.append(Call(tuple(flat.split("\x1f")), text))
        else:
            out.append(line)
    return Recording(calls, done.returncode, "\n".join(out).strip(), done.stderr)
