"""``spikeforge export-nir NETDIR OUT.nir``: a converted network as a NIR graph, to run in
any NIR simulator (docs/nir.md says what NIR's IF keeps of the spec)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export-nir", help="write a converted (integer) network as a NIR graph (.nir)"
    )
    parser.add_argument("net", type=Path, help="directory written by `spikeforge convert`")
    parser.add_argument("out", type=Path, help="the .nir file to write")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..netdir import load_int_network
    from ..nirio.export import network_to_nir, write_nir

    net = load_int_network(args.net)
    graph = network_to_nir(net)
    write_nir(graph, args.out)
    layers = len(net.neuron_layers)
    print(f"{args.out}: {len(graph.nodes)} NIR nodes ({layers} IF layers), reset "
          f"{net.config.reset}, input scale {net.input_format.scale:g}, build id "
          f"{graph.metadata['build_id']:#010x}")
    return 0
