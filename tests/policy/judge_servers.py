"""Real HTTP servers on the loopback address that speak OpenAI chat completions, for the tests.

- `serve_model`: the ``thinkj_cpu`` backend's own HTTP app (FastAPI, uvicorn) over a tiny model;
- `serve_script`: a plain ``http.server`` whose judge is a Python function of the request (a
  planted judge that always prefers the longer reply, one that errors, one that is slow).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RESPONSE = re.compile(r"\[The Start of Response \((a|b)\)\]\n(.*?)\n\[The End of Response \(\1\)\]", re.S)


def shown_responses(body: dict) -> dict[str, str]:
    """Response (a) and (b) as the judge prompt shows them."""
    return dict(RESPONSE.findall(body["messages"][-1]["content"]))


def chat_reply(text: str, finish_reason: str = "stop") -> dict:
    return {"object": "chat.completion", "choices": [{"index": 0, "finish_reason": finish_reason,
                                                       "message": {"role": "assistant", "content": text}}]}


def prefers(pick) -> callable:
    """A scripted judge: ``pick(response_a, response_b) -> 'a' | 'b'``, in the strength format."""

    def judge(body):
        shown = shown_responses(body)
        side = pick(shown["a"], shown["b"])
        return 200, chat_reply(f"<think>I compared them.</think>Therefore, Response ({side}) is better, "
                               "and the strength is [[2]].")

    return judge


LONGER = prefers(lambda a, b: "a" if len(a) >= len(b) else "b")


@contextlib.contextmanager
def serve_script(judge):
    """Serve ``judge(body) -> (status, json)`` (it may sleep); yields ``(url, requests)``."""
    requests: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            requests.append(body)
            status, reply = judge(body)
            data = json.dumps(reply).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def serve_model(model_path: str, response_length: int = 32):
    """The ``thinkj_cpu`` server's HTTP app over ``model_path``, in a thread; yields its ``host:port``."""
    import uvicorn

    from thinkj_verl.cpu.server import ThinkjCpuServer

    server = ThinkjCpuServer(model_path, prompt_length=4096, response_length=response_length)
    config = uvicorn.Config(server._app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    http = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(http.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not (http.started and http.servers):
        if time.monotonic() > deadline:
            raise TimeoutError("the model server did not start in 30 s")
        time.sleep(0.05)
    port = http.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        http.should_exit = True
        thread.join(timeout=10)
