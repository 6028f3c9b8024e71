"""The `lockstep` command line (entry point: lockstep.cli.main.main)."""
