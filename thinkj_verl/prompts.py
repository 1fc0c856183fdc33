"""The judge prompt and the critic prompt, for every output format: the one place they live.

The judge reads a conversation and two responses, reasons, and ends with the final sentence
of its output format. The critic reads the same thing plus a given verdict and writes the
reasoning that supports it (critic-guided offline learning, Think-J section 3.2.1). The ending
is always quoted from `thinkj_verl.formats`, so what a prompt asks for is exactly what
`thinkj_verl.parser.parse_judgment` reads back.

``order`` says which response the judge sees first: ``"ab"`` shows ``pair.response_a`` as
Response (a); ``"ba"`` shows ``pair.response_b`` as Response (a). `shown` is the one place
that turns a pair and an order into what the judge sees: the two responses and the label as
seen (`label_for` is its label). `ORDERS` lists the orders.

>>> from thinkj_verl.data.pairs import Pair
>>> pair = Pair("p:0", "local", [{"role": "user", "content": "2+2?"}], "4", "5", GroundTruth("a", strength=3))
>>> messages = judge_messages(pair, "strength", order="ba")
>>> [m["role"] for m in messages]
['user']
>>> "[The Start of Response (a)]\\n5\\n[The End of Response (a)]" in messages[0]["content"]
True
>>> label_for(pair, "ba").to_dict()
{'better': 'b', 'strength': 3, 'scores': None}
"""

from __future__ import annotations

from dataclasses import dataclass

from thinkj_verl.formats import THINK_CLOSE, THINK_OPEN, get_format
from thinkj_verl.ground_truth import GroundTruth, other_side

ORDERS = ("ab", "ba")

JUDGE_INTRO = (
    "You are an impartial judge. Below is a conversation between a user and an AI assistant, "
    "followed by two candidate responses to the user's last message. Decide which response "
    "serves the user better."
)

CRITERIA = (
    "Weigh how well each response follows the user's instructions, whether it is correct and "
    "complete, how relevant and clear it is, the depth and accuracy of its detail, and whether "
    "it is safe and honest. Judge the content, not the surface: the order in which the two "
    "responses appear, their length and their style must not decide your verdict by "
    "themselves. Be as objective as you can."
)

THINKING = (
    f"Reason step by step inside {THINK_OPEN} and {THINK_CLOSE} first: compare the two "
    f"responses on the points that matter for this request. Then, after {THINK_CLOSE}, give "
    "your verdict."
)

CRITIC_INTRO = (
    "You are an expert reviewer. Below is a conversation between a user and an AI assistant, "
    "followed by two candidate responses to the user's last message, and the verdict on which "
    "response is better."
)

# Example scores for the critic's final sentence, consistent with the given verdict.
_CRITIC_SCORES = {"a": (80, 40), "b": (40, 80)}


def _turn_label(role: str) -> str:
    return {"user": "User", "assistant": "Assistant", "system": "System"}[role]


def render_conversation(conversation: list[dict]) -> str:
    """The conversation block: a single question alone, several turns one after another.

    >>> print(render_conversation([{"role": "user", "content": "Hi"}]))
    [The Start of the User's Question]
    Hi
    [The End of the User's Question]
    """
    if len(conversation) == 1 and conversation[0]["role"] == "user":
        return f"[The Start of the User's Question]\n{conversation[0]['content']}\n[The End of the User's Question]"
    turns = "\n\n".join(f"### {_turn_label(m['role'])}:\n{m['content']}" for m in conversation)
    return f"[The Start of the Conversation]\n{turns}\n[The End of the Conversation]"


@dataclass(frozen=True)
class Shown:
    """What the judge sees of a pair in one order: Response (a), Response (b), and the label."""

    response_a: str
    response_b: str
    label: GroundTruth


def shown(pair, order: str) -> Shown:
    """``pair`` as the judge sees it in ``order``: ``"ba"`` swaps the responses and the label.

    >>> from thinkj_verl.data.pairs import Pair
    >>> pair = Pair("p:0", "local", [{"role": "user", "content": "2+2?"}], "4", "5", GroundTruth("a"))
    >>> shown(pair, "ba")
    Shown(response_a='5', response_b='4', label=GroundTruth(better='b', strength=None, scores=None))
    """
    if order == "ab":
        return Shown(pair.response_a, pair.response_b, pair.label)
    if order == "ba":
        return Shown(pair.response_b, pair.response_a, pair.label.swapped())
    raise ValueError(f"order must be one of {ORDERS}, got {order!r}")


def label_for(pair, order: str) -> GroundTruth:
    """The label as the judge sees it when the responses are shown in ``order`` (`shown`'s label).

    >>> from thinkj_verl.data.pairs import Pair
    >>> pair = Pair("p:0", "local", [{"role": "user", "content": "2+2?"}], "4", "5",
    ...             GroundTruth("a", scores=(90, 20)))
    >>> label_for(pair, "ab").better, label_for(pair, "ba").scores
    ('a', (20.0, 90.0))
    """
    return shown(pair, order).label


def _body(pair, order: str) -> str:
    seen = shown(pair, order)
    return (
        f"{render_conversation(pair.conversation)}\n\n"
        f"[The Start of Response (a)]\n{seen.response_a}\n[The End of Response (a)]\n\n"
        f"[The Start of Response (b)]\n{seen.response_b}\n[The End of Response (b)]"
    )


def judge_messages(pair, fmt: str, order: str = "ab") -> list[dict]:
    """The judge prompt for ``pair`` in output format ``fmt``, as chat messages.

    One user message (every chat template accepts it): instructions, the conversation, the
    two responses between start/end markers, and the format's instruction for the ending.

    >>> from thinkj_verl.data.pairs import Pair
    >>> pair = Pair("p:0", "local", [{"role": "user", "content": "2+2?"}], "4", "5", GroundTruth("a"))
    >>> judge_messages(pair, "binary")[0]["content"].endswith(
    ...     '"Therefore, Response (a) is better." using (a) or (b) for the better response.')
    True
    """
    output_format = get_format(fmt)
    content = "\n\n".join(
        [JUDGE_INTRO, CRITERIA, _body(pair, order), THINKING, output_format.instruction]
    )
    return [{"role": "user", "content": content}]


def critic_messages(pair, fmt: str, order: str, verdict: str) -> list[dict]:
    """The critic prompt: the judge prompt's material plus the given ``verdict`` ('a' or 'b',
    as shown in ``order``), asking for reasoning that supports it and the same final sentence.

    >>> from thinkj_verl.data.pairs import Pair
    >>> pair = Pair("p:0", "local", [{"role": "user", "content": "2+2?"}], "4", "5", GroundTruth("a"))
    >>> text = critic_messages(pair, "strength", "ab", verdict="b")[0]["content"]
    >>> "given that Response (b) is better than Response (a)" in text
    True
    """
    if verdict not in ("a", "b"):
        raise ValueError(f"verdict must be 'a' or 'b', got {verdict!r}")
    output_format = get_format(fmt)
    other = other_side(verdict)
    score_a, score_b = _CRITIC_SCORES[verdict]
    ending = output_format.render(verdict=verdict, strength=2, score_a=score_a, score_b=score_b)
    task = (
        f"You are given that Response ({verdict}) is better than Response ({other}). Explain "
        f"why: write the reasoning that supports this verdict, comparing the two responses on "
        f"the points that matter for this request, inside {THINK_OPEN} and {THINK_CLOSE}. Do not "
        "mention that the verdict was given to you; reason as if you reached it yourself."
    )
    final = (
        f"{output_format.instruction} Your final sentence must name Response ({verdict}) as the "
        f"better one, for example: \"{ending}\""
    )
    content = "\n\n".join([CRITIC_INTRO, CRITERIA, _body(pair, order), task, final])
    return [{"role": "user", "content": content}]



# -- J1 sessions (thinkj_verl/j1): what one judgment session of a pair shows -------------------

POINTWISE_INTRO = (
    "You are an impartial judge. Below is a conversation between a user and an AI assistant, "
    "followed by one candidate response to the user's last message. Rate how well the response "
    "serves the user."
)
POINTWISE_CRITERIA = (
    "Weigh how well the response follows the user's instructions, whether it is correct and "
    "complete, how relevant and clear it is, the depth and accuracy of its detail, and whether "
    "it is safe and honest. Judge the content, not the surface: its length and style must not "
    "decide your score by themselves. Be as objective as you can."
)
POINTWISE_THINKING = (
    f"Reason step by step inside {THINK_OPEN} and {THINK_CLOSE} first. Then, after "
    f"{THINK_CLOSE}, give your score."
)


def pointwise_messages(pair, fmt: str, response: str) -> list[dict]:
    """J1's pointwise prompt: the conversation and ONE response of ``pair`` (``response`` 'a' or
    'b', canonical), to be scored alone in the pointwise format ``fmt``.

    >>> from thinkj_verl.data.pairs import Pair
    >>> pair = Pair("p:0", "local", [{"role": "user", "content": "2+2?"}], "4", "5", GroundTruth("a"))
    >>> text = pointwise_messages(pair, "pointwise", "b")[0]["content"]
    >>> "[The Start of the Response]\\n5\\n[The End of the Response]" in text, "4" in text
    (True, False)
    """
    output_format = get_format(fmt)
    if not output_format.pointwise:
        raise ValueError(f"pointwise_messages needs a pointwise format, got {fmt!r}")
    if response not in ("a", "b"):
        raise ValueError(f"response must be 'a' or 'b', got {response!r}")
    shown = pair.response_a if response == "a" else pair.response_b
    body = (
        f"{render_conversation(pair.conversation)}\n\n"
        f"[The Start of the Response]\n{shown}\n[The End of the Response]"
    )
    content = "\n\n".join([POINTWISE_INTRO, POINTWISE_CRITERIA, body, POINTWISE_THINKING, output_format.instruction])
    return [{"role": "user", "content": content}]


def session_messages(pair, fmt: str) -> list[tuple[str, list[dict]]]:
    """The prompts of one J1 judgment session of ``pair``, as ``(view, messages)``: a pairwise
    format shows the pair in both orders (views ``ab``, ``ba``); the pointwise format shows each
    response alone (views ``a``, ``b``, canonical responses).

    >>> from thinkj_verl.data.pairs import Pair
    >>> pair = Pair("p:0", "local", [{"role": "user", "content": "2+2?"}], "4", "5", GroundTruth("a"))
    >>> [view for view, _ in session_messages(pair, "binary")], [v for v, _ in session_messages(pair, "pointwise")]
    (['ab', 'ba'], ['a', 'b'])
    """
    if get_format(fmt).pointwise:
        return [(response, pointwise_messages(pair, fmt, response)) for response in ("a", "b")]
    return [(order, judge_messages(pair, fmt, order)) for order in ORDERS]
