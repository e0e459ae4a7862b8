"""Interviews: the product-discovery conversation, and the ``interview_message`` job.

``routes`` starts, reads and answers interviews; ``handlers`` streams the AI's replies;
``data`` reads and writes interviews and their messages.
"""

from orbit.planning.interviews.handlers import register
from orbit.planning.interviews.routes import router

__all__ = ["register", "router"]
