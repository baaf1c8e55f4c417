"""RoadRunner's ``jobs`` plugin: pipelines (memory, amqp) consumed by one worker pool."""

from actors.plugins.jobs.plugin import JobsPlugin

__all__ = ["JobsPlugin"]
