"""Orbit: durable background jobs with live progress for long AI operations."""
