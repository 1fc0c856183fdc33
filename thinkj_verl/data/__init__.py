"""Preference data -> judge-training data.

- `thinkj_verl.data.pairs`: the canonical `Pair` record and its files (jsonl / json / parquet).
- `thinkj_verl.data.sources`: converters from each preference set to canonical pairs.
- `thinkj_verl.data.prepare`: ``thinkj prepare``, pairs -> verl RLHFDataset parquet.
- `thinkj_verl.data.lengths`: prompt lengths in the judge's tokens (the length filter).
- `thinkj_verl.data.dataset`: ``JudgePairDataset``, verl's ``data.custom_cls`` that renders the
  judge prompt from canonical pairs at load time.

The judge and critic prompts themselves live in `thinkj_verl.prompts`.
"""

from thinkj_verl.data.pairs import Pair, PairError, read_pairs, write_pairs

__all__ = ["Pair", "PairError", "read_pairs", "write_pairs"]
