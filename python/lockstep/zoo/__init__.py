"""The model zoo: tiny random-weight models of every architecture, full-size shapes for
benchmarks, and where the real default model lives."""
