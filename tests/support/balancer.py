"""A round-robin HTTP load balancer on 127.0.0.1, as a deployment puts in front of several webhook
instances: each request goes to the next backend, headers and body unchanged."""

from __future__ import annotations

import itertools
from collections import Counter

import aiohttp
from aiohttp import web


class RoundRobin:
    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self._next = itertools.cycle(backends)
        self.served: Counter[str] = Counter()  # backend -> requests it answered
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._http = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._http is not None
        backend = next(self._next)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        try:
            async with self._http.request(
                request.method, backend + request.path_qs, headers=headers, data=await request.read()
            ) as answer:
                body = await answer.read()
                self.served[backend] += 1
                return web.Response(status=answer.status, body=body, content_type=answer.content_type)
        except aiohttp.ClientError:
            return web.Response(status=502, text="Bad Gateway")
