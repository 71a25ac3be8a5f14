#!/usr/bin/python3 -I
"""An idempotent json-stdio plugin: writes a note to notes/NAME.txt beside this script.

Writing the same note twice leaves the same file, so a retry is harmless. The file is written
to a temporary name and renamed, so a reader never sees half a note. The write is reported on
descriptor 3 as an effect. Input: {"name": "...", "content": "..."}."""
import hashlib
import json
import os
import sys

request = json.load(sys.stdin)
name, content = request["name"], request["content"]
notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes")
path = os.path.join(notes, name + ".txt")
data = content.encode("utf-8")
temporary = path + ".tmp-" + os.environ.get("AIRLOCK_STEP_ID", "x") + "-" + os.environ.get("AIRLOCK_ATTEMPT", "0")
with open(temporary, "wb") as f:
    f.write(data)
    f.flush()
    os.fsync(f.fileno())
os.rename(temporary, path)
try:
    with os.fdopen(3, "w") as effects:
        effects.write(json.dumps({"kind": "file.write", "target": "notes/" + name + ".txt"}) + "\n")
except OSError:
    pass  # run without Airlock: no effects descriptor
json.dump({"path": "notes/" + name + ".txt", "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}, sys.stdout)
