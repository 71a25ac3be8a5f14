#!/usr/bin/python3 -I
"""The ledger's reconcile probe (read-only): did the payment with this idempotency key happen?

Answers {"happened": true, "result": ...} when ledger/ledger.txt has the key's line, else
{"happened": false}."""
import json
import os

key = os.environ["AIRLOCK_IDEMPOTENCY_KEY"]
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ledger", "ledger.txt")
try:
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[0] == key:
                result = {"paid": True, "account": parts[1], "amount": int(parts[2]), "reference": key}
                print(json.dumps({"happened": True, "result": result}))
                break
        else:
            print(json.dumps({"happened": False}))
except FileNotFoundError:
    print(json.dumps({"happened": False}))
