#!/usr/bin/env python3
"""A small model-driven agent for swarm's demo.

It runs inside the sandbox, in the subtask's workspace. It asks the run's model what to change
through swarm's per-attempt endpoint (an OpenAI-compatible Chat Completions API on the Unix socket
$SWARM_MODEL_SOCKET: no key, the coordinator's budget and rate limit), applies the write_file tool
calls it gets, sends back their results, and stops when the model stops calling tools.
"""
import http.client
import json
import os
import socket
import sys


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("swarm", timeout=600)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


TOOLS = [{
    "type": "function",
    "function": {
        "name": "write_file",
        "description": "Write a file of the repository (relative path), replacing it if it exists.",
        "parameters": {
            "type": "object",
            "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
            "required": ["path", "content"],
        },
    },
}]


def complete(messages):
    conn = UnixConnection(os.environ["SWARM_MODEL_SOCKET"])
    conn.request("POST", "/v1/chat/completions", json.dumps({"messages": messages, "tools": TOOLS}),
                 {"content-type": "application/json"})
    response = conn.getresponse()
    body = json.loads(response.read())
    if response.status != 200:
        sys.exit("model: " + body["error"]["message"])
    return body["choices"][0]["message"]


def write_file(arguments):
    path = os.path.normpath(arguments["path"])
    if path.startswith("..") or os.path.isabs(path):
        return "refused: the path must stay inside the repository"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write(arguments["content"])
    return "wrote %d bytes to %s" % (len(arguments["content"]), path)


def main():
    with open(os.environ["SWARM_SUBTASK_JSON"]) as f:
        subtask = json.load(f)
    messages = [
        {"role": "system", "content": "You change a C repository by calling write_file. Stop when done."},
        {"role": "user", "content": "%s\n\n%s" % (subtask["title"], subtask["instructions"])},
    ]
    for _ in range(8):
        reply = complete(messages)
        messages.append(reply)
        calls = reply.get("tool_calls") or []
        if not calls:
            print(reply.get("content") or "")
            return
        for call in calls:
            try:
                result = write_file(json.loads(call["function"]["arguments"]))
            except (ValueError, KeyError) as e:
                result = "error: %s" % e
            print(result)
            messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
    sys.exit("the model did not finish in 8 steps")


if __name__ == "__main__":
    main()
