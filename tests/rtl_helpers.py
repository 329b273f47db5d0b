"""Shared pieces of the RTL tests: the session's build directory and network variants."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from netgen import random_images, random_network
from spikeforge.ir import Formats, Network, PoolGate
from spikeforge.verify import golden


def rtl_root(tmp_path_factory) -> Path:
    """One build tree per test session, shared by every RTL test module: a configuration
    (network + plan + RTL sources) is generated and compiled once."""
    return tmp_path_factory.getbasetemp() / "rtl"


def narrow_membranes(net: Network) -> Network:
    """The same network with membranes as narrow as the formats allow: saturation happens."""
    f = net.formats
    membrane = max(f.threshold_bits + 2, f.bias_bits)
    return dataclasses.replace(
        net, formats=Formats(f.weight_bits, f.bias_bits, f.threshold_bits, membrane)
    )


def with_config(net: Network, **changes) -> Network:
    """The same network with other run-time modes (reset, pool, v_init, ...)."""
    return dataclasses.replace(net, config=dataclasses.replace(net.config, **changes))


def env_int(name: str, default: int) -> int:
    """A test size from the environment (CI runs the defaults; raise them locally)."""
    return int(os.environ.get(name, default))


def has_gate(net: Network) -> bool:
    return any(isinstance(layer, PoolGate) for layer in net.layers)


def saturates(net: Network, seed: int, layers: int = 1) -> bool:
    """Clamp events in at least ``layers`` neuron layers on the test images of ``seed``."""
    result = golden(net, random_images(seed, net, 6), net.config.timesteps)
    return int((result.saturation.sum(axis=0) > 0).sum()) >= layers


def find_network(
    predicate: Callable[[int, Network], bool], narrow: bool = False, start: int = 0
) -> tuple[int, Network]:
    """The first random network (from seed ``start``) with a property, so that the tests
    keep their meaning whatever tests/netgen.py draws."""
    for seed in range(start, start + 2000):
        net = random_network(seed)
        if narrow:
            net = narrow_membranes(net)
        if predicate(seed, net):
            return seed, net
    raise AssertionError("no random network has the property; widen the search")
