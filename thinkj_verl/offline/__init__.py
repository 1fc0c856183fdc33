"""Offline judge training: thinking initialization (select, clip), critic-guided pairs, trl recipes.

- `thinkj_verl.offline.select`: LIMJ-style selection funnel (difficulty -> diversity -> accuracy).
- `thinkj_verl.offline.clip`: reasoning-model output -> ``<think>`` explanation + final sentence.
- `thinkj_verl.offline.dpo_pairs`: critic-guided DPO pairs, the sampling baseline, RISE-Judge filters.
- `thinkj_verl.offline.train`: ``thinkj train sft|dpo|bt`` with trl from ``recipes/offline``.
"""
