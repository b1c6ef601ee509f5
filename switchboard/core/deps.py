"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from switchboard.core.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.rt
    return rt


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
