"""Temporary: the parameter registry is `veraretouch.plan.parameters`; this name stays only until the
modules that issue 20 is editing import it from there (issue 16), then it goes."""
from .plan.parameters import *  # noqa: F403
