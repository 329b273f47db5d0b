"""``spikeforge package``: gather bitstream, .hwh, network, register map, driver and notebook
into one folder to copy to a PYNQ board."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UserError
from .common import add_quiet, info

_REPO_NOTEBOOK = Path(__file__).resolve().parents[3] / "notebooks" / "spikeforge_pynq.ipynb"


def register(subparsers: argparse._SubParsersAction) -> None:
    from ..driver.hwinfo import BOARDS, DEFAULT_BOARD

    parser = subparsers.add_parser(
        "package", help="bundle bitstream, network, driver and notebook for a PYNQ board"
    )
    parser.add_argument("net", type=Path, help="directory written by `spikeforge convert`")
    parser.add_argument("--out", required=True, type=Path, help="bundle folder to write")
    parser.add_argument(
        "--bitstream", type=Path, help="the overlay's .bit (`make overlay` writes it)"
    )
    parser.add_argument("--hwh", type=Path, help="its .hwh (default: next to the .bit)")
    parser.add_argument(
        "--no-bitstream",
        action="store_true",
        help="no overlay: a bundle for the simulated device only",
    )
    parser.add_argument("--board", choices=sorted(BOARDS), default=DEFAULT_BOARD)
    parser.add_argument(
        "--dataset",
        help="add the test split's IDX files: 'mnist' (the cached download) or a directory "
        "of MNIST-layout IDX files",
    )
    parser.add_argument(
        "--notebook", type=Path, default=_REPO_NOTEBOOK, help="the notebook to include"
    )
    add_quiet(parser)
    parser.set_defaults(run=run)


def _overlay_files(args: argparse.Namespace) -> tuple[Path | None, Path | None]:
    if args.no_bitstream:
        if args.bitstream or args.hwh:
            raise UserError("--no-bitstream contradicts --bitstream/--hwh; pass one or the other")
        return None, None
    if args.bitstream is None:
        raise UserError(
            "no bitstream: build the overlay with `make overlay` (needs Vivado) and pass "
            "--bitstream build/overlay/pynq-z2/spikeforge.bit, or pass --no-bitstream for a "
            "bundle that runs on the simulated device only"
        )
    hwh = args.hwh or args.bitstream.with_suffix(".hwh")
    for path, what in ((args.bitstream, "bitstream"), (hwh, ".hwh")):
        if not path.is_file():
            raise UserError(f"{what} {path} does not exist; `make overlay` writes both")
    from ..driver.hwinfo import CORE_VLNV

    if CORE_VLNV not in hwh.read_text(errors="replace"):
        raise UserError(
            f"{hwh} describes no IP of type {CORE_VLNV}: it is not a spikeforge overlay"
        )
    return args.bitstream, hwh


def _test_dir(spec: str | None, quiet: bool) -> Path | None:
    if spec is None:
        return None
    from ..datasets import data_dir, load_mnist

    if spec == "mnist":
        load_mnist(quiet)  # fetches once and checks the MD5s
        return data_dir() / "mnist"
    path = Path(spec).expanduser()
    if not path.is_dir():
        raise UserError(f"--dataset {spec}: use 'mnist' or a directory of MNIST-layout IDX files")
    return path


def run(args: argparse.Namespace) -> int:
    from ..driver.bundle import KIND, write_bundle
    from ..netdir import load_int_network
    from ..outdir import claim_output

    claim_output(args.out, KIND, inputs=[args.net, args.bitstream, args.hwh, args.notebook])
    bitstream, hwh = _overlay_files(args)
    if not args.notebook.is_file():
        raise UserError(f"notebook {args.notebook} does not exist; pass --notebook PATH")
    net = load_int_network(args.net)
    info(args, f"packaging {net.name} for {args.board} into {args.out}")
    out = write_bundle(
        args.out,
        net,
        args.notebook,
        board=args.board,
        bitstream=bitstream,
        hwh=hwh,
        test_dir=_test_dir(args.dataset, args.quiet),
    )
    kind = "board" if bitstream else "simulated device only (no bitstream)"
    print(f"{out}: bundle for {args.board}, {kind}; copy it to the board's jupyter_notebooks")
    return 0
