#!/usr/bin/env python3
"""An agent-like MCP client for the demo: it reaches Airlock's gateway with the official MCP
Python SDK, discovers the tools, and works through a small task the way a model-driven agent
would: read, write, pay, and retry after a lost answer.

    agent.py --http URL --token SECRET      (streamable HTTP, as a remote agent)
    agent.py --stdio AIRLOCK_BINARY         (stdio: the gateway as a subprocess, as an IDE would)
"""

import argparse
import json
import os
import sys

import anyio

KEY = "dev.airlock/idempotency-key"


def show(label, result):
    meta = result.meta or {}
    body = result.structured_content if result.structured_content is not None else "".join(
        getattr(c, "text", "") for c in result.content)
    state = meta.get("dev.airlock/status", "?")
    replayed = " (replayed: nothing ran)" if meta.get("dev.airlock/replayed") else ""
    print(f"    agent: {label}: {state}{replayed} step {meta.get('dev.airlock/step', '-')}")
    print(f"           {json.dumps(body)[:160]}")


async def work(session, invoice):
    tools = (await session.list_tools()).tools
    print("    agent: tools offered: " + ", ".join(
        f"{t.name}{' (read-only)' if t.annotations and t.annotations.read_only_hint else ''}" for t in tools))

    text = "Airlock journals every call before its tool runs"
    show("count the words", await session.call_tool("word-count", {"text": text}))
    show("save a note", await session.call_tool("note-writer", {"name": "summary", "content": text}))

    payment = {"account": "acme", "amount": 250}
    key = f"invoice-{invoice}"
    show(f"pay invoice {invoice}", await session.call_tool("ledger", payment, meta={KEY: key}))
    # The answer was "lost" (a timeout, a dropped connection): the agent retries with the key.
    show("retry the payment after a lost answer", await session.call_tool("ledger", payment, meta={KEY: key}))
    # A model that re-sends a different amount under the same key is stopped.
    show("same key, other amount", await session.call_tool("ledger", {"account": "acme", "amount": 999}, meta={KEY: key}))
    show("a malformed call (the model got the schema wrong)", await session.call_tool("ledger", {"account": "acme", "amount": "lots"}))


async def main():
    parser = argparse.ArgumentParser()
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--http")
    group.add_argument("--stdio")
    parser.add_argument("--token")
    parser.add_argument("--invoice", default="42")
    args = parser.parse_args()
    from mcp import ClientSession
    if args.http:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client
        headers = {"Authorization": f"Bearer {args.token}"}
        async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(120)) as client:
            async with streamable_http_client(args.http, http_client=client) as streams:
                async with ClientSession(streams[0], streams[1]) as session:
                    await session.initialize()
                    await work(session, args.invoice)
    else:
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client
        params = StdioServerParameters(command=args.stdio, args=["serve", "--mcp", "stdio", "--log-level", "warning"],
                                       env={k: v for k, v in os.environ.items() if k.startswith("AIRLOCK_") or k == "PATH"})
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                await work(session, args.invoice)


if __name__ == "__main__":
    anyio.run(main)
    sys.exit(0)
