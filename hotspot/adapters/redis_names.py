"""Our names in Redis, apart from what uses them, so that the healthchecks (`hotspot.cli.health`,
`/readyz`) read them without importing the jobs.

The rq queues are named in `hotspot.adapters.job_queues`.

The keys the scheduler keeps (`jobs.schedule.LeaderCronScheduler`):

- `hotspot:scheduler:leader`: the leader lease, the holder's id with a TTL the leader renews; only
  its holder enqueues the periodic jobs.
- `hotspot:scheduler:alive:<hostname>`: written by every scheduler (leader or standby) on each
  turn of its loop, with a TTL: a standby is healthy (it is ready to take over), a scheduler
  whose loop is stuck is not.
- `hotspot:heartbeat:scheduler`: when the heartbeat job last ran, i.e. the leader enqueues and a
  worker runs what it enqueued.
"""

SCHEDULER_LEASE_KEY = "hotspot:scheduler:leader"
SCHEDULER_ALIVE_PREFIX = "hotspot:scheduler:alive:"
SCHEDULER_HEARTBEAT_KEY = "hotspot:heartbeat:scheduler"


def scheduler_alive_key(hostname: str) -> str:
    return SCHEDULER_ALIVE_PREFIX + hostname
