"""TensorFlow's C++ log lines, silenced before Keras loads TensorFlow.

Importing TensorFlow prints absl/C++ notices to stderr (``All log messages before
absl::InitializeLog()``, the CPU-feature guard, oneDNN's "custom operations are on") that
users take for errors. Every spikeforge module that imports Keras imports this module
first. Unless the user asks for the logs with ``SPIKEFORGE_TF_LOGS=1``, it sets (where the
user has not set them):

* ``TF_CPP_MIN_LOG_LEVEL=3``: TensorFlow's own C++ logs;
* ``TF_ENABLE_ONEDNN_OPTS=0``: the oneDNN notice is printed whatever the log level (TF
  2.21, on CPUs where oneDNN is on by default); without oneDNN's custom operations the
  notice has nothing to announce. Set it to 1 to use them.

TensorFlow reads both when it loads, so this runs before the first ``import keras``.
"""

from __future__ import annotations

import os

SHOW_LOGS = "SPIKEFORGE_TF_LOGS"
QUIET = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


def quiet_tensorflow() -> None:
    """Hide TensorFlow's C++ logs unless ``SPIKEFORGE_TF_LOGS`` is set (and not ``0``)."""
    if os.environ.get(SHOW_LOGS, "0") not in ("", "0"):
        return
    for name, value in QUIET.items():
        os.environ.setdefault(name, value)


quiet_tensorflow()
