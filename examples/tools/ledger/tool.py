#!/usr/bin/python3 -I
"""A non-idempotent json-stdio plugin: appends a payment to ledger/ledger.txt beside this script.

Each call appends one line, "KEY ACCOUNT AMOUNT", so running it twice pays twice: Airlock never
retries it blindly. The append is reported on descriptor 3 with the idempotency key as its
external id, and reconcile.py answers "did the payment of this key happen?". Exit 3 means
"refused before anything was written" (the ledger is closed: a file ledger/closed exists), the
one failure the manifest declares safe to retry. While a file ledger/slow exists the tool waits
5 s after the append (the demo kills its host then). Input: {"account": "...", "amount": N}."""
import json
import os
import sys
import time

request = json.load(sys.stdin)
account, amount = request["account"], request["amount"]
key = os.environ.get("AIRLOCK_IDEMPOTENCY_KEY", "no-key")
ledger = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ledger")
if os.path.exists(os.path.join(ledger, "closed")):
    print("the ledger is closed; nothing was written", file=sys.stderr)
    sys.exit(3)
line = "%s %s %d\n" % (key, account, amount)
fd = os.open(os.path.join(ledger, "ledger.txt"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
os.write(fd, line.encode())
os.fsync(fd)
os.close(fd)
try:
    with os.fdopen(3, "w") as effects:
        effects.write(json.dumps({"kind": "ledger.append", "target": "ledger.txt", "externalId": key}) + "\n")
except OSError:
    pass
if os.path.exists(os.path.join(ledger, "slow")):
    time.sleep(5)
json.dump({"paid": True, "account": account, "amount": amount, "reference": key}, sys.stdout)
