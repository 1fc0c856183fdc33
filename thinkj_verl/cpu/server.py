"""The ``thinkj_cpu`` rollout server: a Ray actor that verl's agent loop and reward loop talk to.

verl reaches a rollout server two ways, and this one answers both:
- Ray calls from the agent loop: ``generate(prompt_ids, sampling_params, request_id)`` ->
  ``TokenOutput``, ``update_weights`` / ``set_global_steps`` from the training worker's adapter,
  and the lifecycle calls (``wake_up``, ``sleep``, cache and abort controls: no-ops on a CPU);
- HTTP, for a judge served as verl's generative reward model (verl's reward router forwards
  requests to ``http://{server_address}``): OpenAI ``POST /v1/chat/completions`` and
  SGLang-style ``POST /generate``.

Requests that arrive together are generated as one batch (a few milliseconds of gathering),
which is most of the speed a CPU has to give.
"""

import asyncio
import logging
import time
import uuid
from collections import defaultdict

from thinkj_verl.cpu.engine import Completion, GenerationEngine, SamplingParams, SamplingParamsError

logger = logging.getLogger(__name__)

BATCH_WINDOW_S = 0.005
# verl's TokenOutput.stop_reason: "completed" for a reply that ended on a stop id, "length" for
# one cut at max_tokens (the value verl's own fully-async server uses for a cut reply).
STOP_REASON = {"stop": "completed", "length": "length"}


class _Batcher:
    """Gathers concurrent requests and runs each group of equal sampling params as one batch."""

    def __init__(self, engine: GenerationEngine):
        self.engine = engine
        self.pending: list[tuple[list[int], SamplingParams, asyncio.Future]] = []
        self.wakeup: asyncio.Event | None = None
        self.task: asyncio.Task | None = None

    async def submit(self, prompt_ids: list[int], params: SamplingParams) -> list[Completion]:
        loop = asyncio.get_running_loop()
        if self.task is None:
            self.wakeup = asyncio.Event()
            self.task = loop.create_task(self._run())
        future = loop.create_future()
        self.pending.append((prompt_ids, params, future))
        self.wakeup.set()
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.wakeup.wait()
            await asyncio.sleep(BATCH_WINDOW_S)
            self.wakeup.clear()
            pending, self.pending = self.pending, []
            groups = defaultdict(list)
            for prompt_ids, params, future in pending:
                groups[params].append((prompt_ids, future))
            for params, items in groups.items():
                try:
                    results = await loop.run_in_executor(
                        None, self.engine.generate, [prompt for prompt, _ in items], params
                    )
                except Exception as error:  # every waiting request learns why
                    for _, future in items:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for index, (_, future) in enumerate(items):
                    if not future.done():
                        future.set_result(results[index * params.n : (index + 1) * params.n])


class ThinkjCpuServer:
    """One rollout replica's server (a Ray actor; `thinkj_verl.cpu.rollout` starts it)."""

    def __init__(self, model_path: str, prompt_length: int, response_length: int, trust_remote_code: bool = False):
        self.engine = GenerationEngine.from_pretrained(model_path, trust_remote_code=trust_remote_code)
        self.prompt_length = prompt_length
        self.response_length = response_length
        self.model_path = model_path
        self.global_steps = None
        self.weight_updates = 0
        self.batcher = _Batcher(self.engine)
        self._http = None
        self._address = None

    # --- token in, token out (verl's agent loop) -----------------------------------------
    def _default_max_tokens(self, prompt_ids) -> int:
        return max(1, min(self.response_length, self.prompt_length + self.response_length - len(prompt_ids)))

    async def generate(self, prompt_ids, sampling_params, request_id=None, **kwargs):
        from verl.workers.rollout.replica import TokenOutput

        params = SamplingParams.from_request(dict(sampling_params), self._default_max_tokens(prompt_ids))
        if params.n != 1:
            raise SamplingParamsError(f"verl's token-in-token-out generate returns one reply; got n={params.n}")
        [completion] = await self.batcher.submit(list(prompt_ids), params)
        return TokenOutput(
            token_ids=completion.token_ids,
            log_probs=completion.log_probs,
            stop_reason=STOP_REASON[completion.finish_reason],
            extra_fields={"global_steps": self.global_steps, "finish_reason": completion.finish_reason},
        )

    # --- weights (the training worker's adapter) ---------------------------------------------
    async def update_weights(self, named_tensors, global_steps=None) -> int:
        count = self.engine.load_weights(named_tensors)
        self.weight_updates += 1
        if global_steps is not None:
            self.global_steps = global_steps
        # One line per update in the trainer's log: what arrived, to check against the checkpoint.
        total = sum(float(tensor.double().sum()) for _, tensor in named_tensors)
        print(f"thinkj_cpu: weights of step {global_steps} loaded: {count} tensors, sum {total:.10e}", flush=True)
        return count

    async def set_global_steps(self, global_steps: int) -> None:
        self.global_steps = global_steps

    async def weight_state(self) -> dict:
        """What tests read: how often weights arrived, the version, and a checksum of the weights."""
        checksum = sum(float(p.double().sum()) for p in self.engine.model.parameters())
        return {"weight_updates": self.weight_updates, "global_steps": self.global_steps, "checksum": checksum}

    # --- lifecycle: nothing to free or restore on a CPU ------------------------------------
    async def wake_up(self, tags=None):
        return None

    async def sleep(self):
        return None

    async def clear_kv_cache(self):
        return None

    async def release_kv_cache(self):
        return None

    async def resume_kv_cache(self):
        return None

    async def wait_for_requests_to_drain(self):
        return None

    async def abort_all_requests(self, reset_prefix_cache: bool = True, reject_request: bool = False):
        return {"aborted_count": 0, "request_ids": []}

    async def abort_request(self, request_id: str, reset_prefix_cache: bool = True):
        return {"aborted": False, "request_id": request_id}

    async def resume_generation(self):
        return None

    async def start_profile(self, **kwargs):
        return None

    async def stop_profile(self):
        return None

    # --- HTTP (a judge behind verl's reward router) -------------------------------------------
    async def launch_http(self) -> str:
        """Serve the HTTP routes on this node's address; returns ``ip:port``."""
        if self._address is None:
            import ray
            from verl.workers.rollout.utils import run_uvicorn

            host = ray.util.get_node_ip_address().strip("[]")
            port, self._http = await run_uvicorn(self._app(), None, host)
            self._address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return self._address

    def _app(self):
        # FastAPI reads these annotations at run time: this module has no `from __future__ import annotations`.
        from fastapi import FastAPI, Request
        from fastapi.responses import JSONResponse

        app = FastAPI()

        @app.get("/health")
        async def health():
            return {"status": "ok"}

        @app.post("/v1/chat/completions")
        async def chat_completions(request: Request):
            body = await request.json()
            try:
                return await self._chat(body)
            except (SamplingParamsError, KeyError, TypeError, ValueError) as error:
                return JSONResponse({"error": {"message": str(error), "type": "invalid_request_error"}}, status_code=400)

        @app.post("/generate")
        async def generate(request: Request):
            body = await request.json()
            try:
                return await self._sglang_generate(body)
            except (SamplingParamsError, KeyError, TypeError, ValueError) as error:
                return JSONResponse({"error": str(error)}, status_code=400)

        return app

    async def _chat(self, body: dict) -> dict:
        messages = body["messages"]
        if not isinstance(messages, list) or not messages:
            raise ValueError("messages must be a non-empty list of {role, content}")
        tokenizer = self.engine.tokenizer
        prompt_ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
        if hasattr(prompt_ids, "input_ids"):
            prompt_ids = prompt_ids["input_ids"]
        params = SamplingParams.from_request(body, self._default_max_tokens(prompt_ids))
        completions = await self.batcher.submit(list(prompt_ids), params)
        choices = [
            {
                "index": index,
                "message": {
                    "role": "assistant",
                    "content": tokenizer.decode(c.token_ids, skip_special_tokens=True),
                },
                "finish_reason": c.finish_reason,
            }
            for index, c in enumerate(completions)
        ]
        completion_tokens = sum(len(c.token_ids) for c in completions)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model_path,
            "choices": choices,
            "usage": {
                "prompt_tokens": len(prompt_ids),
                "completion_tokens": completion_tokens,
                "total_tokens": len(prompt_ids) + completion_tokens,
            },
        }

    async def _sglang_generate(self, body: dict) -> dict:
        tokenizer = self.engine.tokenizer
        if body.get("input_ids") is not None:
            prompt_ids = [int(token) for token in body["input_ids"]]
        else:
            prompt_ids = tokenizer.encode(body["text"], add_special_tokens=False)
        sampling = dict(body.get("sampling_params") or {})
        params = SamplingParams.from_request(sampling, self._default_max_tokens(prompt_ids))
        [completion] = await self.batcher.submit(prompt_ids, params)
        return {
            "text": tokenizer.decode(completion.token_ids, skip_special_tokens=True),
            "output_ids": completion.token_ids,
            "meta_info": {
                "prompt_tokens": len(prompt_ids),
                "completion_tokens": len(completion.token_ids),
                "finish_reason": {"type": completion.finish_reason},
            },
        }
