"""Per-GPU memory plan of a verl FSDP + vLLM run, from the model's ``config.json`` alone.

``thinkj preflight --gpu-memory GIB`` prints it. The arithmetic follows what verl 0.9.1's v1
trainer keeps on each GPU in each phase of a step, in the worst case (every sequence at
``max_prompt_length + max_response_length`` tokens):

- FSDP shards every trained model over all ``nnodes x n_gpus_per_node`` GPUs. verl keeps the
  master weights in ``fsdp_config.model_dtype`` (fp32 by default: 4 bytes per parameter), the
  gradients in the same dtype, and AdamW's two fp32 moments (8 bytes per parameter).
  ``param_offload`` / ``optimizer_offload`` move weights / optimizer state to CPU *between*
  phases (they come back for the update); ``offload_policy`` (FSDP2 CPU offload) keeps them on
  CPU during the update too. Gradients are freed after each optimizer step.
- The reference model is a forward-only copy in its own ``model_dtype``.
- vLLM takes ``gpu_memory_utilization x GPU memory`` while it generates: bf16 weights split over
  ``tensor_model_parallel_size`` GPUs, ``ENGINE_OVERHEAD_GIB`` for activations and CUDA graphs,
  and the rest as KV cache (``2 x layers x kv_heads x head_dim x 2 bytes`` per token, split over
  the tensor-parallel group). With ``free_cache_engine`` (verl's default) it is released while
  the models train.
- A training micro batch holds ``T`` tokens: the token budget with dynamic batch size
  (``use_dynamic_bsz`` + ``ppo_max_token_len_per_gpu``), else micro batch size x sequence length.
  Activations with gradient checkpointing: one bf16 hidden state per layer
  (``T x hidden x 2 x layers``) plus one layer recomputed with its gradients
  (``T x (4 hidden + 3 intermediate) x 2 bytes x 2``). Logits: ``T x vocab x 6`` bytes (bf16
  logits and the fp32 copy log-softmax works on); a critic has no vocabulary logits.
- ``RUNTIME_OVERHEAD_GIB`` per GPU for the CUDA context, NCCL buffers and allocator slack.

Pure functions; ``preflight_rows`` at the end is the one edge (it reads ``config.json``).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

GIB = 1024**3
ENGINE_OVERHEAD_GIB = 2.0
RUNTIME_OVERHEAD_GIB = 2.0
DTYPE_BYTES = {"fp32": 4, "float32": 4, "bf16": 2, "bfloat16": 2, "fp16": 2, "float16": 2}
DEFAULT_GPU_GIB = 80.0


@dataclass(frozen=True)
class ModelShape:
    """The dimensions of a decoder-only transformer that decide its memory (Qwen2 / Llama family)."""

    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocab: int
    tied_embeddings: bool = False
    qkv_bias: bool = True
    head_dim: int | None = None  # None: hidden / heads (Qwen3 sets its own)

    def __post_init__(self) -> None:
        if self.head_dim is None:
            object.__setattr__(self, "head_dim", self.hidden // self.heads)

    @classmethod
    def from_config(cls, config) -> ModelShape:
        """From a ``transformers`` config or the dict of a ``config.json``.

        >>> ModelShape.from_config({"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128,
        ...     "num_attention_heads": 4, "vocab_size": 100}).kv_heads
        4
        """
        get = config.get if isinstance(config, dict) else lambda key, default=None: getattr(config, key, default)
        missing = [k for k in ("num_hidden_layers", "hidden_size", "intermediate_size", "num_attention_heads",
                               "vocab_size") if get(k) is None]
        if missing:
            raise ValueError(f"config.json has no {', '.join(missing)}: the memory plan reads decoder-only "
                             "transformer configs (Qwen2, Llama, Mistral ...)")
        model_type = get("model_type") or ""
        return cls(
            layers=int(get("num_hidden_layers")),
            hidden=int(get("hidden_size")),
            intermediate=int(get("intermediate_size")),
            heads=int(get("num_attention_heads")),
            kv_heads=int(get("num_key_value_heads") or get("num_attention_heads")),
            vocab=int(get("vocab_size")),
            tied_embeddings=bool(get("tie_word_embeddings", False)),
            qkv_bias=bool(get("attention_bias", model_type.startswith("qwen2"))),
            head_dim=int(get("head_dim")) if get("head_dim") else None,
        )

    def params(self, lm_head: bool = True) -> int:
        """Parameter count; ``lm_head=False`` for a critic (a one-output value head instead).

        >>> ModelShape(layers=28, hidden=3584, intermediate=18944, heads=28, kv_heads=4, vocab=152064).params()
        7615616512
        """
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        attention = 2 * self.hidden * q + 2 * self.hidden * kv  # q and o, k and v
        if self.qkv_bias:
            attention += q + 2 * kv
        layer = attention + 3 * self.hidden * self.intermediate + 2 * self.hidden
        head = (0 if self.tied_embeddings else self.vocab * self.hidden) if lm_head else self.hidden
        return self.layers * layer + self.vocab * self.hidden + head + self.hidden

    def kv_bytes_per_token(self) -> int:
        """bf16 KV cache of one token over all layers (keys and values)."""
        return 2 * self.layers * self.kv_heads * self.head_dim * 2

    def activation_bytes(self, tokens: int, checkpointing: bool = True) -> int:
        """Activations of a training micro batch of ``tokens`` tokens (see the module docstring)."""
        layer = tokens * (4 * self.hidden + 3 * self.intermediate) * 2 * 2
        if not checkpointing:
            return layer * self.layers
        return tokens * self.hidden * 2 * self.layers + layer

    def forward_bytes(self, tokens: int) -> int:
        """Working set of a forward-only pass (log-probs): one layer's activations, no gradients."""
        return tokens * (4 * self.hidden + 3 * self.intermediate) * 2

    def logits_bytes(self, tokens: int) -> int:
        return tokens * self.vocab * 6


@dataclass(frozen=True)
class Trained:
    """A model FSDP trains (actor or critic): its shape, dtype and offload settings."""

    shape: ModelShape
    model_dtype: str = "fp32"
    param_offload: bool = False
    optimizer_offload: bool = False
    offload_policy: bool = False
    lm_head: bool = True

    def states_bytes(self, gpus: int) -> tuple[int, int, int]:
        """(weights, gradients, optimizer) bytes per GPU during the update."""
        if self.offload_policy:
            return 0, 0, 0
        p = self.shape.params(self.lm_head)
        width = DTYPE_BYTES[self.model_dtype]
        return width * p // gpus, width * p // gpus, 8 * p // gpus

    def resident_bytes(self, gpus: int) -> int:
        """What stays on the GPU between its own phases (gradients are freed after each step)."""
        weights, _, optimizer = self.states_bytes(gpus)
        return (0 if self.param_offload else weights) + (0 if self.optimizer_offload else optimizer)


@dataclass(frozen=True)
class Setup:
    """Everything the plan needs from a verl config, in plain numbers."""

    gpus: int
    gpu_gib: float
    actor: Trained
    seq_len: int
    train_tokens: int
    logprob_tokens: int
    tp: int
    gpu_memory_utilization: float
    sequences_per_replica: int
    free_cache_engine: bool = True
    checkpointing: bool = True
    ref_dtype: str | None = None  # None: no reference model
    ref_offload: bool = False
    critic: Trained | None = None
    critic_tokens: int = 0


@dataclass(frozen=True)
class Phase:
    name: str
    parts: tuple[tuple[str, float], ...]  # (what, GiB per GPU)
    fix: str  # the setting to change when it does not fit

    @property
    def total(self) -> float:
        return sum(gib for _, gib in self.parts)


def _gib(n: float) -> float:
    return n / GIB


def plan(s: Setup) -> tuple[list[Phase], dict]:
    """The phases of one step with their per-GPU memory, and facts about the rollout engine.

    >>> shape = ModelShape(layers=28, hidden=3584, intermediate=18944, heads=28, kv_heads=4, vocab=152064)
    >>> phases, engine = plan(Setup(gpus=16, gpu_gib=80, actor=Trained(shape), seq_len=4096, train_tokens=16384,
    ...     logprob_tokens=16384, tp=4, gpu_memory_utilization=0.8, sequences_per_replica=2048))
    >>> [(p.name, round(p.total, 1)) for p in phases]
    [('rollout', 71.3), ('log-prob', 23.4), ('actor update', 30.4)]
    """
    actor_resident = _gib(s.actor.resident_bytes(s.gpus))
    ref_full = _gib(DTYPE_BYTES[s.ref_dtype] * s.actor.shape.params() // s.gpus) if s.ref_dtype else 0.0
    ref_resident = 0.0 if s.ref_offload else ref_full
    critic_resident = _gib(s.critic.resident_bytes(s.gpus)) if s.critic else 0.0
    engine_budget = s.gpu_memory_utilization * s.gpu_gib
    engine_idle = 0.0 if s.free_cache_engine else engine_budget
    others = [("reference (resident)", ref_resident), ("critic (resident)", critic_resident),
              ("runtime overhead", RUNTIME_OVERHEAD_GIB)]

    offload = "actor_rollout_ref.actor.fsdp_config.param_offload=true and optimizer_offload=true"
    rollout_fix = (f"set {offload}" if not (s.actor.param_offload and s.actor.optimizer_offload)
                   else "lower actor_rollout_ref.rollout.gpu_memory_utilization")
    phases = [Phase("rollout", (("vLLM (gpu_memory_utilization)", engine_budget),
                                ("actor (resident)", actor_resident), *others), rollout_fix)]

    weights, grads, optimizer = (_gib(b) for b in s.actor.states_bytes(s.gpus))
    shape = s.actor.shape
    phases.append(Phase("log-prob", (
        ("actor or reference weights", max(weights, ref_full)),
        ("actor optimizer (resident)", 0.0 if s.actor.optimizer_offload else optimizer),
        ("forward activations", _gib(shape.forward_bytes(s.logprob_tokens))),
        ("logits", _gib(shape.logits_bytes(s.logprob_tokens))),
        ("vLLM (idle)", engine_idle), *others,
    ), "lower actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu (and ref.log_prob_max_token_len_per_gpu)"))
    update_fix = ("lower actor_rollout_ref.actor.ppo_max_token_len_per_gpu (or add GPUs, or set "
                  "actor_rollout_ref.actor.fsdp_config.offload_policy=true)")
    phases.append(Phase("actor update", (
        ("actor weights", weights), ("actor gradients", grads), ("actor optimizer", optimizer),
        ("activations", _gib(shape.activation_bytes(s.train_tokens, s.checkpointing))),
        ("logits", _gib(shape.logits_bytes(s.train_tokens))),
        ("vLLM (idle)", engine_idle), *others,
    ), update_fix))
    if s.critic:
        cw, cg, co = (_gib(b) for b in s.critic.states_bytes(s.gpus))
        phases.append(Phase("critic update", (
            ("critic weights", cw), ("critic gradients", cg), ("critic optimizer", co),
            ("activations", _gib(s.critic.shape.activation_bytes(s.critic_tokens, s.checkpointing))),
            ("actor (resident)", actor_resident), ("reference (resident)", ref_resident),
            ("vLLM (idle)", engine_idle), ("runtime overhead", RUNTIME_OVERHEAD_GIB),
        ), "lower critic.ppo_infer_max_token_len_per_gpu (the v1 critic's token budget) or set "
           "critic.fsdp.param_offload=true and optimizer_offload=true"))

    engine_weights = _gib(2 * shape.params() / s.tp)
    kv = engine_budget - engine_weights - ENGINE_OVERHEAD_GIB
    per_sequence = _gib(s.seq_len * shape.kv_bytes_per_token() / s.tp)
    engine = {
        "budget_gib": engine_budget,
        "weights_gib": engine_weights,
        "kv_cache_gib": kv,
        "kv_per_sequence_gib": per_sequence,
        "sequences_in_cache": max(0, math.floor(kv / per_sequence)) if kv > 0 else 0,
        "sequences_per_replica": s.sequences_per_replica,
    }
    return phases, engine


def problems(s: Setup) -> list[tuple[str, str]]:
    """(check name, what does not fit and the setting to change); empty when the plan fits.

    >>> shape = ModelShape(layers=64, hidden=5120, intermediate=27648, heads=40, kv_heads=8, vocab=152064)
    >>> [name for name, _ in problems(Setup(gpus=16, gpu_gib=80, actor=Trained(shape), seq_len=4096,
    ...     train_tokens=16384, logprob_tokens=16384, tp=4, gpu_memory_utilization=0.8, sequences_per_replica=2048))]
    ['memory: rollout']
    """
    phases, engine = plan(s)
    found = [(f"memory: {p.name}", f"{p.total:.1f} GiB per GPU > {s.gpu_gib:g} GiB; {p.fix}")
             for p in phases if p.total > s.gpu_gib]
    if s.train_tokens < s.seq_len:
        found.append(("memory: token budget", f"a training micro batch of {s.train_tokens} tokens cannot hold one "
                      f"sequence of {s.seq_len} (max_prompt_length + max_response_length); raise "
                      "actor_rollout_ref.actor.ppo_max_token_len_per_gpu to at least that"))
    if engine["sequences_in_cache"] < 1:
        found.append(("memory: KV cache", f"vLLM's {engine['budget_gib']:.1f} GiB leave {engine['kv_cache_gib']:.1f} GiB "
                      f"of KV cache after {engine['weights_gib']:.1f} GiB of weights, less than one sequence of "
                      f"{s.seq_len} tokens ({engine['kv_per_sequence_gib']:.2f} GiB); raise "
                      "actor_rollout_ref.rollout.tensor_model_parallel_size or gpu_memory_utilization"))
    return found


def describe(s: Setup) -> str:
    """One line: each phase's total, its largest parts, and the KV cache it leaves."""
    phases, engine = plan(s)
    text = []
    for p in phases:
        big = sorted((part for part in p.parts if part[1] >= 0.05), key=lambda part: -part[1])[:4]
        text.append(f"{p.name} {p.total:.1f} GiB (" + ", ".join(f"{what} {gib:.1f}" for what, gib in big) + ")")
    text.append(f"KV cache {engine['kv_cache_gib']:.1f} GiB per GPU holds {engine['sequences_in_cache']} sequences of "
                f"{s.seq_len} tokens per replica at once; a step asks {engine['sequences_per_replica']} per replica")
    return f"{s.gpus} GPUs x {s.gpu_gib:g} GiB, " + "; ".join(text)


# ---------------------------------------------------------------------------------------------
# From a composed verl config (the edge: reads config.json)


def _uses_critic(config) -> bool:
    from verl.trainer.ppo.utils import need_critic

    with warnings.catch_warnings():  # verl warns on every call that a non-GAE run has no critic
        warnings.simplefilter("ignore")
        return need_critic(config)


def setup_from_config(config, model_config, gpu_gib: float, critic_config=None) -> Setup:
    """The plan's numbers from a composed ``main_ppo`` config and the model's config."""
    from omegaconf import OmegaConf

    def sel(key, default=None):
        value = OmegaConf.select(config, key, default=default)
        return default if value is None else value

    arr = "actor_rollout_ref"
    gpus = int(config.trainer.nnodes) * int(config.trainer.n_gpus_per_node)
    seq_len = int(config.data.max_prompt_length) + int(config.data.max_response_length)
    shape = ModelShape.from_config(model_config)

    def fsdp(prefix: str, lm_head: bool = True, shape_=shape) -> Trained:
        return Trained(shape_, str(sel(f"{prefix}.model_dtype", "fp32")), bool(sel(f"{prefix}.param_offload", False)),
                       bool(sel(f"{prefix}.optimizer_offload", False)), bool(sel(f"{prefix}.offload_policy", False)),
                       lm_head)

    def tokens(dynamic: str, budget: str, micro: str) -> int:
        if sel(dynamic, False):
            return int(sel(budget))
        return int(sel(micro) or 1) * seq_len

    train_tokens = tokens(f"{arr}.actor.use_dynamic_bsz", f"{arr}.actor.ppo_max_token_len_per_gpu",
                          f"{arr}.actor.ppo_micro_batch_size_per_gpu")
    logprob_tokens = tokens(f"{arr}.rollout.log_prob_use_dynamic_bsz", f"{arr}.rollout.log_prob_max_token_len_per_gpu",
                            f"{arr}.rollout.log_prob_micro_batch_size_per_gpu")
    from verl.trainer.ppo.utils import need_reference_policy

    use_ref = need_reference_policy(config)
    if use_ref:
        logprob_tokens = max(logprob_tokens, tokens(f"{arr}.ref.log_prob_use_dynamic_bsz",
                                                    f"{arr}.ref.log_prob_max_token_len_per_gpu",
                                                    f"{arr}.ref.log_prob_micro_batch_size_per_gpu"))
    critic, critic_tokens = None, 0
    if _uses_critic(config):
        critic_shape = ModelShape.from_config(critic_config) if critic_config is not None else shape
        critic = fsdp("critic.fsdp", lm_head=False, shape_=critic_shape)
        # verl 0.9.1's v1 trainer (trainer/ppo/v1/trainer_base.py, "define critic class") runs the
        # critic with dynamic batches and ppo_infer_max_token_len_per_gpu as the budget.
        critic_tokens = (int(sel("critic.ppo_infer_max_token_len_per_gpu", 32768)) if sel("trainer.use_v1", True)
                         else tokens("critic.use_dynamic_bsz", "critic.ppo_max_token_len_per_gpu",
                                     "critic.ppo_micro_batch_size_per_gpu"))
    tp = int(sel(f"{arr}.rollout.tensor_model_parallel_size", 1))
    replicas = max(1, gpus // tp)
    return Setup(
        gpus=gpus, gpu_gib=float(gpu_gib), actor=fsdp(f"{arr}.actor.fsdp_config"), seq_len=seq_len,
        train_tokens=train_tokens, logprob_tokens=logprob_tokens, tp=tp,
        gpu_memory_utilization=float(sel(f"{arr}.rollout.gpu_memory_utilization", 0.5)),
        sequences_per_replica=math.ceil(int(config.data.train_batch_size) * int(sel(f"{arr}.rollout.n", 1)) / replicas),
        free_cache_engine=bool(sel(f"{arr}.rollout.free_cache_engine", True)),
        checkpointing=bool(sel(f"{arr}.model.enable_gradient_checkpointing", True)),
        ref_dtype=str(sel(f"{arr}.ref.fsdp_config.model_dtype", "fp32")) if use_ref else None,
        ref_offload=bool(sel(f"{arr}.ref.fsdp_config.param_offload", False)),
        critic=critic, critic_tokens=critic_tokens,
    )


def preflight_rows(config, gpu_gib: float) -> list[tuple[str, str, str]]:
    """(check, OK / FAIL, detail) rows for ``thinkj preflight``; reads only the models' config.json."""
    from transformers import AutoConfig
    from verl.utils.fs import copy_to_local

    def load(model) -> object:
        return AutoConfig.from_pretrained(copy_to_local(model.path), trust_remote_code=bool(model.get("trust_remote_code", False)))

    try:
        model_config = load(config.actor_rollout_ref.model)
        critic_config = load(config.critic.model) if _uses_critic(config) else None
        setup = setup_from_config(config, model_config, gpu_gib, critic_config)
    except Exception as exc:
        return [("memory plan", "FAIL", f"could not plan from actor_rollout_ref.model.path's config.json: "
                 f"{type(exc).__name__}: {exc}")]
    found = problems(setup)
    rows = [("memory plan", "FAIL" if found else "OK", describe(setup))]
    return rows + [(name, "FAIL", detail) for name, detail in found]
