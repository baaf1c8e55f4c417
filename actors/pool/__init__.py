"""A pool of workers, one concept per module.

* :mod:`actors.pool.facade`: :class:`Pool`, what callers use (requests run
  in the caller's greenlet);
* :mod:`actors.pool.stream`: :class:`ResponseStream`, one answer;
* :mod:`actors.pool.actor`: :class:`PoolActor`, the owner of the worker set;
* :mod:`actors.pool.roster`: :class:`Roster`, the set as readers see it;
* :mod:`actors.pool.crashloop`: :class:`CrashLoop`, the restart backoff.
"""

from actors.freelist import Cancelled
from actors.pool.actor import PoolActor
from actors.pool.facade import Pool
from actors.pool.roster import Roster
from actors.pool.stream import ResponseStream

__all__ = ["Cancelled", "Pool", "PoolActor", "ResponseStream", "Roster"]
