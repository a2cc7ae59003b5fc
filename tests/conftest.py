"""Shared fixtures: a real mosquitto broker (integration and fault tests) and test certificates."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.certs import CertPaths, make_certs  # noqa: E402
from tests.support.mosquitto import Mosquitto, MosquittoError  # noqa: E402


def _start(broker_factory: type[Mosquitto], **kwargs: object) -> Mosquitto:
    try:
        return broker_factory(**kwargs).start()  # type: ignore[arg-type]
    except MosquittoError as exc:
        pytest.fail(str(exc), pytrace=False)  # a missing/broken broker fails the suite, never skips


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory: pytest.TempPathFactory) -> CertPaths:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def mosquitto() -> Iterator[Mosquitto]:
    """A plain broker shared by a test module; tests use unique topics so they don't interfere."""
    broker = _start(Mosquitto)
    yield broker
    broker.cleanup()


@pytest.fixture(scope="module")
def mosquitto_tls(tls_certs: CertPaths) -> Iterator[Mosquitto]:
    """A broker with a plain listener (.port) and a TLS listener (.tls_port) using ``tls_certs``."""
    broker = _start(Mosquitto, tls=tls_certs)
    yield broker
    broker.cleanup()


@pytest.fixture
def make_mosquitto() -> Iterator[object]:
    """Factory for a dedicated broker (auth, restarts, client certs); all are cleaned up afterwards."""
    started: list[Mosquitto] = []

    def factory(**kwargs: object) -> Mosquitto:
        broker = _start(Mosquitto, **kwargs)
        started.append(broker)
        return broker

    yield factory
    for broker in started:
        broker.cleanup()
