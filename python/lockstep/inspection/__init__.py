"""What a model file or folder is, decided from its content: one module per family of formats.

lockstep.inspect() is the entry point; these modules only describe, they never load weights
and never unpickle.
"""
