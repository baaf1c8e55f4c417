"""The ``jobs`` section: defaults, both places for a pipeline's keys, driver errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from marshmallow import post_load

from actors.config import ConfigError, config_from_dict
from actors.config.model import JobsConfig, MemoryPipelineConfig
from actors.config.schema.base import SectionSchema
from actors.config.schema.fields import Int
from actors.config.schema.jobs import PIPELINE_SCHEMAS


def load(jobs: dict[str, Any]) -> JobsConfig:
    config = config_from_dict({"version": "3", "server": {"command": "php w.php"}, "jobs": jobs})
    assert config.jobs is not None
    return config.jobs


def test_defaults_are_roadrunners() -> None:
    cfg = load({"pool": {"num_workers": 3}})
    assert (cfg.num_pollers, cfg.pollers, cfg.pipeline_size, cfg.timeout) == (0, 5, 1_000_000, 60.0)
    assert cfg.consume == [] and cfg.pipelines == {}
    assert load({"num_pollers": 7}).pollers == 7


def test_pipeline_keys_at_the_top_level_or_under_config() -> None:
    cfg = load(
        {
            "consume": ["a", "b"],
            "pipelines": {
                "a": {"driver": "memory", "config": {"priority": 3, "prefetch": 5}},
                "b": {"driver": "memory", "priority": 2, "config": {"priority": 4}},
                "c": {"driver": "memory"},
            },
        }
    )
    assert cfg.pipelines == {
        "a": MemoryPipelineConfig("a", "memory", 3, 5),
        "b": MemoryPipelineConfig("b", "memory", 4, 100_000),  # config: wins
        "c": MemoryPipelineConfig("c", "memory", 10, 100_000),
    }


@pytest.mark.parametrize(
    ("driver", "message"),
    [
        ("beanstalk", "driver beanstalk is a RoadRunner driver not supported by Greenrunner yet"),
        ("sqs", "not supported by Greenrunner yet; use one of: amqp, memory"),
        ("memroy", "unknown driver 'memroy'; did you mean 'memory'?"),
        (None, "the pipeline has no driver"),
    ],
)
def test_a_driver_we_do_not_have_is_a_clear_error(driver: str | None, message: str) -> None:
    pipeline = {"driver": driver} if driver else {"config": {"priority": 1}}
    with pytest.raises(ConfigError) as info:
        load({"pipelines": {"p": pipeline}})
    assert "jobs.pipelines.p.driver" in str(info.value)
    assert message in str(info.value)


def test_a_memory_pipeline_rejects_unknown_keys() -> None:
    with pytest.raises(ConfigError, match="prefech"):
        load({"pipelines": {"p": {"driver": "memory", "config": {"prefech": 1}}}})


def test_jobs_pool_needs_a_command() -> None:
    with pytest.raises(ConfigError, match=r"jobs\.pool"):
        config_from_dict({"version": "3", "jobs": {"pipelines": {}}})


@dataclass(frozen=True)
class OtherPipeline:
    name: str = ""
    driver: str = ""
    priority: int = 10


class OtherSchema(SectionSchema):
    """A driver schema that does not declare ``name``/``driver``: they are set after loading."""

    priority = Int(zero=10)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> OtherPipeline:
        return OtherPipeline(**data)


def test_a_registered_driver_schema_gets_its_pipelines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(PIPELINE_SCHEMAS, "other", OtherSchema)
    cfg = load({"pipelines": {"o": {"driver": "other", "config": {"priority": 2}}}})
    assert cfg.pipelines == {"o": OtherPipeline("o", "other", 2)}
