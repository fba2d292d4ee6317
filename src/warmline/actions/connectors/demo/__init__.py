"""The built-in demo backend: a connector with its own small database of customers, orders,
bills, plans, SIMs, devices and store appointments (docs/demo-backend.md)."""

from warmline.actions.connectors.demo.backend import (
    OPERATIONS,
    DemoBackend,
    OperationSpec,
    create_demo_backend,
    make_demo_engine,
)
from warmline.actions.connectors.demo.models import DemoBase

__all__ = [
    "OPERATIONS",
    "DemoBackend",
    "DemoBase",
    "OperationSpec",
    "create_demo_backend",
    "make_demo_engine",
]
