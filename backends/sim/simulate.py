"""Replay an arrival trace through a fleet schedule, request by request.

Every request is an event stream: it arrives (Poisson from the trace's rate per
minute, or exactly as a request file says), takes an SLO class by the mix and a
route by the plan active at that moment (or is left unserved where the plan
says so), draws its completion tokens from its configuration's log-normal and
its video length, then passes through its stages:
- tool stages queue FIFO on one server of their pool (a GPU or a core; each
  tool has its own pool, jobs dealt round robin), service time from the tool
  profile; video Q/A runs scenes, then frames beside speech to text,
  then detection; code generation's test runs add to its LLM time;
- the LLM stage queues on one instance of its pool (round robin), as a FIFO server of the
  instance's saturation throughput (so queues build only when it is overloaded),
  and then takes `calls` TTFTs and its critical-path tokens at the p90 TPOT of
  the instance's load in that minute (bigger batches are slower per token).
A request meets its SLO when it is served, its configuration reaches the
class's quality and, for a latency class, its end-to-end time is within the
bound. GPUs, cores, energy (idle power while held, the busy-idle gap per token
or tool-second) and cost (held hours, hosted tokens) come from the schedule.
Deterministic for a seed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from murakkab.backends.sim.queues import finish_times
from murakkab.backends.sim.result import ClassStats, PolicyResult

from murakkab.fleet.classes import SloClass
from murakkab.fleet.plan import FleetPlan, LlmPool, ToolPool, tool_pool
from murakkab.fleet.serving import CPU
from murakkab.fleet.setup import Route
from murakkab.fleet.trace import Trace
from murakkab.fleet.workload import SCENE_S, VIDEO_S, FleetWorkflow
from murakkab.hardware import DEVICE_KINDS, device_kind


@dataclass(frozen=True)
class Segment:
    """From `start_s` on: `active` serves (routes, instance counts); `held` is paid for."""

    start_s: float
    active: FleetPlan
    held: FleetPlan


def simulate(
    policy: str,
    workflows: Sequence[FleetWorkflow],
    classes: Sequence[SloClass],
    streams: dict[str, str],
    trace: Trace,
    schedule: Sequence[Segment],
    seed: int = 0,
) -> PolicyResult:
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    minutes = trace.minutes
    starts = np.array([segment.start_s for segment in schedule])
    sim = _Run(rng, schedule, starts, minutes)
    stats: dict[str, ClassStats] = {}
    for workflow in workflows:
        arrive = arrivals(trace, streams[workflow.name], rng)
        mine = [c for c in classes if c.workflow == workflow.name]
        if not mine:
            continue
        stats.update(sim.workflow(workflow, mine, arrive))
    result = sim.finish(policy, stats)
    result.simulate_s = time.perf_counter() - started
    return result


def arrivals(trace: Trace, stream: str, rng: np.random.Generator) -> np.ndarray:
    """Arrival seconds of a stream: exact, or Poisson at the trace's rate per minute."""
    if trace.arrivals is not None and stream in trace.arrivals:
        return trace.arrivals[stream]
    rates = trace.rates[stream]
    counts = rng.poisson(np.maximum(rates, 0.0))
    minute = np.repeat(np.arange(len(rates)), counts)
    return np.sort(minute * 60.0 + rng.random(len(minute)) * 60.0)


class _Run:
    """One simulation: route registry, per-pool usage, and the clock of held resources."""

    def __init__(
        self,
        rng: np.random.Generator,
        schedule: Sequence[Segment],
        starts: np.ndarray,
        minutes: int,
    ):
        self.rng, self.schedule, self.starts, self.minutes = rng, schedule, starts, minutes
        self.tokens_on: dict[str, float] = {}  # pool key -> tokens served
        self.busy_s: dict[str, float] = {}  # tool pool key -> busy seconds
        self.hosted_usd = 0.0
        self.server_base: dict[str, int] = {}

    def workflow(
        self, workflow: FleetWorkflow, classes: list[SloClass], arrive: np.ndarray
    ) -> dict[str, ClassStats]:
        n = len(arrive)
        rng = self.rng
        shares = np.array([c.share for c in classes])
        cls = rng.choice(len(classes), size=n, p=shares / shares.sum())
        seg = np.clip(
            np.searchsorted(self.starts, arrive, side="right") - 1, 0, len(self.schedule) - 1
        )
        routes, pick = self._pick_routes(classes, cls, seg, rng.random(n))
        served = pick >= 0
        video_s = rng.uniform(*VIDEO_S, size=n)
        z = rng.standard_normal(n)
        latency = np.full(n, np.inf)
        quality = np.array([route.config.quality for route, _ in routes] + [0.0])[pick]
        ready, after = self._tools(workflow, routes, pick, seg, arrive, video_s)
        llm_done = self._llm(routes, pick, seg, ready, z)
        latency[served] = llm_done[served] + after[served] - arrive[served]
        stats = {}
        for index, c in enumerate(classes):
            mine = cls == index
            ok = served & mine & (quality >= c.min_quality - 1e-9)
            if c.max_latency_s is not None:
                ok &= latency <= c.max_latency_s
            done = latency[mine & served]
            p50, p90, p99 = np.percentile(done, [50, 90, 99]) if len(done) else (0.0, 0.0, 0.0)
            stats[c.id] = ClassStats(
                int(mine.sum()),
                int(ok.sum()),
                int((mine & ~served).sum()),
                float(p50),
                float(p90),
                float(p99),
                c.max_latency_s,
            )
        return stats

    def _pick_routes(
        self, classes: list[SloClass], cls: np.ndarray, seg: np.ndarray, u: np.ndarray
    ) -> tuple[list[tuple[Route, LlmPool]], np.ndarray]:
        """Each request's route (an index into the returned list; -1: unserved)."""
        registry: dict[tuple[Route, LlmPool], int] = {}
        routes: list[tuple[Route, LlmPool]] = []
        edges, targets = [], []
        for s, segment in enumerate(self.schedule):
            for c, klass in enumerate(classes):
                group = s * len(classes) + c
                options = segment.active.routes.get(klass.id, [])
                fractions = [f for _, f in options]
                total = sum(fractions) + segment.active.unserved.get(klass.id, 0.0)
                if total <= 0:
                    edges.append(group + 1.0)
                    targets.append(-1)
                    continue
                cumulative = group + np.cumsum(fractions) / total
                for (route, _), edge in zip(options, cumulative, strict=True):
                    key = (route, segment.active.pool_of(route))
                    if key not in registry:
                        registry[key] = len(routes)
                        routes.append(key)
                    edges.append(float(edge))
                    targets.append(registry[key])
                edges.append(group + 1.0)
                targets.append(-1)  # the unserved remainder
        group = seg * len(classes) + cls
        position = np.searchsorted(np.array(edges), group + np.minimum(u, 1 - 1e-12), side="right")
        return routes, np.array(targets)[position]

    def _instances(self, key: str, counts: np.ndarray, start: np.ndarray) -> np.ndarray:
        """A server number per job: round robin over the pool's servers in arrival order."""
        base = self.server_base.setdefault(key, len(self.server_base) * 1_000_000)
        rank = np.empty(len(start), dtype=np.int64)
        rank[np.argsort(start, kind="stable")] = np.arange(len(start))
        return base + rank % np.maximum(counts, 1).astype(np.int64)

    # ---- tool stages -----------------------------------------------------------------

    def _tools(
        self,
        workflow: FleetWorkflow,
        routes: list[tuple[Route, LlmPool]],
        pick: np.ndarray,
        seg: np.ndarray,
        arrive: np.ndarray,
        video_s: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(when the LLM stage may start, time its tool stages add after it)."""
        frames = np.array(
            [float(dict(r.config.knobs).get("frames", 1)) for r, _ in routes] + [0.0]
        )[pick]
        units = {
            "video.scene_detect": video_s,
            "speech.transcribe": video_s,
            "video.frame_extract": video_s / SCENE_S * frames,
            "vision.detect_objects": video_s / SCENE_S * frames,
            "code.run_tests": np.ones(len(pick)),
        }
        if workflow.shape != "video_qa":
            done = arrive.copy()
            for executor in ("code.run_tests",):
                done = self._stage(executor, routes, pick, seg, done, units[executor])
            return arrive, done - arrive
        scenes = self._stage(
            "video.scene_detect", routes, pick, seg, arrive, units["video.scene_detect"]
        )
        framed = self._stage(
            "video.frame_extract", routes, pick, seg, scenes, units["video.frame_extract"]
        )
        heard = self._stage(
            "speech.transcribe", routes, pick, seg, scenes, units["speech.transcribe"]
        )
        seen = self._stage(
            "vision.detect_objects", routes, pick, seg, framed, units["vision.detect_objects"]
        )
        return np.maximum(heard, seen), np.zeros(len(pick))

    def _stage(
        self,
        executor: str,
        routes: list[tuple[Route, LlmPool]],
        pick: np.ndarray,
        seg: np.ndarray,
        start: np.ndarray,
        units: np.ndarray,
    ) -> np.ndarray:
        """When each request's `executor` stage finishes (its start where the route has none)."""
        done = start.copy()
        by_pool: dict[ToolPool, list[int]] = {}
        fixed = np.zeros(len(routes) + 1)
        per_unit = np.zeros(len(routes) + 1)
        repeats = np.ones(len(routes) + 1)
        for index, (route, pool) in enumerate(routes):
            for stage, option in route.tools:
                if stage.executor != executor:
                    continue
                tool = tool_pool(pool.owner, stage, option)
                by_pool.setdefault(tool, []).append(index)
                fixed[index], per_unit[index] = (
                    option.profile.fixed_s,
                    option.profile.seconds_per_unit,
                )
                repeats[index] = stage.repeats
        for tool, indices in by_pool.items():
            mask = np.isin(pick, indices)
            if not mask.any():
                continue
            service = (fixed[pick[mask]] + per_unit[pick[mask]] * units[mask]) * repeats[pick[mask]]
            counts = np.array([s.active.tools.get(tool, 0) for s in self.schedule], dtype=float)
            server = self._instances(tool.key, counts[seg[mask]], start[mask])
            done[mask] = finish_times(server, start[mask], service)
            self.busy_s[tool.key] = self.busy_s.get(tool.key, 0.0) + float(service.sum())
        return done

    # ---- the LLM stage ---------------------------------------------------------------

    def _llm(
        self,
        routes: list[tuple[Route, LlmPool]],
        pick: np.ndarray,
        seg: np.ndarray,
        ready: np.ndarray,
        z: np.ndarray,
    ) -> np.ndarray:
        done = np.full(len(pick), np.inf)
        pools: dict[LlmPool, list[int]] = {}
        for index, (_, pool) in enumerate(routes):
            pools.setdefault(pool, []).append(index)
        mu = np.array([r.config.tokens_log_median for r, _ in routes] + [0.0])
        sigma = np.array([r.config.tokens_sigma for r, _ in routes] + [0.0])
        calls = np.array([r.config.sequential_calls for r, _ in routes] + [0.0])
        critical = np.array(
            [r.config.sequential_calls / r.config.llm_calls for r, _ in routes] + [0.0]
        )
        for pool, indices in pools.items():
            mask = np.isin(pick, indices)
            if not mask.any():
                continue
            p = pick[mask]
            tokens = np.exp(mu[p] + sigma[p] * z[mask])
            serving = pool.serving
            self.tokens_on[pool.key] = self.tokens_on.get(pool.key, 0.0) + float(tokens.sum())
            profile = serving.profile
            if serving.hosted:
                self.hosted_usd += float(tokens.sum()) * serving.price_per_token()
                done[mask] = (
                    ready[mask] + calls[p] * serving.ttft_s + critical[p] * tokens * serving.tpot_s
                )
                continue
            counts = np.array([s.active.llm.get(pool, 0) for s in self.schedule], dtype=float)[
                seg[mask]
            ]
            server = self._instances(pool.key, counts, ready[mask])
            work = tokens / profile.saturation_tps
            start = ready[mask]
            finish = finish_times(server, start, work)
            wait = finish - work - start
            load = _load_per_minute(server, start, tokens)
            loads = [point.load_tps for point in profile.points]
            tpot = np.interp(load, loads, [point.tpot_s for point in profile.points])
            ttft = np.interp(load, loads, [point.ttft_s for point in profile.points])
            done[mask] = start + wait + calls[p] * ttft + critical[p] * tokens * tpot
        return done

    # ---- what was held ---------------------------------------------------------------

    def finish(self, policy: str, stats: dict[str, ClassStats]) -> PolicyResult:
        minutes = self.minutes
        edges = [int(min(minutes, max(0, round(s.start_s / 60)))) for s in self.schedule] + [
            minutes
        ]
        groups: dict[str, np.ndarray] = {}
        cores = np.zeros(minutes)
        idle_wh = held_usd = 0.0
        for segment, (a, b) in zip(
            self.schedule, zip(edges, edges[1:], strict=False), strict=False
        ):
            if b <= a:
                continue
            hours = (b - a) / 60
            idle_wh += segment.held.idle_watts() * hours
            held_usd += segment.held.hourly_held_cost() * hours
            for pool, count in segment.held.llm.items():
                if not pool.serving.hosted:
                    name = f"{pool.serving.model}/{pool.serving.device}"
                    groups.setdefault(name, np.zeros(minutes))[a:b] += count * pool.serving.gpus
            for tool, count in segment.held.tools.items():
                if tool.device == CPU:
                    cores[a:b] += count
                else:
                    name = f"{tool.executor}/{tool.device}"
                    groups.setdefault(name, np.zeros(minutes))[a:b] += count
        busy_j = 0.0
        pools = {p.key: p for s in self.schedule for p in s.held.llm}
        for key, tokens in self.tokens_on.items():
            if key in pools:
                busy_j += tokens * pools[key].serving.joules_per_token()
        tools = {t.key: t for s in self.schedule for t in s.held.tools}
        for key, seconds in self.busy_s.items():
            found = device_kind(tools[key].device) if key in tools else None
            kind = found or DEVICE_KINDS["cpu-core"]
            busy_j += seconds * (kind.busy_watts - kind.idle_watts)
        energy_kwh = (idle_wh + busy_j / 3600) / 1000
        return PolicyResult(
            policy, minutes, groups, cores, energy_kwh, held_usd + self.hosted_usd, stats
        )


def _load_per_minute(server: np.ndarray, start: np.ndarray, tokens: np.ndarray) -> np.ndarray:
    """Each job's instance load (tokens/s) over the minute it starts in."""
    minute = (start // 60).astype(np.int64)
    key = server.astype(np.int64) * 100_000 + minute
    unique, inverse = np.unique(key, return_inverse=True)
    total = np.bincount(inverse, weights=tokens, minlength=len(unique))
    return total[inverse] / 60.0
