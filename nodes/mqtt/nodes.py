"""mqtt-broker (config), tls-config (config), mqtt in and mqtt out, as Node-RED names them.

One BrokerConnection per broker config node is shared by every mqtt node that uses it. MQTT
input is pushed by the connection's reader; when the nodes downstream are full, messages
wait in a small bounded backlog and the connection stops reading its socket, so TCP flow
control pushes back on the broker instead of memory growing.
"""

from __future__ import annotations

import base64
from collections import deque
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig, new_msgid
from flowengine.fields import JSBool, OptionalNumber, Text, node_ref
from flowengine.jsvalue import UNDEFINED, js_json_dumps, json_loads, to_js_string

from .connection import BrokerConnection, InboundMessage, TLSOptions

_BACKLOG_HIGH = 256  # pause reading the socket above this many waiting messages
_BACKLOG_LOW = 32  # resume below this


class TlsConfigConfig(NodeConfig):
    ca: Text = Field("", description="CA certificate file")
    cert: Text = Field("", description="client certificate file")
    key: Text = Field("", description="client private key file")
    verifyservercert: JSBool = Field(True, description="verify the server certificate")
    servername: Text = Field("", description="server name for SNI / verification")


class TlsConfig(Node):
    type = "tls-config"
    category = "config"
    is_config = True
    inputs = 0
    outputs = 0
    Config = TlsConfigConfig
    help = "TLS settings (CA, client certificate and key files) shared by network nodes."

    def options(self) -> TLSOptions:
        cfg: TlsConfigConfig = self.config  # type: ignore[assignment]
        return TLSOptions(ca_file=cfg.ca or self.creds.get("cadata") or None, cert_file=cfg.cert or None,
                          key_file=cfg.key or None, verify=cfg.verifyservercert,
                          server_name=cfg.servername or None)


class MqttBrokerConfig(NodeConfig):
    broker: Text = Field("localhost", description="host name, IP or URL (mqtt://, mqtts://)")
    port: Text = Field("1883", description="TCP port")
    clientid: Text = Field("", description="client id; empty = random")
    autoConnect: JSBool = True
    usetls: JSBool = False
    tls: Text = node_ref("tls-config", required=False)
    protocolVersion: Text = Field("4", description="3 (MQTT 3.1), 4 (3.1.1) or 5")
    keepalive: Text = Field("60", description="seconds")
    cleansession: JSBool = True
    birthTopic: Text = ""
    birthPayload: Text = ""
    birthQos: Text = "0"
    birthRetain: JSBool = False
    closeTopic: Text = ""
    closePayload: Text = ""
    closeQos: Text = "0"
    closeRetain: JSBool = False


class MqttBroker(Node):
    type = "mqtt-broker"
    category = "config"
    is_config = True
    inputs = 0
    outputs = 0
    Config = MqttBrokerConfig
    credentials = {"user": "text", "password": "password"}
    help = "An MQTT broker connection shared by mqtt in / mqtt out nodes."

    def setup(self) -> None:
        cfg: MqttBrokerConfig = self.config  # type: ignore[assignment]
        try:
            self._port = int(cfg.port or 1883)
            if not 0 < self._port < 65536:
                raise ValueError
        except ValueError as exc:
            raise ConfigError("port", f"port must be a number from 1 to 65535, got {cfg.port!r}") from exc
        if cfg.protocolVersion not in ("3", "4", "5"):
            raise ConfigError("protocolVersion", "protocolVersion must be 3, 4 or 5")
        try:
            self._keepalive = int(float(cfg.keepalive or 60))
        except ValueError as exc:
            raise ConfigError("keepalive", f"keepalive must be a number of seconds, got {cfg.keepalive!r}") from exc
        if not cfg.broker:
            raise ConfigError("broker", "broker address is empty")
        self.connection: BrokerConnection | None = None
        self._users: list[Node] = []
        self._state = "disconnected"

    def register(self, user: Node) -> BrokerConnection:
        """A node that uses this broker; it sees status changes."""
        self._users.append(user)
        self._show(user)
        assert self.connection is not None
        return self.connection

    def _show(self, user: Node) -> None:
        st = {"connected": ("green", "dot", "connected"), "connecting": ("yellow", "ring", "connecting"),
              "disconnected": ("red", "ring", "disconnected")}[self._state]
        user.status(fill=st[0], shape=st[1], text=st[2])

    def _on_state(self, state: str) -> None:
        self._state = state
        for user in self._users:
            self._show(user)
        cfg: MqttBrokerConfig = self.config  # type: ignore[assignment]
        if state == "connected" and cfg.birthTopic and self.connection is not None:
            self.connection.publish(cfg.birthTopic, cfg.birthPayload.encode(), int(cfg.birthQos or 0),
                                    cfg.birthRetain)

    async def start(self) -> None:
        cfg: MqttBrokerConfig = self.config  # type: ignore[assignment]
        tls = None
        if cfg.usetls or cfg.broker.startswith(("mqtts://", "ssl://", "tls://")):
            tls_node = self.host.config_node(cfg.tls) if cfg.tls else None
            tls = tls_node.options() if isinstance(tls_node, TlsConfig) else TLSOptions()
        self.connection = BrokerConnection(
            host=cfg.broker, port=self._port, client_id=cfg.clientid, keepalive=self._keepalive,
            clean_session=cfg.cleansession, protocol=int(cfg.protocolVersion),
            username=self.creds.get("user") or None, password=self.creds.get("password") or None,
            tls=tls, on_state=self._on_state, logger=self.log)
        if cfg.autoConnect:
            await self.connection.start()

    async def stop(self) -> None:
        cfg: MqttBrokerConfig = self.config  # type: ignore[assignment]
        if self.connection is not None:
            if cfg.closeTopic and self.connection.connected:
                self.connection.publish(cfg.closeTopic, cfg.closePayload.encode(), int(cfg.closeQos or 0),
                                        cfg.closeRetain)
            await self.connection.stop()
        self._users.clear()


def _broker_of(node: Node, broker_id: str) -> MqttBroker:
    broker = node.host.config_node(broker_id)
    if not isinstance(broker, MqttBroker):
        raise ConfigError("broker", f"missing mqtt-broker config node {broker_id!r}")
    return broker


class MqttInConfig(NodeConfig):
    topic: Text = Field("", description="topic filter; + and # wildcards allowed")
    qos: Text = Field("2", description="0, 1 or 2")
    datatype: Text = Field("auto-detect", description="auto-detect | auto | utf8 | buffer | json | base64")
    broker: Text = node_ref("mqtt-broker")
    inputs: OptionalNumber = 0


class MqttIn(Node):
    type = "mqtt in"
    category = "network"
    inputs = 0
    Config = MqttInConfig
    help = "Subscribes to an MQTT topic and sends each message received."

    def setup(self) -> None:
        cfg: MqttInConfig = self.config  # type: ignore[assignment]
        if not cfg.topic and not cfg.inputs:
            raise ConfigError("topic", "topic is empty")
        if cfg.qos not in ("0", "1", "2"):
            raise ConfigError("qos", "qos must be 0, 1 or 2")
        if cfg.datatype not in ("auto-detect", "auto", "utf8", "buffer", "json", "base64"):
            raise ConfigError("datatype", f"unknown datatype {cfg.datatype!r}")
        self._backlog: deque[Message] = deque()
        self._token: int | None = None
        self._conn: BrokerConnection | None = None
        self._wake: Any = None

    async def start(self) -> None:
        cfg: MqttInConfig = self.config  # type: ignore[assignment]
        import asyncio

        self._wake = asyncio.Event()
        broker = _broker_of(self, cfg.broker)
        self._conn = broker.register(self)
        if cfg.topic:
            self._token = self._conn.subscribe(cfg.topic, int(cfg.qos), self._on_inbound)

    def _convert(self, m: InboundMessage) -> Any:
        dt = self.config.datatype  # type: ignore[attr-defined]
        data = m.payload
        if dt == "buffer":
            return data
        if dt == "base64":
            return base64.b64encode(data).decode()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            if dt in ("utf8", "json"):
                raise ValueError("payload is not valid UTF-8") from None
            return data
        if dt == "json":
            return json_loads(text)
        if dt == "auto-detect":
            try:
                return json_loads(text)
            except ValueError:
                return text
        return text

    def _on_inbound(self, m: InboundMessage) -> None:
        msg: Message = {"topic": m.topic, "qos": m.qos, "retain": m.retain, "_msgid": new_msgid()}
        try:
            msg["payload"] = self._convert(m)
        except ValueError as exc:
            msg["payload"] = m.payload.decode("utf-8", errors="replace")
            self.error(f"Failed to parse JSON string: {exc}", msg)
            return
        if m.properties:
            props = m.properties
            if "UserProperty" in props or "userProperties" in props:
                msg["userProperties"] = props.get("userProperties", props.get("UserProperty"))
            for key in ("contentType", "responseTopic", "correlationData", "messageExpiryInterval"):
                if key in props:
                    msg[key] = props[key]
        backlog = self._backlog
        if not backlog and self._targets_have_space():
            self.send_nowait(msg)
            return
        backlog.append(msg)
        if len(backlog) >= _BACKLOG_HIGH and self._conn is not None:
            self._conn.pause_reading()
        self._wake.set()

    def _targets_have_space(self) -> bool:
        return all(t._inbox.has_space() for port in self._wires for t in port)

    async def run(self) -> None:
        """Drain the backlog with backpressure, resuming the socket when it is short again."""
        backlog = self._backlog
        while True:
            if not backlog:
                self._wake.clear()
                await self._wake.wait()
                continue
            await self.send(backlog.popleft())
            if len(backlog) <= _BACKLOG_LOW and self._conn is not None:
                self._conn.resume_reading()

    async def stop(self) -> None:
        if self._conn is not None and self._token is not None:
            self._conn.unsubscribe(self._token)
        self._backlog.clear()


class MqttOutConfig(NodeConfig):
    topic: Text = Field("", description="topic; empty = msg.topic")
    qos: Text = Field("", description="0, 1, 2, or empty = msg.qos")
    retain: Text = Field("", description="true, false, or empty = msg.retain")
    broker: Text = node_ref("mqtt-broker")
    contentType: Text = ""


def encode_payload(payload: Any) -> bytes:
    """What Node-RED puts on the wire: bytes as they are, objects as JSON, the rest as text."""
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if payload is None or payload is UNDEFINED:
        return b""
    if isinstance(payload, (dict, list)):
        return js_json_dumps(payload).encode("utf-8")
    return to_js_string(payload).encode("utf-8")


class MqttOut(Node):
    type = "mqtt out"
    category = "network"
    outputs = 0
    Config = MqttOutConfig
    help = "Publishes msg.payload to an MQTT topic."

    def setup(self) -> None:
        cfg: MqttOutConfig = self.config  # type: ignore[assignment]
        if cfg.qos not in ("", "0", "1", "2"):
            raise ConfigError("qos", "qos must be 0, 1, 2 or empty")
        if cfg.retain not in ("", "true", "false"):
            raise ConfigError("retain", "retain must be true, false or empty")
        if any(c in cfg.topic for c in "+#"):
            raise ConfigError("topic", "a publish topic cannot contain + or # wildcards")
        self._conn: BrokerConnection | None = None

    async def start(self) -> None:
        self._conn = _broker_of(self, self.config.broker).register(self)  # type: ignore[attr-defined]

    async def on_message(self, msg: Message) -> None:
        cfg: MqttOutConfig = self.config  # type: ignore[assignment]
        topic = cfg.topic or msg.get("topic")
        if not isinstance(topic, str) or not topic:
            self.warn("mqtt out: no topic (set one on the node or in msg.topic); message dropped")
            return
        if "+" in topic or "#" in topic:
            self.error(f"invalid topic {topic!r}: wildcards cannot be published to", msg)
            return
        qos = int(cfg.qos) if cfg.qos else _int_or(msg.get("qos"), 0)
        retain = (cfg.retain == "true") if cfg.retain else bool(msg.get("retain") is True or
                                                                  msg.get("retain") == "true")
        props = None
        if msg.get("userProperties") or cfg.contentType or msg.get("contentType"):
            props = {}
            if isinstance(msg.get("userProperties"), dict):
                props["userProperties"] = msg["userProperties"]
            ct = cfg.contentType or msg.get("contentType")
            if ct:
                props["contentType"] = ct
        assert self._conn is not None
        self._conn.publish(topic, encode_payload(msg.get("payload")), qos if qos in (0, 1, 2) else 0, retain,
                           props)


def _int_or(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
