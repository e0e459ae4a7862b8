"""Tests of the AI provider layer (`orbit.ai`)."""
