"""The engine: state, optimizers, steps, the epoch loop, checkpoints, metrics.

Imports nets/, data/ and errors only; experiments/ and eval/ build on it.
"""
