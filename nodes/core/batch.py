"""batch: group messages into sequences by count, by time interval, or by concatenating sequences
of given topics."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flowengine import ConfigError, Message, Node, NodeConfig
from flowengine.clock import TimerHandle
from flowengine.fields import JSBool
from flowengine.jsvalue import UNDEFINED, is_number, to_number
from flowengine.message import clone_message, new_msgid

DEFAULT_MAX_BUFFERED = 10_000


class BatchConfig(NodeConfig):
    mode: str = Field("count", description="count | interval | concat")
    count: Any = Field(10, description="count: messages per sequence")
    overlap: Any = Field(0, description="count: messages repeated at the start of the next sequence")
    interval: Any = Field(10, description="interval: seconds per sequence")
    allowEmptySequence: JSBool = Field(False, description="interval: send an empty message when none arrived")
    topics: list[dict] = Field(default_factory=list, description="concat: [{topic}] sequences joined in order")


def _number(value: Any, default: float) -> float:
    """Node-RED's `Number(value || default)`."""
    if value in (None, "", 0, False):
        return default
    n = to_number(value)
    return n if is_number(n) else float("nan")


class Batch(Node):
    type = "batch"
    color = "#e2d96e"
    icon = "batch"
    category = "sequence"
    Config = BatchConfig
    help = ("Creates sequences of messages (msg.parts): every N messages, every interval, or by "
            "concatenating one sequence per listed topic.")

    def setup(self) -> None:
        cfg: BatchConfig = self.config  # type: ignore[assignment]
        self._mode = cfg.mode or "count"
        if self._mode == "count":
            count, overlap = _number(cfg.count, 1), _number(cfg.overlap, 0)
            if not (count >= 1) or not float(count).is_integer():
                raise ConfigError("count", f"invalid count {cfg.count!r}")
            if not (0 <= overlap < count) or not float(overlap).is_integer():
                raise ConfigError("overlap", f"overlap must be a whole number below the count, got {cfg.overlap!r}")
            self._count, self._overlap = int(count), int(overlap)
        elif self._mode == "interval":
            interval = _number(cfg.interval, 0)
            if not (interval > 0):
                raise ConfigError("interval", f"invalid interval {cfg.interval!r}")
            self._interval = float(interval)
        elif self._mode == "concat":
            topics: list[Any] = []
            for i, spec in enumerate(cfg.topics):
                if "topic" not in spec:
                    raise ConfigError(f"topics[{i}].topic", "topic missing")
                topics.append(spec["topic"])
            self._topics = topics
        else:
            raise ConfigError("mode", f"unknown mode {self._mode!r}")
        self._allow_empty = bool(cfg.allowEmptySequence)
        self._queue: list[Message] = []  # count and interval modes
        self._by_topic: dict[Any, list[dict]] = {}  # concat: topic -> groups in arrival order
        self._held = 0  # messages held in concat mode
        self._timer: TimerHandle | None = None
        self._due = 0.0
        self._max = DEFAULT_MAX_BUFFERED

    async def start(self) -> None:
        self._max = int(self.host.setting("max_buffered", DEFAULT_MAX_BUFFERED) or 0)
        if self._mode == "interval":
            self._start_interval()

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._queue.clear()
        self._by_topic.clear()
        self._held = 0

    # ------------------------------------------------------------------ sending
    @staticmethod
    def _sequence(msgs: list[Message], copy: bool) -> list[Message]:
        """Number `msgs` as one sequence whose id is the first message's _msgid."""
        count = len(msgs)
        seq_id = msgs[0].get("_msgid") or new_msgid()
        out = []
        for i, m in enumerate(msgs):
            if copy:
                m = clone_message(m)
            parts = m.get("parts")
            if not isinstance(parts, dict):
                parts = m["parts"] = {}
            parts["id"] = seq_id
            parts["index"] = i
            parts["count"] = count
            out.append(m)
        return out

    async def _send_all(self, msgs: list[Message]) -> None:
        for m in msgs:
            await self.send(m)

    def _too_many(self, msg: Message) -> None:
        self._queue.clear()
        self._by_topic.clear()
        self._held = 0
        self.error("Too many pending messages in batch node", msg)

    # ------------------------------------------------------------------ input
    async def on_message(self, msg: Message) -> None:
        if "reset" in msg:
            self._queue.clear()
            self._by_topic.clear()
            self._held = 0
            if self._mode == "interval":
                self._start_interval()
            return
        if self._mode == "count":
            await self._add_count(msg)
        elif self._mode == "interval":
            self._queue.append(msg)
            if self._max > 0 and len(self._queue) > self._max:
                self._too_many(msg)
        else:
            await self._add_concat(msg)

    async def _add_count(self, msg: Message) -> None:
        queue = self._queue
        queue.append(msg)
        if len(queue) >= self._count:
            overlap = self._overlap
            # overlapping messages go out twice, so they are sent as copies
            out = self._sequence(queue, copy=overlap > 0)
            self._queue = queue[len(queue) - overlap:] if overlap else []
            await self._send_all(out)
        elif self._max > 0 and len(queue) > self._max:
            self._too_many(msg)

    # ------------------------------------------------------------------ interval
    def _start_interval(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._due = self.clock.monotonic() + self._interval
        self._timer = self.clock.call_later(self._interval, self._tick)

    def _tick(self) -> None:
        # re-arm from the planned time, so the period does not drift
        self._due += self._interval
        self._timer = self.clock.call_later(max(0.0, self._due - self.clock.monotonic()), self._tick)
        queue, self._queue = self._queue, []
        if queue:
            self.send_nowait([self._sequence(queue, copy=False)])
        elif self._allow_empty:
            self.send_nowait({"payload": None, "parts": {"id": new_msgid(), "index": 0, "count": 1}})

    # ------------------------------------------------------------------ concat
    async def _add_concat(self, msg: Message) -> None:
        topic = msg.get("topic", UNDEFINED)
        parts = msg.get("parts")
        if topic not in self._topics or not isinstance(parts, dict) or "id" not in parts \
                or "index" not in parts:
            return
        groups = self._by_topic.setdefault(topic, [])
        group = next((g for g in groups if g["id"] == parts["id"]), None)
        if group is None:
            group = {"id": parts["id"], "count": UNDEFINED, "msgs": []}
            groups.append(group)
        group["msgs"].append(msg)
        if "count" in parts:
            group["count"] = parts["count"]
        self._held += 1
        if self._max > 0 and self._held > self._max:
            self._too_many(msg)
            return
        ready = self._take_ready()
        if ready is not None:
            await self._send_all(self._sequence(ready, copy=False))

    def _take_ready(self) -> list[Message] | None:
        """When every listed topic has its next sequence complete, take them, in topic order."""
        needed: dict[Any, int] = {}
        for topic in self._topics:
            needed[topic] = needed.get(topic, 0) + 1
        for topic, n in needed.items():
            groups = self._by_topic.get(topic, [])
            if len(groups) < n:
                return None
            for g in groups[:n]:
                if not is_number(g["count"]) or len(g["msgs"]) != g["count"]:
                    return None
        msgs: list[Message] = []
        for topic in self._topics:
            group = self._by_topic[topic].pop(0)
            ordered = sorted(group["msgs"], key=lambda m: _index_key(m["parts"].get("index")))
            msgs.extend(ordered)
        self._held -= len(msgs)
        return msgs


def _index_key(value: Any) -> float:
    return value if is_number(value) else float("inf")
