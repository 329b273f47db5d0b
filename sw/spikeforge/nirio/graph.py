"""Reading a NIR file: its nodes in single-path order, and what each node kind is.

A NIR graph is a set of named nodes and edges. spikeforge runs one feed-forward chain, so
the graph must be one path from its ``Input`` to its ``Output``; an edge that closes a
cycle (a recurrent connection), a branch, or a node off the path is refused by name.
Node kinds the core cannot run are refused with the reason (:func:`node_refusal`): the
spec's neuron is a leak-free integrate-and-fire neuron with no synaptic state or delay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nir
import numpy as np

from ..frontend import ModelFileError

# node kinds the core has no counterpart for, and why
_NO_COUNTERPART = {
    "LIF": "a leaky neuron (finite tau): the core's neurons have no leak",
    "CubaLIF": "a current-based leaky neuron: the core has no synaptic current state and "
    "no leak",
    "LI": "a leaky integrator without spikes: the core's output is spike counts and its "
    "neurons have no leak",
    "CubaLI": "a current-based leaky integrator: the core has no synaptic current state, "
    "no leak and no non-spiking output",
    "I": "a non-spiking integrator: the core's output is spike counts",
    "Delay": "a synaptic delay: the core delivers every spike in the step it is made",
    "Threshold": "a stateless threshold unit: the core's neurons integrate",
    "NIRGraph": "a nested graph (what exporters write for recurrent layers such as "
    "snnTorch's RLeaky): the core has no recurrence",
}


@dataclass
class NirChain:
    """The graph's nodes along its path, and what could not be put on one."""

    name: str
    nodes: list[tuple[str, nir.NIRNode]]  # Input first, in path order
    off_path: list[tuple[str, nir.NIRNode]] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # node name -> why refused
    metadata: dict = field(default_factory=dict)


def read_nir(path: Path) -> nir.NIRGraph:
    """The NIR graph in ``path``, or ModelFileError naming the problem."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path} does not exist; give the .nir file your framework wrote")
    try:
        return nir.read(path, type_check=False)  # spikeforge checks shapes itself
    except Exception as err:  # h5py and nir raise many kinds on a foreign or broken file
        raise ModelFileError(
            f"{path} is not a NIR graph that nir {nir.__version__} can read "
            f"({type(err).__name__}: {err}); write it again with nir.write()"
        ) from err


def kind_of(node: nir.NIRNode) -> str:
    return type(node).__name__


def _leak_free(node: nir.NIRNode) -> bool:
    """A LIF whose tau is infinite everywhere: no leak. snnTorch writes its Leaky(beta=1)
    so (tau = dt / (1 - beta), r = tau / dt, both infinite)."""
    tau, r = np.asarray(node.tau, float), np.asarray(node.r, float)
    return bool(np.isposinf(tau).all() and np.isposinf(r).all()
                and np.all(np.asarray(node.v_leak) == 0))


def node_refusal(node: nir.NIRNode) -> str | None:
    """Why the core cannot run a node of this kind, or None."""
    kind = kind_of(node)
    if kind == "LIF" and _leak_free(node):
        return None
    if kind == "LIF":
        return (f"{_NO_COUNTERPART[kind]}; export integrate-and-fire neurons (nir.IF, or "
                "snnTorch Leaky with beta=1)")
    if kind in _NO_COUNTERPART:
        return f"{_NO_COUNTERPART[kind]}; replace it with nir.IF neurons fed by a synapse"
    if kind not in _KNOWN:
        return f"NIR node kind {kind} has no counterpart in the core"
    return None


_KNOWN = {"Input", "Output", "Affine", "Linear", "Conv1d", "Conv2d", "Flatten", "SumPool2d",
          "AvgPool2d", "Scale", "IF", "LIF"}


def _cycle_edges(names: list[str], succ: dict[str, list[str]]) -> list[tuple[str, str]]:
    """The edges that close a cycle (found by depth-first search, in node order)."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    back: list[tuple[str, str]] = []

    def visit(start: str) -> None:
        stack = [(start, iter(succ.get(start, [])))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.append((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(succ.get(child, []))))

    for name in names:
        if name not in state:
            visit(name)
    return back


def order_chain(graph: nir.NIRGraph, name: str) -> NirChain:
    """The nodes of ``graph`` on its path from Input to Output; every other node and every
    recurrent edge or branch is recorded as a problem of the node it leaves."""
    names = list(graph.nodes)
    succ: dict[str, list[str]] = {n: [] for n in names}
    problems: dict[str, str] = {}
    for src, dst in graph.edges:
        if src in succ and dst in graph.nodes:
            succ[src].append(dst)
    for src, dst in _cycle_edges(names, succ):
        problems[src] = (f"recurrent edge {src} -> {dst}: the core is feed-forward (no "
                         "recurrence); export a network without recurrent connections")
        succ[src].remove(dst)
    inputs = [n for n in names if kind_of(graph.nodes[n]) == "Input"]
    if len(inputs) != 1:
        raise ModelFileError(
            f"NIR graph '{name}' has {len(inputs)} Input nodes ({', '.join(inputs) or 'none'}); "
            "spikeforge runs networks with exactly one input"
        )
    chain = [inputs[0]]
    while succ[chain[-1]]:
        after = succ[chain[-1]]
        if len(after) > 1:
            problems[chain[-1]] = (f"branches to {', '.join(after)}: the core runs a single "
                                   "chain of layers; export a network without branches")
            break
        if after[0] in chain:
            break
        chain.append(after[0])
    on_path = set(chain)
    off = [(n, graph.nodes[n]) for n in names if n not in on_path]
    for n, _node in off:
        problems.setdefault(n, f"node {n} is not on the single path from {inputs[0]}: the "
                               "core runs one chain of layers from input to output")
    metadata = graph.metadata if isinstance(graph.metadata, dict) else {}
    return NirChain(name, [(n, graph.nodes[n]) for n in chain], off, problems, metadata)
