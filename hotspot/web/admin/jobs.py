"""`/api/admin/jobs`: the background queues and their jobs, for platform tokens only."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, jsonify

from hotspot.adapters.job_queues import JobQueues
from hotspot.models import AdminRole
from hotspot.operators.job_admin import (
    JobFilter,
    delete_job,
    get_job,
    job_overview,
    list_jobs,
    retry_job,
)
from hotspot.web import services, sessions
from hotspot.web.admin.context import actor
from hotspot.web.admin.reading import arg, listing_page
from hotspot.web.admin.serializers import job_json, listing, queue_json
from hotspot.web.auth import requires

jobs = Blueprint("jobs", __name__)


def queues() -> JobQueues:
    return services().notifier.queues


@jobs.get("/jobs")
@requires(AdminRole.VIEWER)
def list_all() -> Any:
    wanted = JobFilter(queue=arg("queue"), state=arg("state"))
    found = list_jobs(queues(), actor(), wanted, listing_page())
    overview = [queue_json(each) for each in job_overview(queues(), actor())]
    return listing("jobs", found, [job_json(each) for each in found.items], queues=overview)


@jobs.get("/jobs/<job_id>")
@requires(AdminRole.VIEWER)
def show(job_id: str) -> Any:
    return jsonify(job_json(get_job(queues(), actor(), job_id)))


@jobs.post("/jobs/<job_id>/retry")
@requires(AdminRole.ADMIN)
def retry(job_id: str) -> Any:
    with sessions().begin() as session:
        retried = retry_job(session, queues(), actor(), job_id)
    return jsonify(job_json(retried))


@jobs.delete("/jobs/<job_id>")
@requires(AdminRole.ADMIN)
def delete(job_id: str) -> Any:
    with sessions().begin() as session:
        deleted = delete_job(session, queues(), actor(), job_id)
    return jsonify({**job_json(deleted), "deleted": True})


@jobs.errorhandler(redis.RedisError)
def redis_error(error: redis.RedisError) -> Any:
    return jsonify(error="Redis does not answer: the jobs cannot be read now"), 503
