"""RoadRunner's ``jobs`` plugin: pipelines (memory, amqp) consumed by one worker pool."""
