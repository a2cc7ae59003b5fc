"""mqtt-broker (config), tls-config (config), mqtt in and mqtt out, as Node-RED names them.

One BrokerConnection per broker config node is shared by every mqtt node that uses it. MQTT
input is pushed by the connection's reader; when the nodes downstream are full, messages
wait in a small bounded backlog and the connection stops reading its socket, so TCP flow
control pushes back on the broker instead of memory growing. At shutdown (quiesce) an mqtt in
unsubscribes and hands that backlog to the next inboxes: those messages were already acknowledged.
"""

from __future__ import annotations

import asyncio
import base64
from collections import deque
from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig, new_msgid
from flowengine.fields import JSBool, OptionalNumber, Text, node_ref
from flowengine.jsvalue import UNDEFINED, js_json_dumps, json_loads, to_js_string

from .connection import BrokerConnection, InboundMessage, SubscriptionOptions, TLSOptions, Will

_BACKLOG_HIGH = 256  # pause reading the socket above this many waiting messages
_BACKLOG_LOW = 32  # resume below this
# At shutdown: the backlog (at most _BACKLOG_HIGH) plus what was already on its way when we
# unsubscribed may be pushed past the inboxes' capacity; more means the broker ignores us.
_HANDOVER_LIMIT = 2 * _BACKLOG_HIGH
_MAX_U32 = 0xFFFFFFFF


class TlsConfigConfig(NodeConfig):
    ca: Text = Field("", description="CA certificate file")
    cert: Text = Field("", description="client certificate file")
    key: Text = Field("", description="client private key file")
    verifyservercert: JSBool = Field(True, description="verify the server certificate")
    servername: Text = Field("", description="server name for SNI / verification")


class TlsConfig(Node):
    type = "tls-config"
    color = "#d8bfd8"
    icon = "lock"
    category = "config"
    is_config = True
    inputs = 0
    outputs = 0
    Config = TlsConfigConfig
    # Certificates uploaded in Node-RED's editor are kept as PEM text in the credentials.
    credentials = {"cadata": "text", "certdata": "text", "keydata": "text", "passphrase": "password"}
    help = "TLS settings (CA, client certificate and key: files or uploaded PEM) shared by network nodes."

    def options(self) -> TLSOptions:
        cfg: TlsConfigConfig = self.config  # type: ignore[assignment]
        creds = self.creds
        return TLSOptions(ca_file=cfg.ca or None, cert_file=cfg.cert or None, key_file=cfg.key or None,
                          verify=cfg.verifyservercert, server_name=cfg.servername or None,
                          ca_data=creds.get("cadata") or None, cert_data=creds.get("certdata") or None,
                          key_data=creds.get("keydata") or None, passphrase=creds.get("passphrase") or None)


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
    willTopic: Text = ""
    willPayload: Text = ""
    willQos: Text = "0"
    willRetain: JSBool = False
    willMsg: dict[str, Any] | None = Field(None, description="MQTT v5 will properties")


class MqttBroker(Node):
    type = "mqtt-broker"
    color = "#d8bfd8"
    icon = "mqtt"
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
        if cfg.willQos not in ("", "0", "1", "2"):
            raise ConfigError("willQos", "willQos must be 0, 1 or 2")
        if any(c in cfg.willTopic for c in "+#"):
            raise ConfigError("willTopic", "a will topic cannot contain + or # wildcards")
        self._will = self._make_will()  # here, so bad will properties fail validation
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
            tls=tls, will=self._will, on_state=self._on_state, logger=self.log)
        if cfg.autoConnect:
            await self.connection.start()

    def _make_will(self) -> Will | None:
        cfg: MqttBrokerConfig = self.config  # type: ignore[assignment]
        if not cfg.willTopic:
            return None
        props = _v5_properties(cfg.willMsg or {}) if cfg.protocolVersion == "5" else None
        return Will(cfg.willTopic, cfg.willPayload.encode(), int(cfg.willQos or 0), cfg.willRetain, props or None)

    async def connect(self) -> None:
        """Dynamic control (mqtt in's msg.action = "connect")."""
        if self.connection is not None:
            await self.connection.start()

    async def disconnect(self) -> None:
        """Dynamic control: a polite disconnect (close message, no will); connect() reconnects."""
        cfg: MqttBrokerConfig = self.config  # type: ignore[assignment]
        if self.connection is not None:
            if cfg.closeTopic and self.connection.connected:
                self.connection.publish(cfg.closeTopic, cfg.closePayload.encode(), int(cfg.closeQos or 0),
                                        cfg.closeRetain)
            await self.connection.stop()

    async def stop(self) -> None:
        await self.disconnect()
        self._users.clear()


def _v5_properties(fields: dict[str, Any]) -> dict[str, Any]:
    """MQTT v5 properties from Node-RED's node fields (contentType, respTopic, correl, expiry,
    userProps as JSON text, delay) for a will or a publish; blank fields are left out."""
    props: dict[str, Any] = {}
    if fields.get("contentType"):
        props["contentType"] = str(fields["contentType"])
    if fields.get("respTopic"):
        props["responseTopic"] = str(fields["respTopic"])
    if fields.get("correl"):
        props["correlationData"] = str(fields["correl"]).encode()
    for key, name in (("expiry", "messageExpiryInterval"), ("delay", "willDelayInterval")):
        if fields.get(key) not in (None, ""):
            value = _int_or(fields[key], -1)
            if not 0 <= value <= _MAX_U32:
                raise ConfigError(key, f"{key} must be a whole number of seconds, got {fields[key]!r}")
            props[name] = value
    user = fields.get("userProps")
    if isinstance(user, str) and user.strip():
        try:
            user = json_loads(user)
        except ValueError as exc:
            raise ConfigError("userProps", f"userProps is not valid JSON: {exc}") from exc
    if user:
        if not isinstance(user, dict):
            raise ConfigError("userProps", "userProps must be a JSON object")
        props["userProperties"] = _user_properties(user)
    return props


def _user_properties(value: dict) -> dict[str, str]:
    # MQTT user properties are string pairs; numbers and booleans print as JavaScript would.
    return {str(k): v if isinstance(v, str) else to_js_string(v) for k, v in value.items()}


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
    inputs: OptionalNumber = Field(0, description="1 = dynamic: subscriptions are set by msg.action")
    nl: JSBool = Field(False, description="MQTT v5: no local (don't receive this connection's publishes)")
    rap: JSBool = Field(False, description="MQTT v5: retain as published")
    rh: Text = Field("0", description="MQTT v5 retain handling: 0 send, 1 only on a new subscription, 2 never")


class MqttIn(Node):
    type = "mqtt in"
    color = "#d8bfd8"
    icon = "mqtt"
    category = "network"
    inputs = 0
    Config = MqttInConfig
    help = ("Subscribes to an MQTT topic and sends each message received. With dynamic subscription "
            "(inputs: 1) msg.action subscribe / unsubscribe / getSubscriptions / connect / disconnect "
            "controls it.")

    def setup(self) -> None:
        cfg: MqttInConfig = self.config  # type: ignore[assignment]
        self._dynamic = bool(cfg.inputs)
        if not cfg.topic and not self._dynamic:
            raise ConfigError("topic", "topic is empty")
        if cfg.qos not in ("0", "1", "2"):
            raise ConfigError("qos", "qos must be 0, 1 or 2")
        if cfg.datatype not in ("auto-detect", "auto", "utf8", "buffer", "json", "base64"):
            raise ConfigError("datatype", f"unknown datatype {cfg.datatype!r}")
        if cfg.rh not in ("", "0", "1", "2"):
            raise ConfigError("rh", "rh (retain handling) must be 0, 1 or 2")
        self._options = SubscriptionOptions(no_local=cfg.nl, retain_as_published=cfg.rap,
                                            retain_handling=int(cfg.rh or 0))
        self._backlog: deque[Message] = deque()
        # topic filter -> (connection token, qos, options) for every subscription of this node
        self._subs: dict[str, tuple[int, int, SubscriptionOptions]] = {}
        self._conn: BrokerConnection | None = None
        self._broker: MqttBroker | None = None
        self._wake: asyncio.Event | None = None
        # The routes of the message run() is delivering, until all are done: while set, newer
        # messages must queue behind it (the fast path would overtake it).
        self._in_flight: deque[tuple[Node, Message]] | None = None
        self._run_task: asyncio.Task | None = None
        self._quiescing = False
        self._handed_over = 0
        self._dropped = 0

    async def start(self) -> None:
        cfg: MqttInConfig = self.config  # type: ignore[assignment]
        self._wake = asyncio.Event()
        self._broker = _broker_of(self, cfg.broker)
        self._conn = self._broker.register(self)
        if cfg.topic and not self._dynamic:  # as in Node-RED, a dynamic node starts unsubscribed
            self._subscribe(cfg.topic, int(cfg.qos), self._options)

    # ------------------------------------------------------------------ subscriptions
    def _subscribe(self, topic: str, qos: int, options: SubscriptionOptions) -> None:
        assert self._conn is not None
        old = self._subs.get(topic)
        if old is not None:
            if old[1:] == (qos, options):
                return
            self._conn.unsubscribe(old[0])  # re-subscribing replaces the old QoS/options
            del self._subs[topic]
        token = self._conn.subscribe(topic, qos, self._on_inbound, options)
        self._subs[topic] = (token, qos, options)

    def _unsubscribe(self, topic: str) -> None:
        entry = self._subs.pop(topic, None)
        if entry is not None and self._conn is not None:
            self._conn.unsubscribe(entry[0])

    async def on_message(self, msg: Message) -> None:
        # Only control messages are handled; nothing is ever passed through (Node-RED's mqtt in
        # has no input at all unless dynamic).
        if not self._dynamic:
            return
        action = msg.get("action")
        if action == "subscribe":
            self._action_subscribe(msg)
        elif action == "unsubscribe":
            self._action_unsubscribe(msg)
        elif action == "getSubscriptions":
            msg["payload"] = list(self._subs)
            await self.send(msg)
        elif action == "connect":
            assert self._broker is not None
            if isinstance(msg.get("broker"), dict):
                self.warn("connect: changing the broker settings from msg.broker is not supported; "
                          "connecting with the configured ones")
            await self._broker.connect()
        elif action == "disconnect":
            assert self._broker is not None
            await self._broker.disconnect()
        elif isinstance(action, str) and action:
            self.warn(f"unknown msg.action {action!r}: use subscribe, unsubscribe, getSubscriptions, "
                      "connect or disconnect")

    def _action_subscribe(self, msg: Message) -> None:
        topics = msg.get("topic")
        for item in topics if isinstance(topics, list) else [topics]:
            qos: Any = self.config.qos  # type: ignore[attr-defined]
            options = self._options
            if isinstance(item, dict):
                topic = item.get("topic")
                qos = item.get("qos", qos)
                try:
                    options = SubscriptionOptions(
                        no_local=_flag(item.get("nl"), options.no_local),
                        retain_as_published=_flag(item.get("rap"), options.retain_as_published),
                        retain_handling=int(item.get("rh", options.retain_handling)))
                except (TypeError, ValueError):
                    self.error(f"invalid subscription options in {item!r}", msg)
                    continue
            else:
                topic = item
            if not isinstance(topic, str) or not topic:
                self.error(f"subscribe: msg.topic must be a topic string, an object with a topic, or a list "
                           f"of those, got {item!r}", msg)
                continue
            try:
                self._subscribe(topic, int(qos), options)
            except (TypeError, ValueError) as exc:
                self.error(f"cannot subscribe to {topic!r}: {exc}", msg)

    def _action_unsubscribe(self, msg: Message) -> None:
        topics = msg.get("topic")
        if topics is True:
            for topic in list(self._subs):
                self._unsubscribe(topic)
            return
        for item in topics if isinstance(topics, list) else [topics]:
            topic = item.get("topic") if isinstance(item, dict) else item
            if isinstance(topic, str):
                self._unsubscribe(topic)
            else:
                self.error(f"unsubscribe: msg.topic must be a topic string, a list of them, or true, "
                           f"got {item!r}", msg)

    # ------------------------------------------------------------------ inbound
    def _convert(self, m: InboundMessage) -> Any:
        dt = self.config.datatype  # type: ignore[attr-defined]
        data = m.payload
        if dt == "buffer":
            return data
        if dt == "base64":
            return base64.b64encode(data).decode()
        if dt == "utf8":
            return data.decode("utf-8", errors="replace")  # as Buffer.toString('utf8'): never fails
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            if dt == "json":
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
        if self._quiescing:  # already acknowledged: hand it on for the shutdown drain
            backlog.append(msg)
            self._hand_over()
            return
        if not backlog and self._in_flight is None and self._targets_have_space():
            self.send_nowait(msg)
            return
        backlog.append(msg)
        if len(backlog) >= _BACKLOG_HIGH and self._conn is not None:
            self._conn.pause_reading()
        if self._wake is not None:
            self._wake.set()

    def _targets_have_space(self) -> bool:
        return all(t._inbox.has_space() for port in self._wires for t in port)

    async def run(self) -> None:
        """Drain the backlog with backpressure, resuming the socket when it is short again."""
        self._run_task = asyncio.current_task()
        backlog = self._backlog
        assert self._wake is not None
        while True:
            if not backlog:
                self._wake.clear()
                await self._wake.wait()
                continue
            # Route by hand so that quiesce() knows which deliveries are still to do if we are
            # cancelled while waiting for space.
            routes = deque(self._routes(backlog.popleft()))
            self._in_flight = routes
            while routes:
                target, m = routes[0]
                await self._deliver(target, m)
                routes.popleft()
            self._in_flight = None
            if len(backlog) <= _BACKLOG_LOW and self._conn is not None and not self._quiescing:
                self._conn.resume_reading()

    async def quiesce(self) -> None:
        """Shutdown: stop the broker sending, then hand every accepted message to the next inboxes
        (past their capacity, bounded by _HANDOVER_LIMIT) so the engine's drain delivers them."""
        self._quiescing = True
        if self._conn is not None:
            for token, _qos, _options in self._subs.values():
                self._conn.withdraw(token)
        task = self._run_task
        if task is not None and task is not asyncio.current_task() and not task.done():
            # Stop run() first (the engine cancels it next anyway): a delivery it is waiting on
            # must not land after the hand-over, out of order or twice.
            task.cancel()
            await asyncio.wait([task], timeout=1.0)
        in_flight, self._in_flight = self._in_flight, None
        for target, m in in_flight or ():
            target._inbox.put_nowait(m)
        self._hand_over()

    def _hand_over(self) -> None:
        backlog = self._backlog
        while backlog:
            if self._handed_over >= _HANDOVER_LIMIT:
                if not self._dropped and self._conn is not None:
                    self._conn.pause_reading()  # stop acknowledging what we cannot keep
                self._dropped += len(backlog)
                backlog.clear()
                return
            self._handed_over += 1
            for target, m in self._routes(backlog.popleft()):
                target._inbox.put_nowait(m)

    async def stop(self) -> None:
        if self._conn is not None:
            for token, _qos, _options in self._subs.values():
                self._conn.unsubscribe(token)
        self._subs.clear()
        lost = self._dropped + len(self._backlog)
        if lost:
            self.warn(f"shutdown: {lost} received messages dropped ({self._handed_over} handed on to the flow)")
        self._backlog.clear()


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


class MqttOutConfig(NodeConfig):
    topic: Text = Field("", description="topic; empty = msg.topic")
    qos: Text = Field("", description="0, 1, 2, or empty = msg.qos")
    retain: Text = Field("", description="true, false, or empty = msg.retain")
    broker: Text = node_ref("mqtt-broker")
    # MQTT v5 properties; a value set on the node wins over the one on the msg.
    contentType: Text = ""
    respTopic: Text = Field("", description="v5 response topic; empty = msg.responseTopic")
    correl: Text = Field("", description="v5 correlation data; empty = msg.correlationData")
    expiry: Text = Field("", description="v5 message expiry (s); empty = msg.messageExpiryInterval")
    userProps: Text = Field("", description="v5 user properties as a JSON object; empty = msg.userProperties")


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
    color = "#d8bfd8"
    icon = "mqtt"
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
        if any(c in cfg.respTopic for c in "+#"):
            raise ConfigError("respTopic", "a response topic cannot contain + or # wildcards")
        self._props = _v5_properties(cfg.model_dump(include={"contentType", "respTopic", "correl", "expiry",
                                                             "userProps"}))
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
        props = {**self._msg_properties(msg), **self._props}
        assert self._conn is not None
        self._conn.publish(topic, encode_payload(msg.get("payload")), qos if qos in (0, 1, 2) else 0, retain,
                           props or None)

    def _msg_properties(self, msg: Message) -> dict[str, Any]:
        """v5 properties carried on the msg (e.g. copied from an mqtt in, for request/response)."""
        props: dict[str, Any] = {}
        ct = msg.get("contentType")
        if isinstance(ct, str) and ct:
            props["contentType"] = ct
        rt = msg.get("responseTopic")
        if isinstance(rt, str) and rt:
            if "+" in rt or "#" in rt:  # the broker would drop the connection over it
                self.warn(f"ignoring msg.responseTopic {rt!r}: wildcards are not allowed")
            else:
                props["responseTopic"] = rt
        cd = msg.get("correlationData")
        if cd is not None and cd is not UNDEFINED and cd != "":
            props["correlationData"] = encode_payload(cd)
        exp = _int_or(msg.get("messageExpiryInterval"), -1)
        if 0 <= exp <= _MAX_U32:
            props["messageExpiryInterval"] = exp
        up = msg.get("userProperties")
        if isinstance(up, dict) and up:
            props["userProperties"] = _user_properties(up)
        return props


def _int_or(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
