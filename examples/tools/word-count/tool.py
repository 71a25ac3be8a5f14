#!/usr/bin/python3 -I
"""A read-only json-stdio plugin: counts the words, lines and characters of a text.

Input (stdin): {"text": "..."}. Result (stdout): one JSON object. No effects."""
import json
import sys

request = json.load(sys.stdin)
text = request["text"]
lines = text.count("\n") + (1 if text and not text.endswith("\n") else 0)
json.dump({"words": len(text.split()), "lines": lines, "characters": len(text)}, sys.stdout)
