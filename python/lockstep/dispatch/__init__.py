"""Dispatch: crossval over the C++ dispatcher, backend specs, the report and its writers,
per-position metrics and localization. Mirrors src/dispatch."""
