"""The model zoo: tiny random-weight models of every architecture, full-size shapes for
benchmarks, where the real default model lives, and sweeps of comparisons over a zoo
(``lockstep.zoo(...)``, :mod:`lockstep.zoo.sweep`), here or on a Dask cluster."""
