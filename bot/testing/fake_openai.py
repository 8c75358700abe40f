"""An OpenAI-compatible chat completions server on loopback, for tests of the `openai` backend."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOpenAI:
    """An OpenAI-compatible /v1/chat/completions on loopback: answers come from a script, and a
    request for log-probabilities (the reading check) gets a first token whose top_logprobs put
    "Yes" `margin` above "No" — or, with `margin=None`, is answered as by a server that ignores
    the parameter: a plain "Yes" without log-probabilities. A request with `"stream": true` gets
    its reply as server-sent events, a word at a time, `word_delay` seconds apart. Each answer
    takes `delay` seconds first (a model writing)."""

    def __init__(
        self, replies: list[str], margin: float | None = 2.0, word_delay: float = 0.0, delay: float = 0.0
    ) -> None:
        outer = self
        self.replies, self.margin, self.word_delay, self.delay = replies, margin, word_delay, delay
        self.requests: list[dict] = []
        self.answers: list[dict] = []  # the requests that were not reading checks

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                choice: dict = {"index": 0, "finish_reason": "stop"}
                if body.get("logprobs"):
                    choice["message"] = {"role": "assistant", "content": "Yes"}
                    if outer.margin is not None:
                        top = [
                            {"token": "Yes", "logprob": -0.05, "bytes": None},
                            {"token": "No", "logprob": -0.05 - outer.margin, "bytes": None},
                        ]
                        choice["logprobs"] = {
                            "content": [{"token": "Yes", "logprob": -0.05, "bytes": None, "top_logprobs": top}]
                        }
                else:
                    time.sleep(outer.delay)
                    outer.answers.append(body)
                    text = outer.replies[min(len(outer.answers), len(outer.replies)) - 1]
                    if body.get("stream"):
                        self._stream(body["model"], text)
                        return
                    choice["message"] = {"role": "assistant", "content": text}
                payload = json.dumps(
                    {
                        "id": "chatcmpl-1",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body["model"],
                        "choices": [choice],
                        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, model: str, text: str) -> None:
                """The reply as OpenAI streams it: chat.completion.chunk events, then [DONE]."""
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = re.findall(r"\S+\s*", text)
                for i, word in enumerate(words):
                    delta = {"role": "assistant", "content": word} if i == 0 else {"content": word}
                    last = i == len(words) - 1
                    chunk = {
                        "id": "chatcmpl-1",
                        "object": "chat.completion.chunk",
                        "created": 0,
                        "model": model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": "stop" if last else None}],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(outer.word_delay)
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"

    def reading_checks(self) -> list[dict]:
        return [r for r in self.requests if r.get("logprobs")]
