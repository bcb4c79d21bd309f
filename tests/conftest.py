"""Hypothesis profiles, chosen with the HYPOTHESIS_PROFILE environment variable.

- ci (default when CI is set): derandomized, so every CI run draws the same examples;
- dev (default otherwise): fewer examples for a quick local loop;
- thorough: many examples, for a long run before a release.
"""
import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=20, deadline=None)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
