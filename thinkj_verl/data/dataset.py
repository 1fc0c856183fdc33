"""``JudgePairDataset``: verl's ``data.custom_cls`` for canonical pair files.

One pair file serves every output format and order ablation: the judge prompt is rendered
when an item is read, from options under ``data.thinkj`` in the verl config::

    data.custom_cls.path=pkg://thinkj_verl.data.dataset
    data.custom_cls.name=JudgePairDataset
    data.train_files=DIR/pairs_train.parquet data.val_files=DIR/pairs_val.parquet
    +data.thinkj.format=strength            # strength | binary | scores | answer_tag
    +data.thinkj.orders=both                # both | balanced | ab | pair  (random: balanced's older name)
    +data.thinkj.seed=0
    +data.thinkj.shuffle_order_each_epoch=true   # balanced: a new balanced draw every epoch
    +data.thinkj.val_orders=both            # orders for the validation files

Items are shaped exactly like verl's ``RLHFDataset`` items (``raw_prompt``, ``data_source``,
``reward_model``, ``extra_info`` with ``pair_id`` / ``order`` / ``source`` / ``subset``,
``index``, ``tools_kwargs``, ``interaction_kwargs``, ``dummy_tensor``), and the class subclasses
it, so the agent loop's class methods, checkpoint resume and the config keys it reads
(``max_prompt_length``, ``filter_overlong_prompts``, ``shuffle``, ``seed``...) behave the same.

``orders: both`` makes two items per pair (the dataset is twice as long); ``ab`` one; ``random``
one per pair, the better response at (a) for exactly half of the pairs in each epoch's draw;
``pair`` one J1 session item per pair (`thinkj_verl.data.rows.pair_row`, for the ``thinkj_pair``
agent loop; the only policy of the ``pointwise`` format).
A new draw each epoch needs to know the epoch, which verl does not tell a dataset: the class
counts how often each item was read, in a shared-memory tensor that dataloader worker
processes update too (each item is read once per epoch by verl's samplers). After a resume
from a checkpoint the count starts again from zero.

The length filter (``data.filter_overlong_prompts``) drops a pair when any prompt it can
produce is longer than ``data.max_prompt_length``; the drops are counted in ``self.skipped``.
"""

from __future__ import annotations

import os
from collections import Counter

import numpy as np
import torch
from omegaconf import ListConfig
from verl.utils.dataset.rl_dataset import RLHFDataset

from thinkj_verl.data.lengths import PieceLengths
from thinkj_verl.data.pairs import Pair, read_pairs
from thinkj_verl.data.rows import BALANCED, ORDER_POLICIES, PAIR_ORDER, assign_orders, canonical_policy, judge_row, pair_row
from thinkj_verl.formats import get_format

# The columns a canonical pair file must have (preflight checks data files against these).
REQUIRED_COLUMNS = ("id", "conversation", "response_a", "response_b", "better")


def _column_problems(path: str) -> list[str]:
    """The cheap check: a parquet file's schema has the canonical columns."""
    if not path.endswith(".parquet"):
        return []
    import pyarrow.parquet as pq

    try:
        columns = pq.read_schema(path).names
    except Exception as e:
        return [f"{path}: not a readable parquet file ({e})"]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if not missing:
        return []
    hint = (
        " This looks like a prepared judge-training file (verl's stock RLHFDataset reads it); "
        "JudgePairDataset reads canonical pairs (pairs_train.parquet from `thinkj prepare`)."
        if "prompt" in columns and "reward_model" in columns
        else ""
    )
    return [f"{path}: missing column(s) {missing} of a canonical pair file.{hint}"]


def validate_pair_file(path) -> list[str]:
    """Problems that keep ``path`` from loading as canonical pairs; empty when it is fine.

    >>> validate_pair_file("no/such/file.parquet")
    ['no/such/file.parquet: no such file']
    """
    path = str(path)
    if not os.path.exists(path):
        return [f"{path}: no such file"]
    problems = _column_problems(path)
    if problems:
        return problems
    try:
        read_pairs(path)
    except (ValueError, OSError) as e:
        return [str(e)]
    return []


def _file_list(files) -> list:
    return list(files) if isinstance(files, (list, ListConfig)) else [files]


def _given_val_files(data_files, config) -> bool:
    """Whether verl built this dataset from ``data.val_files``: the only thing that tells.

    verl 0.9.1 builds both datasets with the same data config; ``create_rl_dataset``
    (verl/trainer/ppo/utils.py:110) is called with ``is_train`` and ``data.train_files`` or
    ``data.val_files`` but hands the class only the files. So the validation set is the one given
    ``data.val_files``; when both keys name the same files the two datasets are one and the
    training options (``orders``) apply to both. A caller that knows passes ``is_train``.
    """
    files = _file_list(data_files)
    return files == _file_list(config.get("val_files", None)) and files != _file_list(config.get("train_files", None))


class JudgePairDataset(RLHFDataset):
    """Canonical preference pairs rendered as judge prompts at load time (see module docstring)."""

    def __init__(self, data_files, tokenizer, config, processor=None, max_samples: int = -1,
                 is_train: bool | None = None):
        options = config.get("thinkj", None) or {}
        self.judge_format = get_format(options.get("format", "strength")).name
        self.is_validation = not is_train if is_train is not None else _given_val_files(data_files, config)
        self.order_policy = options.get("val_orders", "both") if self.is_validation else options.get("orders", "both")
        if self.order_policy not in ORDER_POLICIES:
            raise ValueError(
                f"data.thinkj.{'val_orders' if self.is_validation else 'orders'} must be one of "
                f"{ORDER_POLICIES}, got {self.order_policy!r}"
            )
        if get_format(self.judge_format).pointwise and self.order_policy != PAIR_ORDER:
            raise ValueError(
                f"data.thinkj.{'val_orders' if self.is_validation else 'orders'}={self.order_policy!r}: the "
                f"{self.judge_format} format scores one response at a time; set it to {PAIR_ORDER!r} "
                "(with actor_rollout_ref.rollout.agent.default_agent_loop=thinkj_pair)"
            )
        seed = options.get("seed", None)
        self.order_seed = seed if seed is not None else (config.get("seed", None) or 0)
        self.shuffle_order_each_epoch = bool(options.get("shuffle_order_each_epoch", False)) and not self.is_validation
        self.skipped: Counter = Counter()
        super().__init__(data_files, tokenizer, config, processor=processor, max_samples=max_samples)

    # -- loading -------------------------------------------------------------------------------

    def _read_files_and_tokenize(self):
        pairs: list[Pair] = []
        first_file: dict[str, str] = {}
        for path in self.data_files:
            problems = _column_problems(str(path))
            if problems:
                raise ValueError("; ".join(problems))
            for pair in read_pairs(path):
                if pair.id in first_file:
                    raise ValueError(
                        f"{path}: pair id {pair.id!r} is also in {first_file[pair.id]}; "
                        "ids must be unique across data files"
                    )
                first_file[pair.id] = str(path)
                pairs.append(pair)
        total = len(pairs)
        print(f"dataset len: {total} pairs ({self.judge_format} format, orders {self.order_policy})")

        if 0 < self.max_samples < total:
            if self.shuffle:
                rng = np.random.default_rng(*((self.seed,) if self.seed is not None else ()))
                indices = sorted(rng.choice(total, size=self.max_samples, replace=False).tolist())
            else:
                indices = range(self.max_samples)
            pairs = [pairs[i] for i in indices]
            print(f"selected {self.max_samples} pairs out of {total}")

        if self.filter_overlong_prompts:
            pairs = self._drop_overlong(pairs)
        self.pairs = pairs
        self._epoch_orders: dict[int, list[str]] = {}
        if self.order_policy == "both":
            self.items = [(i, order) for i in range(len(pairs)) for order in ("ab", "ba")]
        elif self.order_policy in ("ab", PAIR_ORDER):
            self.items = [(i, self.order_policy) for i in range(len(pairs))]
        else:
            self.items = [(i, None) for i in range(len(pairs))]
        # Reads per item; shared with dataloader workers so the epoch count survives them.
        self.visits = torch.zeros(len(self.items), dtype=torch.int32).share_memory_()

    def _drop_overlong(self, pairs: list[Pair]) -> list[Pair]:
        orders = ("ab",) if self.order_policy == "ab" else ("ab", "ba")
        template_kwargs = dict(self.apply_chat_template_kwargs)
        for key in ("tokenize", "return_dict", "return_tensors"):  # as verl's own filter does
            template_kwargs.pop(key, None)
        # Each text tokenized once; prompts near the limit are counted in full (see PieceLengths).
        counter = PieceLengths(self.tokenizer, self.judge_format, **template_kwargs)
        kept_indices, _ = counter.filter(pairs, orders, self.max_prompt_length)
        kept = [pairs[i] for i in kept_indices]
        dropped = len(pairs) - len(kept)
        if dropped:
            self.skipped[f"prompt longer than {self.max_prompt_length} tokens"] += dropped
        print(f"filter dataset len: {len(kept)} pairs ({dropped} longer than {self.max_prompt_length} tokens)")
        return kept

    # -- items ---------------------------------------------------------------------------------

    def __len__(self):
        return len(self.items)

    def order_of(self, item: int, epoch: int = 0) -> str:
        """The order item ``item`` is shown in during ``epoch``."""
        pair_index, order = self.items[item]
        if order is not None:
            return order
        if epoch not in self._epoch_orders:
            self._epoch_orders[epoch] = [o[0] for o in assign_orders(self.pairs, BALANCED, self.order_seed, epoch)]
        return self._epoch_orders[epoch][pair_index]

    def __getitem__(self, item):
        epoch = 0
        if self.shuffle_order_each_epoch and canonical_policy(self.order_policy) == BALANCED:
            epoch = int(self.visits[item])
            self.visits[item] += 1
        pair_index, _ = self.items[item]
        order = self.order_of(item, epoch)
        if order == PAIR_ORDER:
            row = pair_row(self.pairs[pair_index], self.judge_format, index=item)
        else:
            row = judge_row(self.pairs[pair_index], self.judge_format, order, index=item)
        # The same keys RLHFDataset.__getitem__ adds (the agent loop and trainer read them).
        row["raw_prompt"] = row["prompt"]
        row["dummy_tensor"] = torch.tensor([0], dtype=torch.uint8)
        row["index"] = item
        row["tools_kwargs"] = {}
        row["interaction_kwargs"] = {}
        return row

    def split(self, num_splits: int):
        raise NotImplementedError("JudgePairDataset does not support split(); use one dataset per worker")

