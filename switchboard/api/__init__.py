"""The public HTTP APIs. Each sub-package exposes ``router`` (an APIRouter) and is mounted
by the application factory; routers stay thin: parse, authorise, call, map errors."""
