"""`lockstep convert` and its parts: checkpoint reading, architectures, vocabulary, tensor types."""
