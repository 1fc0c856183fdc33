"""Judgments -> benchmark scores: ``thinkj eval``.

- `thinkj_verl.eval.run`: the command (load the benchmark, generate resumably, score, report).
- `thinkj_verl.eval.store`: ``generations.jsonl``, its schema and resumable appends.
- `thinkj_verl.eval.scoring`: replies -> scored judgments through the one parser.
- `thinkj_verl.eval.metrics`: RewardBench sections, RM-Bench style matrix, pair-set ties, judge diagnostics.
- `thinkj_verl.eval.judgebench`: JudgeBench categories by the official net vote over the orders.
- `thinkj_verl.eval.rewardbench2`: RewardBench 2 best-of-4 subsets and the official Ties score.
- `thinkj_verl.eval.report`: ``metrics.json``, ``report.md`` and plots.
- `thinkj_verl.eval.compare`: ``thinkj eval compare DIR1 DIR2 ...``.

Generation backends (vLLM, transformers) live in `thinkj_verl.generation`, shared with the
offline pair builder.
"""
