"""Asking a judge over HTTP: one pair, both orders, parsed by the one parser.

Any server that speaks OpenAI chat completions (``POST /v1/chat/completions``) will do: the
``thinkj_cpu`` backend's server behind verl's reward router, a vLLM server of a larger "gold"
judge, a hosted API. The judge reward for a policy (``reward_fns/judge_reward.py``), the gold
judge's diagnostics and ``thinkj label`` all ask through `JudgeClient`.

A call never raises for the server's sake: a timeout, a refused connection, a 5xx or a 429 is
retried up to ``max_attempts`` times with a doubling pause; then the call returns a
`ChatResult` with ``text=None`` and the reason, and ``JudgeClient.counts`` says how many calls,
retries, timeouts, HTTP errors and failures there were. A 4xx other than 429 is not retried
(the request itself is wrong).

``order`` is as in `thinkj_verl.prompts`: in ``"ab"`` the judge sees ``pair.response_a`` as
Response (a), in ``"ba"`` it sees ``pair.response_b`` as Response (a). `PairVerdict` turns the
two verdicts back into canonical sides.

>>> chat_url("127.0.0.1:8000"), chat_url("http://h/v1"), chat_url("https://h/v1/chat/completions")
('http://127.0.0.1:8000/v1/chat/completions', 'http://h/v1/chat/completions', 'https://h/v1/chat/completions')
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from dataclasses import dataclass, field

from thinkj_verl.formats import get_format
from thinkj_verl.ground_truth import other_side
from thinkj_verl.parser import Judgment, parse_judgment, pointwise_verdict
from thinkj_verl.prompts import ORDERS, judge_messages, pointwise_messages

RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
COUNT_KEYS = ("calls", "attempts", "retries", "timeouts", "http_errors", "connection_errors", "bad_replies", "failed")


def chat_url(url: str) -> str:
    """The chat-completions endpoint of ``url``: a bare ``host:port`` (what verl's reward router
    gives), a base URL, a ``.../v1`` URL or the endpoint itself. A local file or folder is refused:
    the judge must be served first.

    >>> chat_url("127.0.0.1:8000"), chat_url("http://gold:8000/v1")
    ('http://127.0.0.1:8000/v1/chat/completions', 'http://gold:8000/v1/chat/completions')
    """
    if os.path.exists(url):
        raise ValueError(
            f"{url!r} is a local path, not a judge endpoint: serve the model first (for example "
            f"`vllm serve {url} --port 8000`) and pass its address (127.0.0.1:8000)"
        )
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = f"http://{url}"
    if url.endswith("/chat/completions"):
        return url
    if url.endswith("/v1"):
        return f"{url}/chat/completions"
    return f"{url}/v1/chat/completions"


def unreachable(counts) -> str | None:
    """Why no call reached the judge (every call failed), else None: a run that judged nothing
    must not end as a success.

    >>> unreachable({"calls": 4, "failed": 4, "connection_errors": 12, "attempts": 12})
    'all 4 calls to the judge failed (12 attempts: 12 connection errors, 0 timeouts, 0 HTTP errors, 0 unreadable replies)'
    >>> unreachable({"calls": 4, "failed": 1}) is None
    True
    """
    calls = counts.get("calls", 0)
    if not calls or counts.get("failed", 0) < calls:
        return None
    return (
        f"all {calls} calls to the judge failed ({counts.get('attempts', 0)} attempts: "
        f"{counts.get('connection_errors', 0)} connection errors, {counts.get('timeouts', 0)} timeouts, "
        f"{counts.get('http_errors', 0)} HTTP errors, {counts.get('bad_replies', 0)} unreadable replies)"
    )


def add_judge_arguments(parser, url_flag: str, url_help: str) -> None:
    """The options every command that asks a served judge shares (``thinkj label``, ``thinkj
    tournament``): where the judge is, its model name and pairwise format, reply limit, calls in flight."""
    from thinkj_verl import argtypes
    from thinkj_verl.formats import PAIRWISE_FORMATS

    parser.add_argument(url_flag, required=True, help=url_help)
    parser.add_argument("--model", help="the model name the endpoint serves")
    parser.add_argument("--format", default="strength", choices=PAIRWISE_FORMATS,
                        help="the judge's (pairwise) output format")
    parser.add_argument("--max-tokens", type=argtypes.positive_int, help="judge reply limit (default: the server's)")
    parser.add_argument("--max-concurrency", type=argtypes.positive_int, default=8, help="calls in flight")


def finish(prog: str, summary: dict, url: str, out) -> int:
    """Print a command's summary; exit 1 naming the endpoint when no call reached the judge."""
    import json
    import sys

    print(json.dumps(summary, indent=2))
    failure = unreachable(summary["calls"])
    if failure:
        print(f"{prog}: {failure}: is the judge served at {url}? (outputs kept in {out})", file=sys.stderr)
        return 1
    return 0


def canonical_side(order: str, verdict: str | None) -> str | None:
    """The response a verdict picks, in canonical terms (``pair.response_a`` is ``"a"``).

    >>> canonical_side("ba", "a"), canonical_side("ab", "a"), canonical_side("ab", None)
    ('b', 'a', None)
    """
    if verdict is None:
        return None
    if order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, got {order!r}")
    return verdict if order == "ab" else other_side(verdict)


@dataclass
class ChatResult:
    """One chat call: the reply text (None when every attempt failed) and how it went."""

    text: str | None
    finish_reason: str | None = None
    attempts: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None


@dataclass
class PairVerdict:
    """A pair judged in both orders: the two calls, the two parsed judgments (None when the call
    failed), and what they say in canonical terms.

    >>> from thinkj_verl.parser import parse_judgment
    >>> ab = parse_judgment("Therefore, Response (a) is better.", "binary")
    >>> ba = parse_judgment("Therefore, Response (b) is better.", "binary")
    >>> v = PairVerdict({"ab": ChatResult("x"), "ba": ChatResult("y")}, {"ab": ab, "ba": ba})
    >>> v.sides, v.winner, v.consistent
    ({'ab': 'a', 'ba': 'a'}, 'a', True)
    """

    calls: dict[str, ChatResult]
    judgments: dict[str, Judgment | None]

    @property
    def sides(self) -> dict[str, str | None]:
        return {order: canonical_side(order, j.verdict if j is not None else None) for order, j in self.judgments.items()}

    @property
    def parsed(self) -> bool:
        """Both orders gave a well-formed verdict."""
        return all(j is not None and j.format_ok and j.verdict is not None for j in self.judgments.values())

    @property
    def consistent(self) -> bool:
        """Both orders parsed and picked the same response."""
        return self.parsed and len(set(self.sides.values())) == 1

    @property
    def winner(self) -> str | None:
        """``"a"`` or ``"b"`` (canonical) when both orders agree, else None."""
        return next(iter(self.sides.values())) if self.consistent else None

    @property
    def failed_calls(self) -> int:
        return sum(not call.ok for call in self.calls.values())

    @property
    def format_failures(self) -> int:
        """Orders whose call returned a reply that did not parse."""
        return sum(
            call.ok and (j is None or not j.format_ok or j.verdict is None)
            for call, j in zip(self.calls.values(), self.judgments.values())
        )


@dataclass
class PointwiseVerdict:
    """A pair judged pointwise (J1): each response scored alone, keyed by its canonical side. There
    is no order to disagree with, so a read pair is consistent; equal scores are a tie (no winner).

    >>> from thinkj_verl.parser import parse_judgment
    >>> a = parse_judgment("Therefore, the score of the response is [[8]].", "pointwise")
    >>> b = parse_judgment("Therefore, the score of the response is [[3]].", "pointwise")
    >>> v = PointwiseVerdict({"a": ChatResult("x"), "b": ChatResult("y")}, {"a": a, "b": b})
    >>> v.scores, v.winner, v.consistent
    ({'a': 8, 'b': 3}, 'a', True)
    """

    calls: dict[str, ChatResult]
    judgments: dict[str, Judgment | None]

    @property
    def scores(self) -> dict[str, int | None]:
        return {side: j.score if j is not None and j.format_ok else None for side, j in self.judgments.items()}

    @property
    def parsed(self) -> bool:
        """Both responses got a well-formed score."""
        return all(score is not None for score in self.scores.values())

    @property
    def consistent(self) -> bool:
        return self.parsed

    @property
    def winner(self) -> str | None:
        """The response with the higher score; None for a tie or a missing score."""
        return pointwise_verdict(self.scores["a"], self.scores["b"])

    @property
    def failed_calls(self) -> int:
        return sum(not call.ok for call in self.calls.values())

    @property
    def format_failures(self) -> int:
        """Responses whose call returned a reply without a well-formed score."""
        return sum(call.ok and self.scores[side] is None for side, call in self.calls.items())


@dataclass
class JudgeClient:
    """A judge behind an OpenAI-compatible chat-completions endpoint.

    ``url``: ``host:port``, a base URL or the endpoint. ``model``: the ``model`` field of each
    request (vLLM checks it; the ``thinkj_cpu`` server ignores it). ``max_tokens`` None lets the
    server decide. ``timeout_s`` bounds one attempt; ``max_attempts`` bounds the attempts of one
    call; ``backoff_s`` is the first pause between attempts (doubling, at most 30 s).
    ``max_concurrency`` bounds calls in flight; ``min_interval_s`` spaces the starts of calls
    (a rate limit for a paid or shared endpoint).
    """

    url: str
    model: str | None = None
    fmt: str = "strength"
    max_tokens: int | None = None
    temperature: float = 0.0
    timeout_s: float = 120.0
    max_attempts: int = 3
    backoff_s: float = 0.5
    max_concurrency: int | None = None
    min_interval_s: float = 0.0
    api_key: str | None = None
    counts: Counter = field(default_factory=Counter)

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s}")
        self.endpoint = chat_url(self.url)
        self._limits: dict = {}  # per event loop: (semaphore, lock, [last start])

    def _loop_limits(self):
        loop = asyncio.get_running_loop()
        if loop not in self._limits:
            semaphore = asyncio.Semaphore(self.max_concurrency) if self.max_concurrency else None
            self._limits = {loop: (semaphore, asyncio.Lock(), [0.0])}
        return self._limits[loop]

    def _body(self, messages: list[dict]) -> dict:
        body = {"messages": messages, "temperature": self.temperature}
        if self.model is not None:
            body["model"] = self.model
        if self.max_tokens is not None:
            body["max_tokens"] = self.max_tokens
        return body

    async def _space_out(self, lock, last_start) -> None:
        if self.min_interval_s <= 0:
            return
        async with lock:
            wait = last_start[0] + self.min_interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            last_start[0] = time.monotonic()

    async def chat(self, messages: list[dict], http=None) -> ChatResult:
        """One chat call with bounded retries; never raises for a server's failure.

        ``http``: an ``httpx.AsyncClient`` to reuse (one is opened for this call otherwise).
        """
        import httpx

        if http is None:
            async with httpx.AsyncClient() as own:
                return await self.chat(messages, own)
        semaphore, lock, last_start = self._loop_limits()
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else None
        self.counts["calls"] += 1
        error = None
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                self.counts["retries"] += 1
                await asyncio.sleep(min(self.backoff_s * 2 ** (attempt - 2), 30.0))
            self.counts["attempts"] += 1
            retry = True
            try:
                if semaphore is not None:
                    await semaphore.acquire()
                try:
                    await self._space_out(lock, last_start)
                    response = await http.post(self.endpoint, json=self._body(messages), headers=headers,
                                               timeout=self.timeout_s)
                finally:
                    if semaphore is not None:
                        semaphore.release()
            except httpx.TimeoutException as exc:
                self.counts["timeouts"] += 1
                error = f"timeout after {self.timeout_s} s ({type(exc).__name__})"
                continue
            except httpx.HTTPError as exc:
                self.counts["connection_errors"] += 1
                error = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code != 200:
                self.counts["http_errors"] += 1
                error = f"HTTP {response.status_code}: {response.text[:200]}"
                retry = response.status_code in RETRY_STATUS
                if not retry:
                    break
                continue
            try:
                choice = response.json()["choices"][0]
                text = choice["message"]["content"]
                if not isinstance(text, str):
                    raise TypeError(f"content is {type(text).__name__}")
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                self.counts["bad_replies"] += 1
                error = f"not a chat-completions reply ({type(exc).__name__}: {exc})"
                continue
            return ChatResult(text, choice.get("finish_reason"), attempt)
        self.counts["failed"] += 1
        return ChatResult(None, None, attempt, error)

    def parse(self, result: ChatResult) -> Judgment | None:
        """The parsed judgment of a call (a reply cut at ``max_tokens`` is a format failure)."""
        if not result.ok:
            return None
        return parse_judgment(result.text, self.fmt, truncated=result.finish_reason == "length")

    async def judge_pair(self, pair, http=None) -> PairVerdict | PointwiseVerdict:
        """Ask about ``pair`` in both orders at once and parse both replies; with a pointwise
        format, ask for the score of each response alone instead (both at once)."""
        import httpx

        if http is None:
            async with httpx.AsyncClient() as own:
                return await self.judge_pair(pair, own)
        if get_format(self.fmt).pointwise:
            views = {side: pointwise_messages(pair, self.fmt, side) for side in ("a", "b")}
            verdict_type = PointwiseVerdict
        else:
            views = {order: judge_messages(pair, self.fmt, order) for order in ORDERS}
            verdict_type = PairVerdict
        calls = dict(zip(views, await asyncio.gather(*(self.chat(messages, http) for messages in views.values()))))
        return verdict_type(calls, {view: self.parse(call) for view, call in calls.items()})
