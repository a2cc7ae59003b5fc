"""BrokerConnection against a real mosquitto (see tests/support/mosquitto.py)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives import serialization
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

try:
    from flowengine_nodes.mqtt.connection import (
        BrokerConnection,
        InboundMessage,
        SubscriptionOptions,
        TLSOptions,
        Will,
        parse_broker,
    )
except ImportError:  # package not installed (yet): use the source tree (conftest puts it on sys.path)
    from nodes.mqtt.connection import (
        BrokerConnection,
        InboundMessage,
        SubscriptionOptions,
        TLSOptions,
        Will,
        parse_broker,
    )

from tests.support.certs import CertPaths, make_certs
from tests.support.mosquitto import Mosquitto

WAIT = 5.0  # default bound for anything that should happen "promptly"


# --------------------------------------------------------------------------- helpers
async def wait_until(predicate: Callable[[], bool], timeout: float = WAIT, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


def unique(prefix: str = "t") -> str:
    return f"fe-test/{prefix}/{uuid.uuid4().hex[:10]}"


class Collector:
    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []

    def __call__(self, msg: InboundMessage) -> None:
        self.messages.append(msg)

    @property
    def payloads(self) -> list[bytes]:
        return [m.payload for m in self.messages]

    async def wait_for(self, count: int, timeout: float = WAIT) -> list[InboundMessage]:
        await wait_until(lambda: len(self.messages) >= count, timeout,
                         f"{count} messages (have {len(self.messages)})")
        return self.messages


class States:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, state: str) -> None:
        self.seen.append(state)


@contextlib.asynccontextmanager
async def running(conn: BrokerConnection) -> AsyncIterator[BrokerConnection]:
    await conn.start()
    try:
        yield conn
    finally:
        await conn.stop()


async def connected(conn: BrokerConnection, timeout: float = WAIT) -> None:
    await wait_until(lambda: conn.connected, timeout, "connection")


async def sync_subscriptions(conn: BrokerConnection, topic: str) -> None:
    """Wait until the broker has processed our earlier SUBSCRIBEs: a probe on a later filter loops back."""
    got = asyncio.Event()
    token = conn.subscribe(topic + "/__sync", 0, lambda _m: got.set())
    try:
        deadline = time.monotonic() + WAIT
        while not got.is_set():
            if time.monotonic() > deadline:
                raise AssertionError("subscriptions never became active")
            conn.publish(topic + "/__sync", b"probe")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(got.wait(), 0.1)
    finally:
        conn.unsubscribe(token)


class Peer:
    """A plain paho client with its own network thread, as the other end of the tests."""

    def __init__(self, port: int, *, protocol: int = mqtt.MQTTv311, host: str = "127.0.0.1",
                 client_id: str | None = None) -> None:
        self.host, self.port = host, port
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"peer-{uuid.uuid4().hex[:8]}", protocol=protocol)
        self.messages: list[mqtt.MQTTMessage] = []
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._subacks: set[int] = set()
        self.client.on_connect = lambda c, u, f, rc, p: self._connected.set() if not rc.is_failure else None
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda c, u, mid, rcs, p: self._subacks.add(mid)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(msg)

    async def start(self) -> Peer:
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        await wait_until(self._connected.is_set, WAIT, "peer connection")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    async def subscribe(self, topic: str, qos: int = 2) -> None:
        rc, mid = self.client.subscribe(topic, qos)
        assert rc == mqtt.MQTT_ERR_SUCCESS and mid is not None
        await wait_until(lambda: mid in self._subacks, WAIT, "peer SUBACK")

    async def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                      properties: Properties | None = None) -> None:
        info = self.client.publish(topic, payload, qos, retain, properties)
        await wait_until(info.is_published, WAIT, "peer publish")

    async def wait_for(self, count: int, timeout: float = WAIT) -> list[mqtt.MQTTMessage]:
        await wait_until(lambda: len(self.messages) >= count, timeout,
                         f"peer to get {count} messages (has {len(self.messages)})")
        with self._lock:
            return list(self.messages)


@contextlib.asynccontextmanager
async def peer(port: int, **kwargs: Any) -> AsyncIterator[Peer]:
    p = await Peer(port, **kwargs).start()
    try:
        yield p
    finally:
        p.stop()


def conn_for(broker: Mosquitto, **kwargs: Any) -> BrokerConnection:
    kwargs.setdefault("min_backoff", 0.05)
    kwargs.setdefault("max_backoff", 0.5)
    return BrokerConnection(host=broker.host, port=broker.port, **kwargs)


# --------------------------------------------------------------------------- tests
def test_parse_broker() -> None:
    assert parse_broker("broker.local") == ("broker.local", 1883, None)
    assert parse_broker("broker.local:1999") == ("broker.local", 1999, None)
    assert parse_broker("mqtt://10.0.0.5:1884") == ("10.0.0.5", 1884, None)
    host, port, tls = parse_broker("mqtts://example.org")
    assert (host, port) == ("example.org", 8883) and isinstance(tls, TLSOptions)
    assert parse_broker("mqtts://example.org:9999")[1] == 9999
    assert parse_broker("[::1]:1885") == ("::1", 1885, None)
    with pytest.raises(ValueError):
        parse_broker("ws://example.org")


async def test_roundtrip_qos_0_1_2(mosquitto: Mosquitto) -> None:
    base = unique("qos")
    got = Collector()
    states = States()
    conn = conn_for(mosquitto, on_state=states)
    assert conn.client_id.startswith("flowengine_")
    async with running(conn), peer(mosquitto.port) as p:
        conn.subscribe(f"{base}/in/#", 2, got)
        await connected(conn)
        await sync_subscriptions(conn, base)
        for qos in (0, 1, 2):
            await p.publish(f"{base}/in/q{qos}", f"hello {qos}".encode(), qos)
        msgs = await got.wait_for(3)
        assert [(m.topic, m.payload, m.qos, m.retain) for m in msgs] == [
            (f"{base}/in/q{q}", f"hello {q}".encode(), q, False) for q in (0, 1, 2)]
        assert all(m.properties is None for m in msgs)

        # ... and the other direction.
        await p.subscribe(f"{base}/out/#", 2)
        for qos in (0, 1, 2):
            conn.publish(f"{base}/out/q{qos}", bytes([qos]) * 3, qos)
        out = await p.wait_for(3)
        assert sorted((m.topic, m.payload, m.qos) for m in out) == [
            (f"{base}/out/q{q}", bytes([q]) * 3, q) for q in (0, 1, 2)]
    assert states.seen[:2] == ["connecting", "connected"]
    assert states.seen[-1] == "disconnected"
    assert not conn.connected


async def test_retained_message_reaches_late_subscriber(mosquitto: Mosquitto) -> None:
    base = unique("retain")
    async with peer(mosquitto.port) as p:
        await p.publish(f"{base}/from-peer", b"sticky", qos=1, retain=True)
        got = Collector()
        conn = conn_for(mosquitto)
        async with running(conn):
            await connected(conn)
            conn.publish(f"{base}/from-conn", b"mine", qos=1, retain=True)
            conn.subscribe(f"{base}/from-peer", 1, got)
            (msg,) = await got.wait_for(1)
            assert (msg.payload, msg.retain, msg.qos) == (b"sticky", True, 1)

            await p.subscribe(f"{base}/from-conn", 1)
            (late,) = await p.wait_for(1)
            assert (late.payload, bool(late.retain)) == (b"mine", True)
        # Clean up retained state on the shared broker.
        await p.publish(f"{base}/from-peer", b"", qos=1, retain=True)
        await p.publish(f"{base}/from-conn", b"", qos=1, retain=True)


async def test_wildcards_shared_filters_and_unsubscribe(mosquitto: Mosquitto) -> None:
    base = unique("wild")
    plus, hash_, exact, shared_a, shared_b = (Collector() for _ in range(5))

    def broken(_msg: InboundMessage) -> None:
        raise RuntimeError("handler bug")

    conn = conn_for(mosquitto)
    async with running(conn), peer(mosquitto.port) as p:
        await connected(conn)
        conn.subscribe(f"{base}/+/temp", 0, plus)
        conn.subscribe(f"{base}/#", 0, hash_)
        conn.subscribe(f"{base}/a/temp", 0, exact)
        conn.subscribe(f"{base}/+/temp", 0, broken)  # a failing handler must not hurt the others
        token_a = conn.subscribe(f"{base}/shared", 1, shared_a)
        conn.subscribe(f"{base}/shared", 0, shared_b)
        await sync_subscriptions(conn, base)
        for topic in ("a/temp", "b/temp", "b/c/temp", "shared"):
            await p.publish(f"{base}/{topic}", topic.encode(), qos=1)

        await hash_.wait_for(4)
        await shared_b.wait_for(1)
        assert [m.topic for m in hash_.messages if "__sync" not in m.topic] == [
            f"{base}/{t}" for t in ("a/temp", "b/temp", "b/c/temp", "shared")]
        assert plus.payloads == [b"a/temp", b"b/temp"]
        assert exact.payloads == [b"a/temp"]
        assert shared_a.payloads == [b"shared"] and shared_b.payloads == [b"shared"]

        conn.unsubscribe(token_a)
        await p.publish(f"{base}/shared", b"again", qos=1)
        await shared_b.wait_for(2)
        assert shared_a.payloads == [b"shared"]
        assert conn.connected


async def test_mqtt5_user_properties_round_trip(mosquitto: Mosquitto) -> None:
    base = unique("v5")
    got = Collector()
    conn = conn_for(mosquitto, protocol=5)
    async with running(conn), peer(mosquitto.port, protocol=mqtt.MQTTv5) as p:
        conn.subscribe(f"{base}/in", 1, got)
        await connected(conn)
        await sync_subscriptions(conn, base)

        props = Properties(PacketTypes.PUBLISH)
        props.UserProperty = [("site", "plant-7"), ("line", "3")]
        props.ContentType = "application/json"
        props.ResponseTopic = f"{base}/reply"
        props.CorrelationData = b"\x01\x02"
        await p.publish(f"{base}/in", b'{"v": 1}', qos=1, properties=props)
        (msg,) = await got.wait_for(1)
        assert msg.properties is not None
        assert msg.properties["userProperties"] == {"site": "plant-7", "line": "3"}
        assert msg.properties["contentType"] == "application/json"
        assert msg.properties["responseTopic"] == f"{base}/reply"
        assert msg.properties["correlationData"] == b"\x01\x02"

        await p.subscribe(f"{base}/out", 1)
        conn.publish(f"{base}/out", b"x", qos=1, properties={
            "userProperties": {"k": "v", "n": 5}, "contentType": "text/plain", "messageExpiryInterval": 60})
        (out,) = await p.wait_for(1)
        assert out.properties is not None
        assert out.properties.UserProperty == [("k", "v"), ("n", "5")]
        assert out.properties.ContentType == "text/plain"


@pytest.mark.parametrize("protocol", [4, 5])
async def test_clean_session_false_receives_messages_queued_while_offline(
        mosquitto: Mosquitto, protocol: int) -> None:
    base = unique("persist")
    client_id = f"fe-persist-{uuid.uuid4().hex[:8]}"
    first = Collector()
    conn = conn_for(mosquitto, client_id=client_id, clean_session=False, protocol=protocol)
    async with running(conn):
        conn.subscribe(f"{base}/#", 1, first)
        await connected(conn)
        await sync_subscriptions(conn, base)
    async with peer(mosquitto.port) as p:
        for i in range(3):
            await p.publish(f"{base}/offline", str(i).encode(), qos=1)
    second = Collector()
    conn2 = conn_for(mosquitto, client_id=client_id, clean_session=False, protocol=protocol)
    conn2.subscribe(f"{base}/#", 1, second)
    async with running(conn2):
        await second.wait_for(3)
        assert second.payloads[:3] == [b"0", b"1", b"2"]


async def test_tls_with_test_ca(mosquitto_tls: Mosquitto, tls_certs: CertPaths) -> None:
    base = unique("tls")
    got = Collector()
    conn = BrokerConnection(host=f"mqtts://127.0.0.1:{mosquitto_tls.tls_port}",
                            tls=TLSOptions(ca_file=tls_certs.ca_cert), min_backoff=0.05, max_backoff=0.5)
    assert conn.tls is not None
    async with running(conn):
        conn.subscribe(f"{base}/#", 1, got)
        await connected(conn)
        await sync_subscriptions(conn, base)
        for i in range(200):
            conn.publish(f"{base}/n", str(i).encode(), qos=1 if i % 2 else 0)
        await wait_until(lambda: len([m for m in got.messages if m.topic == f"{base}/n"]) >= 200)
        got_ints = [int(m.payload) for m in got.messages if m.topic == f"{base}/n"]
        # MQTT orders messages per QoS level only (QoS 1 waits for in-flight slots, QoS 0 does not).
        assert [i for i in got_ints if i % 2] == list(range(1, 200, 2))
        assert [i for i in got_ints if not i % 2] == list(range(0, 200, 2))


async def test_tls_wrong_ca_never_connects(mosquitto_tls: Mosquitto, tmp_path: Any) -> None:
    other = make_certs(tmp_path / "other", ca_name="some other CA")
    states = States()
    conn = BrokerConnection(host="127.0.0.1", port=mosquitto_tls.tls_port or 0,
                            tls=TLSOptions(ca_file=other.ca_cert), on_state=states,
                            min_backoff=0.05, max_backoff=0.2)
    async with running(conn):
        await wait_until(lambda: states.seen.count("connecting") >= 3, WAIT, "several attempts")
        assert not conn.connected
        conn.publish("fe-test/nowhere", b"x")  # dropped, not raised
    assert "connected" not in states.seen
    assert conn.dropped == 1


async def test_tls_client_certificate(make_mosquitto: Callable[..., Mosquitto], tls_certs: CertPaths) -> None:
    broker = make_mosquitto(tls=tls_certs, require_client_cert=True)
    with_cert = BrokerConnection(host="localhost", port=broker.tls_port or 0, tls=TLSOptions(
        ca_file=tls_certs.ca_cert, cert_file=tls_certs.client_cert, key_file=tls_certs.client_key))
    async with running(with_cert):
        await connected(with_cert)
    states = States()
    without = BrokerConnection(host="127.0.0.1", port=broker.tls_port or 0, on_state=states,
                               tls=TLSOptions(ca_file=tls_certs.ca_cert), min_backoff=0.05, max_backoff=0.2)
    async with running(without):
        await wait_until(lambda: states.seen.count("connecting") >= 2, WAIT, "a retry")
        assert not without.connected
    assert "connected" not in states.seen


async def test_silent_server_times_out_and_stop_is_prompt() -> None:
    """A peer that accepts TCP but never sends CONNACK: bounded wait, retries, and a quick stop()."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop_accepting = threading.Event()

    def accept_loop() -> None:
        server.settimeout(0.1)
        while not stop_accepting.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(server.accept()[0])

    thread = threading.Thread(target=accept_loop, daemon=True)
    thread.start()
    states = States()
    conn = BrokerConnection(host="127.0.0.1", port=server.getsockname()[1], on_state=states,
                            connect_timeout=0.3, min_backoff=0.05, max_backoff=0.1)
    try:
        await conn.start()
        await wait_until(lambda: len(accepted) >= 2, WAIT, "a retry after the CONNACK timeout")
        assert not conn.connected and "connected" not in states.seen
        t0 = time.monotonic()
        await conn.stop()
        assert time.monotonic() - t0 < 1.0
        assert states.seen[-1] == "disconnected"
    finally:
        stop_accepting.set()
        thread.join(2)
        for s in accepted:
            s.close()
        server.close()


async def test_stop_while_connecting_and_restart(mosquitto: Mosquitto) -> None:
    conn = conn_for(mosquitto)
    await conn.start()
    await conn.stop()  # immediately, while the connect runs in a worker thread
    assert not conn.connected
    await asyncio.sleep(0.2)
    assert not conn.connected  # nothing resurrected the connection
    async with running(conn):
        await connected(conn)


async def test_username_password(make_mosquitto: Callable[..., Mosquitto]) -> None:
    broker = make_mosquitto(users={"alice": "s3cret"})
    good = conn_for(broker, username="alice", password="s3cret")
    async with running(good):
        await connected(good)

    states = States()
    bad = conn_for(broker, username="alice", password="wrong", on_state=states)
    async with running(bad):
        await wait_until(lambda: states.seen.count("connecting") >= 3, WAIT, "several refused attempts")
        assert not bad.connected
    assert "connected" not in states.seen

    anonymous = conn_for(broker, on_state=States())
    async with running(anonymous):
        await asyncio.sleep(0.3)
        assert not anonymous.connected


async def test_broker_restart_reconnects_and_resubscribes(make_mosquitto: Callable[..., Mosquitto]) -> None:
    broker = make_mosquitto()
    base = unique("restart")
    got = Collector()
    states = States()
    conn = conn_for(broker, on_state=states)
    async with running(conn):
        conn.subscribe(f"{base}/#", 1, got)
        await connected(conn)
        await sync_subscriptions(conn, base)
        assert states.seen == ["connecting", "connected"]

        await asyncio.to_thread(broker.stop)
        await wait_until(lambda: not conn.connected, WAIT, "disconnect to be noticed")
        conn.publish(f"{base}/while-down", b"qos0", qos=0)  # dropped and counted
        conn.publish(f"{base}/while-down", b"qos1", qos=1)  # queued by paho, sent after reconnect
        assert conn.dropped == 1
        await asyncio.sleep(0.3)  # let a few reconnect attempts fail
        await asyncio.to_thread(broker.start)

        await connected(conn, timeout=10)
        after = states.seen[2:]
        assert after[0] == "disconnected" and after[-1] == "connected"
        assert set(after) <= {"disconnected", "connecting", "connected"}

        # The broker lost the session (persistence false): the subscription must have been re-issued.
        (queued,) = [m for m in await got.wait_for(1) if m.topic.endswith("while-down")]
        assert queued.payload == b"qos1"
        async with peer(broker.port) as p:
            await p.publish(f"{base}/after", b"again", qos=1)
            await wait_until(lambda: any(m.payload == b"again" for m in got.messages))


async def test_pause_and_resume_reading(mosquitto: Mosquitto) -> None:
    base = unique("pause")
    got = Collector()
    conn = conn_for(mosquitto)
    async with running(conn), peer(mosquitto.port) as p:
        conn.subscribe(f"{base}/#", 0, got)
        await connected(conn)
        await sync_subscriptions(conn, base)
        got.messages.clear()

        conn.pause_reading()
        for i in range(5):
            await p.publish(f"{base}/m", str(i).encode(), qos=0)
        await asyncio.sleep(0.4)
        assert got.messages == []
        conn.resume_reading()
        await got.wait_for(5)
        assert got.payloads == [str(i).encode() for i in range(5)]

        # Pausing from inside a handler stops delivery right after that message, even when later
        # messages were already read from the socket in the same chunk.
        got.messages.clear()

        def pause_after_first(msg: InboundMessage) -> None:
            if msg.payload == b"p0":
                conn.pause_reading()

        token = conn.subscribe(f"{base}/burst", 0, pause_after_first)
        await sync_subscriptions(conn, base)
        got.messages.clear()
        for i in range(3):
            p.client.publish(f"{base}/burst", f"p{i}".encode(), 0)
        await got.wait_for(1)
        await asyncio.sleep(0.3)
        assert got.payloads == [b"p0"]
        conn.unsubscribe(token)
        conn.resume_reading()
        await got.wait_for(3)
        assert got.payloads == [b"p0", b"p1", b"p2"]


@pytest.mark.parametrize("use_tls", [False, True], ids=["tcp", "tls"])
async def test_stalled_broker_bounds_the_backlog_and_recovers(
        make_mosquitto: Callable[..., Mosquitto], tls_certs: CertPaths, use_tls: bool) -> None:
    broker = make_mosquitto(tls=tls_certs)
    base = unique("stall")
    size = 100_000
    conn = BrokerConnection(host=broker.host, port=(broker.tls_port or 0) if use_tls else broker.port,
                            tls=TLSOptions(ca_file=tls_certs.ca_cert) if use_tls else None)
    async with running(conn), peer(broker.port) as p:
        await p.subscribe(f"{base}/big", 0)
        await connected(conn)
        broker.pause()
        try:
            sent = 0
            for i in range(3000):  # bounded: ~300 MB offered, far beyond socket buffers + backlog cap
                conn.publish(f"{base}/big", i.to_bytes(4, "big") * (size // 4), 0)
                sent += 1
                if i % 10 == 0:
                    await asyncio.sleep(0)
                if conn.dropped:
                    break
            print(f"\nstalled broker: dropped after {sent} x {size} bytes, backlog {conn.backlog_bytes}")
            assert conn.dropped == 1, "publishing into a stalled broker never hit the backlog cap"
            assert conn.backlog_bytes <= 9 << 20
            assert conn.connected
        finally:
            broker.resume()
        await wait_until(lambda: conn.backlog_bytes == 0, 10.0, "backlog to drain")
        kept = sent - conn.dropped
        msgs = await p.wait_for(kept, timeout=15.0)
        order = [int.from_bytes(m.payload[:4], "big") for m in msgs]
        assert order == list(range(kept))  # the dropped one was the last offered
        assert all(len(m.payload) == size for m in msgs)


_PUBLISHER = textwrap.dedent("""
    import sys, time
    import paho.mqtt.client as mqtt
    port, topic, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fe-burst-publisher")
    c.connect("127.0.0.1", port, 30)
    c.loop_start()
    for i in range(count):
        c.publish(topic, b"%d" % i, 0)
    done = c.publish(topic + "/done", b"", 1)
    done.wait_for_publish(20)
    c.disconnect()
    c.loop_stop()
""")


def start_publisher(port: int, topic: str, count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", _PUBLISHER, str(port), topic, str(count)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


async def finish(proc: subprocess.Popen[bytes]) -> str:
    """Reap the publisher (bounded), returning its output for assertion messages."""
    try:
        out, _ = await asyncio.to_thread(proc.communicate, None, 10)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = await asyncio.to_thread(proc.communicate, None, 5)
    return out.decode(errors="replace")


async def test_burst_of_20k_qos0_messages_arrives_complete_and_in_order(mosquitto: Mosquitto) -> None:
    count = 20_000
    base = unique("burst")
    topic = f"{base}/data"
    received: list[int] = []
    first_at: list[float] = []

    def on_data(msg: InboundMessage) -> None:
        if not first_at:
            first_at.append(time.perf_counter())
        received.append(int(msg.payload))

    conn = conn_for(mosquitto)
    async with running(conn):
        conn.subscribe(topic, 0, on_data)
        await connected(conn)
        await sync_subscriptions(conn, base)
        # A separate process, so the publisher's work does not compete with ours for the GIL.
        proc = start_publisher(mosquitto.port, topic, count)
        try:
            await wait_until(lambda: len(received) >= count, 20.0, "the whole burst")
            done_at = time.perf_counter()
        finally:
            output = await finish(proc)
        assert proc.returncode == 0, output
        assert received == list(range(count))
        rate = count / (done_at - first_at[0])
        print(f"\nburst: {count} QoS0 messages received at {rate:,.0f} msg/s")


async def test_relay_in_to_out_throughput(mosquitto: Mosquitto) -> None:
    """mqtt-in -> mqtt-out through one connection (the common flow shape); prints the rate."""
    count = 20_000
    base = unique("relay")
    relayed: list[int] = []
    conn = conn_for(mosquitto)

    def relay(msg: InboundMessage) -> None:
        conn.publish(f"{base}/out", msg.payload, 0)

    def sink(msg: InboundMessage) -> None:
        relayed.append(int(msg.payload))

    async with running(conn):
        conn.subscribe(f"{base}/in", 0, relay)
        conn.subscribe(f"{base}/out", 0, sink)
        await connected(conn)
        await sync_subscriptions(conn, base)
        start = time.perf_counter()
        proc = start_publisher(mosquitto.port, f"{base}/in", count)
        try:
            await wait_until(lambda: len(relayed) >= count, 20.0, "all relayed messages")
            elapsed = time.perf_counter() - start
        finally:
            output = await finish(proc)
        assert proc.returncode == 0, output
        assert relayed == list(range(count))
        assert conn.dropped == 0
        print(f"\nrelay: {count} messages in + {count} out (+ {count} back in) at "
              f"{count / elapsed:,.0f} msg/s end to end")


async def test_v5_subscription_options_apply_and_survive_reconnect(mosquitto: Mosquitto) -> None:
    base = unique("subopts")
    own, retained = Collector(), Collector()
    conn = conn_for(mosquitto, protocol=5)
    async with running(conn), peer(mosquitto.port, protocol=mqtt.MQTTv5) as p:
        await p.publish(f"{base}/rh", b"old", qos=1, retain=True)
        await p.subscribe(f"{base}/nl", 1)
        conn.subscribe(f"{base}/nl", 1, own, SubscriptionOptions(no_local=True))
        conn.subscribe(f"{base}/rh", 1, retained, SubscriptionOptions(retain_handling=2))
        await connected(conn)
        await sync_subscriptions(conn, base)
        for round_ in ("before", "after"):
            p.messages.clear()
            conn.publish(f"{base}/nl", f"own {round_}".encode(), qos=1)
            await p.wait_for(1)  # our publish reached the broker ...
            await p.publish(f"{base}/nl", f"peer {round_}".encode(), qos=1)
            await p.publish(f"{base}/rh", f"live {round_}".encode(), qos=1)
            await wait_until(lambda r=round_: f"live {r}".encode() in retained.payloads, WAIT, "the live message")
            await wait_until(lambda r=round_: f"peer {r}".encode() in own.payloads, WAIT, "the peer's message")
            # ... but never came back (no local), and the retained message is never sent (retain handling 2).
            assert not any(m.startswith(b"own") for m in own.payloads)
            assert b"old" not in retained.payloads
            if round_ == "before":
                # A clean session ends with the connection: the reconnect must re-issue the options.
                sock = conn._client.socket()
                assert sock is not None
                sock.shutdown(socket.SHUT_RDWR)
                await wait_until(lambda: not conn.connected, WAIT, "the drop to be noticed")
                await connected(conn, timeout=10)
                await sync_subscriptions(conn, base)
        await p.publish(f"{base}/rh", b"", qos=1, retain=True)


async def test_subscription_options_are_ignored_before_v5(mosquitto: Mosquitto) -> None:
    base = unique("subopts4")
    got = Collector()
    conn = conn_for(mosquitto)
    async with running(conn):
        conn.subscribe(f"{base}/x", 1, got, SubscriptionOptions(no_local=True, retain_handling=2))
        await connected(conn)
        await sync_subscriptions(conn, base)
        conn.publish(f"{base}/x", b"loops back", qos=1)  # MQTT 3.1.1 has no "no local"
        assert (await got.wait_for(1))[0].payload == b"loops back"
        with pytest.raises(ValueError):
            conn.subscribe(f"{base}/y", 1, got, SubscriptionOptions(retain_handling=3))


async def test_withdraw_unsubscribes_at_the_broker(mosquitto: Mosquitto) -> None:
    base = unique("withdraw")
    got, control = Collector(), Collector()
    conn = conn_for(mosquitto)
    async with running(conn), peer(mosquitto.port) as p:
        token = conn.subscribe(f"{base}/w", 1, got)
        conn.subscribe(f"{base}/ctl", 1, control)
        await connected(conn)
        await sync_subscriptions(conn, base)
        conn.withdraw(token)
        await sync_subscriptions(conn, base)  # the UNSUBSCRIBE went out before this probe
        await p.publish(f"{base}/w", b"not sent", qos=1)
        await p.publish(f"{base}/ctl", b"sent", qos=1)
        await control.wait_for(1)
        assert got.messages == []
        conn.unsubscribe(token)  # after withdraw: no second UNSUBSCRIBE, no error
        again = Collector()
        conn.subscribe(f"{base}/w", 1, again)
        await sync_subscriptions(conn, base)
        await p.publish(f"{base}/w", b"back", qos=1)
        assert (await again.wait_for(1))[0].payload == b"back"


@pytest.mark.parametrize("protocol", [4, 5])
async def test_last_will_on_abrupt_disconnect_only(mosquitto: Mosquitto, protocol: int) -> None:
    base = unique("will")
    props = {"contentType": "text/plain", "userProperties": {"why": "crash"}} if protocol == 5 else None
    conn = conn_for(mosquitto, protocol=protocol, will=Will(f"{base}/will", b"gone", 1, False, props))
    async with peer(mosquitto.port, protocol=mqtt.MQTTv5) as p:
        await p.subscribe(f"{base}/will", 1)
        async with running(conn):
            await connected(conn)
            sock = conn._client.socket()
            assert sock is not None
            sock.shutdown(socket.SHUT_RDWR)  # the connection dies without a DISCONNECT
            (will,) = await p.wait_for(1)
            assert (will.topic, will.payload, will.qos) == (f"{base}/will", b"gone", 1)
            if protocol == 5:
                assert will.properties.ContentType == "text/plain"
                assert will.properties.UserProperty == [("why", "crash")]
            await wait_until(lambda: not conn.connected, WAIT, "the drop to be noticed")
            await connected(conn, timeout=10)  # reconnects with the same will
        await asyncio.sleep(0.3)
        assert len(p.messages) == 1  # stop() disconnects politely: no will


async def test_tls_certificates_as_pem_text(make_mosquitto: Callable[..., Mosquitto], tls_certs: CertPaths,
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broker = make_mosquitto(tls=tls_certs, require_client_cert=True)
    key = serialization.load_pem_private_key(Path(tls_certs.client_key).read_bytes(), password=None)
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"open sesame")).decode()
    temp_dir = tmp_path / "tmp"
    temp_dir.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp_dir))
    seen_modes: list[int] = []
    real_load = __import__("ssl").SSLContext.load_cert_chain

    def spy(self: Any, certfile: str, keyfile: str | None = None, password: Any = None) -> None:
        seen_modes.extend(os.stat(f).st_mode & 0o777 for f in (certfile, keyfile) if f)
        real_load(self, certfile, keyfile, password)

    monkeypatch.setattr("ssl.SSLContext.load_cert_chain", spy)
    options = TLSOptions(ca_data=Path(tls_certs.ca_cert).read_text(), cert_data=Path(tls_certs.client_cert).read_text(),
                         key_data=encrypted, passphrase="open sesame")
    assert "open sesame" not in repr(options) and "PRIVATE KEY" not in repr(options)
    conn = BrokerConnection(host="127.0.0.1", port=broker.tls_port or 0, tls=options)
    async with running(conn):
        await connected(conn)
    assert seen_modes == [0o600, 0o600]
    assert list(temp_dir.iterdir()) == []  # the temporary PEM files are gone

    states = States()  # a wrong passphrase fails the connection (and never prompts on a terminal)
    options.passphrase = None
    bad = BrokerConnection(host="127.0.0.1", port=broker.tls_port or 0, tls=options, on_state=states,
                           min_backoff=0.05, max_backoff=0.2)
    async with running(bad):
        await wait_until(lambda: states.seen.count("connecting") >= 2, WAIT, "a retry")
    assert "connected" not in states.seen
    # A connect attempt may still be loading in its worker thread when stop() returns; the files
    # it made go as soon as it finishes.
    await wait_until(lambda: list(temp_dir.iterdir()) == [], 2.0, "the temporary PEM files to be deleted")
