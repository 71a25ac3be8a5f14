#!/bin/sh
# A non-idempotent demo tool: appends one line per call to the ledger file named by $1
# ("pays"), reports the effect on descriptor 3, and answers. While the file $1.slow exists it
# takes 5 s to answer, so the demo can kill its host mid-call. Input: a JSON object on stdin.
input=$(cat)
echo "$AIRLOCK_IDEMPOTENCY_KEY attempt=$AIRLOCK_ATTEMPT $input" >> "$1"
echo '{"kind":"ledger.append","target":"'"$1"'","externalId":"'"$AIRLOCK_IDEMPOTENCY_KEY"'"}' >&3
if [ -e "$1.slow" ]; then sleep 5; fi
echo '{"appended":true}'
