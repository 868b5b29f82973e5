"""Test-wide settings.

Keras 3 picks its backend once, at first import: the tests use JAX (the lightest
backend that trains, and Keras's numpy backend imports JAX anyway). The
setdefault lets a developer pick another with KERAS_BACKEND.
"""

import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
# JAX would otherwise grab every core for its own thread pool in model.fit tests.
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")

# Reference generators and the live fuzz, run by hand in an environment with the
# reference library (PyTorch): not part of the suite.
collect_ignore_glob = ["fixtures/make_*.py", "fixtures/fuzz_*.py"]



@pytest.fixture(autouse=True)
def _no_remembered_streams(monkeypatch):
    """Each test starts with no memory of earlier streams.

    A stream that finds its workers starved of CPU makes the streams of the next
    seconds start on the consumer's thread (``fastaug.stream._check_starved``), and
    a stream starts from the last one's measure of its consumer's CPU use
    (``_observe_consumer``). On a busy test machine one test's finding would change
    where a later test's batches are made, or with how many threads; the results
    are the same, but tests that look at the workers' thread settings would see it.
    """
    import fastaug.stream as stream_mod

    monkeypatch.setattr(stream_mod, "_last_starved", [-1e9])
    monkeypatch.setattr(stream_mod, "_last_consumer", [1.0, -1e9])
