"""Small integer networks for the HLS tests that netgen does not draw: an average pool
(the converter's fixed-weight, one-weight-per-channel convolution) between two layers."""

from __future__ import annotations

import numpy as np

from spikeforge.ir import Formats, Network, NeuronLayer, SnnConfig, conv_output_size


def avgpool_network(seed: int, input_mode: str = "analog") -> Network:
    """conv 3x3 (6 channels) -> average pool 2x2 stride 2 (as a conv) -> dense."""
    rng = np.random.default_rng(seed)
    formats = Formats(weight_bits=8, bias_bits=16, threshold_bits=14, membrane_bits=20)
    config = SnnConfig(input_mode=input_mode, timesteps=12, max_timesteps=20, seed=99)
    h, w, c = 9, 8, 2
    in_max = 255 if input_mode == "analog" else 1
    conv_w = rng.integers(-60, 100, (3, 3, c, 6))
    conv_theta = np.clip(np.clip(conv_w, 0, None).sum(axis=(0, 1, 2)) * in_max // 3, 1, 2**14 - 1)
    conv = NeuronLayer(
        "conv", "conv", (h, w, c), (7, 6, 6), conv_w, rng.integers(-50, 50, 6), conv_theta
    )
    pool_w = np.zeros((2, 2, 6, 6), dtype=np.int64)
    per_channel = rng.integers(20, 120, 6)
    pool_w[:, :, np.arange(6), np.arange(6)] = per_channel
    out_hw = (conv_output_size(7, 2, 2, 0, 1), conv_output_size(6, 2, 2, 0, 0))
    pool = NeuronLayer(
        "avg", "conv", (7, 6, 6), (*out_hw, 6), pool_w, np.zeros(6, dtype=np.int64),
        per_channel * 2, strides=(2, 2), pads=(0, 1, 0, 0),
    )
    nin = out_hw[0] * out_hw[1] * 6
    dense_w = rng.integers(-100, 120, (nin, 5))
    dense = NeuronLayer(
        "fc", "dense", (nin,), (5,), dense_w, rng.integers(-20, 20, 5),
        np.maximum(np.clip(dense_w, 0, None).sum(axis=0) // 4, 1),
    )
    return Network(f"avgpool{seed}", (h, w, c), [conv, pool, dense], config, formats)
