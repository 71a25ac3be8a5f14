#!/usr/bin/env python3
"""Real-client tests of `airlock serve`: the official MCP Python SDK (`mcp` from PyPI) talks to
the gateway over stdio or streamable HTTP, as an agent would.

    gateway_client.py SCENARIO --transport stdio|http --airlock BIN --work DIR --repo ROOT

Each scenario sets up its own Airlock home under DIR (plugins copied from the repository's
examples, tokens created with the CLI), runs, asserts, and prints `PASS SCENARIO TRANSPORT`.
Any failed check raises: the exit status is then non-zero and the traceback says which.
"""

import argparse
import contextlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time

import anyio
import httpx2
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

KEY = "dev.airlock/idempotency-key"
RUN = "dev.airlock/run"


class Workspace:
    def __init__(self, args):
        self.airlock = args.airlock
        self.repo = args.repo
        self.work = args.work
        self.home = os.path.join(args.work, "home")
        self.plugins = os.path.join(args.work, "plugins")
        os.makedirs(self.plugins, exist_ok=True)
        self.env = {
            "AIRLOCK_HOME": self.home,
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "AIRLOCK_OPERATOR": "gateway-test",
        }
        if "AIRLOCK_PLUGIN_VENV" in os.environ:
            self.env["AIRLOCK_PLUGIN_VENV"] = os.environ["AIRLOCK_PLUGIN_VENV"]

    def cli(self, *arguments, check=True, env=None):
        result = subprocess.run(
            [self.airlock, *arguments], env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=120
        )
        if check and result.returncode != 0:
            raise AssertionError(f"airlock {' '.join(arguments)} exited {result.returncode}: {result.stderr}")
        return result

    def plugin(self, name):
        """Copies examples/tools/NAME (with its data directory) readable by the sandbox's user."""
        target = os.path.join(self.plugins, name)
        shutil.copytree(os.path.join(self.repo, "examples", "tools", name), target)
        for data in {"note-writer": "notes", "ledger": "ledger"}.get(name, "").split():
            os.makedirs(os.path.join(target, data), exist_ok=True)
            os.chmod(os.path.join(target, data), 0o777)
        make_readable(self.plugins)
        return target

    def add(self, name, *flags):
        directory = self.plugin(name)
        manifest = [f for f in os.listdir(directory) if f.startswith("airlock-tool.")][0]
        self.cli("tools", "add", os.path.join(directory, manifest), *flags)
        return directory

    def custom(self, name, manifest, script):
        """A plugin of the test's own: a manifest and an executable script."""
        directory = os.path.join(self.plugins, name)
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "airlock-tool.json"), "w") as f:
            json.dump(manifest, f)
        with open(os.path.join(directory, "tool.sh"), "w") as f:
            f.write(script)
        os.chmod(os.path.join(directory, "tool.sh"), 0o755)
        make_readable(self.plugins)
        self.cli("tools", "add", os.path.join(directory, "airlock-tool.json"))
        return directory

    def token(self, name, role, tools=None):
        arguments = ["tokens", "create", "--name", name, "--role", role]
        if tools:
            arguments += ["--tools", ",".join(tools)]
        return self.cli(*arguments).stdout.strip()

    def step(self, id_or_key):
        return json.loads(self.cli("steps", id_or_key, "--json").stdout)


def make_readable(root):
    for directory, dirs, files in os.walk(root):
        for entry in [directory] + [os.path.join(directory, f) for f in files]:
            mode = os.lstat(entry).st_mode
            if stat.S_ISLNK(mode):
                continue
            extra = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
            if stat.S_ISDIR(mode) or mode & 0o111:
                extra |= 0o111
            os.chmod(entry, stat.S_IMODE(mode) | extra)


class HTTPServer:
    """`airlock serve --http 127.0.0.1:0`, started and stopped by the test."""

    def __init__(self, ws, extra_env=None, flags=()):
        self.ws = ws
        self.log = open(os.path.join(ws.work, f"serve-{time.monotonic_ns()}.log"), "w+")
        self.process = subprocess.Popen(
            [ws.airlock, "serve", "--http", "127.0.0.1:0", *flags],
            env={**ws.env, **(extra_env or {})}, stdout=subprocess.DEVNULL, stderr=self.log,
        )
        deadline = time.monotonic() + 60
        self.port = None
        while self.port is None:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.log.seek(0)
                raise AssertionError(f"airlock serve did not start: {self.log.read()}")
            time.sleep(0.05)
            self.log.seek(0)
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", self.log.read())
            if found:
                self.port = int(found.group(1))
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=60)


@contextlib.asynccontextmanager
async def connect(ws, transport, token=None, extra_env=None, server=None):
    """An initialized MCP ClientSession to the gateway."""
    if transport == "stdio":
        params = StdioServerParameters(command=ws.airlock, args=["serve", "--mcp", "stdio"], env={**ws.env, **(extra_env or {})})
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                yield session
        return
    own = server is None
    server = server or HTTPServer(ws, extra_env)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(120, read=300)) as client:
            async with streamable_http_client(server.url + "/mcp", http_client=client) as streams:
                read, write = streams[0], streams[1]
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    yield session
    finally:
        if own:
            server.stop()


def journal_key_of(key, transport, token_name="agent"):
    """The journal keeps a token's keys under the token's name; the local operator's as sent."""
    return f"{token_name}:{key}" if transport == "http" else key


def meta(result):
    return result.meta or {}


def text(result):
    return "".join(getattr(c, "text", "") for c in result.content)


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


# MARK: - Scenarios


async def scenario_tools(ws, transport):
    """tools/list returns the registry; each example tool is called through the full path."""
    ws.add("word-count")
    notes = ws.add("note-writer")
    ledger = ws.add("ledger")
    ws.add("time")
    token = ws.token("agent", "agent") if transport == "http" else None
    async with connect(ws, transport, token) as session:
        listed = await session.list_tools()
        names = sorted(t.name for t in listed.tools)
        expect(names == ["ledger", "note-writer", "time__convert_time", "time__get_current_time", "word-count"], f"tools/list: {names}")
        by_name = {t.name: t for t in listed.tools}
        expect(by_name["word-count"].annotations.read_only_hint is True, "word-count is read-only")
        expect(by_name["ledger"].annotations.idempotent_hint is False, "ledger is not idempotent")
        expect(by_name["ledger"].input_schema["required"] == ["account", "amount"], "ledger's input schema")

        counted = await session.call_tool("word-count", {"text": "one two three"})
        expect(not counted.is_error, f"word-count: {text(counted)}")
        expect(counted.structured_content == {"words": 3, "lines": 1, "characters": 13}, f"word-count: {counted.structured_content}")
        expect(meta(counted)["dev.airlock/status"] == "succeeded", f"meta: {meta(counted)}")
        expect(meta(counted)[KEY].startswith("auto-"), "a read-only call without a key gets a fresh one")

        written = await session.call_tool("note-writer", {"name": "hello", "content": "hi there"})
        expect(not written.is_error, f"note-writer: {text(written)}")
        with open(os.path.join(notes, "notes", "hello.txt")) as f:
            expect(f.read() == "hi there", "the note's content")

        paid = await session.call_tool("ledger", {"account": "acme", "amount": 12})
        expect(not paid.is_error, f"ledger: {text(paid)}")
        with open(os.path.join(ledger, "ledger", "ledger.txt")) as f:
            expect(len(f.read().splitlines()) == 1, "one payment")

        now = await session.call_tool("time__get_current_time", {"timezone": "UTC"})
        expect(not now.is_error, f"time: {text(now)}")
        expect("UTC" in text(now), f"time answers for UTC: {text(now)}")

        invalid = await session.call_tool("ledger", {"account": "acme", "amount": "twelve"})
        expect(invalid.is_error and meta(invalid)["dev.airlock/status"] == "invalid_input", f"invalid input: {text(invalid)}")
        expect("/amount" in text(invalid), f"the refusal names the path: {text(invalid)}")

        try:
            await session.call_tool("no-such-tool", {})
            raise AssertionError("an unknown tool must be a JSON-RPC error")
        except Exception as error:  # McpError
            expect("unknown tool" in str(error).lower(), f"unknown tool: {error}")
    steps = json.loads(ws.cli("steps", "--json").stdout)
    expect(len(steps) == 4, f"four steps journaled (the refusals none): {[s['tool'] for s in steps]}")
    runs = {s["run"] for s in steps}
    expect(len(runs) == 1 and runs.pop().startswith("mcp-"), f"one session's calls form one run: {[s['run'] for s in steps]}")


async def scenario_retry(ws, transport):
    """A retry with the same key returns the recorded result without a second run; a key reused
    with other input is a conflict; without a key, a derived one makes a retry safe too."""
    ledger = ws.add("ledger")
    token = ws.token("agent", "agent") if transport == "http" else None
    lines = lambda: len(open(os.path.join(ledger, "ledger", "ledger.txt")).read().splitlines())
    async with connect(ws, transport, token) as session:
        first = await session.call_tool("ledger", {"account": "acme", "amount": 5}, meta={KEY: "pay-1", RUN: "run-a"})
        expect(not first.is_error and meta(first)["dev.airlock/replayed"] is False, f"first: {text(first)}")
        again = await session.call_tool("ledger", {"account": "acme", "amount": 5}, meta={KEY: "pay-1", RUN: "run-a"})
        expect(not again.is_error and meta(again)["dev.airlock/replayed"] is True, f"retry: {meta(again)}")
        expect(again.structured_content == first.structured_content, "the retry's result is the recorded one")
        expect(meta(again)["dev.airlock/step"] == meta(first)["dev.airlock/step"], "same step")
        expect(lines() == 1, "paid once")

        conflict = await session.call_tool("ledger", {"account": "acme", "amount": 6}, meta={KEY: "pay-1", RUN: "run-a"})
        expect(conflict.is_error and meta(conflict)["dev.airlock/status"] == "conflict", f"conflict: {text(conflict)}")
        expect(conflict.structured_content["step"] == meta(first)["dev.airlock/step"], "the conflict names the step holding the key")
        expect(lines() == 1, "still paid once")

        derived = await session.call_tool("ledger", {"account": "beta", "amount": 7})
        expect(not derived.is_error and meta(derived)["dev.airlock/key-derived"] is True, f"derived: {meta(derived)}")
    # A new connection (a client that lost the answer and came back) gets the recorded result.
    async with connect(ws, transport, token) as session:
        retried = await session.call_tool("ledger", {"account": "beta", "amount": 7})
        expect(meta(retried)[KEY] == meta(derived)[KEY] and meta(retried)["dev.airlock/replayed"] is True, f"derived retry: {meta(retried)}")
        bad = None
        try:
            await session.call_tool("ledger", {"account": "acme", "amount": 5}, meta={KEY: 42})
        except Exception as error:
            bad = error
        expect(bad is not None and "idempotency-key" in str(bad), f"a non-string key is a protocol error: {bad}")
    expect(lines() == 2, f"two payments in all, not {lines()}")
    if transport == "http":
        # Another token's "pay-1" is its own step: keys do not reach across tokens.
        other = ws.token("other", "agent")
        async with connect(ws, transport, other) as session:
            theirs = await session.call_tool("ledger", {"account": "acme", "amount": 6}, meta={KEY: "pay-1", RUN: "run-a"})
            expect(not theirs.is_error and meta(theirs)["dev.airlock/replayed"] is False, f"a key of another token: {text(theirs)}")
            expect(meta(theirs)["dev.airlock/step"] != meta(first)["dev.airlock/step"], "another step")
            expect(meta(theirs)[KEY] == "pay-1", "the client's key comes back as sent")
        expect(ws.step("agent:pay-1")["id"] == meta(first)["dev.airlock/step"], "journaled under the token's name")
        expect(lines() == 3, "the other token's payment ran")


async def scenario_approval(ws, transport):
    """A call that needs approval answers so and names the step; after `approve`, the same call
    with the same key runs."""
    notes = ws.add("note-writer", "--approval", "always")
    token = ws.token("agent", "agent") if transport == "http" else None
    operator = ws.token("operator", "operator") if transport == "http" else None
    server = HTTPServer(ws) if transport == "http" else None
    arguments = {"name": "gated", "content": "approved text"}
    try:
        async with connect(ws, transport, token, server=server) as session:
            waiting = await session.call_tool("note-writer", arguments, meta={KEY: "note-1"})
            expect(waiting.is_error and meta(waiting)["dev.airlock/status"] == "awaiting_approval", f"waiting: {text(waiting)}")
            step = waiting.structured_content["step"]
            expect(step.startswith("st-") and "approve" in text(waiting), f"names the step and what to do: {text(waiting)}")
            expect(not os.path.exists(os.path.join(notes, "notes", "gated.txt")), "nothing ran")
            if server:
                # The operator approves over the operator API of the same gateway.
                async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {operator}"}) as client:
                    answer = await client.post(f"{server.url}/api/v1/steps/{step}/approve", json={"reason": "looks fine"})
                    expect(answer.status_code == 200, f"approve over the API: {answer.status_code} {answer.text}")
                    listed = await client.get(f"{server.url}/api/v1/steps", params={"state": "awaiting_approval"})
                    expect([s["id"] for s in listed.json()] == [step], f"the step still waits (approved) until called: {listed.text}")
            else:
                ws.cli("approve", step, "--reason", "looks fine")
            ran = await session.call_tool("note-writer", arguments, meta={KEY: "note-1"})
            expect(not ran.is_error and meta(ran)["dev.airlock/status"] == "succeeded", f"after approval: {text(ran)}")
            with open(os.path.join(notes, "notes", "gated.txt")) as f:
                expect(f.read() == "approved text", "the approved call ran")
    finally:
        if server:
            server.stop()


async def scenario_in_doubt(ws, transport):
    """The host is killed while a non-idempotent call's child runs: the same call afterwards is
    refused as in doubt (nothing runs twice) until an operator resolves it."""
    paid = os.path.join(ws.plugins, "pay", "paid")
    os.makedirs(paid)
    os.chmod(paid, 0o777)
    ws.custom("pay", {
        "name": "pay", "version": "1.0.0", "description": "Pays (appends a line); not idempotent, no probe.",
        "protocol": "json-stdio", "command": ["./tool.sh"], "effect": "non-idempotent",
        "inputSchema": {"type": "object", "properties": {"amount": {"type": "integer"}}, "required": ["amount"]},
        "filesystem": {"write": ["./paid"]},
    }, "#!/bin/sh\ncat >/dev/null\necho paid >> \"$(dirname \"$0\")/paid/lines\"\necho '{\"paid\": true}'\n")
    token = ws.token("agent", "agent") if transport == "http" else None
    crashed = None
    try:
        async with connect(ws, transport, token, extra_env={"AIRLOCK_TEST_CRASH_AT": "after-child"}) as session:
            with anyio.fail_after(120):
                await session.call_tool("pay", {"amount": 3}, meta={KEY: "pay-9"})
    except BaseException as error:  # the host died under the call: the connection broke
        crashed = error
    expect(crashed is not None, "the call must not get an answer from a host that died")
    expect(open(os.path.join(paid, "lines")).read() == "paid\n", "the child ran once before the host died")
    async with connect(ws, transport, token) as session:
        refused = await session.call_tool("pay", {"amount": 3}, meta={KEY: "pay-9"})
        expect(refused.is_error and meta(refused)["dev.airlock/status"] == "in_doubt", f"in doubt: {text(refused)}")
        expect("resolve" in text(refused), f"says what the operator can do: {text(refused)}")
        step = refused.structured_content["step"]
        expect(open(os.path.join(paid, "lines")).read() == "paid\n", "not run again")
        ws.cli("resolve", step, "--as", "succeeded", "--reason", "the ledger shows the payment", "--result", '{"paid": true}')
        settled = await session.call_tool("pay", {"amount": 3}, meta={KEY: "pay-9"})
        expect(not settled.is_error and settled.structured_content == {"paid": True}, f"resolved: {text(settled)}")
    expect(open(os.path.join(paid, "lines")).read() == "paid\n", "paid exactly once")


async def scenario_auth(ws, transport):
    """HTTP only: 401 without a valid token, 403 for a tool or an endpoint not granted; audited."""
    expect(transport == "http", "auth is an HTTP scenario")
    ws.add("word-count")
    ws.add("ledger")
    agent = ws.token("narrow", "agent", ["word-count"])
    operator = ws.token("op", "operator")
    server = HTTPServer(ws)
    try:
        async with httpx2.AsyncClient() as raw:
            init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
            mcp_headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
            answer = await raw.post(server.url + "/mcp", json=init, headers=mcp_headers)
            expect(answer.status_code == 401, f"no token: {answer.status_code}")
            answer = await raw.post(server.url + "/mcp", json=init, headers={**mcp_headers, "Authorization": "Bearer airlock_0000"})
            expect(answer.status_code == 401, f"bad token: {answer.status_code}")
            answer = await raw.get(server.url + "/api/v1/runs", headers={"Authorization": f"Bearer {agent}"})
            expect(answer.status_code == 403, f"agent on the operator API: {answer.status_code}")
            answer = await raw.get(server.url + "/api/v1/runs", headers={"Authorization": f"Bearer {operator}"})
            expect(answer.status_code == 200, f"operator on the operator API: {answer.status_code}")
            answer = await raw.get(server.url + "/healthz")
            expect(answer.status_code == 200 and answer.json()["status"] == "ok", "healthz needs no token")
        failed = None
        try:
            async with connect(ws, "http", "airlock_not_a_token", server=server) as session:
                await session.list_tools()
        except BaseException as error:
            failed = error
        expect(failed is not None, "the SDK client cannot use the gateway without a valid token")
        async with connect(ws, "http", agent, server=server) as session:
            listed = await session.list_tools()
            expect([t.name for t in listed.tools] == ["word-count"], f"a narrow token lists its tools only: {listed.tools}")
            ok = await session.call_tool("word-count", {"text": "a b"})
            expect(not ok.is_error, "the granted tool runs")
            refused = None
            try:
                await session.call_tool("ledger", {"account": "acme", "amount": 1})
            except BaseException as error:
                refused = error
            expect(refused is not None and "may not call" in str(refused), f"a tool not granted is refused: {refused}")
        ws.cli("tokens", "revoke", "narrow")
        revoked = None
        try:
            async with connect(ws, "http", agent, server=server) as session:
                await session.list_tools()
        except BaseException as error:
            revoked = error
        expect(revoked is not None, "a revoked token is refused")
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {operator}"}) as client:
            metrics = await client.get(server.url + "/metrics")
            expect(metrics.status_code == 200 and "airlock_tool_calls_total" in metrics.text, f"metrics: {metrics.text[:300]}")
            expect('status="succeeded"' in metrics.text and 'tool="word-count"' in metrics.text, "calls by tool and outcome")
    finally:
        server.stop()
    entries = [json.loads(line) for line in ws.cli("audit", "export").stdout.splitlines()]
    kinds = [e["kind"] for e in entries]
    expect(kinds.count("unauthenticated") >= 3, f"401s audited: {kinds}")
    expect(kinds.count("forbidden") >= 2, f"403s audited: {kinds}")
    expect(all(not ("Bearer" in json.dumps(e) or agent in json.dumps(e)) for e in entries), "no secret in the audit log")
    ws.cli("audit", "verify")
    expect(len(json.loads(ws.cli("steps", "--json").stdout)) == 1, "only the granted call made a step")


def slow_tool(ws, name, seconds, effect="idempotent"):
    """A tool that sleeps, then appends a line to ./runs and answers {"slept": N}."""
    runs = os.path.join(ws.plugins, name, "runs")
    os.makedirs(runs, exist_ok=True)
    os.chmod(runs, 0o777)
    ws.custom(name, {
        "name": name, "version": "1.0.0", "description": "Sleeps, then records that it ran.",
        "protocol": "json-stdio", "command": ["./tool.sh"], "effect": effect,
        "inputSchema": {"type": "object", "properties": {"n": {"type": "integer"}}},
        "filesystem": {"write": ["./runs"]}, "limits": {"wallTimeSeconds": 60},
    }, f"#!/bin/sh\ncat >/dev/null\nsleep {seconds}\necho ran >> \"$(dirname \"$0\")/runs/lines\"\necho '{{\"slept\": {seconds}}}'\n")
    return lambda: len(open(os.path.join(runs, "lines")).read().splitlines()) if os.path.exists(os.path.join(runs, "lines")) else 0


async def scenario_limits(ws, transport):
    """A full queue answers busy at once (nothing journaled); an oversized request is refused
    before it is parsed, and the gateway goes on serving."""
    ran = slow_tool(ws, "slow", 6)
    ws.add("word-count")
    token = ws.token("agent", "agent") if transport == "http" else None
    flags = ["--concurrency", "1", "--tool-concurrency", "1", "--queue", "0", "--max-body", "65536"]
    server = HTTPServer(ws, flags=flags) if transport == "http" else None
    try:
        async with (connect_stdio_flags(ws, flags) if transport == "stdio" else connect(ws, transport, token, server=server)) as session:
            results = {}

            async def call(label, key):
                results[label] = await session.call_tool("slow", {"n": 1}, meta={KEY: key})

            async with anyio.create_task_group() as group:
                group.start_soon(call, "first", "slow-1")
                deadline = time.monotonic() + 60
                while not os.path.exists(os.path.join(ws.home, "journal.db")) or ws.cli("steps", "--state", "started", "--json").stdout.strip() in ("", "[]"):
                    expect("first" not in results, "the slow call ended before it was seen running")
                    expect(time.monotonic() < deadline, "the slow call never started")
                    await anyio.sleep(0.1)
                busy = await session.call_tool("word-count", {"text": "x"})
                # Answered while the admitted call still ran: it did not wait for the slot.
                busy_before_first = "first" not in results
            expect(busy.is_error and meta(busy)["dev.airlock/status"] == "busy", f"busy: {text(busy)}")
            expect(busy_before_first, "busy is answered at once, before the running call ends")
            expect(not results["first"].is_error, f"the admitted call ran: {text(results['first'])}")
            expect(ran() == 1, "one run")
            ok = await session.call_tool("word-count", {"text": "x y"})
            expect(not ok.is_error, "a slot is free again")
        if transport == "http":
            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as raw:
                big = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","pad":"' + b"x" * 100_000 + b'"}'
                answer = await raw.post(server.url + "/mcp", content=big, headers={
                    "Content-Type": "application/json", "Accept": "application/json, text/event-stream"})
                expect(answer.status_code == 413, f"oversized body: {answer.status_code} {answer.text[:200]}")
                health = await raw.get(server.url + "/healthz")
                expect(health.status_code == 200, "still serving")
        else:
            # A message over --max-body on stdio: a JSON-RPC error, then the next message works.
            process = subprocess.Popen([ws.airlock, "serve", "--mcp", "stdio", *flags], env=ws.env,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
            big = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"pad": "x" * 200_000}}
            small = {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}
            payload = "\n".join(json.dumps(m) for m in (init, big, small)) + "\n"
            out, _ = process.communicate(payload.encode(), timeout=120)
            answers = [json.loads(line) for line in out.decode().splitlines()]
            refused = [a for a in answers if a.get("error") and "more than 65536 bytes" in a["error"]["message"]]
            expect(len(refused) == 1 and refused[0]["id"] is None, f"the oversized message is refused: {answers}")
            listed = [a for a in answers if a.get("id") == 3]
            expect(len(listed) == 1 and "tools" in listed[0]["result"], f"the next message is served: {answers}")
    finally:
        if server:
            server.stop()
    steps = json.loads(ws.cli("steps", "--json").stdout)
    expect(sorted(s["tool"] for s in steps) == ["slow", "word-count"], f"busy made no step: {[s['tool'] for s in steps]}")


@contextlib.asynccontextmanager
async def connect_stdio_flags(ws, flags):
    params = StdioServerParameters(command=ws.airlock, args=["serve", "--mcp", "stdio", *flags], env=ws.env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            yield session


async def scenario_lost_answer(ws, transport):
    """The client goes away while its call runs: the step still gets its receipt, and a retry
    with the key returns it without running the tool again."""
    ran = slow_tool(ws, "slow", 2)
    token = ws.token("agent", "agent") if transport == "http" else None
    server = HTTPServer(ws) if transport == "http" else None
    try:
        with anyio.move_on_after(1.0):
            async with connect(ws, transport, token, server=server) as session:
                await session.call_tool("slow", {"n": 1}, meta={KEY: "lost-1"})
        # The client is gone (stdio: the server's stdin closed; HTTP: the stream dropped).
        deadline = time.monotonic() + 60
        journal_key = journal_key_of("lost-1", transport)
        while ws.step(journal_key)["state"] != "succeeded":
            expect(time.monotonic() < deadline, f"the step never finished: {ws.step(journal_key)['state']}")
            await anyio.sleep(0.2)
        expect(ran() == 1, "ran once")
        async with connect(ws, transport, token, server=server) as session:
            again = await session.call_tool("slow", {"n": 1}, meta={KEY: "lost-1"})
            expect(not again.is_error and meta(again)["dev.airlock/replayed"] is True, f"the recorded answer: {meta(again)}")
            expect(again.structured_content == {"slept": 2}, f"{again.structured_content}")
        expect(ran() == 1, "still once")
    finally:
        if server:
            server.stop()


async def scenario_shutdown(ws, transport):
    """SIGTERM lets a call in flight finish within the grace period (exit 0); past the grace
    period its child is killed (exit 1) and `resume` finishes the step."""
    # Long enough that the step is seen `started` before it ends, even on a loaded machine.
    ran = slow_tool(ws, "slow", 6)
    token = ws.token("agent", "agent") if transport == "http" else None
    for grace, expected_exit in (("30", 0), ("0.5", 1)):
        key = f"term-{expected_exit}"
        if transport == "http":
            server = HTTPServer(ws, flags=["--grace", grace])
            process = server.process
            url = server.url
        else:
            process = subprocess.Popen([ws.airlock, "serve", "--mcp", "stdio", "--grace", grace], env=ws.env,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        before = ran()
        answer = {}

        async def call():
            try:
                if transport == "http":
                    # Raw requests: the SDK client would also open a GET stream, whose reconnection
                    # fails once the listener is closed; what is checked here is the call's answer.
                    answer["result"] = await raw_http_call(url, token, "slow", {"n": 1}, key)
                else:
                    init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
                    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
                        "name": "slow", "arguments": {"n": 1}, "_meta": {KEY: key}}}
                    process.stdin.write((json.dumps(init) + "\n" + json.dumps(call) + "\n").encode())
                    process.stdin.flush()
                    lines = await anyio.to_thread.run_sync(lambda: process.stdout.read().decode().splitlines())
                    answer["lines"] = lines
            except BaseException as error:
                answer["error"] = error

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(call)
                deadline = time.monotonic() + 60
                while True:
                    try:
                        state = ws.step(journal_key_of(key, transport))["state"]
                    except AssertionError:
                        state = None
                    if state == "started":
                        break
                    expect(state is None, f"the step was {state} before the signal could be sent")
                    expect(time.monotonic() < deadline, "the call never started")
                    await anyio.sleep(0.1)
                await anyio.sleep(0.3)
                process.send_signal(15)
                status = await anyio.to_thread.run_sync(lambda: process.wait(timeout=60))
        finally:
            if process.poll() is None:
                process.kill()
        expect(status == expected_exit, f"grace {grace}: exit {status}, expected {expected_exit}")
        state = ws.step(journal_key_of(key, transport))["state"]
        if expected_exit == 0:
            expect(state == "succeeded" and ran() == before + 1, f"finished within the grace period: {state}")
            if transport == "stdio":
                expect(any('"slept"' in line for line in answer.get("lines", [])), f"the answer was sent: {answer}")
            else:
                result = answer.get("result") or {}
                expect(result.get("structuredContent") == {"slept": 6}, f"the answer was sent: {answer}")
        else:
            expect(state == "started" and ran() == before, f"cut off: the step stays started, the tool did not finish: {state}")
            ws.cli("resume")
            expect(ws.step(journal_key_of(key, transport))["state"] == "succeeded" and ran() == before + 1, "resume re-ran the idempotent step")
        if transport == "http":
            server.log.seek(0)
            log = server.log.read()
            expect(("killing the children" in log) == (expected_exit == 1), f"the log says what was cut off: {log[-500:]}")


async def scenario_eof(ws, transport):
    """stdio: a client that writes its calls and closes its end at once still gets every answer,
    and the calls run to their receipts before the gateway exits."""
    expect(transport == "stdio", "eof is a stdio scenario")
    ran = slow_tool(ws, "slow", 1)
    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
    messages = [init, {"jsonrpc": "2.0", "method": "notifications/initialized"}]
    messages += [{"jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {
        "name": "slow", "arguments": {"n": n}, "_meta": {KEY: f"eof-{n}"}}} for n in (1, 2, 3)]
    messages.append({"jsonrpc": "2.0", "id": 4, "method": "ping"})
    process = subprocess.Popen([ws.airlock, "serve", "--mcp", "stdio"], env=ws.env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out, _ = process.communicate(("\n".join(json.dumps(m) for m in messages) + "\n").encode(), timeout=120)
    answers = {a.get("id"): a for a in (json.loads(line) for line in out.decode().splitlines())}
    expect(process.returncode == 0, f"exit {process.returncode}")
    for n in (1, 2, 3):
        expect(answers.get(n, {}).get("result", {}).get("structuredContent") == {"slept": 1}, f"call {n} answered: {answers.get(n)}")
        expect(ws.step(f"eof-{n}")["state"] == "succeeded", f"eof-{n} finished")
    expect(4 in answers and 0 in answers, f"every request answered: {sorted(answers, key=str)}")
    expect(ran() == 3, "three runs")


async def scenario_protocol(ws, transport):
    """HTTP: ids the SDK would rewrite or drop are refused at once (no request hangs); a method
    that is not a string is a bad request; the Host check sees the Host header; one token
    cannot take every session; a huge tool name does not make a huge audit entry."""
    expect(transport == "http", "protocol is an HTTP scenario")
    ws.add("word-count")
    agent = ws.token("agent", "agent")
    narrow = ws.token("narrow", "agent", ["word-count"])
    server = HTTPServer(ws)
    try:
        headers = {"Authorization": f"Bearer {agent}", "Content-Type": "application/json",
                   "Accept": "application/json, text/event-stream"}
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(20)) as raw:
            opened = await raw.post(server.url + "/mcp", json=init, headers=headers)
            expect(opened.status_code == 200, f"initialize: {opened.status_code}")
            session = {**headers, "Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}
            for bad in (None, 1.5, True, {}, [1], 1.0, "99999999999999999999"):
                for method in ("ping", "tools/call"):
                    body = json.dumps({"jsonrpc": "2.0", "id": bad, "method": method,
                                       "params": {"name": "word-count", "arguments": {"text": "x"}}})
                    body = body.replace('"99999999999999999999"', "99999999999999999999")
                    answer = await raw.post(server.url + "/mcp", content=body, headers=session)
                    expect(answer.status_code in (200, 400) and answer.json()["error"]["code"] == -32600,
                           f"id {bad!r} for {method}: {answer.status_code} {answer.text[:200]}")
            answer = await raw.post(server.url + "/mcp", json={"jsonrpc": "2.0", "id": 9, "method": 5}, headers=session)
            expect(answer.status_code == 400, f"a method that is not a string: {answer.status_code}")
            for good in ("s-1", 7, -3):
                answer = await raw.post(server.url + "/mcp", json={"jsonrpc": "2.0", "id": good, "method": "ping"}, headers=session)
                expect(answer.status_code == 200 and answer.json()["id"] == good, f"id {good!r}: {answer.text[:200]}")
            evil = await raw.post(server.url + "/mcp", json=init, headers={**headers, "Host": "evil.example:80"})
            expect(evil.status_code == 421, f"a foreign Host header: {evil.status_code}")
            statuses = []
            narrow_headers = {**headers, "Authorization": f"Bearer {narrow}"}
            for _ in range(101):
                statuses.append((await raw.post(server.url + "/mcp", json=init, headers=narrow_headers)).status_code)
            expect(statuses[:100] == [200] * 100 and statuses[100] == 429, f"100 sessions per token: {statuses[-3:]}")
            still = await raw.post(server.url + "/mcp", json=init, headers=headers)
            expect(still.status_code == 200, "other tokens still open sessions")
            huge = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "t" * 1_000_000, "arguments": {}}}
            answer = await raw.post(server.url + "/mcp", json=huge, headers={**narrow_headers, "Mcp-Session-Id": opened.headers["mcp-session-id"]})
            expect(answer.status_code == 403 and answer.json()["id"] == 3, f"forbidden tool: {answer.status_code}")
            expect(len(answer.content) < 2000, f"the refusal does not echo the name whole: {len(answer.content)} bytes")
    finally:
        server.stop()
    longest = max(len(line) for line in ws.cli("audit", "export").stdout.splitlines())
    expect(longest < 2000, f"no audit entry grows with the request: {longest} bytes")


async def raw_http_call(url, token, tool, arguments, key):
    """initialize, then one tools/call over plain HTTP; the call's result from its SSE answer."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream"}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(120)) as client:
        init = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}
        opened = await client.post(url + "/mcp", json=init)
        expect(opened.status_code == 200, f"initialize: {opened.status_code}")
        session = {"Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-06-18"}
        await client.post(url + "/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
        call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": tool, "arguments": arguments, "_meta": {KEY: key}}}
        answered = await client.post(url + "/mcp", json=call, headers=session)
        if answered.headers.get("content-type", "").startswith("application/json"):
            message = answered.json()
            if message.get("id") == 2:
                return message.get("result")
        for line in answered.text.splitlines():
            if line.startswith("data: ") and line[6:].strip():
                message = json.loads(line[6:])
                if message.get("id") == 2:
                    return message.get("result")
        raise AssertionError(f"no answer to the call: {answered.status_code} {answered.text[:500]}")


SCENARIOS = {
    "tools": scenario_tools, "retry": scenario_retry, "approval": scenario_approval,
    "in-doubt": scenario_in_doubt, "auth": scenario_auth, "limits": scenario_limits,
    "lost-answer": scenario_lost_answer, "shutdown": scenario_shutdown, "eof": scenario_eof,
    "protocol": scenario_protocol,
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=sorted(SCENARIOS))
    parser.add_argument("--transport", choices=["stdio", "http"], required=True)
    parser.add_argument("--airlock", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--repo", required=True)
    args = parser.parse_args()
    ws = Workspace(args)
    anyio.run(SCENARIOS[args.scenario], ws, args.transport)
    print(f"PASS {args.scenario} {args.transport}")


if __name__ == "__main__":
    main()
