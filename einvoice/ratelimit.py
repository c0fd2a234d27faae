"""One limit on calls to ANAF shared by every worker process: ANAF allows 1,000 calls a minute per client.

Counted in the cache, which is Redis wherever workers run (REDIS_URL) and per process in the embedded default,
in one-second windows of `floor(EINVOICE_RATE_LIMIT_PER_MINUTE / 60)` calls: a clock minute never exceeds the
limit (any 60 s by at most one window's worth), and the backlog drains at the limit rather than in bursts that ANAF
answers with 429 (bench/README.md measures it).
"""

import math
import time

from django.conf import settings
from django.core.cache import cache


def per_second() -> int:
    return max(1, math.floor(settings.EINVOICE_RATE_LIMIT_PER_MINUTE / 60))


def acquire(*, clock=time.time, sleep=time.sleep) -> None:
    """Blocks until this process may make one call."""
    while True:
        now = clock()
        window = int(now)
        key = f"einvoice:anaf-calls:{window}"
        cache.add(key, 0, timeout=5)
        if cache.incr(key) <= per_second():
            return
        sleep(window + 1 - now)
