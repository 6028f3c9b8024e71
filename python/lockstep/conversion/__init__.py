"""The parts of `lockstep.convert`: checkpoint reading, architectures, vocabulary, tensor types."""
