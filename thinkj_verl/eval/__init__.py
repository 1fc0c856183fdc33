"""Judgments -> benchmark scores: ``thinkj eval``.

- `thinkj_verl.eval.run`: the command (load the benchmark, generate resumably, score, report).
- `thinkj_verl.eval.store`: ``generations.jsonl``, its schema and resumable appends.
- `thinkj_verl.eval.scoring`: replies -> scored judgments through the one parser.
- `thinkj_verl.eval.metrics`: RewardBench sections, RM-Bench style matrix, judge diagnostics.
- `thinkj_verl.eval.report`: ``metrics.json``, ``report.md`` and plots.
- `thinkj_verl.eval.compare`: ``thinkj eval compare DIR1 DIR2 ...``.

Generation backends (vLLM, transformers) live in `thinkj_verl.generation`, shared with the
offline pair builder.
"""
