"""Run-time faults (rate limits, 429 storms, latency, server errors) and call statistics."""

from __future__ import annotations

import dataclasses
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import too_many_requests
from sandbox.models import JSON

MAX_SEND_LOG = 100_000


@dataclass
class FaultConfig:
    """Everything here is off by default; the control API changes it at run time."""

    chat_limits: bool = False
    private_per_second: float = 1.0
    private_burst: int = 1
    group_per_minute: float = 20.0
    group_burst: int = 20
    global_limit: bool = False
    global_per_second: float = 30.0
    global_burst: int = 30
    storm_remaining: int = 0
    storm_retry_after: int = 5
    latency_ms: float = 0.0
    latency_max_ms: float | None = None
    error_rate: float = 0.0
    drop_rate: float = 0.0
    error_methods: list[str] | None = None
    seed: int | None = None

    def to_json(self) -> JSON:
        return dataclasses.asdict(self)

    def updated(self, changes: dict[str, Any]) -> FaultConfig:
        """A copy with ``changes`` applied; unknown names and wrong types raise ValueError."""
        known = {f.name: f for f in dataclasses.fields(self)}
        current = self.to_json()
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault setting {name!r}")
            current[name] = _coerce(name, value, current[name])
        return FaultConfig(**current)


def _coerce(name: str, value: Any, old: Any) -> Any:
    if value is None:
        if name in {"latency_max_ms", "error_methods", "seed"}:
            return None
        raise ValueError(f"{name} cannot be null")
    if name == "error_methods":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError("error_methods must be a list of method names")
        return [v.lower() for v in value]
    if isinstance(old, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be a boolean")
        return value
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative number")
    if name in {"latency_max_ms"} or isinstance(old, float):
        return float(value)
    return int(value)


class Bucket:
    """A token bucket: ``burst`` sends at once, refilled at ``rate`` per second."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.tokens = float(self.burst)
        self.stamp = time.monotonic()

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.stamp)
        self.tokens = min(self.burst, self.tokens + elapsed * self.rate)
        self.stamp = max(self.stamp, now)

    def wait_time(self, now: float) -> float:
        self._refill(now)
        if self.tokens >= 1 or self.rate <= 0:
            return 0.0 if self.tokens >= 1 else math.inf
        return (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class Faults:
    """Applies a FaultConfig to incoming calls."""

    def __init__(self) -> None:
        self.config = FaultConfig()
        self._buckets: dict[tuple[str, int], Bucket] = {}
        self._global: Bucket | None = None
        self._rng = random.Random()  # noqa: S311 - fault injection, not cryptography

    def configure(self, changes: dict[str, Any]) -> FaultConfig:
        self.config = self.config.updated(changes)
        self._buckets.clear()
        self._global = None
        if "seed" in changes and self.config.seed is not None:
            self._rng.seed(self.config.seed)
        return self.config

    def reset(self) -> None:
        self.config = FaultConfig()
        self._buckets.clear()
        self._global = None

    def latency(self) -> float:
        """Seconds this request should be delayed."""
        low = self.config.latency_ms
        high = self.config.latency_max_ms
        if high is not None and high > low:
            return self._rng.uniform(low, high) / 1000
        return low / 1000

    def _applies(self, method: str) -> bool:
        methods = self.config.error_methods
        return methods is None or method.lower() in methods

    def should_fail(self, method: str) -> bool:
        rate = self.config.error_rate
        return rate > 0 and self._applies(method) and self._rng.random() < rate

    def should_drop(self, method: str) -> bool:
        rate = self.config.drop_rate
        return rate > 0 and self._applies(method) and self._rng.random() < rate

    def admit_send(self, chat_id: int, is_private: bool) -> None:
        """Raise 429 if this send breaks a limit; otherwise spend its tokens."""
        config = self.config
        if config.storm_remaining > 0:
            config.storm_remaining -= 1
            raise too_many_requests(config.storm_retry_after)
        now = time.monotonic()
        buckets = [b for b in (self._global_bucket(), self._chat_bucket(chat_id, is_private)) if b]
        wait = max((b.wait_time(now) for b in buckets), default=0.0)
        if wait > 0:
            # Telegram rounds retry_after up to whole seconds and never answers 0.
            raise too_many_requests(max(1, math.ceil(wait)) if math.isfinite(wait) else 60)
        for bucket in buckets:
            bucket.take()

    def _global_bucket(self) -> Bucket | None:
        if not self.config.global_limit:
            return None
        if self._global is None:
            self._global = Bucket(self.config.global_per_second, self.config.global_burst)
        return self._global

    def _chat_bucket(self, chat_id: int, is_private: bool) -> Bucket | None:
        if not self.config.chat_limits:
            return None
        key = ("private" if is_private else "group", chat_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            if is_private:
                bucket = Bucket(self.config.private_per_second, self.config.private_burst)
            else:
                bucket = Bucket(self.config.group_per_minute / 60, self.config.group_burst)
            self._buckets[key] = bucket
        return bucket


@dataclass
class Stats:
    calls: Counter[str] = field(default_factory=Counter)
    too_many_requests: int = 0
    server_errors: int = 0
    dropped_connections: int = 0
    sent_messages: int = 0
    webhook_deliveries: int = 0
    webhook_failures: int = 0
    sends: list[JSON] = field(default_factory=list)
    refusals: list[float] = field(default_factory=list)  # when each 429 was answered
    started: float = field(default_factory=time.time)  # created or reset

    def record_refusal(self) -> None:
        self.too_many_requests += 1
        if len(self.refusals) < MAX_SEND_LOG:
            self.refusals.append(time.time())

    def record_send(self, method: str, chat_id: int, message_id: int) -> None:
        self.sent_messages += 1
        if len(self.sends) < MAX_SEND_LOG:
            self.sends.append(
                {"t": time.time(), "method": method, "chat_id": chat_id, "message_id": message_id}
            )

    def to_json(self) -> JSON:
        return {
            "calls": dict(self.calls),
            "total_calls": sum(self.calls.values()),
            "too_many_requests": self.too_many_requests,
            "server_errors": self.server_errors,
            "dropped_connections": self.dropped_connections,
            "sent_messages": self.sent_messages,
            "webhook_deliveries": self.webhook_deliveries,
            "webhook_failures": self.webhook_failures,
            "sends": list(self.sends),
            "too_many_requests_at": list(self.refusals),
        }
