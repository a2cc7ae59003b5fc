"""One shared MQTT client per broker config node, driven by the asyncio event loop.

paho-mqtt does the protocol work (packet encoding/decoding, QoS state machines, keepalive), but
no paho network thread runs: the socket is registered with ``loop.add_reader``/``add_writer`` and
``loop_read``/``loop_write``/``loop_misc`` are called from the loop thread only, so handlers run
synchronously in the loop thread and never need locks.

Throughput matters (flows are often mqtt-in -> logic -> mqtt-out), so ``_LoopClient`` overrides
paho's two socket hooks:

* ``_sock_recv`` serves paho's tiny reads (1 byte command, 1..4 bytes length, body) from a local
  buffer that is filled with one large ``recv`` per wake-up, instead of ~3 syscalls per packet.
* ``_sock_send`` appends to a local write buffer that is flushed with one ``send`` per loop
  iteration (scheduled with ``call_soon``), so a burst of publishes costs one syscall, not one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import logging
import os
import secrets
import socket
import ssl
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future as ConcurrentFuture
from dataclasses import dataclass, field
from typing import Any, Literal, cast
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import tenacity
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

__all__ = ["BrokerConnection", "InboundMessage", "SubscriptionOptions", "TLSOptions", "Will", "parse_broker"]

State = Literal["connecting", "connected", "disconnected"]

_READ_CHUNK = 65536
# Upper bound for packets handled in one callback, so a flood cannot starve other tasks.
_DRAIN_BUDGET = 2000
# Local write buffer high-water mark: above it paho keeps packets in its own queue and we wait for
# the socket to become writable (TCP flow control towards the broker).
_WRITE_HIGH_WATER = 1 << 20
# When this much is waiting to be written (paho's packet queue + our buffer) the broker is not keeping
# up: new QoS 0 publishes are dropped (and counted) instead of growing memory without bound.
_MAX_BACKLOG_BYTES = 8 << 20
_MAX_BACKLOG_PACKETS = 20000
_MAX_QUEUED_QOS12 = 1000
_MATCH_CACHE_SIZE = 4096
_TICK_SECONDS = 1.0
_PROTOCOLS = {3: mqtt.MQTTv31, 4: mqtt.MQTTv311, 5: mqtt.MQTTv5}
_DISCONNECT_HEADER = 0xE0

# Node-RED style names (what mqtt nodes put on msg) <-> paho v5 property names.
_PROP_NAMES = {
    "contentType": "ContentType",
    "responseTopic": "ResponseTopic",
    "correlationData": "CorrelationData",
    "messageExpiryInterval": "MessageExpiryInterval",
    "payloadFormatIndicator": "PayloadFormatIndicator",
    "topicAlias": "TopicAlias",
    "subscriptionIdentifier": "SubscriptionIdentifier",
    "willDelayInterval": "WillDelayInterval",
}
_PROP_NAMES_REV = {v: k for k, v in _PROP_NAMES.items()}


@dataclass
class TLSOptions:
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True
    server_name: str | None = None
    # PEM text instead of (or besides) files: Node-RED keeps uploaded certificates in credentials.
    ca_data: str | None = None
    cert_data: str | None = None
    key_data: str | None = field(default=None, repr=False)
    passphrase: str | None = field(default=None, repr=False)  # for an encrypted private key


@dataclass
class Will:
    """The Last Will the broker publishes when the connection drops without a DISCONNECT."""

    topic: str
    payload: bytes = b""
    qos: int = 0
    retain: bool = False
    properties: dict[str, Any] | None = None  # MQTT v5 only; the names publish() takes, plus willDelayInterval


@dataclass(frozen=True, slots=True)
class SubscriptionOptions:
    """MQTT v5 subscription options; a 3.1/3.1.1 connection ignores them."""

    no_local: bool = False  # don't receive what this connection publishes itself
    retain_as_published: bool = False  # keep the publisher's retain flag on forwarded messages
    retain_handling: int = 0  # 0: send retained on subscribe, 1: only for a new subscription, 2: never


@dataclass(slots=True)
class InboundMessage:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    properties: dict[str, Any] | None


@dataclass(slots=True)
class _Subscription:
    topic: str
    qos: int
    handler: Callable[[InboundMessage], None]
    options: SubscriptionOptions = SubscriptionOptions()
    active: bool = True  # False once withdrawn: not subscribed at the broker, stragglers still delivered


# What one SUBSCRIBE asks for a filter: (qos, no_local, retain_as_published, retain_handling).
_Wanted = tuple[int, bool, bool, int]


def _merge(subs: list[_Subscription]) -> _Wanted | None:
    """One broker subscription serves every handler of a filter, so it must satisfy them all: the
    highest QoS, no-local only if all want it, retain-as-published if any does, the most generous
    retain handling."""
    if not subs:
        return None
    return (max(s.qos for s in subs), all(s.options.no_local for s in subs),
            any(s.options.retain_as_published for s in subs), min(s.options.retain_handling for s in subs))


@contextlib.contextmanager
def _pem_file(text: str | None) -> Iterator[str | None]:
    """ssl loads a certificate chain only from files: write the PEM to a private temporary file
    (mkstemp creates it 0600, the key is secret) and delete it once loaded."""
    if not text:
        yield None
        return
    fd, path = tempfile.mkstemp(prefix="flowengine-tls-", suffix=".pem")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def parse_broker(host: str, port: int = 1883, tls: TLSOptions | None = None
                 ) -> tuple[str, int, TLSOptions | None]:
    """Accept ``host``, ``host:port`` or a URL (``mqtt://``, ``mqtts://``, ``tcp://``, ``ssl://``)."""
    text = host.strip()
    if not text:
        raise ValueError("empty broker host")
    if "://" not in text:
        if text.count(":") > 1 and not text.startswith("["):
            return text, port, tls  # bare IPv6 address
        text = "//" + text
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in ("mqtts", "ssl", "tls", "tcps", "mqtt+ssl"):
        tls = tls or TLSOptions()
        if parts.port is None and port == 1883:
            port = 8883
    elif scheme not in ("", "mqtt", "tcp"):
        raise ValueError(f"unsupported broker scheme {parts.scheme!r} (websockets are not supported)")
    if not parts.hostname:
        raise ValueError(f"no host in broker address {host!r}")
    return parts.hostname, parts.port or port, tls


def _validate_filter(topic: str) -> None:
    if not topic:
        raise ValueError("empty topic filter")
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            raise ValueError(f"invalid topic filter {topic!r}: '#' must be a whole, last level")
        if "+" in level and level != "+":
            raise ValueError(f"invalid topic filter {topic!r}: '+' must be a whole level")


def _match_filter(topic_filter: str) -> str:
    # A shared subscription "$share/<group>/<filter>" delivers messages whose topic matches <filter>.
    if topic_filter.startswith("$share/"):
        parts = topic_filter.split("/", 2)
        if len(parts) == 3:
            return parts[2]
    return topic_filter


def _props_to_dict(props: Properties | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if props is None:
        return out
    for name in props.names:
        key = name.replace(" ", "")
        if not hasattr(props, key):
            continue
        value = getattr(props, key)
        if key == "UserProperty":
            # Node-RED exposes user properties as an object; a repeated key keeps its last value.
            out["userProperties"] = {k: v for k, v in value}
        else:
            out[_PROP_NAMES_REV.get(key, key)] = value
    return out


def _dict_to_props(data: dict[str, Any], packet_type: int) -> Properties:
    props = Properties(packet_type)
    for key, value in data.items():
        if value is None:
            continue
        if key in ("userProperties", "UserProperty"):
            items = value.items() if isinstance(value, dict) else value
            props.UserProperty = [(str(k), str(v)) for k, v in items]
            continue
        name = _PROP_NAMES.get(key, key)
        if name == "CorrelationData" and isinstance(value, str):
            value = value.encode()
        setattr(props, name, value)  # raises MQTTException on an unknown/invalid property
    return props


def _backoff_strategy(min_backoff: float, max_backoff: float) -> tenacity.wait.wait_base:
    # min_backoff * 2**(attempt-1) + uniform(0, min_backoff), capped at max_backoff.
    try:
        return tenacity.wait_exponential_jitter(multiplier=min_backoff, max=max_backoff, jitter=min_backoff)
    except TypeError:  # tenacity < 9.1 calls the base delay `initial` (deprecated since)
        return tenacity.wait_exponential_jitter(initial=min_backoff, max=max_backoff, jitter=min_backoff)


class _LoopClient(mqtt.Client):
    """paho Client whose socket I/O goes through local buffers owned by the event loop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending_sock: socket.socket | None = None  # handed to reconnect() via _create_socket
        self._rdata = b""
        self._rpos = 0
        self._rclosed: OSError | None = None  # set on EOF/recv error; surfaced once the buffer drains
        self._reof = False
        self.wbuf = bytearray()
        self.queued_bytes = 0  # bytes in paho's _out_packet queue, not yet moved to wbuf
        self._ssl_retry_len = 0  # an SSL write that hit WANT_WRITE must be retried with the same length
        self.read_wants_write = False
        self.write_wants_read = False

    # -- socket creation: the blocking part (DNS, TCP, TLS handshake) already ran in a thread.
    def _create_socket(self) -> Any:
        sock, self.pending_sock = self.pending_sock, None
        if sock is None:
            # paho calls reconnect() itself only for the MQTT 3.1 downgrade; we never block the loop.
            raise ConnectionError("no pre-connected socket available")
        self._reset_buffers()
        return sock

    def _reset_buffers(self) -> None:
        self._rdata = b""
        self._rpos = 0
        self._rclosed = None
        self._reof = False
        self.wbuf = bytearray()
        self.queued_bytes = 0  # reconnect() has just cleared paho's packet queue
        self._ssl_retry_len = 0
        self.read_wants_write = False
        self.write_wants_read = False

    # -- reading
    def tls_pending(self) -> bool:
        # Decrypted bytes held inside OpenSSL are invisible to the selector.
        sock = self._sock
        return isinstance(sock, ssl.SSLSocket) and sock.pending() > 0

    def has_input(self) -> bool:
        return len(self._rdata) > self._rpos or self._reof or self._rclosed is not None

    def buffered_input(self) -> int:
        return len(self._rdata) - self._rpos

    def fill(self) -> None:
        """Read what the socket has (one recv for TCP; TLS records until WANT_READ) into the buffer."""
        sock = self._sock
        if sock is None or self._reof or self._rclosed is not None:
            return
        chunks: list[bytes] = []
        want = _READ_CHUNK - self.buffered_input()
        try:
            while want > 0:
                data = sock.recv(want)
                if not data:
                    self._reof = True
                    break
                chunks.append(data)
                want -= len(data)
                # TLS returns one record per recv; decrypted bytes may wait in OpenSSL (pending())
                # or more records in the kernel. Plain TCP: one big recv per wake-up is enough.
                if not isinstance(sock, ssl.SSLSocket):
                    break
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError):
            pass
        except ssl.SSLWantWriteError:
            self.read_wants_write = True
        except OSError as exc:
            self._rclosed = exc
        if chunks:
            rest = self._rdata[self._rpos:] if self._rpos < len(self._rdata) else b""
            self._rdata = b"".join([rest, *chunks]) if rest or len(chunks) > 1 else chunks[0]
            self._rpos = 0

    def _sock_recv(self, bufsize: int) -> bytes:
        data = self._rdata
        pos = self._rpos
        avail = len(data) - pos
        if avail <= 0:
            if self._rclosed is not None:
                exc, self._rclosed = self._rclosed, None
                raise exc
            if self._reof:
                return b""  # paho treats an empty read as "connection lost"
            raise BlockingIOError(errno.EAGAIN, "no buffered data")  # paho: MQTT_ERR_AGAIN
        if bufsize >= avail:
            self._rdata = b""
            self._rpos = 0
            return data[pos:] if pos else data
        self._rpos = pos + bufsize
        return data[pos:pos + bufsize]

    # -- writing
    def backlog_full(self) -> bool:
        return (self.queued_bytes + len(self.wbuf) >= _MAX_BACKLOG_BYTES
                or len(self._out_packet) >= _MAX_BACKLOG_PACKETS)

    def _packet_queue(self, command: int, packet: bytes | bytearray, mid: int, qos: int,
                      info: mqtt.MQTTMessageInfo | None = None) -> mqtt.MQTTErrorCode:
        self.queued_bytes += len(packet)
        return super()._packet_queue(command, packet, mid, qos, info)

    def _sock_send(self, buf: bytes | bytearray) -> int:
        if self._sock is None:
            raise ConnectionError("self._sock is None")
        if buf and buf[0] & 0xF0 == _DISCONNECT_HEADER:
            # paho closes the socket right after DISCONNECT is "sent", so it must really hit the
            # wire: only after everything before it, and directly rather than via the buffer.
            if self.wbuf:
                raise BlockingIOError(errno.EAGAIN, "write buffer not drained")
            sent = super()._sock_send(buf)
            self.queued_bytes -= sent
            return sent
        if len(self.wbuf) >= _WRITE_HIGH_WATER:
            raise BlockingIOError(errno.EAGAIN, "write buffer full")
        self.wbuf += buf
        self.queued_bytes -= len(buf)
        return len(buf)

    def _send_some(self, sock: Any) -> int:
        wbuf = self.wbuf
        if not isinstance(sock, ssl.SSLSocket):
            return int(sock.send(wbuf))
        length = self._ssl_retry_len or min(len(wbuf), _WRITE_HIGH_WATER)
        try:
            sent = int(sock.send(wbuf if length == len(wbuf) else bytes(wbuf[:length])))
        except ssl.SSLWantWriteError:
            self._ssl_retry_len = length
            raise
        self._ssl_retry_len = 0
        return sent

    def send_buffered(self) -> bool:
        """Send the write buffer; True when it is empty afterwards. Errors close the connection."""
        sock = self._sock
        if sock is None or not self.wbuf:
            return not self.wbuf
        try:
            sent = self._send_some(sock)
        except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError):
            return False
        except ssl.SSLWantReadError:
            self.write_wants_read = True
            return False
        except OSError as exc:
            self._easy_log(mqtt.MQTT_LOG_ERR, "failed to send on socket: %s", exc)
            self.abort()
            return False
        del self.wbuf[:sent]
        return not self.wbuf

    def _sock_close(self) -> None:
        if self._sock is not None and self.wbuf:
            # Best effort, no retry: whatever is buffered (e.g. final acks) goes out before the close.
            with contextlib.suppress(OSError):
                self._send_some(self._sock)
        self.wbuf = bytearray()
        super()._sock_close()

    def abort(self) -> None:
        """Drop the connection the way paho does after a read/write error (fires on_disconnect)."""
        self._loop_rc_handle(mqtt.MQTTErrorCode.MQTT_ERR_CONN_LOST)

    def keepalive_alive(self) -> None:
        # Called while reading is paused: the broker's PINGRESP sits unread in the kernel buffer, so
        # paho would declare a keepalive timeout. Pings still go out; the broker still polices us.
        now = mqtt.time_func()
        with self._msgtime_mutex:
            self._last_bytes_received = now
        self._ping_t = 0


class BrokerConnection:
    """A shared, self-reconnecting MQTT connection living on the running asyncio loop.

    All methods must be called from the loop thread; handlers are called synchronously in it.
    ``dropped`` counts messages that publish() could not accept: QoS 0 while disconnected or while
    the outgoing backlog (``backlog_bytes``) is over its cap, and QoS 1/2 beyond paho's queue of 1000.
    """

    def __init__(self, *, host: str, port: int = 1883, client_id: str = "", keepalive: int = 60,
                 clean_session: bool = True, protocol: int = 4,
                 username: str | None = None, password: str | None = None,
                 tls: TLSOptions | None = None, will: Will | None = None,
                 on_state: Callable[[str], None] | None = None,
                 logger: logging.Logger | None = None,
                 min_backoff: float = 0.5, max_backoff: float = 30.0,
                 connect_timeout: float = 10.0, session_expiry: int | None = None) -> None:
        if protocol not in _PROTOCOLS:
            raise ValueError(f"protocol must be 3, 4 or 5, not {protocol!r}")
        self.host, self.port, self.tls = parse_broker(host, port, tls)
        # MQTT 3.1.1 with clean_session=False needs an id; 23 chars fits even MQTT 3.1's limit.
        self.client_id = client_id or f"flowengine_{secrets.token_hex(6)}"
        self.keepalive = keepalive
        self.clean_session = clean_session
        self.protocol = protocol
        # v5 only: how long the broker keeps a non-clean session. None = as long as 3.1.1 would.
        self.session_expiry = session_expiry
        self.connect_timeout = connect_timeout
        self.log = logger or logging.getLogger("flowengine.mqtt")
        self.dropped = 0  # QoS 0 messages dropped while disconnected/backed up, QoS 1/2 over the queue cap
        self._on_state = on_state
        self._state: State = "disconnected"
        self._wait = _backoff_strategy(min_backoff, max_backoff)

        self._client = self._make_client(username, password)
        if will is not None:
            self._set_will(will)
        self._ssl_context: ssl.SSLContext | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._connack: asyncio.Future[bool] | None = None
        self._lost = asyncio.Event()
        self._stopping = False
        self._connected = False
        self._paused = False
        self._fd = -1
        self._reading = False
        self._writing = False
        self._flush_handle: asyncio.Handle | None = None
        self._drain_handle: asyncio.Handle | None = None
        self._read_handle: asyncio.Handle | None = None
        self._tick_handle: asyncio.TimerHandle | None = None
        self._last_failure = ""

        self._tokens = itertools.count(1)
        self._subs: dict[int, _Subscription] = {}
        self._filters: dict[str, dict[int, _Subscription]] = {}  # filter -> token -> sub
        self._sent: dict[str, _Wanted] = {}  # what the broker was last asked for, per filter
        self._match_cache: dict[str, tuple[_Subscription, ...]] = {}

    # ------------------------------------------------------------------ public API
    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def state(self) -> str:
        return self._state

    @property
    def backlog_bytes(self) -> int:
        """Bytes accepted by publish() but not yet written to the socket (bounded; see publish)."""
        return self._client.queued_bytes + len(self._client.wbuf)

    async def start(self) -> None:
        if self._supervisor is not None and not self._supervisor.done():
            return
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        self._supervisor = self._loop.create_task(self._supervise(), name=f"mqtt:{self.host}:{self.port}")
        self._tick_handle = self._loop.call_later(_TICK_SECONDS, self._tick)

    async def stop(self) -> None:
        self._stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        client = self._client
        if client.socket() is not None:
            if self._connected:
                # Polite DISCONNECT (no will message); bounded wait for it to be written.
                client.disconnect()
                self._schedule_flush()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._lost.wait(), 2.0)
            if client.socket() is not None:
                client.abort()
        for handle in (self._tick_handle, self._flush_handle, self._drain_handle, self._read_handle):
            if handle is not None:
                handle.cancel()
        self._tick_handle = self._flush_handle = self._drain_handle = self._read_handle = None
        self._detach()
        self._connected = False
        self._set_state("disconnected")

    def subscribe(self, topic: str, qos: int, handler: Callable[[InboundMessage], None],
                  options: SubscriptionOptions | None = None) -> int:
        """Call ``handler`` for every message matching ``topic``; returns a token for unsubscribe().
        ``options`` (v5 only) are re-issued on every reconnect, like the subscription itself."""
        _validate_filter(topic)
        if qos not in (0, 1, 2):
            raise ValueError(f"invalid QoS {qos!r}")
        options = options or SubscriptionOptions()
        if options.retain_handling not in (0, 1, 2):
            raise ValueError(f"invalid retain handling {options.retain_handling!r}")
        token = next(self._tokens)
        sub = _Subscription(topic, qos, handler, options)
        self._subs[token] = sub
        self._filters.setdefault(topic, {})[token] = sub
        self._match_cache.clear()
        want = self._wanted(topic)
        if self._connected and want is not None and want != self._sent.get(topic):
            self._sent[topic] = want
            self._client.subscribe([self._subscribe_arg(topic, want)])
        return token

    def withdraw(self, token: int) -> None:
        """Stop the broker sending for this subscription (UNSUBSCRIBE once no active handler needs
        the filter) but keep delivering messages already on their way until unsubscribe(token):
        what arrives has been acknowledged, so dropping it would lose it (used at shutdown)."""
        sub = self._subs.get(token)
        if sub is None or not sub.active:
            return
        sub.active = False
        self._release(sub.topic)

    def unsubscribe(self, token: int) -> None:
        sub = self._subs.pop(token, None)
        if sub is None:
            return
        self._match_cache.clear()
        handlers = self._filters.get(sub.topic)
        if handlers is None:
            return
        handlers.pop(token, None)
        if not handlers:
            del self._filters[sub.topic]
        if sub.active:
            self._release(sub.topic)

    def _wanted(self, topic: str) -> _Wanted | None:
        return _merge([s for s in self._filters.get(topic, {}).values() if s.active])

    def _release(self, topic: str) -> None:
        # Only the last active handler unsubscribes; a remaining one keeps what was asked for (as
        # before options existed: no re-SUBSCRIBE, which would resend retained messages).
        if self._wanted(topic) is not None:
            return
        self._sent.pop(topic, None)
        if self._connected:
            self._client.unsubscribe(topic)

    def _subscribe_arg(self, topic: str, want: _Wanted) -> tuple[str, Any]:
        qos, no_local, rap, rh = want
        if self.protocol != 5:
            return topic, qos
        return topic, SubscribeOptions(qos=qos, noLocal=no_local, retainAsPublished=rap, retainHandling=rh)

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False,
                properties: dict[str, Any] | None = None) -> None:
        """Queue a message; never blocks. Raises ValueError for an invalid topic (wildcards) or QoS.

        ``properties`` (MQTT v5 only, ignored otherwise) uses the inbound names: userProperties,
        contentType, responseTopic, correlationData, messageExpiryInterval, payloadFormatIndicator,
        topicAlias - or paho's own property names.
        """
        client = self._client
        if qos == 0 and (not self._connected or client.backlog_full()):
            self._count_drop(topic)
            return
        props = None
        if properties and self.protocol == 5:
            try:
                props = _dict_to_props(properties, PacketTypes.PUBLISH)
            except (mqtt.MQTTException, TypeError, ValueError) as exc:
                self.log.warning("mqtt: ignoring invalid v5 properties %r: %s", properties, exc)
        info = client.publish(topic, payload, qos, retain, props)
        if info.rc == mqtt.MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            self._count_drop(topic)

    def pause_reading(self) -> None:
        if self._paused:
            return
        self._paused = True
        self._update_reader()

    def resume_reading(self) -> None:
        if not self._paused:
            return
        self._paused = False
        self._update_reader()
        if self._client.has_input():
            self._schedule_drain()
        elif self._client.tls_pending():
            self._schedule_read()

    # ------------------------------------------------------------------ connection management
    def _set_will(self, will: Will) -> None:
        if will.qos not in (0, 1, 2):
            raise ValueError(f"invalid will QoS {will.qos!r}")
        props = None
        if will.properties and self.protocol == 5:
            try:
                props = _dict_to_props(will.properties, PacketTypes.WILLMESSAGE)
            except (mqtt.MQTTException, TypeError, ValueError) as exc:
                self.log.warning("mqtt: ignoring invalid v5 will properties %r: %s", will.properties, exc)
        # paho keeps the will and sends it in every CONNECT, reconnects included.
        self._client.will_set(will.topic, will.payload, will.qos, will.retain, props)

    def _make_client(self, username: str | None, password: str | None) -> _LoopClient:
        v5 = self.protocol == 5
        client = _LoopClient(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=None if v5 else self.clean_session,
            protocol=_PROTOCOLS[self.protocol],
            reconnect_on_failure=False,
        )
        # suppress_exceptions stays False: paho would only report our callbacks' errors to its own
        # (normally disabled) logger; instead they surface in _drain/_flush/_tick, which log them.
        client.max_queued_messages_set(_MAX_QUEUED_QOS12)
        if username is not None:
            client.username_pw_set(username, password)
        paho_log = self.log.getChild("paho")
        if paho_log.isEnabledFor(logging.DEBUG):
            client.enable_logger(paho_log)  # only when asked for: per-packet logging costs throughput
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        return client

    def _backoff(self, attempt: int) -> float:
        state = tenacity.RetryCallState(cast(Any, None), None, (), {})
        state.attempt_number = attempt
        return float(self._wait(state))

    async def _supervise(self) -> None:
        attempt = 0
        while not self._stopping:
            self._set_state("connecting")
            try:
                ok = await self._connect_once()
            except Exception:  # a bug here must not end reconnection for good
                self.log.exception("mqtt: unexpected error while connecting to %s:%d", self.host, self.port)
                self._client.abort()
                ok = False
            if ok:
                attempt = 0
                self._last_failure = ""
                await self._lost.wait()
                if self._stopping:
                    return
                self.log.warning("mqtt: connection to %s:%d lost", self.host, self.port)
            self._set_state("disconnected")
            attempt += 1
            await asyncio.sleep(self._backoff(attempt))

    async def _connect_once(self) -> bool:
        assert self._loop is not None
        self._lost = asyncio.Event()
        self._connack = self._loop.create_future()
        try:
            sock = await self._open_socket_async()
        except (OSError, ssl.SSLError, ValueError) as exc:
            self._note_failure(f"cannot connect to {self.host}:{self.port}: {exc}")
            return False
        client = self._client
        client.pending_sock = sock
        try:
            if self.protocol == 5:
                props = Properties(PacketTypes.CONNECT)
                if not self.clean_session:
                    props.SessionExpiryInterval = (
                        0xFFFFFFFF if self.session_expiry is None else self.session_expiry)
                client.connect(self.host, self.port, self.keepalive,
                               clean_start=self.clean_session, properties=props)
            else:
                client.connect(self.host, self.port, self.keepalive)
        except Exception as exc:  # e.g. invalid properties: report it, keep retrying
            client.pending_sock = None
            if client.socket() is sock:
                client.abort()  # paho owns it now: close it the paho way (also detaches from the loop)
            else:
                sock.close()
            self._note_failure(f"MQTT connect to {self.host}:{self.port} failed: {exc!r}")
            return False
        try:
            return await asyncio.wait_for(asyncio.shield(self._connack), self.connect_timeout)
        except TimeoutError:
            self._note_failure(f"no CONNACK from {self.host}:{self.port} within {self.connect_timeout}s")
            client.abort()
            return False

    async def _open_socket_async(self) -> socket.socket:
        assert self._loop is not None
        cfut: ConcurrentFuture[socket.socket] = ConcurrentFuture()

        def work() -> None:
            if not cfut.set_running_or_notify_cancel():
                return
            try:
                cfut.set_result(self._open_socket())
            except BaseException as exc:  # handed to the awaiting coroutine
                cfut.set_exception(exc)

        def close_orphan(f: ConcurrentFuture[socket.socket]) -> None:
            # stop() cancelled us while the thread was connecting: don't leak the socket.
            if not f.cancelled() and f.exception() is None:
                f.result().close()

        self._loop.run_in_executor(None, work)
        try:
            return await asyncio.wrap_future(cfut)
        except asyncio.CancelledError:
            cfut.add_done_callback(close_orphan)
            raise

    def _open_socket(self) -> socket.socket:
        """Runs in a worker thread: DNS, TCP connect and TLS handshake, all bounded by timeouts."""
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        try:
            # MQTT packets are small and latency-sensitive; we coalesce writes ourselves.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                ctx = self._ssl_context or self._make_ssl_context()
                self._ssl_context = ctx
                tls_sock = ctx.wrap_socket(sock, server_hostname=self.tls.server_name or self.host,
                                           do_handshake_on_connect=False)
                sock = tls_sock
                tls_sock.settimeout(self.connect_timeout)
                tls_sock.do_handshake()
            return sock
        except BaseException:
            sock.close()
            raise

    def _make_ssl_context(self) -> ssl.SSLContext:
        tls = self.tls
        assert tls is not None
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=tls.ca_file, cadata=tls.ca_data or None)
        if not tls.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if tls.cert_file or tls.cert_data:
            # A callback, not None: without a passphrase OpenSSL would prompt on the terminal.
            password: Any = tls.passphrase if tls.passphrase else (lambda: "")
            with (_pem_file(None if tls.cert_file else tls.cert_data) as cert_tmp,
                  _pem_file(None if tls.key_file else tls.key_data) as key_tmp):
                ctx.load_cert_chain(tls.cert_file or cert_tmp or "", tls.key_file or key_tmp, password=password)
        return ctx

    def _note_failure(self, message: str) -> None:
        # Log a repeating failure once at WARNING, then quietly while it stays the same.
        level = logging.DEBUG if message == self._last_failure else logging.WARNING
        self._last_failure = message
        self.log.log(level, "mqtt: %s", message)

    def _set_state(self, state: State) -> None:
        if state == self._state:
            return
        self._state = state
        if self._on_state is not None:
            try:
                self._on_state(state)
            except Exception:
                self.log.exception("mqtt: on_state callback failed")

    def _count_drop(self, topic: str) -> None:
        self.dropped += 1
        if self.dropped == 1 or self.dropped % 1000 == 0:
            self.log.warning("mqtt: dropped message for %r (%d dropped so far): %s", topic, self.dropped,
                             "not connected" if not self._connected else "outgoing queue full")

    # ------------------------------------------------------------------ paho callbacks (loop thread)
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode,
                    properties: Properties | None) -> None:
        ok = not reason.is_failure
        if ok:
            self._connected = True
            self.log.info("mqtt: connected to %s:%d as %s", self.host, self.port, self.client_id)
            self._set_state("connected")
            # Re-issue every subscription, options included: the broker may have lost (or never had)
            # the session.
            self._sent = {t: w for t in self._filters if (w := self._wanted(t)) is not None}
            if self._sent:
                self._client.subscribe([self._subscribe_arg(t, w) for t, w in self._sent.items()])
        else:
            self._note_failure(f"connection to {self.host}:{self.port} refused: {reason}")
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(ok)

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode,
                       properties: Properties | None) -> None:
        was_connected = self._connected
        self._connected = False
        if self._connack is not None and not self._connack.done():
            self._connack.set_result(False)
        if was_connected or self._state != "connecting":
            self._set_state("disconnected")
        self._lost.set()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            self.log.warning("mqtt: dropping message with a non UTF-8 topic")
            return
        subs = self._match_cache.get(topic)
        if subs is None:
            subs = self._match(topic)
        if not subs:
            return
        props = _props_to_dict(message.properties) if self.protocol == 5 else None
        msg = InboundMessage(topic, bytes(message.payload), message.qos, bool(message.retain), props)
        for sub in subs:
            try:
                sub.handler(msg)
            except Exception:
                self.log.exception("mqtt: handler for %r failed", sub.topic)

    def _match(self, topic: str) -> tuple[_Subscription, ...]:
        found: list[_Subscription] = []
        for topic_filter, handlers in self._filters.items():
            target = _match_filter(topic_filter)
            if target == topic or (("+" in target or "#" in target)
                                   and mqtt.topic_matches_sub(target, topic)):
                found.extend(handlers.values())
        result = tuple(found)
        if len(self._match_cache) >= _MATCH_CACHE_SIZE:
            self._match_cache.clear()
        self._match_cache[topic] = result
        return result

    def _on_socket_open(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._fd = sock.fileno()
        self._reading = self._writing = False
        self._update_reader()

    def _on_socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._detach()

    def _on_register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if not self._writing:
            self._schedule_flush()

    def _on_unregister_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        # We track writability ourselves (our own buffer may still hold data).
        return

    # ------------------------------------------------------------------ event loop plumbing
    def _detach(self) -> None:
        loop = self._loop
        if loop is not None and self._fd >= 0:
            if self._reading:
                loop.remove_reader(self._fd)
            if self._writing:
                loop.remove_writer(self._fd)
        self._reading = self._writing = False
        self._fd = -1

    def _update_reader(self) -> None:
        loop = self._loop
        if loop is None or self._fd < 0:
            return
        want = not self._paused and self._client.socket() is not None
        if want and not self._reading:
            loop.add_reader(self._fd, self._on_readable)
        elif not want and self._reading:
            loop.remove_reader(self._fd)
        self._reading = want

    def _set_writer(self, want: bool) -> None:
        loop = self._loop
        if loop is None or self._fd < 0 or want == self._writing:
            return
        if want:
            loop.add_writer(self._fd, self._on_writable)
        else:
            loop.remove_writer(self._fd)
        self._writing = want

    def _on_readable(self) -> None:
        self._read_handle = None
        client = self._client
        if self._paused or client.socket() is None:
            return
        if client.buffered_input() < _READ_CHUNK:
            client.fill()
        if client.read_wants_write:
            self._set_writer(True)
        if client.write_wants_read:
            client.write_wants_read = False
            self._schedule_flush()
        self._drain()

    def _on_writable(self) -> None:
        client = self._client
        if client.read_wants_write:
            client.read_wants_write = False
            self._on_readable()
        self._flush()

    def _schedule_read(self) -> None:
        if self._read_handle is None and self._loop is not None:
            self._read_handle = self._loop.call_soon(self._on_readable)

    def _schedule_drain(self) -> None:
        if self._drain_handle is None and self._loop is not None:
            self._drain_handle = self._loop.call_soon(self._drain)

    def _drain(self) -> None:
        """Hand every complete buffered packet to paho (one loop_read each), within a budget."""
        self._drain_handle = None
        client = self._client
        ok = mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        for _ in range(_DRAIN_BUDGET):
            if self._paused or client.socket() is None:
                return
            if not client.has_input():
                if client.tls_pending():
                    self._schedule_read()
                return
            try:
                rc = client.loop_read()
            except Exception:
                self.log.exception("mqtt: error while processing incoming data")
                client.abort()
                return
            if rc != ok:
                return  # paho closed the socket and fired on_disconnect
        if not self._paused and client.socket() is not None and client.has_input():
            self._schedule_drain()  # yield to other tasks, then continue with the buffered data
        elif not self._paused and client.tls_pending():
            self._schedule_read()

    def _schedule_flush(self) -> None:
        # call_soon, not call_later: writes issued in this loop iteration go out in one send()
        # right after it, adding no latency.
        if self._flush_handle is None and self._loop is not None:
            self._flush_handle = self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_handle = None
        client = self._client
        for _ in range(4):  # bounded: DISCONNECT waits for the buffer to drain first
            if client.socket() is None:
                return
            if client.want_write() and len(client.wbuf) < _WRITE_HIGH_WATER:
                try:
                    client.loop_write()
                except Exception:
                    self.log.exception("mqtt: error while writing")
                    client.abort()
                    return
                if client.socket() is None:
                    return
            if client.wbuf and not client.send_buffered():
                break
            if not client.want_write():
                break
        if client.socket() is None:
            return
        self._set_writer(client.read_wants_write
                         or ((bool(client.wbuf) or client.want_write()) and not client.write_wants_read))

    def _tick(self) -> None:
        # paho's keepalive: PINGREQ when idle, and a dead-peer check.
        self._tick_handle = None
        if self._stopping or self._loop is None:
            return
        client = self._client
        if client.socket() is not None:
            if self._paused:
                client.keepalive_alive()
            try:
                client.loop_misc()
            except Exception:
                self.log.exception("mqtt: keepalive processing failed")
                client.abort()
        self._tick_handle = self._loop.call_later(_TICK_SECONDS, self._tick)
