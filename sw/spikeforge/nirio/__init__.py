"""NIR (the Neuromorphic Intermediate Representation, PyPI ``nir``) in and out.

* :mod:`.graph` reads a ``.nir`` file and puts its nodes in their single-path order,
  refusing what the core cannot run (leak, recurrence, delays) node by node;
* :mod:`.layers` groups the nodes into integrate-and-fire layers in the IR's layout
  (:mod:`.synapse`: a synapse's weights, with Flatten and pooling folded in);
* :mod:`.convert` makes the float and integer networks (and ``inspect``'s table);
* :mod:`.export` writes an integer network as a NIR graph.

The mapping between NIR's IF neuron and the spec's integer step is in ``docs/nir.md``.
"""

SUFFIX = ".nir"
GENERATOR = "spikeforge"  # graph metadata 'generator' of the files spikeforge writes
