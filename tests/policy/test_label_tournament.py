"""``thinkj label`` and ``thinkj tournament`` against scripted judges on the loopback address, exact counts."""

from __future__ import annotations

import json

from tests.policy.judge_servers import LONGER, prefers, serve_script
from thinkj_verl.cli import main as thinkj
from thinkj_verl.data.pairs import Pair, read_pairs, write_pairs
from thinkj_verl.ground_truth import GroundTruth

Q = [{"role": "user", "content": "Tell me about cats."}]



def _pairs(tmp_path):
    pairs = [
        # the longer response is (a) and labelled better: the length judge agrees
        Pair("p:0", "local", Q, "Cats are small, agile carnivores.", "Cats.", GroundTruth("a", 2)),
        # the longer response is (b) but the label says (a): the judge disagrees with the label
        Pair("p:1", "local", Q, "Meow.", "Cats purr when they are content.", GroundTruth("a")),
        # equal length: the length judge says (a) in both orders -> inconsistent, dropped
        Pair("p:2", "local", Q, "Cats nap.", "Cats run.", GroundTruth("b")),
        Pair("p:3", "local", Q, "Dogs.", "Cats are mammals of the family Felidae.", GroundTruth("b")),
    ]
    path = tmp_path / "pairs.jsonl"
    write_pairs(pairs, path)
    return path


def test_label_keeps_consistent_verdicts_counts_and_resumes(tmp_path, capsys):
    pairs = _pairs(tmp_path)
    out = tmp_path / "labelled"
    failing = {"ids": {"p:3"}}

    def judge(body):
        content = body["messages"][0]["content"]
        if any("Felidae" in content for _ in failing["ids"]):
            return 503, {"error": "busy"}
        return LONGER(body)

    with serve_script(judge) as (url, requests):
        code = thinkj(["label", "--judge-url", url, "--model", "gold", "--input", str(pairs), "--out", str(out),
                       "--max-concurrency", "2", "--max-attempts", "2"])
        first = json.loads(capsys.readouterr().out)
        assert code == 0
        assert (first["pairs"], first["judged_now"], first["failed"], first["resumed"]) == (4, 3, 1, 0)
        assert (first["kept_consistent"], first["inconsistent"], first["unparsable"]) == (2, 1, 0)
        assert first["agreement_with_original"] == 0.5
        assert first["calls"]["calls"] == 8 and first["calls"]["retries"] == 2 and first["calls"]["failed"] == 2
        assert len(requests) == 10  # 3 pairs x 2 orders + the failing pair's 2 orders x 2 attempts

        failing["ids"] = set()  # the server recovers: a rerun asks only for the pair that failed
        assert thinkj(["label", "--judge-url", url, "--model", "gold", "--input", str(pairs), "--out", str(out)]) == 0
        second = json.loads(capsys.readouterr().out)
        assert (second["judged_now"], second["resumed"], second["failed"], second["kept_consistent"]) == (1, 3, 0, 3)
        assert len(requests) == 12
    kept = {p.id: p for p in read_pairs(out / "pairs.jsonl")}
    assert sorted(kept) == ["p:0", "p:1", "p:3"]
    assert kept["p:1"].label.better == "b" and kept["p:1"].meta["agrees_with_original"] is False
    assert kept["p:0"].label.strength == 2 and kept["p:0"].meta["label_judge"] == "gold"


def _samples(tmp_path, prompts: int = 2, n: int = 8):
    path = tmp_path / "samples.jsonl"
    rows = [{"id": f"q{k}", "prompt": f"Describe cat number {k}.",
             "responses": [f"Cat {k}: " + "purr " * (i + 1) for i in range(n)]} for k in range(prompts)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, rows


def test_tournament_two_best_vs_two_worst_with_exact_judgment_counts(tmp_path, capsys):
    samples, rows = _samples(tmp_path)
    out = tmp_path / "dpo"
    with serve_script(LONGER) as (url, requests):
        assert thinkj(["tournament", "--judge", url, "--samples", str(samples), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    # 8 samples: 4 + 2 winners' matches, 2 losers' matches = 8 matches = 16 judgments per prompt
    assert summary["judgments_per_prompt"] == 16 and summary["judgments"] == 32 and len(requests) == 32
    assert (summary["prompts"], summary["dpo_pairs"], summary["prompts_with_pairs"]) == (2, 8, 2)
    per_prompt = [json.loads(line) for line in (out / "tournament.jsonl").read_text().splitlines()]
    for result in per_prompt:
        assert result["matches"] == 8 and result["judgments"] == 16 and result["undecided"] == 0
        assert 7 in result["best"] and 0 in result["worst"]  # the longest always wins; the shortest always loses
        assert not set(result["best"]) & set(result["worst"])
    dpo = [json.loads(line) for line in (out / "dpo.jsonl").read_text().splitlines()]
    assert len(dpo) == 8
    first = dpo[0]
    assert first["prompt"] == [{"role": "user", "content": "Describe cat number 0."}]
    assert len(first["chosen"][0]["content"]) > len(first["rejected"][0]["content"])
    assert first["chosen"][0]["role"] == first["rejected"][0]["role"] == "assistant"


def test_tournament_position_biased_judge_decides_nothing(tmp_path, capsys):
    samples, _ = _samples(tmp_path, prompts=1, n=5)
    out = tmp_path / "dpo"
    with serve_script(prefers(lambda a, b: "a")) as (url, requests):
        assert thinkj(["tournament", "--judge", url, "--samples", str(samples), "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    # round 1: 2 matches, both undecided (each order picks its own (a)) -> the bracket stops
    assert (summary["dpo_pairs"], summary["prompts_undecided"], summary["judgments"]) == (0, 1, 4)
    assert len(requests) == 4 and (out / "dpo.jsonl").read_text() == ""


def test_label_and_tournament_refuse_a_model_folder_and_fail_when_no_judge_answers(tmp_path, capsys):
    import socket

    pairs = _pairs(tmp_path)
    samples = tmp_path / "samples.jsonl"
    samples.write_text(json.dumps({"id": "q", "prompt": Q, "responses": ["a", "bb", "ccc", "dddd"]}) + "\n")
    # a model folder where the endpoint belongs: one line naming what to do, nothing written
    assert thinkj(["tournament", "--judge", str(tmp_path), "--samples", str(samples), "--out", str(tmp_path / "t")]) == 1
    assert "is a local path, not a judge endpoint: serve the model first" in capsys.readouterr().err
    assert not (tmp_path / "t").exists()
    # nothing listens on this port: every call fails, the run says so and exits 1 (outputs kept to resume)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code = thinkj(["label", "--judge-url", f"127.0.0.1:{port}", "--input", str(pairs), "--out", str(tmp_path / "l"),
                   "--max-attempts", "1"])
    err = capsys.readouterr().err
    assert code == 1
    assert "all 8 calls to the judge failed (8 attempts: 8 connection errors" in err and f"127.0.0.1:{port}" in err
    assert (tmp_path / "l" / "summary.json").is_file()
