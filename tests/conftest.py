"""Test-wide settings.

Keras 3 picks its backend once, at first import: the tests use JAX (the lightest
backend that trains, and Keras's numpy backend imports JAX anyway). The
setdefault lets a developer pick another with KERAS_BACKEND.
"""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
# JAX would otherwise grab every core for its own thread pool in model.fit tests.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

# Reference generators run by hand in an environment with the reference library
# (PyTorch): not part of the suite.
collect_ignore_glob = ["fixtures/make_*.py"]
