"""Tests against a real OpenAI-compatible server (llama.cpp's, from PyPI) on 127.0.0.1."""
