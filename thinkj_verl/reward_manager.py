"""The ``thinkj`` reward manager for verl's reward loop.

Select it with ``reward.reward_manager.name=thinkj``. Per sample it decodes the response,
notices a reply cut at the length limit (passed to the reward function as
``extra_info["truncated"]``: a format failure for every function in ``reward_fns/``), calls the
configured reward function and returns ``reward_score`` with the function's components, plus
``truncated`` and ``reward_error``, in ``reward_extra_info``.

A reply is cut when the rollout says so (``finish_reason == "length"`` in the rollout's extra
fields, as the ``thinkj_cpu`` backend reports), or, when the rollout does not say, when it used
all ``actor_rollout_ref.rollout.response_length`` tokens without ending on a stop id (the
tokenizer's EOS or any ``eos_token_id`` of the model's generation config). The limit is the
configured length, not the tensor's width: verl's streaming reward path (v1 trainer) hands
replies over unpadded, where every reply fills its tensor.

The reward function is ``reward.custom_reward_function`` when its ``path`` is set, else
`thinkj_verl.rewards.DEFAULT_REWARD_PATH` (``reward_fns.thinkj_strength``) with
``reward.custom_reward_function.reward_kwargs``. A function marked `thinkj_verl.rewards.pure`
is called on the event loop; the manager reads the mark on the function the config names,
loaded with verl's own loader, not through the wrapper verl hands over.

A reward function that raises on one sample does not stop a multi-node job: the sample is
scored as that function scores an empty (format-failed) reply, ``reward_error`` is 1 for it,
and the first few failures are logged with the sample's index and the exception. Bad
``reward_kwargs`` (a typo in a weight name) are caught when the manager is built, before the
first rollout.
"""

from __future__ import annotations

import inspect
import logging
from functools import partial

from verl.experimental.reward_loop.reward_manager import register
from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase
from verl.utils.import_utils import load_extern_object

from thinkj_verl.rewards import DEFAULT_REWARD_PATH, RewardKwargsError, is_pure

logger = logging.getLogger(__name__)

MAX_LOGGED_FAILURES = 5
# A label every reward function accepts, for the probe call at construction.
_PROBE_LABEL = {"better": "a", "strength": 2, "scores": [60.0, 40.0]}


def _raw_reward_function(config):
    """The reward function the config names (``path`` and ``name``), else the default's
    ``compute_score``: the plain function, before any keyword binding."""
    function_config = config.reward.get("custom_reward_function") or {}
    if function_config.get("path"):
        return load_extern_object(function_config["path"], function_config.get("name") or "compute_score")
    return load_extern_object(DEFAULT_REWARD_PATH, "compute_score")


def _default_reward_function(config):
    function_config = config.reward.get("custom_reward_function") or {}
    reward_kwargs = dict(function_config.get("reward_kwargs") or {})
    return partial(_raw_reward_function(config), **reward_kwargs)


_COLOCATED_HELP = (
    "the thinkj reward manager got a sample without data_source/reward_model/extra_info: verl's "
    "colocated reward-model path (reward.reward_model.enable=true with "
    "reward.reward_model.enable_resource_pool=false) passes only prompts and responses, so the "
    "labels and reference replies our rewards need never arrive. Set "
    "reward.reward_model.enable_resource_pool=true (with reward.reward_model.n_gpus_per_node and "
    "reward.reward_model.nnodes) to give the judge its own pool, where verl passes every row's fields."
)


class MissingLabelsError(ValueError):
    """verl called the manager without the row's labels (colocated reward-model mode)."""


def _refuse_colocated_reward_model(config) -> None:
    reward_model = config.reward.get("reward_model") or {}
    if reward_model.get("enable") and not reward_model.get("enable_resource_pool"):
        raise MissingLabelsError(_COLOCATED_HELP)


def _response_limit(config) -> int | None:
    """``actor_rollout_ref.rollout.response_length`` (None when the config does not carry it)."""
    from omegaconf import OmegaConf

    try:
        limit = OmegaConf.select(config, "actor_rollout_ref.rollout.response_length", default=None)
    except Exception:  # a plain dict or a partial config
        limit = None
    return int(limit) if limit is not None else None


def _stop_ids(config, tokenizer) -> set[int]:
    """The tokenizer's EOS and every ``eos_token_id`` in the policy's generation config."""
    from omegaconf import OmegaConf

    ids = set()
    eos = tokenizer.eos_token_id
    ids.update(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    try:
        path = OmegaConf.select(config, "actor_rollout_ref.model.path", default=None)
    except Exception:
        path = None
    if path:
        try:
            from transformers import GenerationConfig

            generation_eos = GenerationConfig.from_pretrained(path).eos_token_id
        except Exception:  # no generation_config.json (or a hub id offline): the tokenizer's EOS stands
            generation_eos = None
        ids.update(generation_eos if isinstance(generation_eos, list) else [generation_eos] if generation_eos is not None else [])
    return {int(i) for i in ids}


def check_reward_manager(config) -> None:
    """Build the configured reward manager once, in the calling process, when it is ours.

    verl builds reward managers inside its reward-loop Ray workers; a bad ``reward_kwargs`` raised
    there kills the worker, and the trainer can then wait on dead workers instead of stopping.
    The ``thinkj`` v1 trainer calls this when it starts, so the same error ends the launch at
    once, with its message (naming the key), before any model is loaded.
    """
    from verl.trainer.ppo.reward import load_reward_manager, resolve_reward_manager_cls
    from verl.utils import hf_tokenizer

    if not issubclass(resolve_reward_manager_cls(config), ThinkJRewardManager):
        return
    model = config.actor_rollout_ref.model
    tokenizer = hf_tokenizer(model.get("tokenizer_path") or model.path, trust_remote_code=model.get("trust_remote_code", False))
    load_reward_manager(config, tokenizer)


@register("thinkj")
class ThinkJRewardManager(RewardManagerBase):
    """Scores judge replies with a rule-based reward function, one sample per call."""

    def __init__(
        self, config, tokenizer, compute_score=None, reward_router_address=None, reward_model_tokenizer=None
    ):
        super().__init__(config, tokenizer, compute_score)
        function_config = config.reward.get("custom_reward_function") or {}
        if not function_config.get("path"):
            # verl hands every manager its generic default scorer when no path is set; ours is Think-J's.
            compute_score = _default_reward_function(config)
        self.compute_score = compute_score
        self.is_async = inspect.iscoroutinefunction(compute_score)
        # A file path is loaded once more here (verl's loader does not cache it); reading the mark
        # is the only use of that copy.
        self.is_pure = not self.is_async and is_pure(_raw_reward_function(config))
        self.num_failures = 0
        self._failure_row = None
        _refuse_colocated_reward_model(config)
        self.response_limit = _response_limit(config)
        self.stop_ids = _stop_ids(config, tokenizer)
        if not self.is_async:
            self._probe()

    def _probe(self) -> None:
        """Score an empty reply once: bad reward_kwargs fail here, before the first rollout.

        The result is also the row a raising sample gets, so every row has the same keys.
        """
        try:
            self._failure_row = self.compute_score(
                data_source="thinkj/probe", solution_str="", ground_truth=_PROBE_LABEL, extra_info={"truncated": True}
            )
        except RewardKwargsError as error:
            key = f".{error.key}" if getattr(error, "key", None) else ""
            raise ValueError(f"reward.custom_reward_function.reward_kwargs{key}: {error}") from error
        except TypeError as error:
            if "keyword argument" in str(error):
                raise ValueError(
                    f"reward.custom_reward_function.reward_kwargs do not fit the reward function: {error}"
                ) from error
            self._failure_row = None
        except Exception:  # a custom function with its own label schema: learn the row on first failure
            self._failure_row = None

    def _call(self, data_item) -> dict:
        """The reward function's keyword arguments for one sample, response decoded."""
        response_ids = data_item.batch["responses"]
        response_length = response_ids.shape[-1]
        valid_length = int(data_item.batch["attention_mask"][-response_length:].sum())
        valid_ids = response_ids[:valid_length]
        non_tensor = data_item.non_tensor_batch
        truncated = self._truncated(valid_ids, non_tensor.get("tool_extra_fields"))
        extra_info = dict(non_tensor.get("extra_info") or {})
        extra_info["truncated"] = truncated
        return dict(
            data_source=non_tensor["data_source"],
            solution_str=self.tokenizer.decode(valid_ids, skip_special_tokens=True),
            ground_truth=non_tensor["reward_model"]["ground_truth"],
            extra_info=extra_info,
        )

    def _truncated(self, valid_ids, rollout_fields) -> bool:
        finish_reason = rollout_fields.get("finish_reason") if isinstance(rollout_fields, dict) else None
        if finish_reason in ("length", "stop"):
            return finish_reason == "length"
        limit = self.response_limit or len(valid_ids)
        return len(valid_ids) >= limit > 0 and int(valid_ids[-1]) not in self.stop_ids

    def _call_and_score(self, data_item):
        call = self._call(data_item)
        try:
            return call, self.compute_score(**call), None
        except Exception as exception:  # one bad sample must not kill the job
            return call, None, exception

    async def run_single(self, data) -> dict:
        data_item = data[-1:][0]  # multi-sequence outputs: only the last sequence is scored
        if "data_source" not in data_item.non_tensor_batch:
            raise MissingLabelsError(_COLOCATED_HELP)
        if self.is_pure:
            # Microseconds of scoring plus a Rust decode: cheaper here than through a thread.
            call, result, exception = self._call_and_score(data_item)
        elif self.is_async:
            call = self._call(data_item)
            try:
                result, exception = await self.compute_score(**call), None
            except Exception as error:  # one bad sample must not kill the job
                result, exception = None, error
        else:
            call, result, exception = await self.loop.run_in_executor(None, self._call_and_score, data_item)
        if exception is not None:
            result = await self._failure_result(call, exception, data_item.non_tensor_batch)

        if isinstance(result, dict):
            score = float(result["score"])
            components = {key: value for key, value in result.items() if key != "score"}
        else:
            score = float(result)
            components = {"acc": score}
        components["truncated"] = 1.0 if call["extra_info"]["truncated"] else 0.0
        components["reward_error"] = 0.0 if exception is None else 1.0
        return {"reward_score": score, "reward_extra_info": components}

    async def _failure_result(self, call: dict, exception: Exception, non_tensor) -> dict | float:
        self.num_failures += 1
        if self.num_failures <= MAX_LOGGED_FAILURES:
            index = call["extra_info"].get("index", non_tensor.get("index"))
            logger.warning(
                "thinkj reward function raised on sample index=%s (pair %s), scored as a format failure "
                "(failure %d; only the first %d are logged): %s: %s",
                index,
                call["extra_info"].get("pair_id"),
                self.num_failures,
                MAX_LOGGED_FAILURES,
                type(exception).__name__,
                exception,
            )
        if self._failure_row is None:
            # Learn the row from an empty (format-failed) reply with this sample's own label.
            empty = dict(call, solution_str="", extra_info={"truncated": True})
            try:
                result = self.compute_score(**empty)
                self._failure_row = await result if inspect.isawaitable(result) else result
            except Exception:
                return 0.0
        return self._failure_row


# The J1 manager subclasses this one; imported here, at the end, so that importing either module
# registers both ("thinkj" and "thinkj_pair"), whichever the plugin's import hook meets first.
from thinkj_verl.j1 import reward_manager as _j1  # noqa: E402,F401
